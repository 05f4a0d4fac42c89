// The demo compositor as a Wayland server: `npm run demo -- --headless --clients none
// --wayland NAME --frames N --screenshot F` with an outside, unmodified Wayland client.
import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import type { SurfaceInfo } from '../../demos/compositor/viewer-protocol';
import { BACKGROUND_COLOR } from '../../demos/compositor/background';
import { leftovers, startDemo } from '../helpers/demo';

describe('demo: Wayland clients (headless, --clients none)', function () {
  this.timeout(60000);

  before(function () {
    if (!existsSync('/usr/bin/weston-simple-shm')) this.skip(); // .ci/run installs weston
  });

  it('shows weston-simple-shm alone in the screenshot, with its title, then removes its Wayland socket', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bufshare-wl-demo-')); // 0700: the Wayland socket and the PNG
    const file = join(dir, 'shot.png');
    const display = join(dir, 'wayland-demo');
    const run = startDemo(['--headless', '--clients', 'none', '--wayland', display, '--frames', '20', '--screenshot', file]);
    try {
      const announced = await run.waitFor(/wayland: WAYLAND_DISPLAY=(\S+)/);
      expect(announced[1]).to.equal(display);
      const client = spawn('weston-simple-shm', [], { stdio: 'ignore', env: { ...process.env, WAYLAND_DISPLAY: display } });
      const { code } = await run.exited();
      client.kill('SIGKILL');
      expect(code, run.lines.join('\n')).to.equal(0);
      const surfaces = JSON.parse((await run.waitFor(/surfaces: (.*)$/))[1]!) as SurfaceInfo[];
      expect(surfaces.map((s) => [s.title, s.kind, s.access, s.format, s.width, s.height])).to.deep.equal([['simple-shm', 'shm', 'direct', 'XRGB8888', 250, 250]]);
      expect(readdirSync(dir).sort(), 'the Wayland socket and its lock are gone').to.deep.equal(['shot.png']);
      expect(leftovers(run)).to.deep.equal([]);

      const png = PNG.sync.read(readFileSync(file));
      const rgb = (x: number, y: number): number => {
        const i = (y * png.width + x) * 4;
        return (png.data[i]! << 16) | (png.data[i + 1]! << 8) | png.data[i + 2]!;
      };
      const s = surfaces[0]!;
      // simple-shm's white 20-pixel padding, all round; its rings and bands inside (many colours).
      let paddingWrong = 0;
      const inside = new Set<number>();
      for (let y = 0; y < 250; y++) {
        for (let x = 0; x < 250; x++) {
          const c = rgb(s.x + x, s.y + y);
          if (x < 20 || y < 20 || x >= 230 || y >= 230) paddingWrong += c === 0xffffff ? 0 : 1;
          else inside.add(c);
        }
      }
      expect(paddingWrong).to.equal(0);
      expect(inside.size).to.be.above(100);
      // Nothing else on the output: only the background (its colour and grid dots) outside the window.
      const outside = new Set<number>();
      for (let y = 0; y < png.height; y++) {
        for (let x = 0; x < png.width; x++) if (x < s.x || y < s.y || x >= s.x + 250 || y >= s.y + 250) outside.add(rgb(x, y));
      }
      expect(outside.size).to.equal(2);
      expect(outside.has(BACKGROUND_COLOR & 0xffffff)).to.equal(true);
    } finally {
      await run.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  /** foot with `args` (its shell prints nothing) in the headless demo, until the screenshot: its window, and the PNG's pixels. */
  function footShot(args: string[], frames: number, demoArgs: string[] = []): ReturnType<typeof clientShot> {
    return clientShot('foot', [...args, 'sh', '-c', 'sleep 60'], frames, demoArgs);
  }

  /** `command` in the headless demo (with `demoArgs`), until the screenshot: its window, and the PNG's pixels. */
  async function clientShot(command: string, args: string[], frames: number, demoArgs: string[] = []): Promise<{ s: SurfaceInfo; surfaces: SurfaceInfo[]; png: PNG; rgb: (x: number, y: number) => number }> {
    const dir = mkdtempSync(join(tmpdir(), 'bufshare-wl-demo-'));
    const file = join(dir, 'shot.png');
    const display = join(dir, 'wayland-demo');
    const run = startDemo(['--headless', '--clients', 'none', '--wayland', display, '--frames', String(frames), '--screenshot', file, ...demoArgs]);
    try {
      await run.waitFor(/wayland: WAYLAND_DISPLAY=(\S+)/);
      // A name in XDG_RUNTIME_DIR, not a path: winit (alacritty) needs the runtime dir set.
      const client = spawn(command, args, { stdio: 'ignore', env: { ...process.env, XDG_RUNTIME_DIR: dir, WAYLAND_DISPLAY: 'wayland-demo' } });
      const { code } = await run.exited();
      client.kill('SIGKILL');
      expect(code, run.lines.join('\n')).to.equal(0);
      const surfaces = JSON.parse((await run.waitFor(/surfaces: (.*)$/))[1]!) as SurfaceInfo[];
      const png = PNG.sync.read(readFileSync(file));
      const rgb = (x: number, y: number): number => {
        const i = (y * png.width + x) * 4;
        return (png.data[i]! << 16) | (png.data[i + 1]! << 8) | png.data[i + 2]!;
      };
      return { s: surfaces[0]!, surfaces, png, rgb };
    } finally {
      await run.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  }

  const hex = (c: number): string => c.toString(16).padStart(6, '0');

  it('takes the screenshot of a client that draws once and waits (foot at a blank screen): --frames counts output frames, not compositions', async function () {
    if (!existsSync('/usr/bin/foot')) this.skip(); // .ci/run installs foot
    const background = 0x2a7f3c;
    // A shell that prints nothing: foot draws its first frame and then has nothing to redraw.
    const { s, surfaces, rgb } = await footShot(['-o', 'csd.preferred=none', '-o', `colors.background=${hex(background)}`], 30);
    expect(surfaces.map((w) => w.title)).to.deep.equal(['foot']);
    expect(rgb(s.x + (s.width >> 1), s.y + (s.height >> 1)), 'the middle of foot\'s window is its background').to.equal(background);
  });

  it('draws foot\'s own decorations, which are subsurfaces: its title bar above the window, its borders around it, nothing else outside', async function () {
    if (!existsSync('/usr/bin/foot')) this.skip(); // .ci/run installs foot
    const [TITLE, BORDER, BACKGROUND, BAR, EDGE] = [0xff0000, 0x0000ff, 0x2a7f3c, 30, 4];
    const { s, rgb } = await footShot([
      '-o', 'csd.preferred=client', '-o', `csd.color=ff${hex(TITLE)}`, '-o', `csd.size=${BAR}`,
      '-o', `csd.border-width=${EDGE}`, '-o', `csd.border-color=ff${hex(BORDER)}`, '-o', `colors.background=${hex(BACKGROUND)}`,
    ], 40);
    const share = (colour: number, x0: number, y0: number, x1: number, y1: number): number => {
      let hit = 0;
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) hit += rgb(x, y) === colour ? 1 : 0;
      return hit / ((x1 - x0) * (y1 - y0));
    };
    // The title bar (a subsurface at y = -BAR) is its colour but for the title text and the buttons.
    expect(share(TITLE, s.x, s.y - BAR, s.x + s.width, s.y), 'title bar').to.be.above(0.9);
    // The borders: subsurfaces left, right and below the window and around the title bar.
    expect(share(BORDER, s.x - EDGE, s.y - BAR, s.x, s.y + s.height), 'left border').to.equal(1);
    expect(share(BORDER, s.x + s.width, s.y - BAR, s.x + s.width + EDGE, s.y + s.height), 'right border').to.equal(1);
    expect(share(BORDER, s.x, s.y + s.height, s.x + s.width, s.y + s.height + EDGE), 'bottom border').to.equal(1);
    expect(share(BACKGROUND, s.x + 20, s.y + 20, s.x + s.width - 20, s.y + s.height - 20), 'the terminal').to.equal(1);
    // Outside the decorated window: the compositor's background only.
    expect(new Set([rgb(s.x - EDGE - 1, s.y), rgb(s.x, s.y - BAR - EDGE - 1), rgb(s.x + s.width + EDGE, s.y), rgb(s.x, s.y + s.height + EDGE)]))
      .to.deep.equal(new Set([BACKGROUND_COLOR & 0xffffff]));
  });

  it('foot lets the compositor decorate it (xdg-decoration): the demo\'s title bar above the window, none of foot\'s', async function () {
    if (!existsSync('/usr/bin/foot')) this.skip(); // .ci/run installs foot
    const [FOOT_TITLE, BACKGROUND, DEMO_BAR] = [0xff0000, 0x2a7f3c, 0x3b4252];
    // foot's default is csd.preferred=server: with a compositor that decorates, it draws no title bar of its own.
    const { s, rgb } = await footShot(['-o', `csd.color=ff${hex(FOOT_TITLE)}`, '-o', `colors.background=${hex(BACKGROUND)}`], 40);
    const colours = new Set<number>();
    for (let y = s.y - 20; y < s.y; y += 3) for (let x = s.x; x < s.x + s.width; x += 7) colours.add(rgb(x, y));
    expect([...colours], 'above the window: the demo\'s bar only').to.deep.equal([DEMO_BAR]);
    expect(rgb(s.x + 20, s.y + 20), 'the window starts with foot\'s terminal, no title bar of its own').to.equal(BACKGROUND);
  });

  it('foot --fullscreen: the demo grants it, the window covers the whole output (0, 0, its size)', async function () {
    if (!existsSync('/usr/bin/foot')) this.skip(); // .ci/run installs foot
    const BACKGROUND = 0x2a7f3c;
    const { s, png, rgb } = await footShot(['--fullscreen', '-o', `colors.background=${hex(BACKGROUND)}`], 60);
    expect([s.x, s.y, s.width, s.height]).to.deep.equal([0, 0, 1280, 720]);
    let other = 0;
    for (let y = 0; y < png.height; y += 9) for (let x = 0; x < png.width; x += 9) if (rgb(x, y) !== BACKGROUND) other++;
    expect(other, 'samples not foot\'s background (its cursor cell at most)').to.be.below(3);
  });

  /** The window shows `background` in its middle and the demo's title bar (server-side decorations) right above it, nothing of the client's own. */
  function expectDecoratedTerminal(shot: Awaited<ReturnType<typeof clientShot>>, background: number, title: string): void {
    const { s, rgb, surfaces } = shot;
    expect(surfaces.map((w) => w.title)).to.deep.equal([title]);
    let other = 0;
    for (let y = s.y + 40; y < s.y + s.height - 10; y += 7) for (let x = s.x + 40; x < s.x + s.width - 10; x += 7) if (rgb(x, y) !== background) other++;
    expect(other, 'the terminal\'s background over its window (text cells aside)').to.equal(0);
    const bar = new Set<number>();
    for (let y = s.y - 20; y < s.y; y += 3) for (let x = s.x; x < s.x + s.width; x += 7) bar.add(rgb(x, y));
    expect([...bar], 'above the window: the demo\'s title bar only').to.deep.equal([0x3b4252]);
  }

  it('kitty (GL on Mesa\'s software renderer) with the compositor\'s decorations', async function () {
    if (!existsSync('/usr/bin/kitty')) this.skip(); // .ci/run installs kitty
    const BACKGROUND = 0x2a7f3c;
    const shot = await clientShot('kitty', ['-o', `background=#${hex(BACKGROUND)}`, '-o', 'linux_display_server=wayland', 'sh', '-c', 'sleep 60'], 60);
    expectDecoratedTerminal(shot, BACKGROUND, 'sh');
  });

  it('alacritty (GL on Mesa\'s software renderer) with the compositor\'s decorations', async function () {
    if (!existsSync('/usr/bin/alacritty')) this.skip(); // .ci/run installs alacritty
    const BACKGROUND = 0x2a7f3c;
    const shot = await clientShot('alacritty', ['-o', `colors.primary.background="0x${hex(BACKGROUND)}"`, '-e', 'sh', '-c', 'sleep 60'], 60);
    expectDecoratedTerminal(shot, BACKGROUND, 'Alacritty');
  });

  it('foot through waypipe (its client and server ends on two local sockets), as across machines', async function () {
    if (!existsSync('/usr/bin/waypipe') || !existsSync('/usr/bin/foot')) this.skip(); // .ci/run installs waypipe and foot
    const BACKGROUND = 0x2a7f3c;
    const sockDir = mkdtempSync(join(tmpdir(), 'bufshare-waypipe-'));
    const sock = join(sockDir, 'waypipe.sock');
    // `waypipe client` talks to the compositor; `waypipe server -- foot` is where the app runs (another machine, usually).
    const script = `waypipe --socket ${sock} client & sleep 0.5; exec waypipe --socket ${sock} server -- foot -o colors.background=${hex(BACKGROUND)} sh -c 'sleep 60'`;
    try {
      const shot = await clientShot('sh', ['-c', script], 60);
      expectDecoratedTerminal(shot, BACKGROUND, 'foot');
    } finally {
      // Both waypipe ends (and foot under the server end) go with their socket's users.
      spawnSync('pkill', ['-f', sock]);
      rmSync(sockDir, { recursive: true, force: true });
    }
  });

  it('weston-subsurfaces: its shm and GL subsurfaces drawn where the client places them, over its main surface', async function () {
    if (!existsSync('/usr/bin/weston-subsurfaces')) this.skip(); // .ci/run installs weston
    const { s, rgb } = await clientShot('weston-subsurfaces', [], 40);
    expect(s.title).to.equal('Wayland Sub-surface Demo');
    /** The share of pixels of `colour` in the window's box (fractions of its 400x300 surface, shadow margin included). */
    const share = (colour: number | undefined, x0: number, y0: number, x1: number, y1: number): { share: number; colours: number } => {
      let hit = 0;
      let n = 0;
      const seen = new Set<number>();
      for (let y = Math.round(s.y + y0 * s.height); y < s.y + y1 * s.height; y += 2) {
        for (let x = Math.round(s.x + x0 * s.width); x < s.x + x1 * s.width; x += 2) {
          const c = rgb(x, y);
          seen.add(c);
          hit += c === colour ? 1 : 0;
          n++;
        }
      }
      return { share: hit / n, colours: seen.size };
    };
    // The main surface (green, with a turning line), the red shm subsurface at its top right,
    // the GL one below it (dark green, with a coloured triangle): weston's own picture.
    expect(share(0x05a907, 0.15, 0.35, 0.5, 0.65).share, 'main surface').to.be.above(0.9);
    expect(share(0xa42201, 0.74, 0.2, 0.88, 0.38).share, 'the shm subsurface').to.be.above(0.8);
    const gl = share(0x025403, 0.72, 0.58, 0.9, 0.8);
    expect(gl.share, 'the GL subsurface\'s clear colour').to.be.above(0.5);
    expect(gl.colours, 'and its triangle\'s gradient').to.be.above(10);
  });

  it('at output scale 2 (HiDPI) foot draws at buffer scale 2, shown 1:1: fullscreen is the whole 1280x720 output', async function () {
    if (!existsSync('/usr/bin/foot')) this.skip(); // .ci/run installs foot
    const BACKGROUND = 0x2a7f3c;
    // foot learns the scale from wl_output.scale of the output its surface entered.
    const { s, png, rgb } = await footShot(['--fullscreen', '-o', `colors.background=${hex(BACKGROUND)}`], 60, ['--scale', '2']);
    expect([s.x, s.y, s.width, s.height, s.scale], 'output pixels; configured at 640x360 layout units').to.deep.equal([0, 0, 1280, 720, 2]);
    let other = 0;
    for (let y = 0; y < png.height; y += 9) for (let x = 0; x < png.width; x += 9) if (rgb(x, y) !== BACKGROUND) other++;
    expect(other, 'samples not foot\'s background (its cursor cell at most)').to.be.below(5);
  });

  it('at output scale 2 a scale-1 client (weston-simple-shm) shows doubled: 500x500 output pixels, each of its pixels a 2x2 block', async () => {
    const { s, rgb } = await clientShot('weston-simple-shm', [], 20, ['--scale', '2']);
    expect([s.width, s.height, s.scale]).to.deep.equal([500, 500, 1]);
    let paddingWrong = 0;
    let blocksWrong = 0;
    for (let y = 0; y < 500; y += 2) {
      for (let x = 0; x < 500; x += 2) {
        const c = rgb(s.x + x, s.y + y);
        if (rgb(s.x + x + 1, s.y + y) !== c || rgb(s.x + x, s.y + y + 1) !== c || rgb(s.x + x + 1, s.y + y + 1) !== c) blocksWrong++;
        if ((x < 40 || y < 40 || x >= 460 || y >= 460) && c !== 0xffffff) paddingWrong++;
      }
    }
    expect(blocksWrong, '2x2 blocks that are not one colour').to.equal(0);
    expect(paddingWrong, 'its 20-pixel white padding, doubled').to.equal(0);
    expect(rgb(s.x - 1, s.y + 250), 'left of the window: the background').to.not.equal(0xffffff);
  });
});
