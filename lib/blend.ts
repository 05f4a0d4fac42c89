/**
 * blendRects: source-over of a premultiplied-alpha region onto another, in the
 * damaged rectangles (a compositor showing a translucent client over its output).
 * Per channel out = src + round(dst * (255 - a) / 255), exact; an XRGB destination
 * comes out with its X byte 0xff, an ARGB one gets its alpha blended like a colour.
 * Rectangles are clipped to both regions in native code; nothing is ever read or
 * written outside either mapping.
 */
import { BufshareError } from './errors';
import type { FormatName } from './format';
import type { GraphicsRegion } from './mapping/graphics-region';
import { packDamage, type Damage } from './copy';
import { IN_CACHE_COPY } from './damage/cost-model';
import { packedModel } from './damage/plan';
import { blendRectsRaw } from './native';

export { blendKernel } from './native';

/** Where the source's pixel (0, 0) lies on the destination. */
export interface BlendOffset {
  readonly x: number;
  readonly y: number;
}

const ORIGIN: BlendOffset = { x: 0, y: 0 };
const MODEL = packedModel(IN_CACHE_COPY);

/** The premultiplied sources the native loop understands, and the destinations of the same channel order. */
const DESTINATIONS: ReadonlyMap<FormatName, readonly FormatName[]> = new Map<FormatName, readonly FormatName[]>([
  ['ARGB8888', ['XRGB8888', 'ARGB8888']],
  ['ABGR8888', ['XBGR8888', 'ABGR8888']],
]);

/**
 * Blends `damage` (destination coordinates) of `src` over `dst`, with src's pixel
 * (0, 0) at dst (offset.x, offset.y); returns the pixels visited (after clipping).
 * With `below` (a region of dst's format, its pixel (x, y) under dst's (x, y)),
 * src is blended over below and the result written to dst, which is not read: a
 * compositor blends a client over its background without first copying the
 * background into the output.
 */
export function blendRects(src: GraphicsRegion, dst: GraphicsRegion, damage: Damage, offset: BlendOffset = ORIGIN, below?: GraphicsRegion): number {
  const targets = DESTINATIONS.get(src.format.name);
  if (!targets || !targets.includes(dst.format.name)) {
    throw new BufshareError('ERR_BUFSHARE_UNSUPPORTED_FORMAT', `cannot blend ${src.format.name} over ${dst.format.name}: the source must be premultiplied ARGB8888/ABGR8888 and the destination of the same channel order`);
  }
  if (!isInt32(offset.x) || !isInt32(offset.y)) {
    throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', `blend offset (${offset.x}, ${offset.y}) must be 32-bit integers`);
  }
  if (!src.mapped || !dst.mapped) throw new BufshareError('ERR_BUFSHARE_UNMAPPED', 'blendRects on an unmapped region');
  // A 'read' mapping is PROT_READ: a native write into it would kill the process.
  if (dst.mode === 'read') throw new BufshareError('ERR_BUFSHARE_READ_ONLY', 'blendRects into a region mapped for reading');
  // Exact plans only: a blend in place is not idempotent, so a pixel blended
  // twice (overlapping rectangles) or outside the damage would come out wrong.
  // The native call plans the damage's union in bands, each pixel once (the
  // in-cache model: a compositor's planes stay in the cache).
  const rects = packDamage(damage);
  if (!below) {
    return blendRectsRaw(src.pixels, src.stride, src.width, src.height, dst.pixels, dst.stride, dst.width, dst.height,
      offset.x, offset.y, rects, dst.format.hasAlpha, undefined, undefined, undefined, undefined, MODEL);
  }
  if (below.format !== dst.format) {
    throw new BufshareError('ERR_BUFSHARE_UNSUPPORTED_FORMAT', `cannot blend over ${below.format.name} into ${dst.format.name}: below must have the destination's format`);
  }
  if (!below.mapped) throw new BufshareError('ERR_BUFSHARE_UNMAPPED', 'blendRects over an unmapped region');
  return blendRectsRaw(src.pixels, src.stride, src.width, src.height, dst.pixels, dst.stride, dst.width, dst.height,
    offset.x, offset.y, rects, dst.format.hasAlpha, below.pixels, below.stride, below.width, below.height, MODEL);
}

function isInt32(v: number): boolean {
  return Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31;
}
