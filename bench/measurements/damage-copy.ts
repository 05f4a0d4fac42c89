/**
 * Damage copy (lib/copy.ts copyRects -> the damage planner -> src-native/copy.cc),
 * the copy the server makes for shadow buffers and a compositor makes from client
 * buffers. Every damaged copy here is planned with a complete source
 * (`sourceComplete: true`, as a shadow commit is), planning time included.
 *
 * - a full 1920x1080 XRGB8888 frame, against Buffer.copy of the same bytes
 *   between the same two mappings: the target is memcpy speed (>= 0.9x);
 * - 10% of the frame as 16 scattered rectangles, against the full-frame copy
 *   (<= 0.15x of its time);
 * - 10% in rectangles 256 and 64 px wide, against the floor (>= 70% and >= 40%
 *   of its bandwidth);
 * - adversarial shapes (bench/support/damage-shapes.ts), against the full-frame
 *   copy: none may cost more than 1.05x.
 *
 * Every damaged row also reports its floor: memcpy of the same number of bytes
 * laid out contiguously, in the same run (how far from the memory's limit it is).
 *
 * Source and destination are mmap'd sealed memfds from ShmAllocator, rotated so
 * that none is in the cache when it is copied (see support/frames.ts).
 */
import { copyRects, rect, type Rect } from '../../lib';
import type { BenchContext, Measurement } from '../measurement';
import { comparedRow, type Row } from '../result';
import { median } from '../stats';
import { adversarialDamage } from '../support/damage-shapes';
import { allocateFrames, framesToDefeatCache } from '../support/frames';
import { medianOfEach } from '../support/timing';

/** A model in which nothing costs anything: the planner keeps the rectangles as given. */
const AS_GIVEN = { rectNs: 0, rowNs: 0, rowByteNs: 0, contiguousByteNs: 0, planRectNs: 0 };

const WIDTH = 1920;
const HEIGHT = 1080;
const BPP = 4;

/**
 * 16 rectangles of width/16 x height/10 (120x108 at 1080p), one in each cell of a
 * 4x4 grid: exactly 10% of the pixels. `shift` (0..3) moves every rectangle right
 * by its own width, so the four variants damage disjoint memory: the rounds of a
 * measurement never find the previous round's damage still in the cache.
 */
export function tenPercentIn16Rects(width: number, height: number, shift = 0): Rect[] {
  const rects: Rect[] = [];
  const w = Math.floor(width / 16);
  const h = Math.floor(height / 10);
  for (let row = 0; row < 4; row++) {
    for (let col = 0; col < 4; col++) rects.push(rect(Math.floor((col * width) / 4) + (shift % 4) * w, Math.floor(((row + 0.5) * height) / 4 - h / 2), w, h));
  }
  return rects;
}

/**
 * The same 10% as 16 full-width bands (heights 7 and 6 rows, 108 rows in all):
 * each band is one contiguous block. Not a target: it isolates what scattered
 * rectangles cost beyond their bytes.
 */
export function tenPercentIn16Bands(width: number, height: number, shift = 0): Rect[] {
  const rows = Math.round(height / 10);
  const rects: Rect[] = [];
  for (let band = 0; band < 16; band++) {
    const h = Math.floor(rows / 16) + (band < rows % 16 ? 1 : 0);
    rects.push(rect(0, Math.floor((band * height) / 16) + (shift % 4) * Math.ceil(rows / 16), width, h));
  }
  return rects;
}

/**
 * About 10% of the frame in rectangles `w` px wide and 108 rows tall, on a grid
 * whose cells are 4 rectangles wide (gaps far wider than a planner joins), so
 * each rectangle is copied as its own rows. `shift` (0..3) moves them by their
 * width, as above.
 */
export function tenPercentInColumns(width: number, height: number, w: number, shift = 0): Rect[] {
  const h = 108;
  const target = Math.round((width * height) / 10);
  const rects: Rect[] = [];
  const cellW = 4 * w + 16;
  const cols = Math.floor(width / cellW);
  const rowsOfRects = Math.ceil(target / (w * h * cols));
  const cellH = Math.floor(height / rowsOfRects);
  for (let row = 0; row < rowsOfRects && rects.length * w * h < target; row++) {
    for (let col = 0; col < cols && rects.length * w * h < target; col++) rects.push(rect(col * cellW + (shift % 4) * w, row * cellH, w, Math.min(h, cellH)));
  }
  return rects;
}

function pack(rects: readonly Rect[]): Int32Array {
  return Int32Array.from(rects.flatMap((r) => [r.x, r.y, r.width, r.height]));
}

