/**
 * One row of the benchmark table: a figure for bufshare, the same figure for its
 * baseline taken in the same run, their ratio, and the target the ratio must meet.
 *
 * Ratios are paired: run i of bufshare is divided by run i of the baseline, taken
 * right next to it, and the row reports the median of those ratios. On a shared
 * machine the load drifts between runs; a pair sees (nearly) the same load.
 */
import { pairedRatios, summarize, type Summary } from './stats';

export interface Target {
  /** The ratio (bufshare / baseline) must be >= or <= value. */
  readonly op: '>=' | '<=';
  readonly value: number;
}

/**
 * - met / missed: the ratio's median against the target
 * - reported: a figure with no pass/fail target (a curve, a count to read)
 * - skipped: could not run here (a missing branch, device or feature); `reason` says why
 * - crashed: threw or timed out; `reason` has the error
 */
export type RowStatus = 'met' | 'missed' | 'reported' | 'skipped' | 'crashed';

export interface Row {
  readonly id: string;
  readonly title: string;
  readonly baselineTitle: string;
  /** Unit of the subject and baseline figures ("GB/s", "ms", "µs", "msg/s"). */
  readonly unit: string;
  readonly subject?: Summary;
  readonly baseline?: Summary;
  readonly ratio?: Summary;
  readonly target?: Target;
  /** A target that is not a ratio ("0 new fds", "<= 1 MB per client"), judged by the measurement itself. */
  readonly targetText?: string;
  readonly status: RowStatus;
  /** Why it was skipped or crashed; for other rows, a short verdict shown in the result column. */
  readonly reason?: string;
  /** Anything else worth keeping (p99s, counts, RSS breakdowns); goes to results.json. */
  readonly details?: Readonly<Record<string, unknown>>;
}

export interface ComparedRowSpec {
  readonly id: string;
  readonly title: string;
  readonly baselineTitle: string;
  readonly unit: string;
  /** One value per run, in run order; subject[i] and baseline[i] were taken side by side. */
  readonly subject: readonly number[];
  readonly baseline: readonly number[];
  readonly target?: Target;
  readonly details?: Readonly<Record<string, unknown>>;
}

export function targetMet(target: Target, ratio: number): boolean {
  return target.op === '>=' ? ratio >= target.value : ratio <= target.value;
}

/** A row comparing subject to baseline run by run. */
export function comparedRow(spec: ComparedRowSpec): Row {
  const ratio = summarize(pairedRatios(spec.subject, spec.baseline));
  const status: RowStatus = spec.target === undefined ? 'reported' : targetMet(spec.target, ratio.median) ? 'met' : 'missed';
  return {
    id: spec.id,
    title: spec.title,
    baselineTitle: spec.baselineTitle,
    unit: spec.unit,
    subject: summarize(spec.subject),
    baseline: summarize(spec.baseline),
    ratio,
    ...(spec.target !== undefined ? { target: spec.target } : {}),
    status,
    ...(spec.details !== undefined ? { details: spec.details } : {}),
  };
}

export function skippedRow(id: string, title: string, reason: string, target?: Target): Row {
  return { id, title, baselineTitle: '-', unit: '', status: 'skipped', reason, ...(target ? { target } : {}) };
}
