/**
 * Damage copy (lib/copy.ts copyRects -> src-native/copy.cc), the copy the server
 * makes for shadow buffers and a compositor makes from client buffers:
 *
 * - a full 1920x1080 XRGB8888 frame, against Buffer.copy of the same bytes between
 *   the same two mappings: the target is memcpy speed (>= 0.9x its throughput);
 * - 10% of the frame as 16 scattered rectangles, against the full-frame copy: only
 *   the damaged bytes should cost (<= 0.15x its time).
 *
 * Source and destination are mmap'd sealed memfds from ShmAllocator, rotated so
 * that none is in the cache when it is copied (see support/frames.ts).
 */
import { copyRects, Region, rect, type Rect } from '../../lib';
import type { BenchContext, Measurement } from '../measurement';
import { comparedRow, type Row } from '../result';
import { median } from '../stats';
import { allocateFrames, framesToDefeatCache } from '../support/frames';
import { medianOfEach } from '../support/timing';

const WIDTH = 1920;
const HEIGHT = 1080;

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
 * rectangles cost beyond their bytes (a new page and DRAM row at every row start).
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

export const damageCopy: Measurement = {
  id: 'copy',
  title: 'damage copy',
  async run(ctx: BenchContext): Promise<Row[]> {
    const frameBytes = WIDTH * 4 * HEIGHT;
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
      const full = Region.full(WIDTH, HEIGHT);
      const partialRects = tenPercentIn16Rects(WIDTH, HEIGHT);
      const partial = [0, 1, 2, 3].map((shift) => Region.from(tenPercentIn16Rects(WIDTH, HEIGHT, shift)));
      const partialPixels = partial[0]!.area;
      const bands = [0, 1, 2, 3].map((shift) => Region.from(tenPercentIn16Bands(WIDTH, HEIGHT, shift)));

      // Each block returns the median nanoseconds of one frame's copy, each copy timed on its own.
      const blocks = {
        bufferCopy: (): number => medianOfEach((k) => srcBuffers[k % pairs]!.copy(dstBuffers[k % pairs]!), copies),
        fullRects: (): number => medianOfEach((k) => copyRects(src[k % pairs]!, dst[k % pairs]!, full), copies),
        partialRects: (): number => medianOfEach((k) => copyRects(src[k % pairs]!, dst[k % pairs]!, partial[Math.floor(k / pairs) % 4]!), copies),
        partialBands: (): number => medianOfEach((k) => copyRects(src[k % pairs]!, dst[k % pairs]!, bands[Math.floor(k / pairs) % 4]!), copies),
      };
      const names = Object.keys(blocks) as (keyof typeof blocks)[];
      for (const name of names) blocks[name](); // warm-up: JIT, and every page touched by both copies
      const ns: Record<keyof typeof blocks, number[]> = { bufferCopy: [], fullRects: [], partialRects: [], partialBands: [] };
      for (let run = 0; run < ctx.runs; run++) {
        // Rotate which block goes first, so none always runs right after the same neighbour.
        for (let i = 0; i < names.length; i++) {
          const name = names[(run + i) % names.length]!;
          ns[name].push(blocks[name]());
        }
      }
      const gbps = (nsPerFrame: number): number => frameBytes / nsPerFrame; // bytes per ns = GB/s
      return [
        comparedRow({
          id: 'copy.full',
          title: 'damage copy, full 1080p frame (copyRects), out of cache',
          baselineTitle: 'Buffer.copy, same bytes',
          unit: 'GB/s',
          subject: ns.fullRects.map(gbps),
          baseline: ns.bufferCopy.map(gbps),
          target: { op: '>=', value: 0.9 },
          details: { pairs, copiesPerRun: copies, frameBytes },
        }),
        comparedRow({
          id: 'copy.damage10',
          title: 'damage copy, 10% of 1080p in 16 rects',
          baselineTitle: 'full-frame copyRects',
          unit: 'ms',
          subject: ns.partialRects.map((v) => v / 1e6),
          baseline: ns.fullRects.map((v) => v / 1e6),
          target: { op: '<=', value: 0.15 },
          details: {
            rects: partialRects.length,
            damagedPixels: partialPixels,
            damagedFraction: partialPixels / (WIDTH * HEIGHT),
            rowsCopied: partialRects.reduce((n, r) => n + r.height, 0),
            nsPerRow: median(ns.partialRects) / partialRects.reduce((n, r) => n + r.height, 0),
          },
        }),
        comparedRow({
          id: 'copy.damage10.bands',
          title: 'same 10% as 16 full-width bands (contiguous)',
          baselineTitle: 'full-frame copyRects',
          unit: 'ms',
          subject: ns.partialBands.map((v) => v / 1e6),
          baseline: ns.fullRects.map((v) => v / 1e6),
          details: { bands: 16, damagedFraction: bands[0]!.area / (WIDTH * HEIGHT) },
        }),
      ];
    } finally {
      sources.destroy();
      targets.destroy();
    }
  },
};
