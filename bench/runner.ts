/**
 * Runs measurements one after another, turning a throw or a hang into a
 * "crashed" row so that one broken measurement never hides the others.
 */
import type { BenchContext, Measurement } from './measurement';
import type { Row } from './result';

export interface Tally {
  /** Rows that produced figures (whatever their target said). */
  readonly ran: number;
  readonly crashed: number;
  readonly skipped: number;
  readonly met: number;
  readonly missed: number;
  /** Rows with figures but no pass/fail target. */
  readonly reported: number;
}

function timeout(seconds: number, id: string): { promise: Promise<never>; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${id} did not finish within ${seconds} s`)), seconds * 1000);
  });
  return { promise, cancel: () => clearTimeout(timer) };
}

export async function runMeasurement(m: Measurement, ctx: BenchContext): Promise<Row[]> {
  const limit = timeout(m.timeoutSeconds ?? (ctx.quick ? 30 : 300), m.id);
  try {
    const rows = await Promise.race([m.run(ctx), limit.promise]);
    if (rows.length === 0) throw new Error(`${m.id} produced no rows`);
    return rows;
  } catch (e) {
    const reason = e instanceof Error ? `${e.message}` : String(e);
    ctx.log(`${m.id} crashed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
    return [{ id: m.id, title: m.title, baselineTitle: '-', unit: '', status: 'crashed', reason }];
  } finally {
    limit.cancel();
  }
}

export function tally(rows: readonly Row[]): Tally {
  const count = (s: Row['status']): number => rows.filter((r) => r.status === s).length;
  const met = count('met');
  const missed = count('missed');
  const reported = count('reported');
  return { ran: met + missed + reported, crashed: count('crashed'), skipped: count('skipped'), met, missed, reported };
}

/** Compiles --filter patterns: a measurement or row runs if its id matches any of them. */
export function idFilter(patterns: readonly string[]): (id: string) => boolean {
  if (patterns.length === 0) return () => true;
  const res = patterns.map((p) => new RegExp(p));
  return (id) => res.some((re) => re.test(id));
}
