import { expect } from 'chai';
import { copyRects, GraphicsRegion, IN_CACHE_COPY, OUT_OF_CACHE_COPY, rect, resolveFormat, type Rect } from '../../lib';
import { planFlags } from '../../lib/damage/plan';
import { copyRectsRaw } from '../../lib/native';
import { rng, randInt, SEED } from '../helpers/random';
import { referenceCopy } from '../helpers/copy-reference';

/**
 * The streaming row kernel (src-native/copy.cc StreamRows: non-temporal stores
 * for the whole 64-byte lines of rows of 256 bytes or more, cached stores for
 * the partial lines at both ends, prefetches rows ahead) against the plain
 * memcpy rows and a JS reference: the same pixels, and nothing written outside
 * the rectangles or the destination's view.
 */

const STREAM = 4;
const GUARD = 4096;
const GUARD_BYTE = 0xa5;

/** A view of `bytes` at `misalign` bytes past a 64-byte boundary, with GUARD guard bytes on both sides. */
function guarded(bytes: number, misalign: number, fill: (i: number) => number): { all: Uint8Array; view: Uint8Array } {
  const all = new Uint8Array(GUARD + misalign + bytes + GUARD).fill(GUARD_BYTE);
  const view = all.subarray(GUARD + misalign, GUARD + misalign + bytes);
  view.forEach((_, i, a) => (a[i] = fill(i)));
  return { all, view };
}

function pack(rects: readonly Rect[]): Int32Array {
  return Int32Array.from(rects.flatMap((r) => [r.x, r.y, r.width, r.height]));
}

function expectGuardsIntact(all: Uint8Array, viewStart: number, viewEnd: number, what: string): void {
  for (let i = 0; i < viewStart; i++) if (all[i] !== GUARD_BYTE) expect.fail(`${what}: guard byte ${i - viewStart} before the view was written`);
  for (let i = viewEnd; i < all.length; i++) if (all[i] !== GUARD_BYTE) expect.fail(`${what}: guard byte ${i - viewEnd} after the view was written`);
}

describe('copyRects with streaming stores', () => {
  it(`writes the same pixels as the cached copy and the JS reference, and nothing outside the rectangles (seed ${SEED})`, () => {
    const r = rng(SEED + 13);
    const bpps = [4, 2, 3, 8, 1];
    for (let iter = 0; iter < 120; iter++) {
      const bpp = bpps[iter % bpps.length]!;
      // Rows from under 256 bytes (memcpy) to several KiB (streamed), at every alignment of either view.
      const width = randInt(r, 40, Math.floor(3000 / bpp));
      const height = randInt(r, 1, 48);
      const srcStride = width * bpp + randInt(r, 0, 70);
      const dstStride = width * bpp + randInt(r, 0, 70);
      const src = guarded(srcStride * (height - 1) + width * bpp, randInt(r, 0, 63), (i) => (i * 131 + iter * 7 + 1) & 0xff);
      const streamed = guarded(dstStride * (height - 1) + width * bpp, randInt(r, 0, 63), (i) => (i * 17 + 3) & 0xff);
      const cached = guarded(streamed.view.length, streamed.view.byteOffset - GUARD, (i) => (i * 17 + 3) & 0xff);
      const expected = streamed.view.slice();
      const rects = Array.from({ length: randInt(r, 1, 6) }, () => {
        const x = randInt(r, -8, width - 1);
        return rect(x, randInt(r, -4, height - 1), randInt(r, 1, width + 8), randInt(r, 1, height + 4));
      });
      referenceCopy(src.view, srcStride, expected, dstStride, width, height, bpp, rects);
      const quads = pack(rects);
      copyRectsRaw(src.view, srcStride, streamed.view, dstStride, width, height, bpp, quads, undefined, STREAM);
      copyRectsRaw(src.view, srcStride, cached.view, dstStride, width, height, bpp, quads, undefined, 0);
      const at = `iteration ${iter}: ${width}x${height}, bpp ${bpp}, strides ${srcStride}/${dstStride}`;
      expect(Buffer.compare(Buffer.from(streamed.view), Buffer.from(expected)), at).to.equal(0);
      expect(Buffer.compare(Buffer.from(cached.view), Buffer.from(expected)), at).to.equal(0);
      expectGuardsIntact(streamed.all, streamed.view.byteOffset, streamed.view.byteOffset + streamed.view.length, at);
      expectGuardsIntact(src.all, src.view.byteOffset, src.view.byteOffset + src.view.length, `${at} (source)`);
    }
  });

  it('is what the out-of-cache model asks for, and the in-cache model does not', () => {
    expect(OUT_OF_CACHE_COPY.streamingStores).to.equal(true);
    expect(planFlags({}) & STREAM).to.equal(STREAM);
    expect(planFlags({ model: OUT_OF_CACHE_COPY, sourceComplete: true })).to.equal(1 | STREAM);
    expect(planFlags({ model: IN_CACHE_COPY }) & STREAM).to.equal(0);
    expect(planFlags({ model: { ...OUT_OF_CACHE_COPY, streamingStores: false } }) & STREAM).to.equal(0);
  });

  it('gives the same frame through copyRects with either model (planned, complete source)', () => {
    const width = 700;
    const height = 60;
    const stride = width * 4 + 36;
    const format = resolveFormat('XRGB8888');
    const region = (fill: (i: number) => number): GraphicsRegion => {
      const mem = new ArrayBuffer(stride * height);
      new Uint8Array(mem).forEach((_, i, a) => (a[i] = fill(i)));
      return new GraphicsRegion(mem, { width, height, stride, format, offset: 0 }, 'readwrite', 'direct', () => {});
    };
    const src = region((i) => (i * 29 + 5) & 0xff);
    const out = region(() => 0);
    const inCache = region(() => 0);
    const damage = [rect(3, 1, 257, 40), rect(300, 10, 399, 50), rect(1, 55, 698, 5), rect(650, 0, 64, 3)];
    const copied = copyRects(src, out, damage, { sourceComplete: true });
    expect(copyRects(src, inCache, damage, { sourceComplete: true, model: IN_CACHE_COPY })).to.be.greaterThan(0);
    expect(copied).to.be.greaterThan(0);
    const damaged = new Uint8Array(stride * height);
    referenceCopy(new Uint8Array(stride * height).fill(1), stride, damaged, stride, width, height, 4, damage);
    // A complete source may copy more than the damage: every damaged byte is the source's, every other the source's or untouched.
    for (const [name, dst] of [['out of cache', out], ['in cache', inCache]] as const) {
      for (let i = 0; i < damaged.length; i++) {
        if (damaged[i] === 1 && dst.pixels[i] !== src.pixels[i]) expect.fail(`${name}: damaged byte ${i} is ${dst.pixels[i]}, not ${src.pixels[i]}`);
        if (dst.pixels[i] !== 0 && dst.pixels[i] !== src.pixels[i]) expect.fail(`${name}: byte ${i} is not the source's`);
      }
    }
  });
});
