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
  /**
   * Nanoseconds to start a rectangle somewhere new: its first row waits on memory
   * and, in a fresh page, on the TLB (nothing prefetched it). About 190 ns here:
   * 4,095 isolated 1-px rectangles cost twice a full-frame copy.
   */
  readonly rectNs: number;
  /** Nanoseconds to start each row of a rectangle, the next a stride below (the prefetcher follows). */
  readonly rowNs: number;
  /** Nanoseconds per byte inside a row a stride away from the previous one (rows under 256 bytes, or all where stores are not streamed). */
  readonly rowByteNs: number;
  /** Nanoseconds per byte of a block of whole rows copied as one memcpy. */
  readonly contiguousByteNs: number;
  /**
   * Nanoseconds the planner's band sweep takes per rectangle: it runs only where
   * it can save more than that (4,095 1-px rectangles took 250 us to sweep here,
   * more than copying them as given).
   */
  readonly planRectNs: number;
  /**
   * The copies this model describes write their destination past the cache
   * (streaming stores for strided rows of 256 bytes or more): right where the
   * planes come from memory and the CPU does not read the destination next (a
   * shadow -> its hardware buffer, a compositor's output -> a scanout buffer).
   * Out of cache, a cached store first reads the line it writes, so rows of
   * 1 KiB ran at 0.59-0.66 of a contiguous memcpy's bandwidth, and streamed at
   * 0.80-0.85 (src-native/copy.cc). In cache they would be slower and evict
   * what the CPU reads next. Default false.
   */
  readonly streamingStores?: boolean;
  /**
   * With streamingStores: nanoseconds per byte inside a row of 256 bytes or
   * more, which the copy streams (no read of the line before its write: about
   * half rowByteNs out of cache). Default rowByteNs.
   */
  readonly streamByteNs?: number;
}

/**
 * Out of cache (shadow commits, scanout copies, any buffer the CPU last touched
 * a frame ago): `npm run calibrate` on the project's 2-core AMD EPYC (Zen 5) KVM
 * guest, 32 MiB L3, Linux 6.18, Node 20, 2026-11-30 19:30 UTC, load 3: the
 * median of 5 calibrations (rectNs 27-31, rowNs 4.8-5.6, rowByteNs 0.066-0.069,
 * contiguousByteNs 0.048-0.058, planRectNs 35-38 across them). Rows of 8 to 128
 * bytes cost 10-14 ns each, 2 KiB rows 140-147 ns; an isolated 1-px rectangle
 * 33-36 ns. So joining two spans of a row pays across a gap under about 75
 * bytes (more for short rectangles).
 *
 * streamByteNs: rows of 256 bytes and more are streamed since (copy.cc); 7
 * calibrations at 00:34 UTC on 2026-12-01, load 1.3, streamed rows of 256, 512,
 * 1,024 and 2,048 bytes cost 14, 20, 39 and 67 ns (medians; the same rows with
 * cached stores 21, 36, 68 and 128 ns): 0.030 ns a byte through the start above.
 * With it, whole rows streamed cost less than one cached block, so a
 * checkerboard or thin columns become one joined row per band (0.87-0.90x and
 * 0.77-0.78x of a full-frame copy, plan included, where the block was
 * 1.02-1.08x and 1.01-1.05x).
 *
 * The other numbers are not today's: that calibration (rectNs 41, rowNs 7.3,
 * rowByteNs 0.058, planRectNs 15.7: the sweep is faster now) made the sweep look
 * worth its time on 4,095 scattered pixels, and its plan (pixels joined into
 * single streamed rows, which cost more than the model says: the streamed rate
 * comes from rectangles 32 rows tall, prefetched rows ahead) measured 0.55x of a
 * full frame to copy plus 0.35x to plan, against 0.40x as given.
 */
export const OUT_OF_CACHE_COPY: CopyCostModel = Object.freeze({ rectNs: 29, rowNs: 5.0, rowByteNs: 0.0672, contiguousByteNs: 0.0489, planRectNs: 36, streamingStores: true, streamByteNs: 0.0302 });

/**
 * In cache (a compositor's output and the surfaces it shows, a working set of a
 * few MiB): `npm run calibrate -- --in-cache`, one pair of 1280x720 planes that
 * stay in the L3, same machine, 19:31 UTC: the median of 5.
 */
export const IN_CACHE_COPY: CopyCostModel = Object.freeze({ rectNs: 2, rowNs: 1.5, rowByteNs: 0.0189, contiguousByteNs: 0.0195, planRectNs: 31 });

/** The model as the native planner takes it: [rectNs, rowNs, rowByteNs, contiguousByteNs, planRectNs, streamByteNs]. */
export function modelArray(m: CopyCostModel): Float64Array {
  const streamByteNs = m.streamingStores ? m.streamByteNs ?? m.rowByteNs : m.rowByteNs;
  return Float64Array.of(m.rectNs, m.rowNs, m.rowByteNs, m.contiguousByteNs, m.planRectNs, streamByteNs);
}
