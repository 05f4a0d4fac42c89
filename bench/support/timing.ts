/** Timing of short operations: repeat until a block is long enough to time, report per operation. */
import { nowNs } from './frames';

/** Nanoseconds per call of fn, over `reps` calls. */
export function timeBlock(fn: () => void, reps: number): number {
  const t0 = nowNs();
  for (let i = 0; i < reps; i++) fn();
  return (nowNs() - t0) / reps;
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
