/**
 * Damage sets that reach every branch of the planner's survey (damage_plan.cc):
 * odd and even counts, few (< 64) and many, rectangles inside, clipped, empty,
 * whole rows, hostile values near +-2^31, and the bench's adversarial shapes;
 * their plans, as plain data, to compare between the AVX2 and scalar surveys.
 */
import { adversarialDamage } from '../../bench/support/damage-shapes';
import { planDamageRaw } from '../../lib/native';
import { rng, randInt } from './random';

export interface PlanCase {
  readonly width: number;
  readonly height: number;
  readonly sourceComplete: boolean;
  readonly input: number[];
  readonly rects: number[];
  readonly cost: number;
  readonly given: number;
  readonly strategy: string;
}

// With streamByteNs apart from rowByteNs, so that the surveys' split of streamed bytes counts.
const MODEL = Float64Array.of(29, 5, 0.0672, 0.0489, 36, 0.0302);

function randomSet(r: () => number, n: number, width: number, height: number, hostile: boolean): Int32Array {
  const out = new Int32Array(n * 4);
  for (let i = 0; i < n; i++) {
    const kind = randInt(r, 0, hostile ? 6 : 4);
    const q =
      kind === 0 ? [randInt(r, 0, width - 1), randInt(r, 0, height - 1), randInt(r, 1, 20), randInt(r, 1, 20)] // inside, mostly
      : kind === 1 ? [randInt(r, -30, width + 30), randInt(r, -30, height + 30), randInt(r, -5, width + 40), randInt(r, -5, height + 40)] // clipped or empty
      : kind === 2 ? [0, randInt(r, 0, height - 1), width, randInt(r, 1, 5)] // whole rows (a block where the strides are the width)
      : kind === 3 ? [randInt(r, 0, width - 1), randInt(r, 0, height - 1), 1, 1]
      : kind === 4 ? [randInt(r, 0, width - 1), 0, randInt(r, 1, 3), height]
      : kind === 5 ? [2 ** 31 - 1 - randInt(r, 0, 5), randInt(r, 0, height), 2 ** 31 - 1, randInt(r, 1, 9)] // x + w wraps in 32 bits
      : [-(2 ** 31) + randInt(r, 0, 9), -(2 ** 30) - randInt(r, 0, 9), 2 ** 31 - 1, 2 ** 30 + randInt(r, 0, 40)]; // reaches in from far away
    out.set(q, i * 4);
  }
  return out;
}

export function planCases(seed: number): PlanCase[] {
  const r = rng(seed);
  const plans: PlanCase[] = [];
  const plan = (rects: Int32Array, width: number, height: number, bpp: number, contiguous: boolean, sourceComplete: boolean, eachPixelOnce: boolean): void => {
    const stride = width * bpp + (contiguous ? 0 : 8);
    const p = planDamageRaw(rects, width, height, bpp, stride, stride, sourceComplete, MODEL, eachPixelOnce);
    plans.push({ width, height, sourceComplete, input: Array.from(rects), rects: Array.from(p.rects), cost: p.cost, given: p.given, strategy: p.strategy });
  };
  for (let iter = 0; iter < 160; iter++) {
    const width = randInt(r, 1, 400);
    const height = randInt(r, 1, 300);
    const n = [0, 1, 2, 3, 5, 63, 64, 65, 130, 401][iter % 10]!;
    const rects = randomSet(r, n, width, height, iter % 3 === 2);
    plan(rects, width, height, randInt(r, 1, 8), iter % 2 === 0, iter % 4 < 2, iter % 7 === 0);
  }
  // At the edge of the AVX2 survey's range (values in [-2^30, 2^30)): x + w = 2^31 - 2 must not wrap.
  const edge = [2 ** 30 - 1, 5, 2 ** 30 - 1, 3, -(2 ** 30), -(2 ** 30), 2 ** 30 - 1, 2 ** 30 + 7, 3, 3, 4, 4, 2 ** 30, 0, 2 ** 30, 2];
  for (let n = 2; n <= 4; n++) plan(Int32Array.from(edge.slice(0, 4 * n)), 64, 48, 4, true, n % 2 === 0, false);
  // Empty rectangles inside the plane among rectangles kept as given: dropped, so the plan is not the input.
  const emptyInside = [10, 10, 5, 5, 40, 40, 0, 7, 60, 10, 6, 6, 80, 80, 9, -3, 100, 20, 4, 4];
  for (let n = 2; n <= 5; n++) {
    for (const sourceComplete of [false, true]) plan(Int32Array.from(emptyInside.slice(0, 4 * n)), 200, 120, 4, false, sourceComplete, false);
  }
  for (const shape of adversarialDamage(480, 270)) {
    for (const sourceComplete of [true, false]) plan(shape.rects, 480, 270, 4, true, sourceComplete, false);
  }
  // Odd-sized shapes, cut at the plane's edges (the checkerboard's last row is).
  for (const shape of adversarialDamage(301, 171, 1)) plan(shape.rects.subarray(0, shape.rects.length - 4), 301, 171, 4, true, true, false);
  return plans;
}
