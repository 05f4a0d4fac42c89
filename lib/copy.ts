/**
 * copyRects: copies damaged rectangles between two graphics regions of the same
 * pixel size (the shadow -> hardware commit, a client buffer -> a compositor's
 * output). Rectangles are clipped to both regions in native code; nothing is ever
 * read or written outside either mapping.
 */
import { BufshareError } from './errors';
import type { GraphicsRegion } from './mapping/graphics-region';
import { copyRectsRaw } from './native';
import { Region, type Rect } from './region';

export type Damage = Region | readonly Rect[] | Int32Array;

/** Damage as the native x, y, width, height quadruples (shared with blend.ts). */
export function packDamage(damage: Damage): Int32Array {
  if (damage instanceof Int32Array) return damage;
  if (damage instanceof Region) return damage.toInt32Array();
  const a = new Int32Array(damage.length * 4);
  damage.forEach((r, i) => {
    // Int32Array stores out-of-range values wrapped; clamp instead, so a hostile
    // rectangle can only shrink toward the buffer, never wrap into it.
    a[i * 4] = clampI32(r.x);
    a[i * 4 + 1] = clampI32(r.y);
    a[i * 4 + 2] = clampI32(r.width);
    a[i * 4 + 3] = clampI32(r.height);
  });
  return a;
}

function clampI32(v: number): number {
  if (Number.isNaN(v)) return 0;
  return Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, Math.trunc(v)));
}

/** Copies `damage` from src to dst (same bytes per pixel); returns the pixels copied. */
export function copyRects(src: GraphicsRegion, dst: GraphicsRegion, damage: Damage): number {
  if (src.format.bpp !== dst.format.bpp) {
    throw new BufshareError('ERR_BUFSHARE_UNSUPPORTED_FORMAT', `cannot copy ${src.format.name} to ${dst.format.name}: different pixel sizes`);
  }
  if (!src.mapped || !dst.mapped) throw new BufshareError('ERR_BUFSHARE_UNMAPPED', 'copyRects on an unmapped region');
  // A 'read' mapping is PROT_READ: a native write into it would kill the process.
  if (dst.mode === 'read') throw new BufshareError('ERR_BUFSHARE_READ_ONLY', 'copyRects into a region mapped for reading');
  return copyRectsRaw(src.pixels, src.stride, dst.pixels, dst.stride,
    Math.min(src.width, dst.width), Math.min(src.height, dst.height), src.format.bpp, packDamage(damage));
}
