import { expect } from 'chai';
import { Region, rect, checkRect, type Rect } from '../../lib';
import { rng, randInt, SEED } from '../helpers/random';

// Brute force: a region as a pixel mask over [-8, 48)^2.
const LO = -8;
const N = 56;
type Mask = Uint8Array;

function maskOf(rects: readonly Rect[]): Mask {
  const m = new Uint8Array(N * N);
  for (const r of rects) {
    for (let y = Math.max(r.y, LO); y < Math.min(r.y + r.height, LO + N); y++) {
      for (let x = Math.max(r.x, LO); x < Math.min(r.x + r.width, LO + N); x++) m[(y - LO) * N + (x - LO)] = 1;
    }
  }
  return m;
}

function combine(a: Mask, b: Mask, op: (p: number, q: number) => number): Mask {
  return a.map((p, i) => op(p, b[i]!));
}

function count(m: Mask): number {
  return m.reduce((s, v) => s + v, 0);
}

function randomRects(r: () => number, n: number): Rect[] {
  return Array.from({ length: n }, () => rect(randInt(r, -6, 30), randInt(r, -6, 30), randInt(r, -2, 12), randInt(r, -2, 12)));
}

function expectDisjoint(region: Region): void {
  for (const r of region.rects) expect(r.width > 0 && r.height > 0, `empty rect ${JSON.stringify(r)}`).to.equal(true);
  const m = new Uint8Array(N * N);
  for (const r of region.rects) {
    for (const [i, v] of maskOf([r]).entries()) {
      if (v) {
        expect(m[i], 'rectangles overlap').to.equal(0);
        m[i] = 1;
      }
    }
  }
}

describe('Rect and Region', () => {
  it('computes union, intersection and subtraction of simple rectangles', () => {
    const a = Region.of(rect(0, 0, 10, 10));
    const b = Region.of(rect(5, 5, 10, 10));
    expect(a.union(b).area).to.equal(175);
    expect(a.intersect(b).rects).to.deep.equal([rect(5, 5, 5, 5)]);
    expect(a.subtract(b).area).to.equal(75);
    expect(a.union(b).bounds).to.deep.equal(rect(0, 0, 15, 15));
    expect(Region.empty.bounds).to.equal(undefined);
    expect(Region.of(rect(3, 3, 0, 5), rect(1, 1, -4, 2)).isEmpty).to.equal(true);
  });

  it('clips to buffer bounds', () => {
    const r = Region.of(rect(-5, -5, 10, 10), rect(95, 45, 10, 10), rect(200, 0, 5, 5));
    expect(r.clip(100, 50).rects).to.deep.equal([rect(0, 0, 5, 5), rect(95, 45, 5, 5)]);
  });

  it('rejects non-integer, non-finite and out-of-range rectangles', () => {
    for (const bad of [rect(0.5, 0, 1, 1), rect(NaN, 0, 1, 1), rect(0, 0, Infinity, 1), rect(2 ** 31, 0, 1, 1), { x: 0, y: 0, width: 1 }, null, 'r']) {
      expect(() => checkRect(bad)).to.throw().with.property('code', 'ERR_BUFSHARE_INVALID_RECT');
      expect(() => Region.from([bad as Rect])).to.throw().with.property('code', 'ERR_BUFSHARE_INVALID_RECT');
    }
  });

  it('handles coordinates at the int32 edges without overflow', () => {
    const big = Region.of(rect(2 ** 31 - 10, 0, 2 ** 31 - 1, 10));
    expect(big.clip(100, 100).isEmpty).to.equal(true);
    expect(Region.of(rect(-(2 ** 31), -(2 ** 31), 2 ** 31 - 1, 2 ** 31 - 1)).clip(10, 10).isEmpty).to.equal(true);
    expect(Region.of(rect(-(2 ** 31), 0, 2 ** 31 - 1, 5)).union(rect(0, 0, 1, 1)).area).to.equal((2 ** 31 - 1) * 5 + 1);
  });

  it(`matches a brute-force pixel mask for random operations (seed ${SEED})`, () => {
    const r = rng(SEED);
    for (let iter = 0; iter < 400; iter++) {
      const ra = randomRects(r, randInt(r, 0, 7));
      const rb = randomRects(r, randInt(r, 0, 7));
      const a = Region.from(ra);
      const b = Region.from(rb);
      const ma = maskOf(ra);
      const mb = maskOf(rb);
      const cases: [string, Region, Mask][] = [
        ['union', a.union(b), combine(ma, mb, (p, q) => p | q)],
        ['intersect', a.intersect(b), combine(ma, mb, (p, q) => p & q)],
        ['subtract', a.subtract(b), combine(ma, mb, (p, q) => p & (1 - q))],
        ['clip', a.clip(20, 15), ma.map((v, i) => (v && (i % N) + LO >= 0 && (i % N) + LO < 20 && Math.floor(i / N) + LO >= 0 && Math.floor(i / N) + LO < 15 ? 1 : 0))],
      ];
      for (const [op, region, expected] of cases) {
        expectDisjoint(region);
        expect(Array.from(maskOf(region.rects)), `${op} #${iter}`).to.deep.equal(Array.from(expected));
        expect(region.area, `${op} area #${iter}`).to.equal(count(expected));
      }
      const bounds = a.bounds;
      if (bounds) for (const x of a.rects) expect(Region.of(bounds).intersect(x).area).to.equal(x.width * x.height);
      // contains() agrees with the mask
      const px = randInt(r, LO, LO + N - 1);
      const py = randInt(r, LO, LO + N - 1);
      expect(a.contains(px, py)).to.equal(ma[(py - LO) * N + (px - LO)] === 1);
    }
  });

  it(`simplify bounds the count and only ever grows the region (seed ${SEED})`, () => {
    const r = rng(SEED + 1);
    for (let iter = 0; iter < 200; iter++) {
      const rects = randomRects(r, randInt(r, 1, 40));
      const region = Region.from(rects);
      const max = randInt(r, 1, 8);
      const s = region.simplify(max);
      expect(s.rects.length).to.be.at.most(max);
      expectDisjoint(s);
      const covered = maskOf(s.rects);
      maskOf(region.rects).forEach((v, i) => {
        if (v) expect(covered[i], `pixel lost by simplify #${iter}`).to.equal(1);
      });
    }
  });

  it('simplifies thousands of rectangles quickly', () => {
    const rects = Array.from({ length: 5000 }, (_, i) => rect((i * 7) % 1900, Math.floor(i / 5) % 1000, 3, 3));
    const t0 = process.hrtime.bigint();
    const s = Region.from(rects.slice(0, 1000)).union(Region.from(rects.slice(1000, 2000))).simplify(16);
    expect(s.rects.length).to.be.at.most(16);
    expect(Number(process.hrtime.bigint() - t0) / 1e6).to.be.below(5000);
  });

  it('round-trips through Int32Array and JSON', () => {
    const reg = Region.of(rect(1, 2, 3, 4), rect(10, 10, 2, 2));
    expect(Array.from(reg.toInt32Array())).to.deep.equal([1, 2, 3, 4, 10, 10, 2, 2]);
    expect(Region.from(JSON.parse(JSON.stringify(reg)) as Rect[]).area).to.equal(reg.area);
  });
});
