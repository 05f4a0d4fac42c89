import { expect } from 'chai';
import { planSurvey } from '../../lib/native';
import type { PlanCase } from '../helpers/plan-cases';
import { SEED } from '../helpers/random';
import { runTs } from '../helpers/spawn';

/**
 * The planner's survey (src-native/damage_plan.cc): an AVX2 pass, clipping in
 * 32-bit lanes, where the CPU has AVX2, and the portable one otherwise (or with
 * BUFSHARE_PLAN_SURVEY=scalar). Both must give the same plans, to the bit: the
 * same rectangles, the same estimates, the same strategy.
 */

/** Which pixels the quadruples cover, clipped to width x height. */
function coverage(quads: readonly number[], width: number, height: number): Uint8Array {
  const m = new Uint8Array(width * height);
  for (let i = 0; i + 3 < quads.length; i += 4) {
    const x0 = Math.max(quads[i]!, 0);
    const y0 = Math.max(quads[i + 1]!, 0);
    const x1 = Math.min(quads[i]! + quads[i + 2]!, width);
    const y1 = Math.min(quads[i + 1]! + quads[i + 3]!, height);
    for (let y = y0; y < y1; y++) if (x1 > x0) m.fill(1, y * width + x0, y * width + x1);
  }
  return m;
}

async function plansWith(survey: 'default' | 'scalar'): Promise<{ survey: string; plans: PlanCase[] }> {
  const child = await runTs('test/helpers/plan-child.ts', [String(SEED + 21)], [], survey === 'scalar' ? { BUFSHARE_PLAN_SURVEY: 'scalar' } : {});
  expect(child.code, child.stderr).to.equal(0);
  return JSON.parse(child.stdout) as { survey: string; plans: PlanCase[] };
}

describe('damage planner survey', () => {
  it(`plans the same with the AVX2 and the scalar survey: clipped, empty, hostile, odd counts (seed ${SEED + 21}, ${planSurvey()} here)`, async function () {
    this.timeout(30000);
    const [fast, portable] = await Promise.all([plansWith('default'), plansWith('scalar')]);
    expect(portable.survey).to.equal('scalar');
    expect(fast.survey).to.equal(planSurvey());
    expect(fast.plans.length).to.be.greaterThan(170);
    for (let i = 0; i < fast.plans.length; i++) {
      const a = fast.plans[i]!;
      const b = portable.plans[i]!;
      expect(a, `case ${i}: ${a.input.length / 4} rects on ${a.width}x${a.height}`).to.deep.equal(b);
      // And right, not only equal: inside the plane, covering every damaged pixel (and, without a complete source, no other).
      for (let k = 0; k < a.rects.length; k += 4) {
        const [x, y, w, h] = a.rects.slice(k, k + 4) as [number, number, number, number];
        if (!(x >= 0 && y >= 0 && w > 0 && h > 0 && x + w <= a.width && y + h <= a.height)) expect.fail(`case ${i}: planned rectangle ${x},${y} ${w}x${h} outside ${a.width}x${a.height}`);
      }
      const damaged = coverage(a.input, a.width, a.height);
      const planned = coverage(a.rects, a.width, a.height);
      for (let p = 0; p < damaged.length; p++) {
        if (damaged[p] && !planned[p]) expect.fail(`case ${i}: damaged pixel ${p % a.width},${Math.floor(p / a.width)} not planned`);
        if (!a.sourceComplete && planned[p] && !damaged[p]) expect.fail(`case ${i}: undamaged pixel ${p % a.width},${Math.floor(p / a.width)} planned without a complete source`);
      }
    }
  });
});
