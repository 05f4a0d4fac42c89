/**
 * The scene's painter against a per-pixel one: every leaf (opaque and
 * translucent buffers, opaque and translucent solid rectangles, formats the
 * output cannot show, some through viewports: cropped and scaled, nearest;
 * buffers at buffer scale 2, outputs at scale 2) painted bottom to top, one
 * pixel at a time, with the reference blend. The damage-tracking test (scene-damage) compares the
 * painter with itself; this one checks what it paints.
 */
import { expect } from 'chai';
import { rect, Region, ShmAllocator, type FormatName, type GraphicsRegion, type ShmBuffer } from '../../lib';
import { PLACEHOLDER_COLOR, pixelRegion, Scene, SceneBuffer, SceneBufferNode, SceneRect, type SceneOutput } from '../../lib/scene';
import { premultiplied, referencePixel } from '../helpers/blend-reference';
import { randInt, rng, SEED } from '../helpers/random';

const BG = 0xff102030;

/** The output pixel at (x, y) painted bottom to top, one pixel at a time. */
function paintedPixel(scene: Scene, output: SceneOutput, x: number, y: number): number {
  let p = BG;
  const s = output.scale;
  for (const { node, rect: layout } of scene.leaves()) {
    // The leaf in this output's pixels: layout units less the output's corner, times its scale.
    const r = { x: (layout.x - output.x) * s, y: (layout.y - output.y) * s, width: layout.width * s, height: layout.height * s };
    const lx = x;
    const ly = y;
    if (lx < r.x || ly < r.y || lx >= r.x + r.width || ly >= r.y + r.height) continue;
    if (node instanceof SceneRect) {
      p = node.opaque ? node.color : referencePixel(node.color, p, false);
      continue;
    }
    const b = node as SceneBufferNode;
    const c = b.buffer!.region;
    // Through a viewport: destination (dx, dy) shows source (sx + floor(dx * sw / dw), sy + floor(dy * sh / dh)).
    const src = b.viewport?.source ?? { x: 0, y: 0, width: c.width, height: c.height };
    if (src.x + src.width > c.width || src.y + src.height > c.height) {
      p = PLACEHOLDER_COLOR;
      continue;
    }
    const shown = shownPixel(c, src.x + Math.floor(((lx - r.x) * src.width) / r.width), src.y + Math.floor(((ly - r.y) * src.height) / r.height));
    p = shown === undefined ? PLACEHOLDER_COLOR : c.format.hasAlpha ? referencePixel(shown, p, false) : shown;
  }
  return p >>> 0;
}

/** A buffer's pixel as XRGB/ARGB8888: XBGR/ABGR with R and B swapped, RGB565 widened by bit replication; undefined for what the output cannot show. */
function shownPixel(c: GraphicsRegion, x: number, y: number): number | undefined {
  const v = new DataView(c.pixels.buffer, c.pixels.byteOffset, c.pixels.byteLength);
  const name = c.format.name;
  if (name === 'RGB565') {
    const w = v.getUint16(y * c.stride + x * 2, true);
    const [r5, g6, b5] = [w >> 11, (w >> 5) & 0x3f, w & 0x1f];
    return (0xff000000 | (((r5 << 3) | (r5 >> 2)) << 16) | (((g6 << 2) | (g6 >> 4)) << 8) | ((b5 << 3) | (b5 >> 2))) >>> 0;
  }
  const w = name.endsWith('8888') ? v.getUint32(y * c.stride + x * 4, true) : 0;
  if (name === 'XRGB8888' || name === 'ARGB8888') return w;
  if (name === 'XBGR8888' || name === 'ABGR8888') return ((w & 0xff00ff00) | ((w >>> 16) & 0xff) | ((w & 0xff) << 16)) >>> 0;
  return undefined;
}

function check(scene: Scene, output: SceneOutput, fb: GraphicsRegion, what: string): void {
  for (let y = 0; y < output.height; y++) {
    for (let x = 0; x < output.width; x++) {
      const want = paintedPixel(scene, output, x, y);
      const got = fb.pixels32[y * fb.stride32 + x]! >>> 0;
      if (got !== want) expect.fail(`${what}: (${x}, ${y}) is ${got.toString(16)}, want ${want.toString(16)}`);
    }
  }
}

