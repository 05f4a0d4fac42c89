import { expect } from 'chai';
import { ShmAllocator, copyRects, GraphicsRegion, resolveFormat, Region, rect, type Rect, type FormatName } from '../../lib';
import { copyRectsRaw } from '../../lib/native';
import { rng, randInt, SEED } from '../helpers/random';
import { referenceCopy } from '../helpers/copy-reference';

function plainRegion(width: number, height: number, stride: number, format: FormatName, fill: (i: number) => number): GraphicsRegion {
  const mem = new ArrayBuffer(stride * height);
  new Uint8Array(mem).forEach((_, i, a) => (a[i] = fill(i)));
  return new GraphicsRegion(mem, { width, height, stride, format: resolveFormat(format), offset: 0 }, 'readwrite', 'direct', () => {});
}

describe('copyRects', () => {
  it(`matches the JS reference for random rectangles, strides and formats (seed ${SEED})`, () => {
    const r = rng(SEED + 2);
    const formats: FormatName[] = ['XRGB8888', 'RGB565', 'RGB888', 'ABGR16161616F'];
    for (let iter = 0; iter < 300; iter++) {
      const format = formats[iter % formats.length]!;
      const bpp = resolveFormat(format).bpp;
      const sw = randInt(r, 1, 60);
      const sh = randInt(r, 1, 40);
      const dw = randInt(r, 1, 60);
      const dh = randInt(r, 1, 40);
      const src = plainRegion(sw, sh, sw * bpp + randInt(r, 0, 17), format, (i) => (i * 31 + iter) & 0xff);
      const dst = plainRegion(dw, dh, dw * bpp + randInt(r, 0, 17), format, (i) => (i * 7) & 0xff);
      const expected = dst.pixels.slice();
      const rects = Array.from({ length: randInt(r, 0, 12) }, () => rect(randInt(r, -20, 70), randInt(r, -20, 50), randInt(r, -5, 80), randInt(r, -5, 60)));
      referenceCopy(src.pixels, src.stride, expected, dst.stride, Math.min(sw, dw), Math.min(sh, dh), bpp, rects);
      copyRects(src, dst, rects);
      expect(Buffer.compare(Buffer.from(dst.pixels), Buffer.from(expected)), `iteration ${iter}`).to.equal(0);
    }
  });

  it('clips hostile rectangles: negative, huge, overflowing, NaN', () => {
    const src = plainRegion(16, 16, 64, 'XRGB8888', () => 0xee);
    const dst = plainRegion(16, 16, 64, 'XRGB8888', () => 0);
    const hostile: Rect[] = [
      rect(-(2 ** 31), -(2 ** 31), 2 ** 31 - 1, 2 ** 31 - 1),
      rect(2 ** 31 - 1, 0, 2 ** 31 - 1, 5),
      rect(5, 5, -10, -10),
      rect(10, 10, 2 ** 40, 2 ** 40),
      rect(NaN, 3, 4, 4),
      rect(15, 15, 2 ** 31 - 1, 2 ** 31 - 1),
    ];
    const copied = copyRects(src, dst, hostile);
    // rect(10,10,huge) -> 6x6, rect(NaN->0,3,4,4) -> 4x4, rect(15,15,...) -> 1, inside the first:
    // copied once or twice, as the planner finds cheaper.
    expect(copied).to.be.oneOf([36 + 16, 36 + 16 + 1]);
    const expected = new Uint8Array(64 * 16);
    referenceCopy(src.pixels, 64, expected, 64, 16, 16, 4, [rect(10, 10, 6, 6), rect(0, 3, 4, 4), rect(15, 15, 1, 1)]);
    expect(Buffer.compare(Buffer.from(dst.pixels), Buffer.from(expected))).to.equal(0);
  });

  it('refuses geometry that does not fit the views, before copying anything', () => {
    const small = new Uint8Array(100);
    const big = new Uint8Array(10000);
    const all = new Int32Array([0, 0, 100, 100]);
    for (const call of [
      () => copyRectsRaw(small, 40, big, 40, 10, 10, 4, all), // src too short
      () => copyRectsRaw(big, 40, small, 40, 10, 10, 4, all), // dst too short
      () => copyRectsRaw(big, 8, big.slice(), 40, 10, 10, 4, all), // stride < width * bpp
      () => copyRectsRaw(big, 40, big.subarray(100), 40, 10, 10, 4, all), // overlapping
      () => copyRectsRaw(big, 40, big.slice(), 40, 10, 10, 0, all),
      () => copyRectsRaw(big, 40, big.slice(), 40, 10, 10, 4, new Float64Array(4) as never),
      () => copyRectsRaw(big, -40, big.slice(), 40, 10, 10, 4, all),
    ]) {
      expect(call).to.throw().with.property('code', 'ERR_BUFSHARE_INVALID_ARGUMENT');
    }
    expect(big.every((v) => v === 0)).to.equal(true);
  });

  it('copies between shm buffers of different strides (shadow -> buffer)', () => {
    const a = new ShmAllocator({ strideAlign: 64 }).allocate({ width: 70, height: 20, format: 'XRGB8888' });
    const b = new ShmAllocator({ strideAlign: 256 }).allocate({ width: 70, height: 20, format: 'XRGB8888' });
    const src = a.map({ mode: 'write' });
    const dst = b.map();
    for (let y = 0; y < 20; y++) for (let x = 0; x < 70; x++) src.pixels32[y * src.stride32 + x] = (y << 8) | x;
    const damage = Region.of(rect(5, 5, 10, 3), rect(60, 0, 20, 20));
    expect(copyRects(src, dst, damage)).to.equal(30 + 200);
    expect(dst.pixels32[6 * dst.stride32 + 7]).to.equal((6 << 8) | 7);
    expect(dst.pixels32[19 * dst.stride32 + 69]).to.equal((19 << 8) | 69);
    expect(dst.pixels32[0]).to.equal(0);
    // A 'read' mapping is PROT_READ: refused before native code could write into it (and fault).
    const readOnly = b.map({ mode: 'read' });
    expect(() => copyRects(src, readOnly, damage)).to.throw().with.property('code', 'ERR_BUFSHARE_READ_ONLY');
    readOnly.unmap();
    src.unmap();
    expect(() => copyRects(src, dst, damage)).to.throw().with.property('code', 'ERR_BUFSHARE_UNMAPPED');
    a.destroy();
    b.destroy();
  });

  it('refuses formats of different pixel sizes', () => {
    const a = plainRegion(4, 4, 16, 'XRGB8888', () => 1);
    const b = plainRegion(4, 4, 16, 'RGB565', () => 1);
    expect(() => copyRects(a, b, [rect(0, 0, 4, 4)])).to.throw().with.property('code', 'ERR_BUFSHARE_UNSUPPORTED_FORMAT');
  });
});
