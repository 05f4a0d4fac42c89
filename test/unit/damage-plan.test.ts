import { expect } from 'chai';
import { copyRects, planDamage, GraphicsRegion, resolveFormat, OUT_OF_CACHE_COPY, IN_CACHE_COPY, type CopyCostModel, type FormatName, type PlaneGeometry } from '../../lib';
import { copyRectsRaw, planDamageRaw } from '../../lib/native';
import { adversarialDamage } from '../../bench/support/damage-shapes';
import { rng, randInt, SEED } from '../helpers/random';

/** Which pixels of width x height the quadruples cover (clipped), one byte per pixel. */
function coverage(rects: Int32Array, width: number, height: number): Uint8Array {
  const m = new Uint8Array(width * height);
  for (let i = 0; i + 3 < rects.length; i += 4) {
    const x0 = Math.max(rects[i]!, 0);
    const y0 = Math.max(rects[i + 1]!, 0);
    const x1 = Math.min(rects[i]! + rects[i + 2]!, width);
    const y1 = Math.min(rects[i + 1]! + rects[i + 3]!, height);
    for (let y = y0; y < y1; y++) m.fill(1, y * width + x0, Math.max(y * width + x0, y * width + x1));
  }
  return m;
}

function plainRegion(width: number, height: number, stride: number, format: FormatName, fill: (i: number) => number): GraphicsRegion {
  const mem = new ArrayBuffer(stride * height);
  new Uint8Array(mem).forEach((_, i, a) => (a[i] = fill(i)));
  return new GraphicsRegion(mem, { width, height, stride, format: resolveFormat(format), offset: 0 }, 'readwrite', 'direct', () => {});
}

function randomRects(r: () => number, width: number, height: number): Int32Array {
  const out: number[] = [];
  const n = randInt(r, 0, 40);
  for (let i = 0; i < n; i++) {
    const kind = randInt(r, 0, 4);
    if (kind === 0) out.push(randInt(r, -10, width + 5), randInt(r, -10, height + 5), randInt(r, -3, width + 20), randInt(r, -3, height + 20));
    else if (kind === 1) out.push(randInt(r, 0, width - 1), randInt(r, 0, height - 1), 1, 1); // a pixel
    else if (kind === 2) out.push(0, randInt(r, 0, height - 1), width, randInt(r, 1, 4)); // whole rows
    else if (kind === 3) out.push(randInt(r, 0, width - 1), 0, randInt(r, 1, 3), height); // a column
    else out.push(randInt(r, 0, width - 1), randInt(r, 0, height - 1), randInt(r, 1, 12), randInt(r, 1, 12));
  }
  return Int32Array.from(out);
}

/** Models at the extremes too: row starts free (never join) and very dear (always join). */
const MODELS: CopyCostModel[] = [
  OUT_OF_CACHE_COPY, IN_CACHE_COPY,
  { rectNs: 0, rowNs: 0, rowByteNs: 1, contiguousByteNs: 1, planRectNs: 0 },
  { rectNs: 1e6, rowNs: 1e6, rowByteNs: 0.01, contiguousByteNs: 0.001, planRectNs: 0 },
  { rectNs: 500, rowNs: 0, rowByteNs: 0.1, contiguousByteNs: 0.05, planRectNs: 0 },
  { rectNs: 30, rowNs: 6, rowByteNs: 0.07, contiguousByteNs: 0.05, planRectNs: 1e4 },
];

/** Plans, checks the plan's geometry, copies along it, and checks every byte of the destination. */
function checkPlannedCopy(damage: Int32Array, g: PlaneGeometry, sourceComplete: boolean, model: CopyCostModel, label: string): void {
  const plan = planDamage(damage, g, { sourceComplete, model });
  const { width, height, bpp } = g;
  // Inside the plane, never empty.
  for (let i = 0; i < plan.rects.length; i += 4) {
    const [x, y, w, h] = [plan.rects[i]!, plan.rects[i + 1]!, plan.rects[i + 2]!, plan.rects[i + 3]!];
    expect(x >= 0 && y >= 0 && w > 0 && h > 0 && x + w <= width && y + h <= height, `${label}: plan rect ${x},${y} ${w}x${h}`).to.equal(true);
  }
  const damaged = coverage(damage, width, height);
  const planned = coverage(plan.rects, width, height);
  for (let p = 0; p < damaged.length; p++) {
    if (damaged[p] && !planned[p]) expect.fail(`${label}: damaged pixel ${p % width},${Math.floor(p / width)} not in the plan (${plan.strategy})`);
    if (!sourceComplete && planned[p] && !damaged[p]) expect.fail(`${label}: exact plan covers undamaged pixel ${p % width},${Math.floor(p / width)} (${plan.strategy})`);
  }
  // The copy: damaged pixels from the source, planned pixels from the source, all else (and the stride padding) untouched.
  const format: FormatName = bpp === 4 ? 'XRGB8888' : bpp === 2 ? 'RGB565' : bpp === 3 ? 'RGB888' : 'ABGR16161616F';
  const src = plainRegion(width, height, g.srcStride, format, (i) => (i * 31 + 7) & 0xff);
  const dst = plainRegion(width, height, g.dstStride, format, (i) => ((i * 13) ^ 0x5a) & 0xff);
  const before = dst.pixels.slice();
  copyRects(src, dst, damage, { sourceComplete, model });
  for (let y = 0; y < height; y++) {
    for (let b = 0; b < g.dstStride; b++) {
      const x = Math.floor(b / bpp);
      const d = dst.pixels[y * g.dstStride + b]!;
      const inPlane = x < width;
      const p = y * width + x;
      if (inPlane && planned[p]) {
        if (d !== src.pixels[y * g.srcStride + b]) expect.fail(`${label}: planned pixel ${x},${y} not copied`);
      } else if (d !== before[y * g.dstStride + b]) {
        expect.fail(`${label}: byte ${b} of row ${y} written outside the plan`);
      }
    }
  }
}