function areaOf(quads: Int32Array): number {
  let a = 0;
  for (let i = 0; i < quads.length; i += 4) a += quads[i + 2]! * quads[i + 3]!;
  return a;
}

/** Rectangle sets of one kind: 4 variants on disjoint memory (or the same set 4 times when a shape covers the frame). */
interface DamageCase {
  readonly id: string;
  readonly title: string;
  readonly variants: readonly Int32Array[];
  /** Pixels damaged (the first variant's; all have as many). */
  readonly pixels: number;
}

export const damageCopy: Measurement = {
  id: 'copy',
  title: 'damage copy',
  async run(ctx: BenchContext): Promise<Row[]> {
    const frameBytes = WIDTH * BPP * HEIGHT;
    const pairs = ctx.quick ? 2 : framesToDefeatCache(frameBytes * 2, ctx.machine.llcBytes, 8);
    const rounds = ctx.quick ? 1 : 4; // at most 4: the partial damage has 4 disjoint variants
    const copies = pairs * rounds;
    ctx.log(`copy: ${pairs} pairs of ${WIDTH}x${HEIGHT} frames (${((pairs * 2 * frameBytes) / 2 ** 20).toFixed(0)} MiB), ${copies} copies per block`);
    const sources = allocateFrames(pairs, WIDTH, HEIGHT);
    const targets = allocateFrames(pairs, WIDTH, HEIGHT);
    try {
      const src = sources.regions;
      const dst = targets.regions;
      const srcBuffers = src.map((r) => Buffer.from(r.pixels.buffer, r.pixels.byteOffset, r.pixels.byteLength));
      const dstBuffers = dst.map((r) => Buffer.from(r.pixels.buffer, r.pixels.byteOffset, r.pixels.byteLength));
      const full = Int32Array.of(0, 0, WIDTH, HEIGHT);
      const shifts = [0, 1, 2, 3];
      const variantsOf = (make: (shift: number) => Rect[]): Int32Array[] => shifts.map((s) => pack(make(s)));
      const cases: DamageCase[] = [
        { id: 'damage10', title: '10% of 1080p in 16 rects', variants: variantsOf((s) => tenPercentIn16Rects(WIDTH, HEIGHT, s)) },
        { id: 'damage10.bands', title: 'same 10% as 16 full-width bands (contiguous)', variants: variantsOf((s) => tenPercentIn16Bands(WIDTH, HEIGHT, s)) },
        { id: 'wide256', title: '10% of 1080p in rects 256 px wide', variants: variantsOf((s) => tenPercentInColumns(WIDTH, HEIGHT, 256, s)) },
        { id: 'wide64', title: '10% of 1080p in rects 64 px wide', variants: variantsOf((s) => tenPercentInColumns(WIDTH, HEIGHT, 64, s)) },
        ...adversarialDamage(WIDTH, HEIGHT).map((shape, i) => ({
          id: `adversarial.${i + 1}`,
          title: `adversarial: ${shape.name}`,
          variants: shifts.map((v) => adversarialDamage(WIDTH, HEIGHT, v)[i]!.rects),
        })),
      ].map((c) => ({ ...c, pixels: areaOf(c.variants[0]!) }));
      const planned = { sourceComplete: true };
      const variantAt = (c: DamageCase, k: number): Int32Array => c.variants[Math.floor(k / pairs) % 4]!;

      // Each block returns the median nanoseconds of one frame's copy, each copy timed on its own.
      const blocks = new Map<string, () => number>([
        ['bufferCopy', () => medianOfEach((k) => srcBuffers[k % pairs]!.copy(dstBuffers[k % pairs]!), copies)],
        ['fullRects', () => medianOfEach((k) => copyRects(src[k % pairs]!, dst[k % pairs]!, full), copies)],
      ]);
      for (const c of cases) {
        blocks.set(c.id, () => medianOfEach((k) => copyRects(src[k % pairs]!, dst[k % pairs]!, variantAt(c, k), planned), copies));
        // The floor: the same number of bytes, contiguous, memcpy'd between the same
        // mappings; each round at another offset, as the damage moves, so that it
        // comes from memory too.
        const bytes = c.pixels * BPP;
        const step = Math.floor((frameBytes - bytes) / 3 / 64) * 64;
        blocks.set(`${c.id}.floor`, () => medianOfEach((k) => {
          const at = (Math.floor(k / pairs) % 4) * step;
          srcBuffers[k % pairs]!.copy(dstBuffers[k % pairs]!, at, at, at + bytes);
        }, copies));
      }
      // What the adversarial shapes cost copied as given, without the planner (for the record; fewer copies: up to ms each).
      const unplannedCopies = Math.min(copies, pairs);
      for (const c of cases.filter((x) => x.id.startsWith('adversarial'))) {
        blocks.set(`${c.id}.given`, () => medianOfEach((k) => copyRects(src[k % pairs]!, dst[k % pairs]!, variantAt(c, k), { model: AS_GIVEN }), unplannedCopies));
      }
      const names = [...blocks.keys()];
      for (const name of names) blocks.get(name)!(); // warm-up: JIT, and every page touched by every copy
      const ns = new Map<string, number[]>(names.map((n) => [n, []]));
      for (let run = 0; run < ctx.runs; run++) {
        // Rotate which block goes first, so none always runs right after the same neighbour.
        for (let i = 0; i < names.length; i++) {
          const name = names[(run + i) % names.length]!;
          ns.get(name)!.push(blocks.get(name)!());
        }
      }
      const gbps = (bytes: number) => (nsPerCopy: number): number => bytes / nsPerCopy; // bytes per ns = GB/s
      const fullNs = ns.get('fullRects')!;
      const floorNote = (c: DamageCase): string => {
        const share = median(ns.get(`${c.id}.floor`)!.map((f, i) => f / ns.get(c.id)![i]!));
        const floorRatio = median(ns.get(`${c.id}.floor`)!.map((f, i) => f / fullNs[i]!));
        return `floor (same bytes contiguous) ${(median(ns.get(`${c.id}.floor`)!) / 1e6).toPrecision(3)} ms = ${floorRatio.toFixed(2)}x; at ${(share * 100).toFixed(0)}% of memcpy bandwidth`;
      };
      const floorDetails = (c: DamageCase): Record<string, unknown> => ({
        damagedPixels: c.pixels,
        rects: c.variants[0]!.length / 4,
        floorNs: ns.get(`${c.id}.floor`),
        floorGBps: median(ns.get(`${c.id}.floor`)!.map(gbps(c.pixels * BPP))),
        plannedGBps: median(ns.get(c.id)!.map(gbps(c.pixels * BPP))),
      });
      const rows: Row[] = [
        comparedRow({
          id: 'copy.full',
          title: 'damage copy, full 1080p frame (copyRects), out of cache',
          baselineTitle: 'Buffer.copy, same bytes',
          unit: 'GB/s',
          subject: fullNs.map(gbps(frameBytes)),
          baseline: ns.get('bufferCopy')!.map(gbps(frameBytes)),
          target: { op: '>=', value: 0.9 },
          details: { pairs, copiesPerRun: copies, frameBytes },
        }),
      ];
      for (const c of cases) {
        const againstFull = c.id.startsWith('damage10') || c.id.startsWith('adversarial');
        const target = c.id === 'damage10' ? { op: '<=' as const, value: 0.15 }
          : c.id.startsWith('adversarial') ? { op: '<=' as const, value: 1.05 }
          : c.id === 'wide256' ? { op: '>=' as const, value: 0.7 }
          : c.id === 'wide64' ? { op: '>=' as const, value: 0.4 } : undefined;
        const given = ns.get(`${c.id}.given`);
        const givenNote = given ? `; as given, unplanned: ${median(given.map((g, i) => g / fullNs[i]!)).toFixed(2)}x` : '';
        const row = againstFull
          ? comparedRow({
            id: `copy.${c.id}`,
            title: `damage copy, ${c.title}`,
            baselineTitle: 'full-frame copyRects',
            unit: 'ms',
            subject: ns.get(c.id)!.map((v) => v / 1e6),
            baseline: fullNs.map((v) => v / 1e6),
            ...(target ? { target } : {}),
            details: { ...floorDetails(c), ...(given ? { givenNs: given } : {}) },
          })
          : comparedRow({
            id: `copy.${c.id}`,
            title: `damage copy, ${c.title}`,
            baselineTitle: 'memcpy of the same bytes contiguous (the floor)',
            unit: 'GB/s',
            subject: ns.get(c.id)!.map(gbps(c.pixels * BPP)),
            baseline: ns.get(`${c.id}.floor`)!.map(gbps(c.pixels * BPP)),
            ...(target ? { target } : {}),
            details: floorDetails(c),
          });
        rows.push({ ...row, reason: againstFull ? `${floorNote(c)}${givenNote}` : `${(c.variants[0]!.length / 4)} rects` });
      }
      return rows;
    } finally {
      sources.destroy();
      targets.destroy();
    }
  },
};
