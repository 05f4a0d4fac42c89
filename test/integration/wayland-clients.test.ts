// Real, unmodified Wayland clients (Debian's weston-simple-shm, weston-simple-damage
// and foot) against a bufshare WaylandServer: the pixels that reach the compositor
// are the ones the client drew, and a client that dies leaves nothing behind.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import * as native from '../../lib/native';
import type { CompositorSurface } from '../../lib/surface-model';
import { resourceFds } from '../helpers/fds';
import { exited, WaylandHarness, type FrameCopy } from '../helpers/wayland';

function have(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * weston-simple-shm's picture (clients/simple-shm.c, paint_pixels) for frame
 * time `time`: a white 20-pixel padding (the buffer is memset to 0xff), inside
 * it rings and bands of the colour step 0x0080401, and a cross where the alpha
 * byte is left 0 (it shows when a compositor takes XRGB's X for alpha).
 */
function simpleShmPixel(x: number, y: number, width: number, height: number, time: number): number {
  const padding = 20;
  if (x < padding || y < padding || x >= width - padding || y >= height - padding) return 0xffffffff;
  const halfh = padding + Math.trunc((height - padding * 2) / 2);
  const halfw = padding + Math.trunc((width - padding * 2) / 2);
  let outer = Math.min(halfw, halfh) - 8;
  let inner = outer - 32;
  outer *= outer;
  inner *= inner;
  const r2 = (x - halfw) ** 2 + (y - halfh) ** 2;
  let v: number;
  if (r2 < inner) v = Math.imul(Math.trunc(r2 / 32) + Math.trunc(time / 64), 0x0080401);
  else if (r2 < outer) v = Math.imul(y + Math.trunc(time / 32), 0x0080401);
  else v = Math.imul(x + Math.trunc(time / 16), 0x0080401);
  v &= 0x00ffffff;
  if (Math.abs(x - y) > 6 && Math.abs(x + y - height) > 6) v |= 0xff000000;
  return v >>> 0;
}

/** Waits until no frame came for `ms` (the client is idle). */
async function quiet(h: WaylandHarness, ms: number): Promise<void> {
  for (;;) {
    const n = h.frames.length;
    await new Promise((r) => setTimeout(r, ms));
    if (h.frames.length === n) return;
  }
}

function pixelAt(f: FrameCopy, x: number, y: number): number {
  return f.pixels[y * f.stride32 + x]!;
}

/** Pixels that differ between two frames of the same size, outside `damage`. */
function changesOutside(a: FrameCopy, b: FrameCopy): number {
  let n = 0;
  for (let y = 0; y < b.height; y++) {
    for (let x = 0; x < b.width; x++) {
      if (pixelAt(a, x, y) === pixelAt(b, x, y)) continue;
      if (!b.damage.some((r) => x >= r.x && y >= r.y && x < r.x + r.width && y < r.y + r.height)) n++;
    }
  }
  return n;
}

describe('Wayland: real clients', function () {
  this.timeout(30000);
  let h: WaylandHarness;
  let fdsBefore: string[];
  let mappingsBefore: number;

  before(function () {
    if (!have('weston-simple-shm') || !have('foot')) this.skip(); // .ci/run installs weston and foot
  });

  beforeEach(() => {
    fdsBefore = resourceFds();
    mappingsBefore = native.mappingStats().live;
    h = new WaylandHarness();
  });

  afterEach(async () => {
    await h.close();
  });

  it('weston-simple-shm: the first frame is its picture, pixel for pixel; later frames damage the inside only', async () => {
    h.run('weston-simple-shm');
    await h.until('10 frames', () => h.frames.length >= 10);
    const s = h.surfaces[0]!;
    expect([s.width, s.height, s.format.name, s.title, s.appId, s.kind, s.access]).to.deep.equal(
      [250, 250, 'XRGB8888', 'simple-shm', 'org.freedesktop.weston.simple-shm', 'shm', 'direct']);
    const first = h.frames[0]!;
    expect(first.damage).to.deep.equal([{ x: 0, y: 0, width: 250, height: 250 }]);
    let wrong = 0;
    for (let y = 0; y < 250; y++) for (let x = 0; x < 250; x++) if (pixelAt(first, x, y) !== simpleShmPixel(x, y, 250, 250, 0)) wrong++;
    expect(wrong, 'pixels unlike simple-shm\'s frame at time 0').to.equal(0);
    for (const f of h.frames.slice(1)) expect(f.damage).to.deep.equal([{ x: 20, y: 20, width: 210, height: 210 }]);
    // Time moves the bands: a later frame differs inside, never in the padding.
    const last = h.frames.at(-1)!;
    expect(changesOutside(first, last)).to.equal(0);
    expect(last.pixels.some((p, i) => p !== first.pixels[i])).to.equal(true);
  });

  it('foot follows the compositor: configure resizes it (a resize event, then frames of the new size), close ends it', async () => {
    const child = h.run('foot', ['-o', 'csd.preferred=none', '-o', 'colors.background=204060']);
    await h.until('frames', () => h.frames.length >= 1);
    await quiet(h, 300);
    const s = h.surfaces[0] as CompositorSurface & { configure(w: number, hgt: number): void; requestClose(): void };
    const resized: [number, number][] = [];
    s.on('resize', (w, hgt) => resized.push([w, hgt]));
    s.configure(420, 260);
    await h.until('a 420x260 frame', () => h.frames.at(-1)!.width === 420);
    expect(resized).to.deep.equal([[420, 260]]);
    const f = h.frames.at(-1)!;
    expect([f.width, f.height, s.width, s.height]).to.deep.equal([420, 260, 420, 260]);
    expect(pixelAt(f, 419, 259) >>> 0).to.equal(0xff204060);
    s.requestClose();
    await exited(child);
    await h.until('the disconnect', () => h.server.clients.size === 0);
    expect(s.destroyed).to.equal(true);
  });

  for (const args of [[], ['--use-damage-buffer'], ['--scale=2'], ['--scale=2', '--use-damage-buffer']]) {
    it(`weston-simple-damage ${args.join(' ') || '(surface damage)'}: every changed pixel lies in the reported buffer damage`, async () => {
      h.run('weston-simple-damage', args);
      await h.until('30 frames', () => h.frames.length >= 30);
      const scale = args.includes('--scale=2') ? 2 : 1;
      const s = h.surfaces[0] as CompositorSurface & { bufferScale: number };
      expect([h.frames[0]!.width, s.bufferScale]).to.deep.equal([s.width, scale]);
      let damaged = 0;
      for (let i = 1; i < h.frames.length; i++) {
        const [a, b] = [h.frames[i - 1]!, h.frames[i]!];
        if (a.width !== b.width) continue;
        expect(changesOutside(a, b), `frame ${i}`).to.equal(0);
        damaged += b.damage.length;
        // The damage is the moving ball, not the whole buffer.
        for (const r of b.damage) expect(r.width * r.height).to.be.below(b.width * b.height / 4);
      }
      expect(damaged).to.be.above(0);
    });
  }

  it('foot: shows its configured background, and text typed through the keyboard API appears at the prompt', async () => {
    h.run('foot', ['-o', 'colors.background=204060', '-o', 'colors.foreground=ffffff', '-o', 'csd.preferred=none', '-o', 'cursor.blink=no',
      '--', 'env', 'PS1=> ', 'sh'], { SHELL: '/bin/sh' });
    await h.until('foot\'s first frame', () => h.frames.length >= 1);
    const s = h.surfaces[0]!;
    expect(s.appId).to.equal('foot');
    const bg = 0xff204060;
    // The prompt: wait until foot drew "> " (non-background pixels in the top rows).
    const rowInk = (f: FrameCopy, y0: number, y1: number): number => {
      let n = 0;
      for (let y = y0; y < y1; y++) for (let x = 0; x < f.width; x++) if (pixelAt(f, x, y) !== bg) n++;
      return n;
    };
    await h.until('the prompt', () => rowInk(h.frames.at(-1)!, 0, 30) > 0);
    s.keyboard({ action: 'enter' }); // focus first: foot redraws its cursor as focused
    await quiet(h, 400);
    const before = h.frames.at(-1)!;
    expect(pixelAt(before, before.width - 5, before.height - 5)).to.equal(bg);
    expect(pixelAt(before, before.width >> 1, before.height >> 1)).to.equal(bg);
    const inkBefore = rowInk(before, 0, 30);
    // KEY_E 18, KEY_C 46, KEY_H 35, KEY_O 24: "echo" typed through the compositor's API.
    for (const key of [18, 46, 35, 24]) {
      s.keyboard({ action: 'key', key, pressed: true });
      s.keyboard({ action: 'key', key, pressed: false });
    }
    await h.until('the typed text', () => rowInk(h.frames.at(-1)!, 0, 30) > inkBefore + 40);
    await quiet(h, 400);
    const after = h.frames.at(-1)!;
    // The new ink is right of the prompt ("> " is two cells), on its line.
    const inkRightOfPrompt = (f: FrameCopy): number => {
      let n = 0;
      for (let y = 0; y < 30; y++) for (let x = 30; x < f.width; x++) if (pixelAt(f, x, y) !== bg) n++;
      return n;
    };
    expect(inkRightOfPrompt(after)).to.be.above(inkRightOfPrompt(before) + 40);
    // Only the prompt's line changed; the rest is still background.
    expect(rowInk(after, 40, after.height)).to.equal(rowInk(before, 40, before.height));
  });

  for (const client of ['weston-simple-shm', 'weston-simple-damage', 'foot']) {
    it(`${client} killed mid-frame leaves the server's fds and mappings at baseline`, async () => {
      h.keepCopies = false;
      const child = h.run(client, client === 'foot' ? ['-o', 'csd.preferred=none'] : []);
      await h.until('frames', () => h.held !== undefined && h.server.clients.size === 1);
      await new Promise((r) => setTimeout(r, 100));
      const held = h.held!;
      expect(native.mappingStats().live).to.be.above(mappingsBefore);
      child.kill('SIGKILL');
      await exited(child);
      await h.until('the disconnect', () => h.server.clients.size === 0);
      // The held frame went back when its surface was withdrawn; nothing of the client is left.
      expect(held.released).to.equal(true);
      expect(native.mappingStats().live).to.equal(mappingsBefore);
      const surfaces: CompositorSurface[] = h.surfaces;
      expect(surfaces.every((x) => x.destroyed)).to.equal(true);
      await h.close();
      expect(resourceFds()).to.deep.equal(fdsBefore);
    });
  }
});
