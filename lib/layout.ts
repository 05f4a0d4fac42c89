/**
 * Buffer geometry: dimension limits, stride alignment, and sizes checked for overflow.
 */
import { BufshareError } from './errors';
import type { FormatInfo } from './format';

/** Largest width or height bufshare allocates or accepts (the common KMS limit). */
export const MAX_DIMENSION = 16384;
/** Largest buffer, in bytes: 16384 x 16384 at 4 bytes per pixel. */
export const MAX_BUFFER_BYTES = 2 ** 30;
/** Default stride alignment, in bytes: a cache line, and what most scanout engines accept. */
export const DEFAULT_STRIDE_ALIGN = 64;

export interface Layout {
  readonly stride: number;
  readonly size: number;
}

export function checkDimensions(width: unknown, height: unknown): void {
  for (const [name, v] of [['width', width], ['height', height]] as const) {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_DIMENSION) {
      throw new BufshareError('ERR_BUFSHARE_INVALID_DIMENSIONS', `${name} must be an integer in 1..${MAX_DIMENSION}, got ${String(v)}`);
    }
  }
}

export function alignUp(value: number, align: number): number {
  return Math.ceil(value / align) * align;
}

function checkAlign(align: number, name: string): void {
  if (!Number.isInteger(align) || align < 1 || align > 65536 || (align & (align - 1)) !== 0) {
    throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', `${name} must be a power of two in 1..65536, got ${align}`);
  }
}

/**
 * Stride = width x bpp rounded up to `strideAlign`; size = stride x height rounded
 * up to `sizeAlign` (a page for mappable files). Throws ERR_BUFSHARE_SIZE_OVERFLOW
 * past MAX_BUFFER_BYTES; all arithmetic stays far below 2^53, so it is exact.
 */
export function computeLayout(width: number, height: number, format: FormatInfo, strideAlign = DEFAULT_STRIDE_ALIGN, sizeAlign = 1): Layout {
  checkDimensions(width, height);
  checkAlign(strideAlign, 'strideAlign');
  checkAlign(sizeAlign, 'sizeAlign');
  const stride = alignUp(width * format.bpp, strideAlign);
  const size = alignUp(stride * height, sizeAlign);
  if (size > MAX_BUFFER_BYTES) {
    throw new BufshareError('ERR_BUFSHARE_SIZE_OVERFLOW', `${width}x${height} ${format.name} needs ${size} bytes, over the ${MAX_BUFFER_BYTES}-byte limit`);
  }
  return { stride, size };
}
