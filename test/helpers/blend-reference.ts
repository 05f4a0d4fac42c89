/**
 * The JS reference for blendRects, channel by channel (the native loops work two
 * channels per multiply, or in 16-bit SIMD lanes): src + round(dst * (255 - a) / 255)
 * with the compositor's integer rounding, the sum carried as one 32-bit word,
 * alpha 0xff stored as it is and alpha 0 leaving the destination untouched.
 */
import { blendRects, GraphicsRegion, rect, resolveFormat, type FormatName, type Rect } from '../../lib';
import { randInt, rng } from './random';

export function referencePixel(p: number, q: number, dstHasAlpha: boolean): number {
  const a = p >>> 24;
  if (a === 255) return p;
  if (a === 0) return q;
  const ia = 255 - a;
  const channel = (shift: number): number => {
    const t = ((q >>> shift) & 0xff) * ia + 128;
    return ((t + (t >> 8)) >> 8) * 2 ** shift;
  };
  const out = (p + channel(0) + channel(8) + channel(16) + channel(24)) % 2 ** 32;
  return dstHasAlpha ? out : (out | 0xff000000) >>> 0;
}

/**
 * Blends `rects` (dst coordinates, src at (ox, oy)) into `out`, a copy of dst's
 * bytes, over what `out` holds or, given `below`, over below's pixels. Each
 * damaged pixel is blended once, however many rectangles cover it: damage is a
 * set of pixels, and a blend in place is not idempotent.
 */
export function referenceBlend(src: GraphicsRegion, dst: GraphicsRegion, out: Uint8Array, rects: readonly Rect[], ox: number, oy: number, below?: GraphicsRegion): void {
  const sv = new DataView(src.pixels.buffer, src.pixels.byteOffset, src.pixels.byteLength);
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const bv = below ? new DataView(below.pixels.buffer, below.pixels.byteOffset, below.pixels.byteLength) : dv;
  const bStride = below ? below.stride : dst.stride;
  const done = new Uint8Array(dst.width * dst.height);
  for (const r of rects) {
    const x0 = Math.max(r.x, 0, ox);
    const y0 = Math.max(r.y, 0, oy);
    const x1 = Math.min(r.x + r.width, dst.width, below?.width ?? dst.width, ox + src.width);
    const y1 = Math.min(r.y + r.height, dst.height, below?.height ?? dst.height, oy + src.height);
    for (let y = y0; y < y1; y++) {
      for (let x = x0; x < x1; x++) {
        if (done[y * dst.width + x]) continue;
        done[y * dst.width + x] = 1;
        const p = sv.getUint32((y - oy) * src.stride + (x - ox) * 4, true);
        const q = bv.getUint32(y * bStride + x * 4, true);
        dv.setUint32(y * dst.stride + x * 4, referencePixel(p, q, dst.format.hasAlpha), true);
      }
    }
  }
}

/** A region over plain memory, every 32-bit word (padding included) set by `pixel`. */
export function plainRegion(width: number, height: number, stride: number, format: FormatName, pixel: (i: number) => number): GraphicsRegion {
  const mem = new ArrayBuffer(stride * height);
  const words = new Uint32Array(mem);
  words.forEach((_, i) => (words[i] = pixel(i) >>> 0));
  return new GraphicsRegion(mem, { width, height, stride, format: resolveFormat(format), offset: 0 }, 'readwrite', 'direct', () => {});
}

export function premultiplied(a: number, r: number, g: number, b: number): number {
  const m = (c: number): number => Math.round((c * a) / 255);
  return ((a << 24) | (m(r) << 16) | (m(g) << 8) | m(b)) >>> 0;
}

/** Source pixels in runs (so the all-opaque and all-clear SIMD steps are taken) and alone, a few not premultiplied. */
function sourcePixel(r: () => number): (i: number) => number {
  let run = 0;
  let alpha = 0;
  return () => {
    if (run-- <= 0) {
      run = randInt(r, 0, 40);
      const kind = randInt(r, 0, 3);
      alpha = kind === 0 ? 0 : kind === 1 ? 255 : randInt(r, 1, 254);
    }
    // Runs of up to 40 (whole 16-pixel steps of one kind), sometimes broken by one other alpha.
    const a = r() < 0.08 ? randInt(r, 0, 255) : alpha;
    if (r() < 0.05) return ((a << 24) | randInt(r, 0, 0xffffff)) >>> 0;
    return premultiplied(a, randInt(r, 0, 255), randInt(r, 0, 255), randInt(r, 0, 255));
  };
}

/**
 * blendRects against the reference on `iterations` random cases (sizes, strides,
 * offsets, rectangles, format pairs, over dst or a separate region below); returns the first iteration whose bytes
 * differ anywhere in the destination (padding included), or -1.
 */
export function firstBlendMismatch(seed: number, iterations: number): number {
  const r = rng(seed);
  const pairs: [FormatName, FormatName][] = [['ARGB8888', 'XRGB8888'], ['ARGB8888', 'ARGB8888'], ['ABGR8888', 'XBGR8888']];
  for (let iter = 0; iter < iterations; iter++) {
    const [sf, df] = pairs[iter % pairs.length]!;
    const sw = randInt(r, 1, 40);
    const sh = randInt(r, 1, 30);
    const dw = randInt(r, 1, 50);
    const dh = randInt(r, 1, 40);
    const src = plainRegion(sw, sh, (sw + randInt(r, 0, 5)) * 4, sf, sourcePixel(r));
    const dst = plainRegion(dw, dh, (dw + randInt(r, 0, 5)) * 4, df, () => randInt(r, 0, 2 ** 32 - 1));
    const ox = randInt(r, -20, 45);
    const oy = randInt(r, -20, 35);
    const rects = Array.from({ length: randInt(r, 0, 8) }, () => rect(randInt(r, -20, 60), randInt(r, -20, 50), randInt(r, -5, 70), randInt(r, -5, 50)));
    // Every other case blends over a separate region below (a compositor's background).
    const bw = randInt(r, 1, 50);
    const below = iter % 2 === 1 ? plainRegion(bw, randInt(r, 1, 40), (bw + randInt(r, 0, 5)) * 4, df, () => randInt(r, 0, 2 ** 32 - 1)) : undefined;
    const expected = dst.pixels.slice();
    referenceBlend(src, dst, expected, rects, ox, oy, below);
    blendRects(src, dst, rects, { x: ox, y: oy }, below);
    if (Buffer.compare(Buffer.from(dst.pixels), Buffer.from(expected)) !== 0) return iter;
  }
  return -1;
}
