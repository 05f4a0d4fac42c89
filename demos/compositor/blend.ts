/**
 * The pixel loops the compositor runs where native copyRects cannot: source-over
 * blending of ARGB8888 surfaces and background fills.
 *
 * ARGB8888 is taken as premultiplied alpha, as Wayland and DRM planes (the
 * default "pixel blend mode") do: out = src + dst * (255 - a) / 255 per channel.
 * A premultiplied channel never exceeds its alpha, so the sum never carries into
 * the next channel.
 *
 * These are the hot loops: 32-bit words, red and blue blended together in one
 * multiply, fully opaque and fully transparent pixels short-cut.
 */
import type { Rect } from '../../lib';

export interface PixelPlane {
  readonly pixels32: Uint32Array;
  /** Pixels per row. */
  readonly stride32: number;
}

/**
 * Blends `src` (premultiplied ARGB8888) over `dst` (XRGB8888) in `rect`, given in
 * dst coordinates; src pixel (0, 0) lies at dst (srcX, srcY). The caller clips
 * `rect` to both planes. Returns the pixels visited.
 */
export function blendRect(src: PixelPlane, srcX: number, srcY: number, dst: PixelPlane, rect: Rect): number {
  const sp = src.pixels32;
  const dp = dst.pixels32;
  const ss = src.stride32;
  const ds = dst.stride32;
  const w = rect.width;
  for (let y = rect.y, yEnd = rect.y + rect.height; y < yEnd; y++) {
    let s = (y - srcY) * ss + (rect.x - srcX);
    let d = y * ds + rect.x;
    const sEnd = s + w;
    for (; s < sEnd; s++, d++) {
      const p = sp[s]!;
      const a = p >>> 24;
      if (a === 255) {
        dp[d] = p;
      } else if (a !== 0) {
        const q = dp[d]!;
        const ia = 255 - a;
        // x * ia / 255, rounded, for two 8-bit channels at once: t = x*ia + 128; (t + (t >> 8)) >> 8.
        // Math.imul and | 0 keep every step in int32 (the top bit may wrap, the
        // bits are those of the uint32 result), where V8 keeps it in registers.
        let rb = (Math.imul(q & 0xff00ff, ia) + 0x800080) | 0;
        rb = (((rb + ((rb >>> 8) & 0xff00ff)) | 0) >>> 8) & 0xff00ff;
        let g = (Math.imul(q & 0xff00, ia) + 0x8000) | 0;
        g = (((g + ((g >>> 8) & 0xff00)) | 0) >>> 8) & 0xff00;
        dp[d] = ((p & 0xffffff) + (rb | g)) | 0xff000000;
      }
    }
  }
  return w * rect.height;
}

/** Fills `rect` (clipped by the caller) of `dst` with `color` (0xXXRRGGBB). Returns the pixels filled. */
export function fillRect(dst: PixelPlane, rect: Rect, color: number): number {
  const dp = dst.pixels32;
  const ds = dst.stride32;
  for (let y = rect.y, yEnd = rect.y + rect.height; y < yEnd; y++) {
    const d = y * ds + rect.x;
    dp.fill(color, d, d + rect.width);
  }
  return rect.width * rect.height;
}
