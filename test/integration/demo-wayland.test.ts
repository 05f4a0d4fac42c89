// The demo compositor as a Wayland server: `npm run demo -- --headless --clients none
// --wayland NAME --frames N --screenshot F` with an outside, unmodified Wayland client.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
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

  it('takes the screenshot of a client that draws once and waits (foot at a blank screen): --frames counts output frames, not compositions', async function () {
    if (!existsSync('/usr/bin/foot')) this.skip(); // .ci/run installs foot
    const dir = mkdtempSync(join(tmpdir(), 'bufshare-wl-demo-'));
    const file = join(dir, 'shot.png');
    const display = join(dir, 'wayland-demo');
    const run = startDemo(['--headless', '--clients', 'none', '--wayland', display, '--frames', '30', '--screenshot', file]);
    const background = 0x2a7f3c;
    try {
      await run.waitFor(/wayland: WAYLAND_DISPLAY=(\S+)/);
      // A shell that prints nothing: foot draws its first frame and then has nothing to redraw.
      const client = spawn('foot', ['-o', 'csd.preferred=none', '-o', `colors.background=${background.toString(16).padStart(6, '0')}`, 'sh', '-c', 'sleep 60'], {
        stdio: 'ignore', env: { ...process.env, WAYLAND_DISPLAY: display },
      });
      const { code } = await run.exited();
      client.kill('SIGKILL');
      expect(code, run.lines.join('\n')).to.equal(0);
      const surfaces = JSON.parse((await run.waitFor(/surfaces: (.*)$/))[1]!) as SurfaceInfo[];
      expect(surfaces.map((s) => s.title)).to.deep.equal(['foot']);
      const s = surfaces[0]!;
      const png = PNG.sync.read(readFileSync(file));
      const i = ((s.y + (s.height >> 1)) * png.width + s.x + (s.width >> 1)) * 4;
      expect((png.data[i]! << 16) | (png.data[i + 1]! << 8) | png.data[i + 2]!, 'the middle of foot\'s window is its background').to.equal(background);
    } finally {
      await run.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
