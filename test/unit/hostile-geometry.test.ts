/**
 * Hostile damage and geometry at the library level: every rectangle a client can
 * make up gets a defined outcome (rejected with a stable code, clipped, or merged),
 * and nothing reads or writes outside a mapping.
 */
import { expect } from 'chai';
import { ShmAllocator, copyRects, GraphicsRegion, Region, rect, resolveFormat, computeLayout, fromDescriptor, type Rect } from '../../lib';
import { copyRectsRaw } from '../../lib/native';
import * as native from '../../lib/native';
import { rng, randInt, SEED } from '../helpers/random';

const I32_MAX = 2 ** 31 - 1;
const I32_MIN = -(2 ** 31);

function plain(width: number, height: number, fill: number): GraphicsRegion {
  const stride = width * 4;
  const mem = new ArrayBuffer(stride * height + 64); // guard bytes after the region
  new Uint8Array(mem).fill(fill);
  return new GraphicsRegion(mem, { width, height, stride, format: resolveFormat('XRGB8888'), offset: 0 }, 'readwrite', 'direct', () => {});
}

/** Bytes past the region's end that must never change. */
function guardBytes(region: GraphicsRegion): Uint8Array {
  const buf = region.pixels.buffer as ArrayBuffer;
  return new Uint8Array(buf, region.stride * region.height);
}

