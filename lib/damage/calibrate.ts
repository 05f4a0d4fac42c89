/**
 * Measures a CopyCostModel on this machine: times copies of rectangles of
 * several widths (each in 32 rows, spread over the plane as real damage is) and
 * fits time per row = rectNs / 32 + rowNs + bytes x rowByteNs by least squares;
 * times 4,096 1-px rectangles at random places for rectNs (each such copy is a
 * rectangle start and little else); whole planes for contiguousByteNs. Out of cache, the planes rotate through a
 * working set several times the last-level cache, so each copy finds its bytes
 * in memory, as a shadow commit does.
 *
 * It allocates `frames` pairs of planes (default: 4x a 32 MiB LLC at 1080p) and
 * takes a second or two: call it at start-up, or use the constants in
 * cost-model.ts, which come from it.
 */
import { ShmAllocator, type ShmBuffer } from '../allocator/shm';
import { copyRectsRaw, planDamageRaw } from '../native';
import type { CopyCostModel } from './cost-model';

export interface CalibrateOptions {
  readonly width?: number;
  readonly height?: number;
  /** Pairs of planes to rotate through; 1 keeps everything in cache. */
  readonly frames?: number;
  /** Timed copies per width (the median is kept). */
  readonly samples?: number;
  /**
   * Copy with streaming stores (CopyCostModel.streamingStores), as the model
   * will drive them. Default: out of cache (frames > 1).
   */
  readonly streamingStores?: boolean;
}

export interface Calibration {
  readonly model: CopyCostModel;
  /** Per row width (bytes), the median nanoseconds per row: the points of the fit. */
  readonly rows: readonly { readonly bytes: number; readonly nsPerRow: number }[];
  /** The same, with streaming stores, for rows of 256 bytes or more (empty when the model does not stream). */
  readonly streamedRows: readonly { readonly bytes: number; readonly nsPerRow: number }[];
  readonly contiguousGBps: number;
  /** Median nanoseconds per isolated 1-px rectangle. */
  readonly nsPerScatteredPixel: number;
}

const ROW_WIDTHS_PX = [2, 8, 16, 32, 64, 128, 256, 512];
/** copyRects streams rows of this many bytes or more (src-native/damage_plan.h kStreamRowBytes). */
const STREAM_ROW_BYTES = 256;
const RECT_ROWS = 32;

/** Rectangles `w` px wide and 32 rows tall on a grid with gaps as wide as the rectangles and at least 256 px. */
export function calibrationRects(width: number, height: number, w: number): Int32Array {
  const out: number[] = [];
  const stepX = w + Math.max(w, 256);
  const stepY = RECT_ROWS * 2;
  for (let y = 0; y + RECT_ROWS <= height; y += stepY) for (let x = 0; x + w <= width; x += stepX) out.push(x, y, w, RECT_ROWS);
  return Int32Array.from(out);
}

/** `count` 1-px rectangles at places of a fixed pseudo-random sequence (mulberry32: an LCG's places fell in few pages). */
function scatteredPixels(width: number, height: number, count: number): Int32Array {
  const out = new Int32Array(count * 4);
  let a = 4095;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = 0; i < count; i++) out.set([Math.floor(next() * width), Math.floor(next() * height), 1, 1], i * 4);
  return out;
}

