/**
 * Sets of mapped shm frames for the memory-bound measurements.
 *
 * A frame the CPU just touched sits in its last-level cache, and copying it again
 * measures the cache, not the memory. So measurements rotate through enough frames
 * that the whole set is several times the LLC: by the time a frame comes round
 * again, it has been evicted.
 */
import { ShmAllocator, type GraphicsRegion, type ShmBuffer } from '../../lib';

export interface FrameSet {
  readonly regions: readonly GraphicsRegion[];
  /** Bytes of one frame (stride x height). */
  readonly frameBytes: number;
  destroy(): void;
}

/**
 * How many frames to rotate through so that together they are at least
 * `llcMultiple` times the LLC, and never fewer than `min`.
 */
export function framesToDefeatCache(frameBytes: number, llcBytes: number, min: number, llcMultiple = 4): number {
  const llc = llcBytes > 0 ? llcBytes : 32 * 1024 * 1024;
  return Math.max(min, Math.ceil((llc * llcMultiple) / frameBytes));
}

/** Allocates and maps `count` XRGB8888 shm frames, each written once so that no page fault lands in a timed loop. */
export function allocateFrames(count: number, width: number, height: number): FrameSet {
  const allocator = new ShmAllocator();
  const buffers: ShmBuffer[] = [];
  const regions: GraphicsRegion[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const buffer = allocator.allocate({ width, height, format: 'XRGB8888' });
      buffers.push(buffer);
      const region = buffer.map({ mode: 'readwrite' });
      region.pixels32.fill(0xff000000 + i * 0x010101);
      regions.push(region);
    }
  } catch (e) {
    for (const b of buffers) b.destroy();
    throw e;
  }
  return {
    regions,
    frameBytes: regions[0]!.stride * height,
    destroy: () => {
      for (const b of buffers) b.destroy();
    },
  };
}

/** Nanoseconds since an arbitrary origin, as a double (exact far beyond a benchmark's length). */
export function nowNs(): number {
  return Number(process.hrtime.bigint());
}