describe('hostile rectangles and geometry', () => {
  describe('Region (what a client may name)', () => {
    it('rejects non-integer, non-finite, out-of-int32 and non-number fields with ERR_BUFSHARE_INVALID_RECT', () => {
      const bad: unknown[] = [
        rect(0.5, 0, 1, 1), rect(0, 0, 1.000001, 1), rect(NaN, 0, 1, 1), rect(0, NaN, 1, 1), rect(0, 0, NaN, 1),
        rect(0, 0, 1, NaN), rect(Infinity, 0, 1, 1), rect(0, 0, -Infinity, 1), rect(2 ** 31, 0, 1, 1),
        rect(I32_MIN - 1, 0, 1, 1), rect(0, 0, 2 ** 32, 1), rect(0, 0, 1, 2 ** 53),
        { x: '0', y: 0, width: 1, height: 1 }, { x: 0n, y: 0, width: 1, height: 1 }, { x: 0, y: 0, width: 1 },
        { x: null, y: 0, width: 1, height: 1 }, [0, 0, 1, 1], 42, undefined,
      ];
      for (const r of bad) {
        expect(() => Region.from([r as Rect]), JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)))
          .to.throw().with.property('code', 'ERR_BUFSHARE_INVALID_RECT');
      }
    });

    it('ignores empty and negative-size rectangles', () => {
      expect(Region.of(rect(5, 5, -1, 10), rect(5, 5, 10, -1), rect(0, 0, 0, 0), rect(I32_MAX, I32_MAX, I32_MIN, I32_MIN)).isEmpty).to.equal(true);
    });

    it('x + width past 2^31 does not wrap: exact arithmetic, clipped to nothing or to the buffer edge', () => {
      const far = Region.of(rect(I32_MAX, I32_MAX, I32_MAX, I32_MAX));
      expect(far.area).to.equal(I32_MAX * I32_MAX);
      expect(far.clip(100, 100).isEmpty).to.equal(true);
      const wide = Region.of(rect(I32_MIN, I32_MIN, I32_MAX, I32_MAX), rect(-5, -5, I32_MAX, I32_MAX));
      expect(wide.clip(64, 32).rects).to.deep.equal([rect(0, 0, 64, 32)]);
      expect(Region.of(rect(60, 30, I32_MAX, I32_MAX)).clip(64, 32).rects).to.deep.equal([rect(60, 30, 4, 2)]);
    });

    it(`merges too many rectangles into a bounded superset (4,096 random ones, seed ${SEED})`, () => {
      const r = rng(SEED + 8);
      const rects = Array.from({ length: 4096 }, () => rect(randInt(r, -50, 300), randInt(r, -50, 300), randInt(r, -3, 40), randInt(r, -3, 40)));
      const region = Region.from(rects).clip(256, 256);
      const bounded = region.simplify(64);
      expect(bounded.rects.length).to.be.at.most(64);
      // Every damaged pixel is still damaged: damage may grow, never shrink.
      for (const px of [[0, 0], [10, 250], [255, 255], [128, 3]] as const) {
        if (region.contains(px[0], px[1])) expect(bounded.contains(px[0], px[1])).to.equal(true);
      }
      expect(bounded.area).to.be.at.least(region.area);
    });
  });

  describe('copyRects (the commit path: shadow -> buffer)', () => {
    it('clips int32 rectangles at every edge; nothing outside either region changes', () => {
      const src = plain(16, 8, 0xaa);
      const dst = plain(16, 8, 0x00);
      const quads = new Int32Array([
        I32_MAX, I32_MAX, I32_MAX, I32_MAX, // far away, x + w past 2^31
        I32_MIN, I32_MIN, I32_MAX, I32_MAX, // ends at -1: nothing
        I32_MIN, 2, I32_MAX, 1, // x + w = -1: nothing
        -3, -3, 5, 5, // 2 x 2 at the origin
        14, 6, I32_MAX, I32_MAX, // 2 x 2 at the far corner
        3, 3, -1, 10, 3, 3, 10, I32_MIN, // negative sizes
        0, 0, 16, 8, 7, // a trailing partial quadruple is ignored
      ]);
      // The corners lie inside the whole-region rectangle: copied once or twice, as the planner finds cheaper.
      expect(copyRects(src, dst, quads)).to.be.oneOf([16 * 8, 4 + 4 + 16 * 8]);
      expect(dst.pixels.every((v) => v === 0xaa)).to.equal(true);
      expect(guardBytes(dst).every((v) => v === 0x00)).to.equal(true);
    });

    it('rectangles as objects: NaN counts as 0, fractions truncate, infinities clamp to int32', () => {
      const src = plain(8, 8, 0x11);
      const dst = plain(8, 8, 0x00);
      const copied = copyRects(src, dst, [
        rect(NaN, NaN, 2, 2), // 2 x 2 at the origin
        rect(6.9, 6.9, 1.5, 1.5), // (6, 6) 1 x 1
        rect(-5, 4, Infinity, 1), // width clamps to 2^31 - 1: the whole of row 4
        rect(-Infinity, 5, Infinity, 1), // each field clamps on its own: x + w = -1, nothing
        rect(0, 0, NaN, 8), // width 0: nothing
      ]);
      expect(copied).to.equal(4 + 1 + 8);
      expect(guardBytes(dst).every((v) => v === 0)).to.equal(true);
    });

    it('a million rectangles cost a bounded copy and touch nothing outside', () => {
      const src = plain(4, 4, 0x5a);
      const dst = plain(4, 4, 0x00);
      const quads = new Int32Array(4 * 1_000_000);
      for (let i = 0; i < quads.length; i += 4) quads.set([(i >> 2) % 7 - 3, (i >> 4) % 7 - 3, 3, 3], i);
      const copied = copyRects(src, dst, quads);
      expect(copied).to.be.greaterThan(0);
      expect(guardBytes(dst).every((v) => v === 0)).to.equal(true);
    });

    it('rejects non-integer, negative, NaN and oversized geometry arguments before copying', () => {
      const a = new Uint8Array(4096);
      const b = new Uint8Array(4096);
      const q = new Int32Array([0, 0, 8, 8]);
      const calls: (() => number)[] = [
        () => copyRectsRaw(a, 32.5, b, 32, 8, 8, 4, q),
        () => copyRectsRaw(a, NaN, b, 32, 8, 8, 4, q),
        () => copyRectsRaw(a, 32, b, 32, -8, 8, 4, q),
        () => copyRectsRaw(a, 32, b, 32, 8, Infinity, 4, q),
        () => copyRectsRaw(a, 32, b, 32, 8, 8, 17, q),
        () => copyRectsRaw(a, 32, b, 32, 65537, 1, 4, q),
        () => copyRectsRaw(a, 2 ** 32, b, 32, 8, 8, 4, q),
        () => copyRectsRaw(a, 2 ** 31, b, 2 ** 31, 8, 8, 4, q), // stride x rows past the views
        () => copyRectsRaw(a, 32, b, 32, 8, 8, 4, new Uint32Array(4) as never),
        () => copyRectsRaw(a as never, 32, 'b' as never, 32, 8, 8, 4, q),
      ];
      for (const call of calls) expect(call).to.throw().with.property('code', 'ERR_BUFSHARE_INVALID_ARGUMENT');
      expect(b.every((v) => v === 0)).to.equal(true);
    });

    it('regions whose geometry does not fit their memory are refused at construction', () => {
      const mem = new ArrayBuffer(1024);
      const format = resolveFormat('XRGB8888');
      for (const g of [
        { width: 16, height: 16, stride: 64, offset: 0 }, // 1,024 + 0: fits exactly, accepted below
        { width: 16, height: 17, stride: 64, offset: 0 },
        { width: 17, height: 1, stride: 64, offset: 0 },
        { width: 4, height: 4, stride: 16, offset: -16 },
        { width: 4, height: 4, stride: 16, offset: 1024 - 63 },
        { width: 1, height: 2 ** 31, stride: 2 ** 31, offset: 0 },
      ].slice(1)) {
        expect(() => new GraphicsRegion(mem, { ...g, format }, 'read', 'direct', () => {})).to.throw().with.property('code', 'ERR_BUFSHARE_INVALID_ARGUMENT');
      }
      expect(new GraphicsRegion(mem, { width: 16, height: 16, stride: 64, offset: 0, format }, 'read', 'direct', () => {}).pixels.length).to.equal(1024);
    });
  });

  describe('use after destroy and unmap', () => {
    it('a destroyed buffer refuses map, export and commit; its old regions are empty; copies from them are refused', () => {
      const alloc = new ShmAllocator();
      const b = alloc.allocate({ width: 16, height: 16, format: 'XRGB8888' });
      const other = alloc.allocate({ width: 16, height: 16, format: 'XRGB8888' });
      const region = b.map();
      const target = other.map();
      b.destroy();
      expect(region.pixels.length).to.equal(0);
      expect(() => b.map()).to.throw().with.property('code', 'ERR_BUFSHARE_DESTROYED');
      expect(() => b.export()).to.throw().with.property('code', 'ERR_BUFSHARE_DESTROYED');
      expect(() => b.commitShadow(Region.full(16, 16))).to.throw().with.property('code', 'ERR_BUFSHARE_DESTROYED');
      expect(() => copyRects(region, target, [rect(0, 0, 16, 16)])).to.throw().with.property('code', 'ERR_BUFSHARE_UNMAPPED');
      expect(() => copyRects(target, region, [rect(0, 0, 16, 16)])).to.throw().with.property('code', 'ERR_BUFSHARE_UNMAPPED');
      // The raw native call with a detached view sees a 0-byte array and refuses the geometry.
      expect(() => copyRectsRaw(target.pixels, 64, region.pixels, 64, 16, 16, 4, new Int32Array([0, 0, 16, 16]))).to.throw().with.property('code', 'ERR_BUFSHARE_INVALID_ARGUMENT');
      other.destroy();
    });
  });

  describe('descriptors with hostile geometry', () => {
    it('refuses geometry whose products overflow 32 bits or exceed the fd', () => {
      const b = new ShmAllocator().allocate({ width: 16, height: 16, format: 'XRGB8888' });
      const { descriptor } = b.export();
      const hostile: unknown[] = [
        { ...descriptor, width: 16384, height: 16384, planes: [{ offset: 0, stride: 2 ** 16 }] }, // 4 GiB > size
        { ...descriptor, planes: [{ offset: 2 ** 31, stride: 64 }] },
        { ...descriptor, planes: [{ offset: descriptor.size - 1, stride: 64 }] },
        { ...descriptor, planes: [{ offset: 0, stride: 63 }] },
        { ...descriptor, width: -16 },
        { ...descriptor, width: 16.5 },
        { ...descriptor, height: NaN },
        { ...descriptor, size: 2 ** 53 },
      ];
      for (const d of hostile) {
        const fd = native.dupFd(b.fd);
        expect(() => fromDescriptor(d, [fd])).to.throw().with.property('code', 'ERR_BUFSHARE_INVALID_DESCRIPTOR');
      }
      expect(() => computeLayout(16384, 16385, resolveFormat('XRGB8888'))).to.throw();
      b.destroy();
    });
  });
});