function medianOf(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

export function calibrateCopyCost(options: CalibrateOptions = {}): Calibration {
  const width = options.width ?? 1920;
  const height = options.height ?? 1080;
  const bpp = 4;
  const stride = width * bpp;
  const frameBytes = stride * height;
  const frames = options.frames ?? Math.max(1, Math.ceil((4 * 32 * 2 ** 20) / (2 * frameBytes)));
  const samples = options.samples ?? Math.max(2 * frames, 16);
  // Sealed memfds, as client buffers and shadows are: shmem gets no transparent
  // huge pages here, so a rectangle in a fresh page pays a TLB miss (anonymous
  // memory with huge pages made an isolated pixel 5x cheaper: 37 ns, not 190).
  const allocator = new ShmAllocator();
  const buffers: ShmBuffer[] = [];
  const src: Uint8Array[] = [];
  const dst: Uint8Array[] = [];
  try {
    for (let i = 0; i < frames; i++) {
      for (const [list, value] of [[src, i + 1], [dst, 0]] as const) {
        const b = allocator.allocate({ width, height, format: 'XRGB8888' });
        buffers.push(b);
        const r = b.map({ mode: 'readwrite' });
        if (r.stride !== stride) throw new Error(`calibration needs a ${stride}-byte stride, the allocator gave ${r.stride}`);
        list.push(r.pixels.fill(value));
      }
    }
    const streamingStores = options.streamingStores ?? frames > 1;
    const c = measure(src, dst, { width, height, bpp, stride, frameBytes, frames, samples, flags: streamingStores ? 4 : 0 });
    return { ...c, model: { ...c.model, streamingStores } };
  } finally {
    for (const b of buffers) b.destroy();
  }
}

interface Setup {
  readonly width: number;
  readonly height: number;
  readonly bpp: number;
  readonly stride: number;
  readonly frameBytes: number;
  readonly frames: number;
  readonly samples: number;
  /** copyRects flags: bit 2 streaming stores. */
  readonly flags: number;
}

function measure(src: readonly Uint8Array[], dst: readonly Uint8Array[], { width, height, bpp, stride, frameBytes, frames, samples, flags }: Setup): Calibration {
  let k = 0;
  const time = (rects: Int32Array, withFlags = 0): number => {
    const times: number[] = [];
    for (let s = 0; s < samples; s++, k++) {
      const t0 = process.hrtime.bigint();
      copyRectsRaw(src[k % frames]!, stride, dst[k % frames]!, stride, width, height, bpp, rects, undefined, withFlags);
      times.push(Number(process.hrtime.bigint() - t0));
    }
    return medianOf(times);
  };
  const full = Int32Array.of(0, 0, width, height);
  time(full); // warm-up: JIT, and every page touched
  // Rows with cached stores (what rows under 256 bytes always get), and the
  // streamed ones again with streaming stores where the model will stream.
  const rowsWith = (withFlags: number, minBytes: number): { bytes: number; nsPerRow: number }[] =>
    ROW_WIDTHS_PX.filter((w) => w * 2 <= width && w * bpp >= minBytes).map((w) => {
      const rects = calibrationRects(width, height, w);
      const count = (rects.length / 4) * RECT_ROWS;
      return { bytes: w * bpp, nsPerRow: time(rects, withFlags) / count };
    });
  const rows = rowsWith(0, 0);
  const streamed = flags & 4 ? rowsWith(flags, STREAM_ROW_BYTES) : [];
  const fullNs = time(full);
  const scattered = scatteredPixels(width, height, 4096);
  const nsPerScatteredPixel = time(scattered) / 4096;
  // The sweep's own time: the same pixels planned with a model that always sweeps.
  const sweepAlways = Float64Array.of(1e6, 0, 0, 0, 0);
  const planTimes: number[] = [];
  for (let s = 0; s < samples; s++) {
    const t0 = process.hrtime.bigint();
    planDamageRaw(scattered, width, height, bpp, stride, stride, true, sweepAlways);
    planTimes.push(Number(process.hrtime.bigint() - t0));
  }
  const planRectNs = medianOf(planTimes) / 4096;
  // Least squares of nsPerRow = a + b x bytes over the cached rows of every
  // width; the streamed rows give their own slope through the same start a (a
  // row starts as any other; with streaming stores, rows of 256 bytes to 2 KiB
  // cost 15-75 ns here, 5 + 0.032 ns a byte, where the cached fit is 0.067).
  // Not a fit over the cached rows under 256 bytes alone: their slope is
  // flat (0.02), and a model with it joined scattered pixels into streamed
  // rows that, measured, cost 1.5x the pixels as given.
  const cached = rows;
  const n = cached.length;
  const mx = cached.reduce((s, p) => s + p.bytes, 0) / n;
  const my = cached.reduce((s, p) => s + p.nsPerRow, 0) / n;
  const sxy = cached.reduce((s, p) => s + (p.bytes - mx) * (p.nsPerRow - my), 0);
  const sxx = cached.reduce((s, p) => s + (p.bytes - mx) ** 2, 0);
  const b = Math.max(0, sxy / sxx);
  const a = Math.max(0, my - b * mx);
  const streamByteNs = streamed.length > 0
    ? Math.max(0, streamed.reduce((s, p) => s + p.bytes * (p.nsPerRow - a), 0) / streamed.reduce((s, p) => s + p.bytes ** 2, 0))
    : b;
  // A 1-px rectangle: rectNs + rowNs + bpp x rowByteNs; each fitted row carries 1/32 of a rectangle start.
  const rectNs = Math.max(0, (nsPerScatteredPixel - a - bpp * b) / (1 - 1 / RECT_ROWS));
  const rowNs = Math.max(0, a - rectNs / RECT_ROWS);
  return {
    model: { rectNs, rowNs, rowByteNs: b, contiguousByteNs: fullNs / frameBytes, planRectNs, streamByteNs },
    rows,
    streamedRows: streamed,
    nsPerScatteredPixel,
    contiguousGBps: frameBytes / fullNs,
  };
}
