/**
 * ComposePass scaled layers (wp_viewporter): a crop of the source scaled to a
 * destination size, nearest-neighbour. Checked pixel for pixel against a JS
 * reference that builds the scaled image first (destination pixel (dx, dy) from
 * source (sx + floor(dx * sw / dw), sy + floor(dy * sh / dh))) and then copies
 * or blends it as an unscaled layer: random crops, scales up and down, layer
 * positions partly or wholly off the output, rectangles past every edge, mixed
 * with unscaled layers (a scaled layer takes two ops rows). No byte outside the
 * output's view is written.
 */
import { expect } from 'chai';
import { ComposePass, GraphicsRegion, resolveFormat, type FormatName, type Rect } from '../../lib';
import { composeLayersRaw } from '../../lib/native';
import { plainRegion, premultiplied, referenceBlend } from '../helpers/blend-reference';
import { randInt, rng, SEED } from '../helpers/random';

type SourceFormat = 'XRGB8888' | 'XBGR8888' | 'RGB565' | 'ARGB8888' | 'ABGR8888';

/** A tight region of `format` (stride: width * bpp + pad), each pixel random (premultiplied where it has alpha). */
function source(r: () => number, width: number, height: number, format: SourceFormat): GraphicsRegion {
  const f = resolveFormat(format);
  const stride = (width + randInt(r, 0, 3)) * f.bpp;
  const memory = new ArrayBuffer(height * stride);
  const v = new DataView(memory);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (f.bpp === 2) v.setUint16(y * stride + x * 2, randInt(r, 0, 0xffff), true);
      else if (f.hasAlpha) v.setUint32(y * stride + x * 4, premultiplied(randInt(r, 0, 3) * 85, randInt(r, 0, 255), randInt(r, 0, 255), randInt(r, 0, 255)), true);
      else v.setUint32(y * stride + x * 4, randInt(r, 0, 0xffffffff), true);
    }
  }
  return new GraphicsRegion(memory, { width, height, stride, format: f, offset: 0 }, 'readwrite', 'direct', () => {});
}

/** Source pixel (x, y) as XRGB8888/ARGB8888 (the DRM little-endian layouts converted in JS). */
function pixelAt(src: GraphicsRegion, x: number, y: number): number {
  const s = new DataView(src.pixels.buffer, src.pixels.byteOffset, src.pixels.byteLength);
  const name = src.format.name;
  if (name === 'RGB565') {
    const v = s.getUint16(y * src.stride + x * 2, true);
    const r5 = (v >> 11) & 0x1f;
    const g6 = (v >> 5) & 0x3f;
    const b5 = v & 0x1f;
    return (0xff000000 | (((r5 << 3) | (r5 >> 2)) << 16) | (((g6 << 2) | (g6 >> 4)) << 8) | ((b5 << 3) | (b5 >> 2))) >>> 0;
  }
  const at = y * src.stride + x * 4;
  const [b0, b1, b2, b3] = [s.getUint8(at), s.getUint8(at + 1), s.getUint8(at + 2), s.getUint8(at + 3)];
  if (name === 'XBGR8888' || name === 'ABGR8888') return ((b3 << 24) | (b0 << 16) | (b1 << 8) | b2) >>> 0;
  return ((b3 << 24) | (b2 << 16) | (b1 << 8) | b0) >>> 0;
}

/** The crop scaled to dw x dh, nearest (the formula under test, in JS numbers: exact below 2^53). */
function scaledImage(src: GraphicsRegion, crop: Rect, dw: number, dh: number): GraphicsRegion {
  const to: FormatName = src.format.hasAlpha ? 'ARGB8888' : 'XRGB8888';
  return plainRegion(dw, dh, dw * 4, to, (i) => {
    const dx = i % dw;
    const dy = Math.floor(i / dw);
    return pixelAt(src, crop.x + Math.floor((dx * crop.width) / dw), crop.y + Math.floor((dy * crop.height) / dh));
  });
}

interface Layer {
  src: GraphicsRegion;
  x: number;
  y: number;
  /** Undefined: unscaled. */
  crop?: Rect;
  dw: number;
  dh: number;
  rects: Rect[];
}

