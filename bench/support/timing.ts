/** Timing of short operations: repeat until a block is long enough to time, report per operation. */
import { nowNs } from './frames';

/** Nanoseconds per call of fn, over `reps` calls. */
export function timeBlock(fn: () => void, reps: number): number {
  const t0 = nowNs();
  for (let i = 0; i < reps; i++) fn();
  return (nowNs() - t0) / reps;
}

/**
 * The median of `reps` calls of fn, each timed on its own: a GC pause or a
 * preemption by another process on this shared machine then moves one sample,
 * not the block's figure. For calls of a microsecond or more (the timer costs
 * tens of nanoseconds).
 */
export function medianOfEach(fn: (i: number) => void, reps: number): number {
  const samples = new Float64Array(reps);
  for (let i = 0; i < reps; i++) {
    const t0 = nowNs();
    fn(i);
    samples[i] = nowNs() - t0;
  }
  samples.sort();
  return reps % 2 === 1 ? samples[(reps - 1) / 2]! : (samples[reps / 2 - 1]! + samples[reps / 2]!) / 2;
}

/**
 * How many calls of fn make a block of at least `minNs`: timer resolution and
 * the timing calls themselves then stay below a percent. Also warms fn up.
 */
export function calibrateReps(fn: () => void, minNs: number): number {
  let reps = 1;
  for (;;) {
    const per = timeBlock(fn, reps);
    if (per * reps >= minNs / 4 || reps >= 1 << 20) return Math.max(1, Math.ceil(minNs / Math.max(per, 1)));
    reps *= 4;
  }
}
