/**
 * Measures a CopyCostModel on this machine: times copies of rectangles of
 * several widths (each in many short rows, spread over the plane as real damage
 * is) and fits time per row = rowNs + bytes x rowByteNs by least squares; times
 * whole planes for contiguousByteNs. Out of cache, the planes rotate through a
 * working set several times the last-level cache, so each copy finds its bytes
 * in memory, as a shadow commit does.
 *
 * It allocates `frames` pairs of planes (default: 4x a 32 MiB LLC at 1080p) and
 * takes a second or two: call it at start-up, or use the constants in
 * cost-model.ts, which come from it.
 */
import { copyRectsRaw } from '../native';
import type { CopyCostModel } from './cost-model';

export interface CalibrateOptions {
  readonly width?: number;
  readonly height?: number;
  /** Pairs of planes to rotate through; 1 keeps everything in cache. */
  readonly frames?: number;
  /** Timed copies per width (the median is kept). */
  readonly samples?: number;
}

export interface Calibration {
  readonly model: CopyCostModel;
  /** Per row width (bytes), the median nanoseconds per row: the points of the fit. */
  readonly rows: readonly { readonly bytes: number; readonly nsPerRow: number }[];
  readonly contiguousGBps: number;
}

const ROW_WIDTHS_PX = [2, 8, 16, 32, 64, 128, 256, 512];
const RECT_ROWS = 32;

/** Rectangles `w` px wide and 32 rows tall on a grid with gaps as wide as the rectangles and at least 256 px. */
export function calibrationRects(width: number, height: number, w: number): Int32Array {
  const out: number[] = [];
  const stepX = w + Math.max(w, 256);
  const stepY = RECT_ROWS * 2;
  for (let y = 0; y + RECT_ROWS <= height; y += stepY) for (let x = 0; x + w <= width; x += stepX) out.push(x, y, w, RECT_ROWS);
  return Int32Array.from(out);
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
  const src: Uint8Array[] = [];
  const dst: Uint8Array[] = [];
  for (let i = 0; i < frames; i++) {
    src.push(new Uint8Array(frameBytes).fill(i + 1));
    dst.push(new Uint8Array(frameBytes).fill(0));
  }
  let k = 0;
  const time = (rects: Int32Array): number => {
    const times: number[] = [];
    for (let s = 0; s < samples; s++, k++) {
      const t0 = process.hrtime.bigint();
      copyRectsRaw(src[k % frames]!, stride, dst[k % frames]!, stride, width, height, bpp, rects);
      times.push(Number(process.hrtime.bigint() - t0));
    }
    return medianOf(times);
  };
  const full = Int32Array.of(0, 0, width, height);
  time(full); // warm-up: JIT, and every page touched
  const rows = ROW_WIDTHS_PX.filter((w) => w * 2 <= width).map((w) => {
    const rects = calibrationRects(width, height, w);
    const count = (rects.length / 4) * RECT_ROWS;
    return { bytes: w * bpp, nsPerRow: time(rects) / count };
  });
  const fullNs = time(full);
  // Least squares of nsPerRow = a + b x bytes.
  const n = rows.length;
  const mx = rows.reduce((s, p) => s + p.bytes, 0) / n;
  const my = rows.reduce((s, p) => s + p.nsPerRow, 0) / n;
  const sxy = rows.reduce((s, p) => s + (p.bytes - mx) * (p.nsPerRow - my), 0);
  const sxx = rows.reduce((s, p) => s + (p.bytes - mx) ** 2, 0);
  const b = Math.max(0, sxy / sxx);
  const a = Math.max(0, my - b * mx);
  return {
    model: { rowNs: a, rowByteNs: b, contiguousByteNs: fullNs / frameBytes },
    rows,
    contiguousGBps: frameBytes / fullNs,
  };
}
