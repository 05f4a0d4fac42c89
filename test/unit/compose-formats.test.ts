/**
 * ComposePass with sources in the formats the servers offer besides XRGB8888
 * and ARGB8888: XBGR8888 and RGB565 copied, premultiplied ABGR8888 blended,
 * converted natively. Each is checked pixel for pixel against converting the
 * source in JS first (byte by byte, from the DRM little-endian layouts), then
 * the XRGB8888 copy or the reference blend (test/helpers/blend-reference.ts),
 * every rectangle clipped to the output and the source, and no byte written
 * outside the output's view.
 */
import { expect } from 'chai';
import { ComposePass, GraphicsRegion, rect, resolveFormat, type FormatName, type Rect } from '../../lib';
import { composeLayersRaw } from '../../lib/native';
import { plainRegion, premultiplied, referenceBlend, referencePixel } from '../helpers/blend-reference';
import { randInt, rng, SEED } from '../helpers/random';

type SourceFormat = 'XBGR8888' | 'RGB565' | 'ABGR8888' | 'XRGB8888' | 'ARGB8888';

/** A region of `format` over its own memory at byte `offset`, each pixel set by `pixel` (a 32-bit or 16-bit value, little-endian). */
function region(width: number, height: number, stride: number, format: SourceFormat, offset: number, pixel: (i: number) => number): GraphicsRegion {
  const f = resolveFormat(format);
  const memory = new ArrayBuffer(offset + stride * height);
  const v = new DataView(memory, offset);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (f.bpp === 2) v.setUint16(y * stride + x * 2, pixel(y * width + x) & 0xffff, true);
      else v.setUint32(y * stride + x * 4, pixel(y * width + x) >>> 0, true);
    }
  }
  return new GraphicsRegion(memory, { width, height, stride, format: f, offset }, 'readwrite', 'direct', () => {});
}

/** RGB565 to XRGB8888 by bit replication, channel by channel. */
function rgb565ToXrgb(v: number): number {
  const r5 = (v >> 11) & 0x1f;
  const g6 = (v >> 5) & 0x3f;
  const b5 = v & 0x1f;
  const r8 = (r5 << 3) | (r5 >> 2);
  const g8 = (g6 << 2) | (g6 >> 4);
  const b8 = (b5 << 3) | (b5 >> 2);
  return (0xff000000 | (r8 << 16) | (g8 << 8) | b8) >>> 0;
}

/**
 * `src` converted in JS to the format the output's copy or blend takes: XRGB8888
 * for XBGR8888 (bytes R, G, B, X become B, G, R, X) and RGB565, ARGB8888 for
 * ABGR8888 (R, G, B, A become B, G, R, A); a tight stride.
 */
function converted(src: GraphicsRegion): GraphicsRegion {
  const s = new DataView(src.pixels.buffer, src.pixels.byteOffset, src.pixels.byteLength);
  const name = src.format.name;
  const to: FormatName = name === 'ABGR8888' || name === 'ARGB8888' ? 'ARGB8888' : 'XRGB8888';
  return plainRegion(src.width, src.height, src.width * 4, to, (i) => {
    const x = i % src.width;
    const y = Math.floor(i / src.width);
    if (name === 'RGB565') return rgb565ToXrgb(s.getUint16(y * src.stride + x * 2, true));
    const at = y * src.stride + x * 4;
    const [b0, b1, b2, b3] = [s.getUint8(at), s.getUint8(at + 1), s.getUint8(at + 2), s.getUint8(at + 3)];
    // XBGR/ABGR bytes in memory: R, G, B, X/A; XRGB/ARGB: B, G, R, X/A.
    return name === 'XBGR8888' || name === 'ABGR8888' ? ((b3 << 24) | (b0 << 16) | (b1 << 8) | b2) >>> 0 : ((b3 << 24) | (b2 << 16) | (b1 << 8) | b0) >>> 0;
  });
}

type LayerKind = 'background' | 'copy' | 'blend' | 'blendOverBackground';

interface Layer {
  kind: LayerKind;
  src?: GraphicsRegion;
  x: number;
  y: number;
  rects: Rect[];
}