describe('damage planner', () => {
  it(`plans copies that equal the naive copy over the damage and write nowhere else, random rectangles (seed ${SEED})`, () => {
    const r = rng(SEED + 13);
    for (let iter = 0; iter < 400; iter++) {
      const bpp = [4, 4, 2, 3, 8][iter % 5]!;
      const width = randInt(r, 1, 48);
      const height = randInt(r, 1, 32);
      const tight = randInt(r, 0, 1) === 1; // both strides = width * bpp: whole rows are one block
      const srcStride = tight ? width * bpp : width * bpp + randInt(r, 0, 9);
      const dstStride = tight ? width * bpp : width * bpp + randInt(r, 0, 9);
      const damage = randomRects(r, width, height);
      const model = MODELS[iter % MODELS.length]!;
      for (const sourceComplete of [false, true]) {
        checkPlannedCopy(damage, { width, height, bpp, srcStride, dstStride }, sourceComplete, model, `iteration ${iter}, ${sourceComplete ? 'complete' : 'exact'}`);
      }
    }
  });

  it('handles the adversarial shapes the bench copies, scaled down, exactly or with a complete source', () => {
    const width = 192;
    const height = 108;
    for (const shape of adversarialDamage(width, height)) {
      for (const tight of [true, false]) {
        const g = { width, height, bpp: 4, srcStride: width * 4 + (tight ? 0 : 64), dstStride: width * 4 };
        for (const sourceComplete of [false, true]) checkPlannedCopy(shape.rects, g, sourceComplete, OUT_OF_CACHE_COPY, `${shape.name}, ${tight ? 'tight' : 'padded'}`);
      }
    }
  });

  it('never estimates a complete-source plan above a full-frame copy, nor above the damage as given', () => {
    const width = 1920;
    const height = 1080;
    const g = { width, height, bpp: 4, srcStride: width * 4, dstStride: width * 4 };
    const full = planDamage(Int32Array.of(0, 0, width, height), g, { sourceComplete: true }).estimatedNs;
    for (const shape of adversarialDamage(width, height)) {
      const plan = planDamage(shape.rects, g, { sourceComplete: true });
      expect(plan.estimatedNs, shape.name).to.be.at.most(full * 1.0001);
      expect(plan.estimatedNs, shape.name).to.be.at.most(plan.givenNs * 1.0001);
    }
  });

  it('joins what costs more apart: a checkerboard and thin columns become whole rows, scattered rectangles stay apart', () => {
    const width = 1920;
    const height = 1080;
    const g = { width, height, bpp: 4, srcStride: width * 4, dstStride: width * 4 };
    const byName = new Map(adversarialDamage(width, height).map((s) => [s.name, s.rects]));
    const full = planDamage(Int32Array.of(0, 0, width, height), g, { sourceComplete: true }).estimatedNs;
    for (const name of ['checkerboard 16 px', 'columns 1 px every 4 px']) {
      // Streamed rows cost less a byte than a block copied with cached stores:
      // each band's spans joined into one row nearly as wide as the plane,
      // cheaper than the full frame.
      const plan = planDamage(byName.get(name)!, g, { sourceComplete: true });
      expect(plan.rects.length / 4, name).to.be.at.most(68);
      for (let i = 0; i < plan.rects.length; i += 4) expect(plan.rects[i + 2], name).to.be.at.least(width - 16);
      expect(plan.estimatedNs, name).to.be.lessThan(full * 0.8);
      // Where rows are not streamed, one block of whole rows.
      const cached = planDamage(byName.get(name)!, g, { sourceComplete: true, model: { ...OUT_OF_CACHE_COPY, streamingStores: false } });
      expect(Array.from(cached.rects), name).to.deep.equal([0, 0, width, height]);
    }
    const sparse = Int32Array.of(10, 10, 100, 100, 1000, 500, 100, 100);
    expect(Array.from(planDamage(sparse, g, { sourceComplete: true }).rects)).to.deep.equal(Array.from(sparse));
    // Without a complete source, the checkerboard is copied square by square.
    const exact = planDamage(byName.get('checkerboard 16 px')!, g);
    expect(exact.rects.length / 4).to.be.greaterThan(1000);
    // The sweep runs only where it can save more than its own time.
    const dear = planDamage(byName.get('checkerboard 16 px')!, g, { sourceComplete: true, model: { ...OUT_OF_CACHE_COPY, planRectNs: 1e6 } });
    expect(dear.strategy).to.equal('bound (sweep not worth its time)');
  });

  it('gives up the band sweep past its budget on tall staggered rectangles and still covers the damage', () => {
    const width = 512;
    const height = 512;
    const rects: number[] = [];
    for (let i = 0; i < 4000; i++) rects.push((i * 7) % width, i % height, 1, height);
    const g = { width, height, bpp: 4, srcStride: width * 4 + 16, dstStride: width * 4 };
    const alwaysSweep = { ...OUT_OF_CACHE_COPY, planRectNs: 0, rectNs: 1e5 };
    const exact = planDamage(Int32Array.from(rects), g, { model: alwaysSweep });
    expect(exact.strategy).to.contain('over budget');
    const complete = planDamage(Int32Array.from(rects), g, { sourceComplete: true, model: alwaysSweep });
    expect(complete.strategy).to.match(/^bound \(sweep (over budget|not worth its time)\)$/);
    checkPlannedCopy(Int32Array.from(rects), g, true, OUT_OF_CACHE_COPY, 'staggered');
  });

  it(`with eachPixelOnce, plans rectangles that never overlap, whatever the model (seed ${SEED})`, () => {
    const r = rng(SEED + 14);
    for (let iter = 0; iter < 200; iter++) {
      const width = randInt(r, 1, 40);
      const height = randInt(r, 1, 30);
      const damage = randomRects(r, width, height);
      const model = { ...MODELS[iter % MODELS.length]!, planRectNs: 1e6 }; // a sweep never worth its time otherwise
      const plan = planDamage(damage, { width, height, bpp: 4, srcStride: width * 4, dstStride: width * 4 }, { model, eachPixelOnce: true });
      const count = new Uint8Array(width * height);
      for (let i = 0; i < plan.rects.length; i += 4) {
        for (let y = plan.rects[i + 1]!; y < plan.rects[i + 1]! + plan.rects[i + 3]!; y++) {
          for (let x = plan.rects[i]!; x < plan.rects[i]! + plan.rects[i + 2]!; x++) {
            if (++count[y * width + x]! > 1) expect.fail(`iteration ${iter}: pixel ${x},${y} planned twice (${plan.strategy})`);
          }
        }
      }
      expect(Array.from(count)).to.deep.equal(Array.from(coverage(damage, width, height)));
    }
  });

  it('refuses bad arguments with ERR_BUFSHARE_INVALID_ARGUMENT', () => {
    const rects = Int32Array.of(0, 0, 4, 4);
    const model = Float64Array.of(1, 1, 1, 1, 1);
    for (const call of [
      () => planDamageRaw(new Float64Array(4) as never, 4, 4, 4, 16, 16, false, model),
      () => planDamageRaw(rects, 4, 4, 0, 16, 16, false, model),
      () => planDamageRaw(rects, 70000, 4, 4, 16, 16, false, model),
      () => planDamageRaw(rects, 4, 4, 4, 16, 16, 1 as never, model),
      () => planDamageRaw(rects, 4, 4, 4, 16, 16, false, Float64Array.of(1, 1, 1, 1)),
      () => planDamageRaw(rects, 4, 4, 4, 16, 16, false, Float64Array.of(1, 1, 1, 1, 1, 1, 1)),
      () => planDamageRaw(rects, 4, 4, 4, 16, 16, false, Float64Array.of(1, 1, 1, 1, 1, Number.POSITIVE_INFINITY)),
      () => planDamageRaw(rects, 4, 4, 4, 16, 16, false, Float64Array.of(1, 1, Number.NaN, 1, 1)),
      () => planDamageRaw(rects, 4, 4, 4, 16, 16, false, Float64Array.of(1, -1, 1, 1, 1)),
      () => planDamage(rects, { width: 4, height: 4, bpp: 4, srcStride: -1, dstStride: 16 }),
      // copyRects plans in the same native call: the same checks there.
      () => copyRectsRaw(new Uint8Array(64), 16, new Uint8Array(64), 16, 4, 4, 4, rects, Float64Array.of(1, 1), 0),
      () => copyRectsRaw(new Uint8Array(64), 16, new Uint8Array(64), 16, 4, 4, 4, rects, model, -1),
    ]) {
      expect(call).to.throw().with.property('code', 'ERR_BUFSHARE_INVALID_ARGUMENT');
    }
  });
});
