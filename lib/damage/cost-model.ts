/**
 * What a damage copy costs, as the planner (plan.ts) sees it: a row copy pays a
 * fixed start (the call, and above all the memory latency of a row a stride away
 * from the last, before the prefetcher catches on) plus its bytes; whole rows of
 * a plane whose stride is its width are one block and pay the start once.
 *
 * The constants are measured, never guessed: `calibrateCopyCost()` (calibrate.ts)
 * times row copies of several widths and fits the line. `npm run calibrate`
 * prints a model for the machine it runs on.
 */
export interface CopyCostModel {
  /** Nanoseconds to start one row: call, clipping, the row's first-line latency. */
  readonly rowNs: number;
  /** Nanoseconds per byte inside a row a stride away from the previous one. */
  readonly rowByteNs: number;
  /** Nanoseconds per byte of a block of whole rows copied as one memcpy. */
  readonly contiguousByteNs: number;
}

/**
 * Out of cache (shadow commits, scanout copies, any buffer the CPU last touched
 * a frame ago): `npm run calibrate` on the project's 2-core AMD EPYC (Zen 5) KVM
 * guest, 32 MiB L3, Linux 6.18, Node 20, 2026-11-30 19:30 UTC, load 0.9: the
 * median of 5 calibrations (rowNs 7.1-9.0, rowByteNs 0.070-0.076,
 * contiguousByteNs 0.058-0.065 across them). Rows of 8 to 128 bytes cost 11-18 ns
 * each, 2 KiB rows 150-165 ns: so joining two rows pays only across a gap under
 * about 120 bytes, and a block of whole rows beats rows at once.
 */
export const OUT_OF_CACHE_COPY: CopyCostModel = Object.freeze({ rowNs: 8.4, rowByteNs: 0.0716, contiguousByteNs: 0.0609 });

/**
 * In cache (a compositor's output and the surfaces it shows, a working set of a
 * few MiB): `npm run calibrate -- --in-cache`, one pair of 1280x720 planes that
 * stay in the L3, same machine and time: median of 5 (rowNs 2.4-3.1, rowByteNs
 * 0.019-0.021, contiguousByteNs 0.0197-0.0204).
 */
export const IN_CACHE_COPY: CopyCostModel = Object.freeze({ rowNs: 2.9, rowByteNs: 0.0195, contiguousByteNs: 0.0202 });

export function modelArray(m: CopyCostModel): Float64Array {
  return Float64Array.of(m.rowNs, m.rowByteNs, m.contiguousByteNs);
}