/** A region whose view lies inside a larger buffer of guard bytes (0xa5) before and after it. */
function guardedOutput(width: number, height: number, stride: number, fill: () => number): { out: GraphicsRegion; memory: Uint8Array; guard: number } {
  const guard = 64;
  const memory = new Uint8Array(guard + stride * height + guard).fill(0xa5);
  const words = new DataView(memory.buffer, guard, stride * height);
  for (let i = 0; i < (stride * height) / 4; i++) words.setUint32(i * 4, fill() >>> 0, true);
  const out = new GraphicsRegion(memory.buffer, { width, height, stride, format: resolveFormat('XRGB8888'), offset: guard }, 'readwrite', 'direct', () => {});
  return { out, memory, guard };
}

/** The layers painted bottom first into `bytes` (a copy of the output's view), each source converted in JS first. */
function reference(out: GraphicsRegion, bytes: Uint8Array, background: GraphicsRegion, layers: readonly Layer[]): void {
  const o = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const layer of layers) {
    if (layer.kind === 'blend' || layer.kind === 'blendOverBackground') {
      referenceBlend(converted(layer.src!), out, bytes, layer.rects, layer.x, layer.y, layer.kind === 'blendOverBackground' ? background : undefined);
      continue;
    }
    const src = layer.kind === 'background' ? background : converted(layer.src!);
    const ox = layer.kind === 'background' ? 0 : layer.x;
    const oy = layer.kind === 'background' ? 0 : layer.y;
    const s = new DataView(src.pixels.buffer, src.pixels.byteOffset, src.pixels.byteLength);
    for (const r of layer.rects) {
      const x0 = Math.max(r.x, 0, ox);
      const y0 = Math.max(r.y, 0, oy);
      const x1 = Math.min(r.x + r.width, out.width, ox + src.width);
      const y1 = Math.min(r.y + r.height, out.height, oy + src.height);
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) o.setUint32(y * out.stride + x * 4, s.getUint32((y - oy) * src.stride + (x - ox) * 4, true), true);
    }
  }
}

function pack(rects: readonly Rect[]): Int32Array {
  return new Int32Array(rects.flatMap((q) => [q.x, q.y, q.width, q.height]));
}

function add(pass: ComposePass, l: Layer): void {
  const q = pack(l.rects);
  if (l.kind === 'background') pass.addBackground(q);
  else if (l.kind === 'copy') pass.addCopy(l.src!, l.x, l.y, q);
  else pass.addBlend(l.src!, l.x, l.y, q, q.length / 4, l.kind === 'blendOverBackground');
}

/** Premultiplied pixels in runs of one alpha kind (clear, opaque, translucent; so the blend's whole-step short cuts are taken), a few not premultiplied; in ABGR or ARGB order. */
function translucentPixels(r: () => number, order: 'ABGR8888' | 'ARGB8888'): () => number {
  let run = 0;
  let alpha = 0;
  return () => {
    if (run-- <= 0) {
      run = randInt(r, 0, 40);
      const kind = randInt(r, 0, 3);
      alpha = kind === 0 ? 0 : kind === 1 ? 255 : randInt(r, 1, 254);
    }
    const a = r() < 0.08 ? randInt(r, 0, 255) : alpha;
    const p = r() < 0.05 ? ((a << 24) | randInt(r, 0, 0xffffff)) >>> 0 : premultiplied(a, randInt(r, 0, 255), randInt(r, 0, 255), randInt(r, 0, 255));
    // ARGB word 0xAARRGGBB; its ABGR spelling 0xAABBGGRR.
    return order === 'ARGB8888' ? p : ((p & 0xff00ff00) | ((p >>> 16) & 0xff) | ((p & 0xff) << 16)) >>> 0;
  };
}

/** A random source of `format`: odd widths often, strides with padding (RGB565's often not a multiple of 4), at an odd byte offset sometimes. */
function randomSource(r: () => number, format: SourceFormat, maxWidth: number, maxHeight: number): GraphicsRegion {
  const w = randInt(r, 1, maxWidth);
  const h = randInt(r, 1, maxHeight);
  const bpp = format === 'RGB565' ? 2 : 4;
  const stride = w * bpp + (bpp === 2 ? randInt(r, 0, 7) : randInt(r, 0, 3) * 4);
  const offset = randInt(r, 0, 3);
  if (format === 'ABGR8888' || format === 'ARGB8888') return region(w, h, stride, format, offset, translucentPixels(r, format));
  // Every bit pattern, the X byte included (copied as it is).
  return region(w, h, stride, format, offset, () => (bpp === 2 ? randInt(r, 0, 0xffff) : randInt(r, 0, 2 ** 32 - 1)));
}