describe('scene: what the painter paints, against a per-pixel painter', () => {
  const alloc = new ShmAllocator();
  const buffers: ShmBuffer[] = [];
  after(() => {
    for (const b of buffers.splice(0)) b.destroy();
  });

  function content(r: () => number, width: number, height: number, format: FormatName): SceneBuffer {
    const b = alloc.allocate({ width, height, format });
    buffers.push(b);
    const region = b.map({ mode: 'readwrite' });
    if (format === 'RGB565') region.pixels.forEach((_, i) => (region.pixels[i] = randInt(r, 0, 255)));
    else {
      for (let i = 0; i < region.pixels32.length; i++) {
        const a = region.format.hasAlpha ? [0, 255, randInt(r, 1, 254)][randInt(r, 0, 2)]! : 255;
        region.pixels32[i] = premultiplied(a, randInt(r, 0, 255), randInt(r, 0, 255), randInt(r, 0, 255));
      }
    }
    return new SceneBuffer(region, () => region.unmap());
  }

  it(`random stacks of buffers and rectangles in nested trees, two outputs, random damage (seed ${SEED})`, () => {
    const r = rng(SEED + 6);
    for (let iter = 0; iter < 25; iter++) {
      const scene = new Scene({ background: BG });
      // The second output at scale 2 half the time (HiDPI: scale-1 buffers doubled, scale-2 ones 1:1).
      const outputs = [scene.addOutput({ width: 48, height: 36 }), scene.addOutput({ x: 30, y: 20, width: 40, height: 30, scale: iter % 2 === 0 ? 2 : 1 })];
      const trees = [scene.root, scene.createTree()];
      trees[1]!.setPosition(randInt(r, -10, 20), randInt(r, -10, 20));
      for (let i = randInt(r, 1, 7); i > 0; i--) {
        const parent = trees[randInt(r, 0, 1)]!;
        const node = r() < 0.3
          ? scene.createRect(randInt(r, 1, 30), randInt(r, 1, 24), r() < 0.5 ? 0xff000000 | randInt(r, 0, 0xffffff) : premultiplied(randInt(r, 0, 254), randInt(r, 0, 255), randInt(r, 0, 255), randInt(r, 0, 255)), parent)
          : scene.createBuffer(parent, content(r, randInt(r, 4, 30), randInt(r, 4, 24), (['XRGB8888', 'ARGB8888', 'ARGB8888', 'RGB565', 'XBGR8888', 'ABGR8888', 'BGRX8888'] as const)[randInt(r, 0, 6)]!));
        if (node instanceof SceneBufferNode) {
          node.buffer!.unlock();
          // A third drawn at buffer scale 2; half of them through a viewport: a crop (or none) scaled up or down.
          if (r() < 0.33) node.setBufferScale(2);
          if (r() < 0.5) {
            const b = node.buffer!;
            const x = randInt(r, 0, b.width - 1);
            const y = randInt(r, 0, b.height - 1);
            const source = r() < 0.7 ? { x, y, width: randInt(r, 1, b.width - x), height: randInt(r, 1, b.height - y) } : undefined;
            node.setViewport({ source, width: randInt(r, 1, 50), height: randInt(r, 1, 40) });
          }
        }
        node.setPosition(randInt(r, -5, 60), randInt(r, -5, 45));
      }
      for (const output of outputs) {
        const fb = pixelRegion(output.width, output.height);
        fb.pixels32.fill(0x12345678);
        output.render(fb, 0);
        check(scene, output, fb, `full, iteration ${iter}, ${output.name}`);
        // Scribble over some rectangles, then repaint just those.
        const area = output.rect;
        const damage = Region.from(Array.from({ length: randInt(r, 1, 6) }, () => rect(randInt(r, -5, 50), randInt(r, -5, 40), randInt(r, 1, 30), randInt(r, 1, 20)))).clip(area.width, area.height);
        const s = output.scale;
        for (const d of damage.rects) {
          for (let y = d.y * s; y < Math.min((d.y + d.height) * s, fb.height); y++) fb.pixels32.fill(0x12345678, y * fb.stride32 + d.x * s, y * fb.stride32 + Math.min((d.x + d.width) * s, fb.width));
        }
        output.damageLayout(damage.translate(output.x, output.y).rects);
        output.render(fb, 1);
        check(scene, output, fb, `damaged, iteration ${iter}, ${output.name}`);
      }
    }
  });

  it('blends a translucent buffer straight over the background where nothing is below it, and paints a pixel under an opaque one never', () => {
    const r = rng(SEED + 8);
    const scene = new Scene({ background: BG });
    const output = scene.addOutput({ width: 64, height: 32 });
    const place = (x: number, y: number, w: number, h: number, format: 'XRGB8888' | 'ARGB8888'): void => {
      const b = content(r, w, h, format);
      scene.createBuffer(scene.root, b).setPosition(x, y);
      b.unlock();
    };
    place(0, 0, 20, 20, 'XRGB8888');
    place(40, 0, 20, 20, 'XRGB8888');
    place(20, 10, 20, 10, 'ARGB8888');
    place(5, 5, 10, 10, 'XRGB8888'); // hides part of the first: those pixels are copied once
    const fb = pixelRegion(64, 32);
    const { stats } = output.render(fb, 0);
    expect(stats).to.deep.equal({ copied: 2 * 20 * 20, blended: 20 * 10, background: 64 * 32 - 2 * 20 * 20 - 20 * 10, filled: 0 });
    check(scene, output, fb, 'full');
  });

  it('a buffer whose pixels were unmapped (its client went away) is never read', () => {
    const scene = new Scene({ background: BG });
    const output = scene.addOutput({ width: 30, height: 30 });
    const region = pixelRegion(10, 10);
    region.pixels32.fill(0xffff0000);
    let mapped = true;
    const view = new (region.constructor as typeof import('../../lib').GraphicsRegion)(region.pixels.buffer as ArrayBuffer, { width: 10, height: 10, stride: 40, format: region.format, offset: 0 }, 'read', 'direct', () => (mapped = false));
    const b = new SceneBuffer(view, () => {});
    scene.createBuffer(scene.root, b);
    view.unmap();
    expect(mapped).to.equal(false);
    const fb = pixelRegion(30, 30);
    output.render(fb, 0);
    expect(new Set(fb.pixels32)).to.deep.equal(new Set([BG]));
  });
});
