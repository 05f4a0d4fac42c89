// The pure-JS reference the native damage copies are checked against.
import type { Rect } from '../../lib';

/** Clips each rectangle to width x height and copies it byte by byte. */
export function referenceCopy(src: Uint8Array, srcStride: number, dst: Uint8Array, dstStride: number, width: number, height: number, bpp: number, rects: readonly Rect[]): void {
  for (const r of rects) {
    const x0 = Math.max(r.x, 0);
    const y0 = Math.max(r.y, 0);
    const x1 = Math.min(r.x + r.width, width);
    const y1 = Math.min(r.y + r.height, height);
    for (let y = y0; y < y1; y++) for (let b = x0 * bpp; b < x1 * bpp; b++) dst[y * dstStride + b] = src[y * srcStride + b]!;
  }
}
