/**
 * copyRects: copies damaged rectangles between two graphics regions of the same
 * pixel size (the shadow -> hardware commit, a client buffer -> a compositor's
 * output). Rectangles are clipped to both regions in native code; nothing is ever
 * read or written outside either mapping.
 */
import { BufshareError } from './errors';
import type { GraphicsRegion } from './mapping/graphics-region';
import { planFlags, packedModel, type PlanOptions } from './damage/plan';
import { packDamage, type Damage } from './damage/pack';
import { copyRectsRaw } from './native';

export { packDamage, type Damage };

export type CopyOptions = PlanOptions;

/**
 * Copies `damage` from src to dst (same bytes per pixel) along the damage
 * planner's plan (damage/plan.ts); returns the pixels written. Without
 * `sourceComplete`, exactly the damaged pixels are written.
 */
export function copyRects(src: GraphicsRegion, dst: GraphicsRegion, damage: Damage, options: CopyOptions = {}): number {
  if (src.format.bpp !== dst.format.bpp) {
    throw new BufshareError('ERR_BUFSHARE_UNSUPPORTED_FORMAT', `cannot copy ${src.format.name} to ${dst.format.name}: different pixel sizes`);
  }
  if (!src.mapped || !dst.mapped) throw new BufshareError('ERR_BUFSHARE_UNMAPPED', 'copyRects on an unmapped region');
  // A 'read' mapping is PROT_READ: a native write into it would kill the process.
  if (dst.mode === 'read') throw new BufshareError('ERR_BUFSHARE_READ_ONLY', 'copyRects into a region mapped for reading');
  const width = Math.min(src.width, dst.width);
  const height = Math.min(src.height, dst.height);
  const bpp = src.format.bpp;
  // Planned and copied in one native call (the plan never becomes a JS object).
  return copyRectsRaw(src.pixels, src.stride, dst.pixels, dst.stride, width, height, bpp, packDamage(damage), packedModel(options.model), planFlags(options));
}