function randomRects(r: () => number, w: number, h: number): Rect[] {
  return Array.from({ length: randInt(r, 0, 6) }, () => rect(randInt(r, -10, w), randInt(r, -10, h), randInt(r, -3, w + 10), randInt(r, -3, h + 10)));
}

function firstDifference(memory: Uint8Array, expected: Uint8Array, guard: number, out: GraphicsRegion): string | undefined {
  const at = memory.findIndex((v, i) => v !== expected[i]);
  if (at < 0) return undefined;
  const b = at - guard;
  if (b < 0 || b >= out.stride * out.height) return `byte ${b} outside the output's view was written`;
  const y = Math.floor(b / out.stride);
  const x = Math.floor((b % out.stride) / 4);
  const word = (m: Uint8Array): string => new DataView(m.buffer, m.byteOffset + guard + y * out.stride + x * 4, 4).getUint32(0, true).toString(16);
  return `(${x}, ${y}) is ${word(memory)}, want ${word(expected)}`;
}

describe('ComposePass: XBGR8888, RGB565 and ABGR8888 sources, converted natively', () => {
  it('converts known pixels: R and B swapped, X as it is; RGB565 widened by bit replication, X 0xff', () => {
    const out = plainRegion(4, 2, 16, 'XRGB8888', () => 0);
    const bg = plainRegion(4, 2, 16, 'XRGB8888', () => 0xff000000);
    const xbgr = region(4, 1, 16, 'XBGR8888', 0, (i) => [0x11223344, 0xff0000ff, 0x00ff0000, 0x80563412][i]!);
    const rgb565 = region(4, 1, 8, 'RGB565', 0, (i) => [0xf800, 0x07e0, 0x001f, 0x8410][i]!);
    const pass = new ComposePass();
    pass.begin(out, bg);
    pass.addCopy(xbgr, 0, 0, new Int32Array([0, 0, 4, 1]));
    pass.addCopy(rgb565, 0, 1, new Int32Array([0, 1, 4, 1]));
    expect(pass.run()).to.deep.equal({ copied: 8, blended: 0, background: 0 });
    expect(Array.from(out.pixels32, (v) => v.toString(16))).to.deep.equal(
      ['11443322', 'ffff0000', 'ff', '80123456', 'ffff0000', 'ff00ff00', 'ff0000ff', 'ff848284'],
    );
    // ABGR8888 half-transparent red (premultiplied: 0x80 in R), then opaque blue, then clear, over a grey background.
    const abgr = region(3, 1, 12, 'ABGR8888', 0, (i) => [0x80000080, 0xffff0000, 0x00000000][i]!);
    const grey = plainRegion(4, 2, 16, 'XRGB8888', () => 0xff404040);
    pass.begin(out, grey);
    pass.addBlend(abgr, 0, 0, new Int32Array([0, 0, 3, 1]), 1, true);
    expect(pass.run()).to.deep.equal({ copied: 0, blended: 3, background: 0 });
    expect(Array.from(out.pixels32.subarray(0, 3), (v) => v.toString(16))).to.deep.equal([referencePixel(0x80800000, 0xff404040, false).toString(16), 'ff0000ff', 'ff404040']);
    expect(out.pixels32[0]).to.equal(0xffa02020);
  });

  for (const [n, format] of (['XBGR8888', 'RGB565', 'ABGR8888'] as const).entries()) {
    it(`${format}: random pixels and rectangles, clipped to the output and the source, as converting first (seed ${SEED})`, () => {
      const r = rng(SEED + 40 + n);
      const pass = new ComposePass();
      for (let iter = 0; iter < 80; iter++) {
        const W = randInt(r, 1, 71);
        const H = randInt(r, 1, 30);
        const { out, memory, guard } = guardedOutput(W, H, (W + randInt(r, 0, 3)) * 4, () => randInt(r, 0, 2 ** 32 - 1));
        const bw = randInt(r, 1, 80);
        const background = plainRegion(bw, randInt(r, 1, 40), (bw + randInt(r, 0, 3)) * 4, 'XRGB8888', () => randInt(r, 0, 2 ** 32 - 1));
        const layers: Layer[] = [];
        // The format under test, between other layers (a blend reads what a copy below wrote).
        for (let k = randInt(r, 1, 4); k > 0; k--) {
          const which = k === 1 || r() < 0.5 ? format : (['XRGB8888', 'ARGB8888', 'XBGR8888', 'RGB565', 'ABGR8888'] as const)[randInt(r, 0, 4)]!;
          if (r() < 0.15) {
            layers.push({ kind: 'background', x: 0, y: 0, rects: randomRects(r, W, H) });
            continue;
          }
          // Sometimes wider than the swap runs of the ABGR8888 blend (256 pixels).
          const src = randomSource(r, which, iter % 10 === 9 ? 600 : 60, 30);
          const translucent = which === 'ABGR8888' || which === 'ARGB8888';
          const kind: LayerKind = translucent ? (r() < 0.5 ? 'blend' : 'blendOverBackground') : 'copy';
          const rects = iter % 10 === 9 ? [rect(-5, -5, W + 10, H + 10)] : randomRects(r, W, H);
          layers.push({ kind, src, x: randInt(r, -Math.min(src.width, 40), W), y: randInt(r, -10, H), rects });
        }
        const expected = memory.slice();
        reference(out, expected.subarray(guard, guard + out.stride * H), background, layers);
        pass.begin(out, background);
        for (const l of layers) add(pass, l);
        pass.run();
        const diff = firstDifference(memory, expected, guard, out);
        if (diff) expect.fail(`iteration ${iter}: ${diff} (${layers.map((l) => `${l.kind} ${l.src?.format.name ?? ''}`).join(', ')})`);
      }
    });
  }

  it('ABGR8888 blends bit for bit as ARGB8888 does after the swap, on long rows of every alpha', () => {
    const r = rng(SEED + 51);
    const pass = new ComposePass();
    for (let iter = 0; iter < 6; iter++) {
      const W = randInt(r, 257, 700);
      const H = randInt(r, 1, 6);
      const abgr = region(W, H, W * 4 + 8, 'ABGR8888', 2, translucentPixels(r, 'ABGR8888'));
      const argb = converted(abgr);
      const background = plainRegion(W, H, W * 4, 'XRGB8888', () => randInt(r, 0, 2 ** 32 - 1));
      const a = plainRegion(W, H, W * 4, 'XRGB8888', () => 0);
      const b = plainRegion(W, H, W * 4, 'XRGB8888', () => 0);
      const all = new Int32Array([0, 0, W, H]);
      pass.begin(a, background);
      pass.addBlend(abgr, 0, 0, all, 1, true);
      pass.run();
      pass.begin(b, background);
      pass.addBlend(argb, 0, 0, all, 1, true);
      pass.run();
      expect(Buffer.compare(Buffer.from(a.pixels), Buffer.from(b.pixels)), `iteration ${iter}`).to.equal(0);
    }
  });

  it('RGB565 with 2-byte pixels: a view exactly as long as its rows is enough, one byte less is refused', () => {
    const W = 40;
    const out = plainRegion(W, 4, W * 4, 'XRGB8888', () => 0);
    const bg = plainRegion(W, 4, W * 4, 'XRGB8888', () => 0);
    const numbers = new Float64Array(9);
    // 37 x 3 pixels at stride 78 (not a multiple of 4): rows 0 and 1 of 78 bytes, the last of 74. The
    // view's memory ends with the last pixel, and is off V8's heap (over 64 bytes): under ASan
    // (npm run test:asan) a read past it is a finding.
    const w = 37;
    const h = 3;
    const stride = 78;
    const tight = (h - 1) * stride + w * 2;
    const memory = new Uint8Array(tight);
    const v = new DataView(memory.buffer);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) v.setUint16(y * stride + x * 2, (0x0713 * (x + 1) + 0x0841 * y) & 0xffff, true);
    const ops = (kind: number, s: number, width: number): Int32Array => new Int32Array([W * 4, W, 4, W * 4, W, 4, 1, 1, kind, 0, s, width, h, 1, 1, 1]);
    const all = new Int32Array([0, 0, W, 4]);
    composeLayersRaw(out.pixels, bg.pixels, [memory], ops(6, stride, w), all, numbers);
    expect(numbers[6]).to.equal(w * h); // copied (after the cost model's 6)
    for (let y = 0; y < 4; y++) {
      for (let x = 0; x < W; x++) {
        const inside = x >= 1 && x < 1 + w && y >= 1 && y < 1 + h;
        const want = inside ? rgb565ToXrgb(v.getUint16((y - 1) * stride + (x - 1) * 2, true)) : 0;
        expect(out.pixels32[y * W + x], `(${x}, ${y})`).to.equal(want);
      }
    }
    for (const call of [
      () => composeLayersRaw(out.pixels, bg.pixels, [memory.subarray(0, tight - 1)], ops(6, stride, w), all, numbers), // one byte short
      () => composeLayersRaw(out.pixels, bg.pixels, [memory], ops(6, 73, w), all, numbers), // stride < width * 2
      () => composeLayersRaw(out.pixels, bg.pixels, [memory], ops(5, stride, w), all, numbers), // 4-byte pixels do not fit
      () => composeLayersRaw(out.pixels, bg.pixels, [memory], ops(14, stride, w), all, numbers), // unknown kind
    ]) {
      expect(call).to.throw().with.property('code', 'ERR_BUFSHARE_INVALID_ARGUMENT');
    }
  });

  it('refuses formats it cannot convert, and hostile rectangles stay clipped', () => {
    const out = plainRegion(16, 16, 64, 'XRGB8888', () => 0);
    const bg = plainRegion(16, 16, 64, 'XRGB8888', () => 0x11111111);
    const pass = new ComposePass();
    pass.begin(out, bg);
    const all = new Int32Array([0, 0, 16, 16]);
    for (const f of ['ARGB8888', 'ABGR8888', 'RGBX8888', 'BGRX8888', 'RGBA8888', 'XRGB2101010'] as const) {
      expect(() => pass.addCopy(plainRegion(4, 4, 16, f, () => 0), 0, 0, all), f).to.throw().with.property('code', 'ERR_BUFSHARE_UNSUPPORTED_FORMAT');
    }
    for (const f of ['XRGB8888', 'XBGR8888', 'RGBA8888', 'BGRA8888', 'ARGB2101010'] as const) {
      expect(() => pass.addBlend(plainRegion(4, 4, 16, f, () => 0), 0, 0, all), f).to.throw().with.property('code', 'ERR_BUFSHARE_UNSUPPORTED_FORMAT');
    }
    expect(() => pass.addBlend(region(4, 4, 8, 'RGB565', 0, () => 0), 0, 0, all)).to.throw().with.property('code', 'ERR_BUFSHARE_UNSUPPORTED_FORMAT');
    expect(pass.pending).to.equal(0);
    const hostile = new Int32Array([-(2 ** 31), -(2 ** 31), 2 ** 31 - 1, 2 ** 31 - 1, 2 ** 31 - 1, 0, 2 ** 31 - 1, 5, -1000, -1000, 2 ** 31 - 1, 2 ** 31 - 1]);
    pass.addCopy(region(3, 8, 7, 'RGB565', 1, () => 0xffff), -1, 12, hostile);
    pass.addCopy(region(8, 2, 32, 'XBGR8888', 0, () => 0x010203), 14, -1, hostile);
    pass.addBlend(region(8, 8, 32, 'ABGR8888', 0, () => 0xff0000ff), 2 ** 31 - 1, -(2 ** 31), all);
    pass.addBlend(region(8, 8, 32, 'ABGR8888', 0, () => 0xff0000ff), -(2 ** 31), 2 ** 31 - 1, all, 1, true);
    expect(pass.run()).to.deep.equal({ copied: 2 * 4 + 2 * 1, blended: 0, background: 0 });
    for (let y = 0; y < 16; y++) {
      for (let x = 0; x < 16; x++) {
        const want = x < 2 && y >= 12 ? 0xffffffff : x >= 14 && y === 0 ? 0x030201 : 0;
        expect(out.pixels32[y * 16 + x], `(${x}, ${y})`).to.equal(want);
      }
    }
  });
});
