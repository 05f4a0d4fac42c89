import { expect } from 'chai';
import { blendKernel, blendRects, rect, ShmAllocator, type Rect } from '../../lib';
import { blendRectsRaw } from '../../lib/native';
import { firstBlendMismatch, plainRegion, premultiplied, referenceBlend, referencePixel } from '../helpers/blend-reference';
import { randInt, rng, SEED } from '../helpers/random';
import { runTs } from '../helpers/spawn';

describe('blendRects', () => {
  it(`matches the JS reference bit for bit: random rects, strides, offsets, alphas (seed ${SEED}, ${blendKernel()} loop)`, () => {
    expect(firstBlendMismatch(SEED + 3, 300)).to.equal(-1);
  });

  it('the narrower loops match the reference too, each in its own process', async () => {
    // AVX2 can be forced only where the CPU has it (the AVX-512 loop's tails run it too).
    const kernels = ['scalar', 'sse2', ...(['avx2', 'avx512'].includes(blendKernel()) ? ['avx2'] : [])];
    for (const kernel of kernels) {
      const child = await runTs('test/helpers/blend-child.ts', [String(SEED + 4), '150'], [], { BUFSHARE_BLEND_KERNEL: kernel });
      expect(child.code, child.stderr).to.equal(0);
      expect(JSON.parse(child.stdout), kernel).to.deep.equal({ kernel, firstMismatch: -1 });
    }
  });

  it('is exact source-over for premultiplied pixels, every alpha', () => {
    const dstColors = [0x00000000, 0x00ffffff, 0x00123456, 0xff80ff01, 0x7f10e0a0];
    for (const df of ['XRGB8888', 'ARGB8888'] as const) {
      // One row per alpha, 5 pixels each: the SIMD step and the scalar tail both run.
      const src = plainRegion(dstColors.length, 256, dstColors.length * 4, 'ARGB8888', (i) => premultiplied(Math.floor(i / dstColors.length), 200, 17, 255));
      const dst = plainRegion(dstColors.length, 256, dstColors.length * 4, df, (i) => dstColors[i % dstColors.length]!);
      expect(blendRects(src, dst, [rect(0, 0, 5, 256)])).to.equal(5 * 256);
      for (let a = 0; a < 256; a++) {
        dstColors.forEach((dc, x) => {
          const got = dst.pixels32[a * dstColors.length + x]!;
          const s = src.pixels32[a * dstColors.length]!;
          // a = 0 leaves dst as it was (its X byte included).
          if (a === 0) return expect(got, `a=0 dst=${dc.toString(16)}`).to.equal(dc);
          for (const shift of df === 'ARGB8888' ? [0, 8, 16, 24] : [0, 8, 16]) {
            const want = ((s >>> shift) & 0xff) + Math.round((((dc >>> shift) & 0xff) * (255 - a)) / 255);
            expect((got >>> shift) & 0xff, `a=${a} dst=${dc.toString(16)} shift=${shift}`).to.equal(want);
          }
          if (df === 'XRGB8888') expect(got >>> 24).to.equal(0xff);
        });
      }
    }
  });

  it(`is exact on rows long enough for every SIMD step, every alpha, over dst and over below (${blendKernel()} loop)`, () => {
    // 16-, 8- and 4-pixel steps and a scalar tail (16 + 16 + 8 + 4 + 3 = 47), the
    // rows starting at several pixels: each pixel goes through several loops.
    const W = 47;
    for (const df of ['XRGB8888', 'ARGB8888'] as const) {
      for (const overBelow of [false, true]) {
        for (const shift of [0, 1, 3, 4, 7, 8, 12, 15]) {
          // One row per alpha: all of the row that alpha (the whole-step short cuts
          // at 0 and 255), then again with the alphas mixed along the row.
          const src = plainRegion(W, 512, W * 4, 'ARGB8888', (i) => {
            const row = Math.floor(i / W);
            const x = i % W;
            const a = row < 256 ? row : (row * 7 + x * 13) % 256;
            return premultiplied(a, (x * 37 + row) & 255, (x * 11) & 255, (row * 5) & 255);
          });
          const dst = plainRegion(W + 16, 512, (W + 16) * 4, df, (i) => (i * 2654435761) >>> 0);
          const below = overBelow ? plainRegion(W + 16, 512, (W + 16) * 4, df, (i) => (i * 40503 + 17) >>> 0) : undefined;
          const expected = dst.pixels.slice();
          const rects = [rect(shift, 0, W - shift, 512)];
          referenceBlend(src, dst, expected, rects, 0, 0, below);
          expect(blendRects(src, dst, rects, { x: 0, y: 0 }, below)).to.equal((W - shift) * 512);
          const at = Buffer.compare(Buffer.from(dst.pixels), Buffer.from(expected));
          expect(at, `${df} over ${overBelow ? 'below' : 'dst'}, shift ${shift}`).to.equal(0);
        }
      }
    }
  });

  it('writes nothing outside the damage: guard words around the rows and the buffer stay as they were', () => {
    const r = rng(SEED + 5);
    for (let iter = 0; iter < 60; iter++) {
      const width = randInt(r, 1, 90);
      const height = randInt(r, 1, 6);
      const stride = (width + randInt(r, 0, 20)) * 4;
      const guard = 64;
      // dst is a view inside a larger buffer: guard bytes before, after and between rows.
      const memory = new Uint8Array(guard + stride * height + guard).fill(0xa5);
      const dst = new Uint8Array(memory.buffer, guard, stride * height);
      const src = new Uint32Array(width * height).map(() => premultiplied(randInt(r, 1, 254), randInt(r, 0, 255), randInt(r, 0, 255), randInt(r, 0, 255)));
      const x0 = randInt(r, 0, width - 1);
      const w = randInt(r, 1, width - x0);
      const rects = new Int32Array([x0, 0, w, height]);
      expect(blendRectsRaw(new Uint8Array(src.buffer), width * 4, width, height, dst, stride, width, height, 0, 0, rects, false)).to.equal(w * height);
      for (let i = 0; i < memory.length; i++) {
        const offset = i - guard;
        const row = Math.floor(offset / stride);
        const col = (offset - row * stride) >> 2;
        const damaged = offset >= 0 && row < height && col >= x0 && col < x0 + w;
        if (!damaged && memory[i] !== 0xa5) expect.fail(`iteration ${iter}: byte ${offset} (row ${row}, pixel ${col}) outside the damage was written`);
        if (damaged && memory[i] === 0xa5 && (offset & 3) === 3) expect.fail(`iteration ${iter}: pixel (${col}, ${row}) was not blended`);
      }
    }
  });

  it('clips hostile rectangles and offsets to both regions', () => {
    const src = plainRegion(8, 8, 32, 'ARGB8888', () => 0x80402010);
    const dst = plainRegion(16, 16, 64, 'XRGB8888', () => 0xff000000);
    const hostile: Rect[] = [
      rect(-(2 ** 31), -(2 ** 31), 2 ** 31 - 1, 2 ** 31 - 1),
      rect(2 ** 31 - 1, 0, 2 ** 31 - 1, 5),
      rect(5, 5, -10, -10),
      rect(10, 10, 2 ** 40, 2 ** 40),
      rect(NaN, 3, 4, 4),
    ];
    // src covers dst (4..11, 6..13): rect(10,10,huge) -> (10..11, 10..13) = 8 px; rect(0,3,4,4) -> (4..3) nothing.
    const expected = dst.pixels.slice();
    referenceBlend(src, dst, expected, [rect(10, 10, 2, 4)], 4, 6);
    expect(blendRects(src, dst, hostile, { x: 4, y: 6 })).to.equal(8);
    expect(Buffer.compare(Buffer.from(dst.pixels), Buffer.from(expected))).to.equal(0);
    // Offsets at the ends of int32: the source lies wholly off the destination.
    expect(blendRects(src, dst, [rect(0, 0, 16, 16)], { x: 2 ** 31 - 1, y: -(2 ** 31) })).to.equal(0);
    expect(blendRects(src, dst, [rect(0, 0, 16, 16)], { x: -8, y: 0 })).to.equal(0);
    expect(() => blendRects(src, dst, [], { x: 2 ** 31, y: 0 })).to.throw().with.property('code', 'ERR_BUFSHARE_INVALID_ARGUMENT');
    expect(() => blendRects(src, dst, [], { x: 0.5, y: 0 })).to.throw().with.property('code', 'ERR_BUFSHARE_INVALID_ARGUMENT');
    expect(Buffer.compare(Buffer.from(dst.pixels), Buffer.from(expected))).to.equal(0);
  });

  it('refuses geometry that does not fit the views, before touching anything', () => {
    const small = new Uint8Array(100).fill(0x80);
    const big = new Uint8Array(10000).fill(0x80);
    const dst = new Uint8Array(10000);
    const all = new Int32Array([0, 0, 100, 100]);
    for (const call of [
      () => blendRectsRaw(small, 40, 10, 10, dst, 40, 10, 10, 0, 0, all, false), // src too short
      () => blendRectsRaw(big, 40, 10, 10, small, 40, 10, 10, 0, 0, all, false), // dst too short
      () => blendRectsRaw(big, 8, 10, 10, dst, 40, 10, 10, 0, 0, all, false), // src stride < width * 4
      () => blendRectsRaw(big, 40, 10, 10, dst, 39, 10, 10, 0, 0, all, false), // dst stride < width * 4
      () => blendRectsRaw(big, 40, 10, 10, big.subarray(100), 40, 10, 10, 0, 0, all, false), // overlapping
      () => blendRectsRaw(big, 40, 10, 10, dst, 40, 70000, 1, 0, 0, all, false), // too wide
      () => blendRectsRaw(big, -40, 10, 10, dst, 40, 10, 10, 0, 0, all, false),
      () => blendRectsRaw(big, 40, 10, 10, dst, 40, 10, 10, 0.5, 0, all, false),
      () => blendRectsRaw(big, 40, 10, 10, dst, 40, 10, 10, 2 ** 31, 0, all, false),
      () => blendRectsRaw(big, 40, 10, 10, dst, 40, 10, 10, 0, 0, new Float64Array(4) as never, false),
      () => blendRectsRaw(big, 40, 10, 10, dst, 40, 10, 10, 0, 0, all, 1 as never),
      () => blendRectsRaw(new Uint32Array(2500) as never, 40, 10, 10, dst, 40, 10, 10, 0, 0, all, false),
      () => blendRectsRaw(big, 40, 10, 10, dst, 40, 10, 10, 0, 0, all, false, small, 40, 10, 10), // below too short
      () => blendRectsRaw(big, 40, 10, 10, dst, 40, 10, 10, 0, 0, all, false, dst.subarray(4), 40, 10, 10), // below overlaps dst
      () => blendRectsRaw(big, 40, 10, 10, dst, 40, 10, 10, 0, 0, all, false, big, 8, 10, 10), // below stride < width * 4
    ]) {
      expect(call).to.throw().with.property('code', 'ERR_BUFSHARE_INVALID_ARGUMENT');
    }
    expect(dst.every((v) => v === 0)).to.equal(true);
    expect(small.every((v) => v === 0x80) && big.every((v) => v === 0x80)).to.equal(true);
  });

  it('reads and writes unaligned views (a Uint8Array at an odd byte offset)', () => {
    const srcBytes = new Uint8Array(1 + 9 * 4 * 3);
    const dstBytes = new Uint8Array(3 + 9 * 4 * 3).fill(0x11);
    const s = new DataView(srcBytes.buffer);
    for (let i = 0; i < 27; i++) s.setUint32(1 + i * 4, premultiplied(i * 9, 255, 128, 1), true);
    const expected = dstBytes.slice();
    const ev = new DataView(expected.buffer);
    for (let i = 0; i < 27; i++) ev.setUint32(3 + i * 4, referencePixel(s.getUint32(1 + i * 4, true), 0x11111111, false), true);
    expect(blendRectsRaw(srcBytes.subarray(1), 36, 9, 3, dstBytes.subarray(3), 36, 9, 3, 0, 0, new Int32Array([0, 0, 9, 3]), false)).to.equal(27);
    expect(Buffer.compare(Buffer.from(dstBytes), Buffer.from(expected))).to.equal(0);
  });

  it('blends shm buffers; refuses formats it cannot blend, read-only destinations and unmapped regions', () => {
    const alloc = new ShmAllocator();
    const a = alloc.allocate({ width: 33, height: 7, format: 'ARGB8888' });
    const b = alloc.allocate({ width: 40, height: 10, format: 'XRGB8888' });
    const src = a.map({ mode: 'write' });
    const dst = b.map();
    src.pixels32.fill(0x80404040);
    dst.pixels32.fill(0xff808080);
    expect(blendRects(src, dst, [rect(0, 0, 40, 10)], { x: 5, y: 2 })).to.equal(33 * 7);
    // 0x40 + round(0x80 * 127 / 255) = 0x40 + 0x40 per channel.
    expect(dst.pixels32[2 * dst.stride32 + 5]).to.equal(0xff808080);
    expect(dst.pixels32[2 * dst.stride32 + 5]).to.equal(referencePixel(0x80404040, 0xff808080, false));
    expect(dst.pixels32[2 * dst.stride32 + 4]).to.equal(0xff808080);
    expect(dst.pixels32[9 * dst.stride32 + 37]).to.equal(0xff808080);
    const other = plainRegion(4, 4, 16, 'XRGB8888', () => 0);
    expect(() => blendRects(src, dst, [rect(0, 0, 4, 4)], undefined, plainRegion(4, 4, 16, 'ARGB8888', () => 0))).to.throw().with.property('code', 'ERR_BUFSHARE_UNSUPPORTED_FORMAT');
    expect(() => blendRects(dst, src, [rect(0, 0, 4, 4)])).to.throw().with.property('code', 'ERR_BUFSHARE_UNSUPPORTED_FORMAT');
    expect(() => blendRects(src, plainRegion(4, 4, 16, 'XBGR8888', () => 0), [rect(0, 0, 4, 4)])).to.throw().with.property('code', 'ERR_BUFSHARE_UNSUPPORTED_FORMAT');
    // A 'read' mapping is PROT_READ: refused before native code could write into it (and fault).
    const readOnly = b.map({ mode: 'read' });
    expect(() => blendRects(src, readOnly, [rect(0, 0, 4, 4)])).to.throw().with.property('code', 'ERR_BUFSHARE_READ_ONLY');
    readOnly.unmap();
    src.unmap();
    expect(() => blendRects(src, other, [rect(0, 0, 4, 4)])).to.throw().with.property('code', 'ERR_BUFSHARE_UNMAPPED');
    a.destroy();
    b.destroy();
  });
});
