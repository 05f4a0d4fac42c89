import { expect } from 'chai';
import { rect, Region, resolveFormat, ShmAllocator, type GraphicsRegion, type ShmBuffer } from '../../lib';
import { createBackground } from '../../demos/compositor/background';
import { compose, PLACEHOLDER_COLOR } from '../../demos/compositor/composer';
import { Framebuffer } from '../../demos/compositor/framebuffer';
import { Scene, type SceneSurface } from '../../demos/compositor/scene';
import { premultiplied, referencePixel } from '../helpers/blend-reference';
import { randInt, rng, SEED } from '../helpers/random';

/** The output pixel at (x, y) painted bottom to top, one pixel at a time. */
function paintedPixel(scene: Scene, background: Framebuffer, x: number, y: number): number {
  let p = background.pixels32[y * background.width + x]! >>> 0;
  for (const s of scene.surfaces) {
    if (!s.shown || !s.contains(x, y)) continue;
    const c = s.content!;
    const sx = x - s.x;
    const sy = y - s.y;
    if (s.paintMode === 'placeholder' || sx >= c.width || sy >= c.height) p = PLACEHOLDER_COLOR;
    else if (s.paintMode === 'copy') p = c.pixels32[sy * c.stride32 + sx]! >>> 0;
    else p = referencePixel(c.pixels32[sy * c.stride32 + sx]! >>> 0, p, false);
  }
  return p;
}

describe('compositor composition against a per-pixel painter', () => {
  const alloc = new ShmAllocator();
  const buffers: ShmBuffer[] = [];
  after(() => {
    for (const b of buffers.splice(0)) b.destroy();
  });

  function content(r: () => number, width: number, height: number, format: 'XRGB8888' | 'ARGB8888' | 'RGB565'): GraphicsRegion {
    const b = alloc.allocate({ width, height, format });
    buffers.push(b);
    const region = b.map({ mode: 'readwrite' });
    if (format === 'RGB565') return region;
    for (let i = 0; i < region.pixels32.length; i++) {
      const a = format === 'XRGB8888' ? 255 : [0, 255, randInt(r, 1, 254)][randInt(r, 0, 2)]!;
      region.pixels32[i] = premultiplied(a, randInt(r, 0, 255), randInt(r, 0, 255), randInt(r, 0, 255));
    }
    return region;
  }

  it(`random stacks of opaque, translucent and placeholder surfaces, random damage (seed ${SEED})`, () => {
    const r = rng(SEED + 6);
    for (let iter = 0; iter < 25; iter++) {
      const W = 48;
      const H = 36;
      const scene = new Scene(W, H, 'cascade', { gap: 0, titleHeight: 0, step: 0 });
      const background = createBackground(W, H);
      const out = new Framebuffer(W, H);
      const surfaces: SceneSurface[] = [];
      for (let id = 1; id <= randInt(r, 1, 5); id++) {
        const format = (['XRGB8888', 'ARGB8888', 'ARGB8888', 'RGB565'] as const)[randInt(r, 0, 3)]!;
        const w = randInt(r, 4, 30);
        const h = randInt(r, 4, 24);
        surfaces.push(scene.add(id, w, h, resolveFormat(format)));
        scene.move(id, randInt(r, 0, W - 1), randInt(r, 0, H - 1));
        // Now and then content smaller than the surface (a client mid-resize).
        const small = r() < 0.2;
        scene.attach(id, content(r, small ? randInt(r, 1, w) : w, small ? randInt(r, 1, h) : h, format), Region.empty);
      }
      compose(scene, out, background, scene.takeDamage());
      const check = (what: string): void => {
        for (let y = 0; y < H; y++) {
          for (let x = 0; x < W; x++) {
            const want = paintedPixel(scene, background, x, y);
            const got = out.pixels32[y * W + x]! >>> 0;
            if (got !== want) expect.fail(`${what}, iteration ${iter}: (${x}, ${y}) is ${got.toString(16)}, want ${want.toString(16)}`);
          }
        }
      };
      check('full composition');
      // Scribble over some rectangles, then recompose just those.
      const damage = Region.from(Array.from({ length: randInt(r, 1, 6) }, () => rect(randInt(r, -5, W), randInt(r, -5, H), randInt(r, 1, 30), randInt(r, 1, 20))));
      for (const d of damage.clip(W, H).rects) for (let y = d.y; y < d.y + d.height; y++) out.pixels32.fill(0x12345678, y * W + d.x, y * W + d.x + d.width);
      compose(scene, out, background, damage.clip(W, H));
      check('damaged recomposition');
    }
  });

  it('blends a translucent surface straight over the background where nothing is below it, without copying the background first', () => {
    const r = rng(SEED + 8);
    const W = 64;
    const H = 32;
    const scene = new Scene(W, H, 'cascade', { gap: 0, titleHeight: 0, step: 0 });
    const background = createBackground(W, H);
    const out = new Framebuffer(W, H);
    // Two opaque surfaces (one rectangle of damage each) below a translucent one
    // lying between them, on the background only.
    const place = (id: number, x: number, y: number, w: number, h: number, format: 'XRGB8888' | 'ARGB8888'): void => {
      scene.add(id, w, h, resolveFormat(format));
      scene.move(id, x, y);
      scene.attach(id, content(r, w, h, format), Region.empty);
    };
    place(1, 0, 0, 20, 20, 'XRGB8888');
    place(2, 40, 0, 20, 20, 'XRGB8888');
    place(3, 20, 10, 20, 10, 'ARGB8888');
    out.pixels32.fill(0x12345678);
    const stats = compose(scene, out, background, Region.full(W, H));
    expect(stats).to.deep.equal({ copied: 2 * 20 * 20, blended: 20 * 10, background: W * H - 2 * 20 * 20 - 20 * 10, filled: 0 });
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const want = paintedPixel(scene, background, x, y);
        const got = out.pixels32[y * W + x]! >>> 0;
        if (got !== want) expect.fail(`(${x}, ${y}) is ${got.toString(16)}, want ${want.toString(16)}`);
      }
    }
  });

  it('copies undamaged pixels only where the surface is alone: never over a surface above it', () => {
    const r = rng(SEED + 7);
    const W = 64;
    const H = 32;
    const scene = new Scene(W, H, 'cascade', { gap: 0, titleHeight: 0, step: 0 });
    const background = createBackground(W, H);
    const out = new Framebuffer(W, H);
    scene.add(1, 60, 30, resolveFormat('XRGB8888'));
    scene.move(1, 0, 0);
    scene.attach(1, content(r, 60, 30, 'XRGB8888'), Region.empty);
    // A small opaque surface on top, in the gap between the two damaged rectangles
    // below: joining them (cheaper by the cost model) would paint over it.
    scene.add(2, 10, 10, resolveFormat('XRGB8888'));
    scene.move(2, 20, 5);
    scene.attach(2, content(r, 10, 10, 'XRGB8888'), Region.empty);
    compose(scene, out, background, scene.takeDamage());
    const damage = Region.of(rect(10, 8, 5, 2), rect(35, 8, 5, 2));
    for (const d of damage.rects) for (let y = d.y; y < d.y + d.height; y++) out.pixels32.fill(0x12345678, y * W + d.x, y * W + d.x + d.width);
    compose(scene, out, background, damage);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const want = paintedPixel(scene, background, x, y);
        const got = out.pixels32[y * W + x]! >>> 0;
        if (got !== want) expect.fail(`(${x}, ${y}) is ${got.toString(16)}, want ${want.toString(16)}`);
      }
    }
  });
});