function reference(out: GraphicsRegion, bytes: Uint8Array, layers: readonly Layer[]): void {
  const o = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const l of layers) {
    const img = scaledImage(l.src, l.crop ?? { x: 0, y: 0, width: l.src.width, height: l.src.height }, l.dw, l.dh);
    if (l.src.format.hasAlpha) {
      referenceBlend(img, out, bytes, l.rects, l.x, l.y);
      continue;
    }
    for (const r of l.rects) {
      const x0 = Math.max(r.x, 0, l.x);
      const y0 = Math.max(r.y, 0, l.y);
      const x1 = Math.min(r.x + r.width, out.width, l.x + l.dw);
      const y1 = Math.min(r.y + r.height, out.height, l.y + l.dh);
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) o.setUint32(y * out.stride + x * 4, img.pixels32[(y - l.y) * l.dw + (x - l.x)]!, true);
    }
  }
}

function pack(rects: readonly Rect[]): Int32Array {
  return new Int32Array(rects.flatMap((q) => [q.x, q.y, q.width, q.height]));
}

const FORMATS: SourceFormat[] = ['XRGB8888', 'XBGR8888', 'RGB565', 'ARGB8888', 'ABGR8888'];

describe('ComposePass scaled layers (nearest-neighbour crop and scale)', () => {
  it('matches the JS reference for random crops, scales up and down, and clipped rectangles', () => {
    const r = rng(SEED);
    for (let iter = 0; iter < 150; iter++) {
      const W = randInt(r, 1, 48);
      const H = randInt(r, 1, 40);
      const stride = W * 4 + randInt(r, 0, 2) * 4;
      const guard = 64;
      const memory = new Uint8Array(guard + stride * H + guard).fill(0xa5);
      const out = new GraphicsRegion(memory.buffer, { width: W, height: H, stride, format: resolveFormat('XRGB8888'), offset: guard }, 'readwrite', 'direct', () => {});
      const ov = new DataView(memory.buffer, guard, stride * H);
      for (let i = 0; i < (stride * H) / 4; i++) ov.setUint32(i * 4, randInt(r, 0, 0xffffffff), true);
      const bg = plainRegion(W, H, W * 4, 'XRGB8888', () => 0);
      const layers: Layer[] = [];
      for (let n = randInt(r, 1, 4); n > 0; n--) {
        const format = FORMATS[randInt(r, 0, FORMATS.length - 1)]!;
        const src = source(r, randInt(r, 1, 30), randInt(r, 1, 30), format);
        const scaled = r() < 0.8;
        const crop = scaled
          ? (() => {
              const x = randInt(r, 0, src.width - 1);
              const y = randInt(r, 0, src.height - 1);
              return { x, y, width: randInt(r, 1, src.width - x), height: randInt(r, 1, src.height - y) };
            })()
          : undefined;
        const dw = scaled ? randInt(r, 1, 70) : src.width;
        const dh = scaled ? randInt(r, 1, 70) : src.height;
        const x = randInt(r, -30, W + 5);
        const y = randInt(r, -30, H + 5);
        const rects: Rect[] = [];
        for (let k = randInt(r, 0, 4); k > 0; k--) rects.push({ x: randInt(r, -20, W + 5), y: randInt(r, -20, H + 5), width: randInt(r, 0, W + 20), height: randInt(r, 0, H + 20) });
        if (r() < 0.3) rects.push({ x: -(2 ** 31), y: -(2 ** 31), width: 2 ** 31 - 1, height: 2 ** 31 - 1 }); // far off, near the int32 edge
        layers.push({ src, x, y, crop, dw, dh, rects });
      }
      const want = memory.slice();
      reference(out, want.subarray(guard, guard + stride * H), layers);
      const pass = new ComposePass().begin(out, bg);
      for (const l of layers) {
        const q = pack(l.rects);
        if (l.crop) pass.addScaled(l.src, l.x, l.y, l.crop, l.dw, l.dh, q);
        else if (l.src.format.hasAlpha) pass.addBlend(l.src, l.x, l.y, q);
        else pass.addCopy(l.src, l.x, l.y, q);
      }
      pass.run();
      if (Buffer.compare(Buffer.from(memory), Buffer.from(want)) !== 0) {
        for (let i = 0; i < memory.length; i += 4) {
          const got = new DataView(memory.buffer).getUint32(i, true);
          const exp = new DataView(want.buffer).getUint32(i, true);
          if (got !== exp) {
            const p = (i - guard) / 4;
            expect.fail(`seed ${SEED} iteration ${iter}: word ${p} (${p % (stride / 4)}, ${Math.floor(p / (stride / 4))}) is ${got.toString(16)}, want ${exp.toString(16)}`);
          }
        }
      }
    }
  });

  it('one source pixel stretched over the destination; a 1:1 crop is a plain offset copy', () => {
    const src = plainRegion(4, 4, 16, 'XRGB8888', (i) => 0xff000000 + i);
    const out = plainRegion(10, 10, 40, 'XRGB8888', () => 0);
    const bg = plainRegion(10, 10, 40, 'XRGB8888', () => 0);
    const pass = new ComposePass().begin(out, bg);
    pass.addScaled(src, 2, 2, { x: 3, y: 1, width: 1, height: 1 }, 5, 3, new Int32Array([0, 0, 10, 10]));
    const counts = pass.run();
    expect(counts.copied).to.equal(15);
    for (let y = 0; y < 10; y++) for (let x = 0; x < 10; x++) expect(out.pixels32[y * 10 + x]).to.equal(x >= 2 && x < 7 && y >= 2 && y < 5 ? 0xff000007 : 0);
    pass.addScaled(src, 0, 0, { x: 1, y: 2, width: 2, height: 2 }, 2, 2, new Int32Array([0, 0, 10, 10]));
    pass.run();
    expect([out.pixels32[0], out.pixels32[1], out.pixels32[10], out.pixels32[11]]).to.deep.equal([0xff000009, 0xff00000a, 0xff00000d, 0xff00000e]);
  });

  it('refuses a crop outside the source, an empty one, a zero destination, and a scaled row without its second row', () => {
    const src = plainRegion(4, 4, 16, 'XRGB8888', () => 0xff112233);
    const out = plainRegion(8, 8, 32, 'XRGB8888', () => 0);
    const bg = plainRegion(8, 8, 32, 'XRGB8888', () => 0);
    const pass = new ComposePass().begin(out, bg);
    const all = new Int32Array([0, 0, 8, 8]);
    for (const call of [
      () => pass.addScaled(src, 0, 0, { x: 1, y: 0, width: 4, height: 4 }, 8, 8, all),
      () => pass.addScaled(src, 0, 0, { x: 0, y: 0, width: 0, height: 4 }, 8, 8, all),
      () => pass.addScaled(src, 0, 0, { x: -1, y: 0, width: 2, height: 2 }, 8, 8, all),
      () => pass.addScaled(src, 0, 0, { x: 0, y: 0, width: 2, height: 2 }, 0, 8, all),
      () => pass.addScaled(src, 0, 0, { x: 0.5, y: 0, width: 2, height: 2 }, 8, 8, all),
    ]) {
      expect(call).to.throw().with.property('code', 'ERR_BUFSHARE_INVALID_ARGUMENT');
    }
    const numbers = new Float64Array(9);
    const header = (rows: number): number[] => [32, 8, 8, 32, 8, 8, rows, 1];
    const raw = (ops: number[]): void => composeLayersRaw(out.pixels, bg.pixels, [src.pixels], new Int32Array(ops), all, numbers);
    const layer = [9, 0, 16, 4, 4, 0, 0, 1];
    for (const ops of [
      [...header(1), ...layer, 0, 0, 2, 2, 8, 8, 0, 0], // the second row not counted
      [...header(2), ...layer, 3, 0, 2, 2, 8, 8, 0, 0], // crop past the right edge
      [...header(2), ...layer, 0, 0, 2, 0, 8, 8, 0, 0], // empty crop
      [...header(2), ...layer, 0, 0, 2, 2, 8, -1, 0, 0], // negative destination
      [...header(2), ...layer, 0, 0, 2, 2, 2 ** 24 + 1, 8, 0, 0], // past the bound
    ]) {
      expect(() => raw(ops)).to.throw().with.property('code', 'ERR_BUFSHARE_INVALID_ARGUMENT');
    }
    expect(out.pixels32.every((p) => p === 0)).to.equal(true);
    raw([...header(2), ...layer, 2, 2, 2, 2, 8, 8, 0, 0]);
    expect(out.pixels32.every((p) => p === 0xff112233)).to.equal(true);
  });
});
