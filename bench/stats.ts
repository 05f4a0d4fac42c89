/**
 * Order statistics for benchmark figures: medians and spreads, never means,
 * because a shared machine adds outliers only on the slow side.
 */

export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly p25: number;
  readonly p75: number;
  /** (max - min) / median: how much the runs disagree, 0 when they agree. */
  readonly spread: number;
  /** The per-run values, in the order they were taken. */
  readonly values: readonly number[];
}

/** The q-quantile (0..1) of sorted values, interpolating between neighbours. */
export function quantileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export function quantile(values: readonly number[], q: number): number {
  return quantileSorted([...values].sort((a, b) => a - b), q);
}

export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const med = quantileSorted(sorted, 0.5);
  const min = sorted[0] ?? Number.NaN;
  const max = sorted[sorted.length - 1] ?? Number.NaN;
  return {
    median: med,
    min,
    max,
    p25: quantileSorted(sorted, 0.25),
    p75: quantileSorted(sorted, 0.75),
    spread: med === 0 ? 0 : (max - min) / Math.abs(med),
    values: [...values],
  };
}

/** Per-run ratios subject[i] / baseline[i]: runs taken side by side share the machine's state. */
export function pairedRatios(subject: readonly number[], baseline: readonly number[]): number[] {
  if (subject.length !== baseline.length) throw new Error(`paired ratios need as many subject runs (${subject.length}) as baseline runs (${baseline.length})`);
  return subject.map((s, i) => s / baseline[i]!);
}
