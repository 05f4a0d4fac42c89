/**
 * The damage planner: given the damaged rectangles of a plane, its strides and
 * its bytes per pixel, which rectangles to copy so that the copy costs the least
 * memory time. Every damage copy goes through it (copyRects, shadow commits, the
 * demo compositor; a KMS output calls it too).
 *
 * How am I supposed to use this? Call `copyRects(src, dst, damage, { sourceComplete: true })`
 * where the source holds the complete current image and the destination may
 * take any of its pixels (a shadow -> its hardware buffer; a client buffer ->
 * the part of an output only that client shows). Call `planDamage` yourself to
 * copy with your own loop (a scanout buffer), or to see what it chose.
 *
 * What it chooses between (src-native/damage_plan.cc), by the cost model of
 * cost-model.ts, whose constants are measured: the rectangles as given; their
 * exact union in bands (overlaps copied once); with a complete source, spans of a
 * band joined across gaps cheaper to copy than a row start, whole rows merged
 * into one block when both strides are the width, or the bounding box. Rows of
 * 256 bytes and more cost less where the model streams them (OUT_OF_CACHE_COPY):
 * there a checkerboard becomes one joined row per band, streamed, which beats
 * one memcpy of the frame (0.88x); with cached stores (IN_CACHE_COPY), one block.
 * Without `sourceComplete` the plan covers exactly the damaged pixels: nothing
 * else is ever written.
 */
import { planDamageRaw } from '../native';
import { OUT_OF_CACHE_COPY, modelArray, type CopyCostModel } from './cost-model';
import { packDamage, type Damage } from './pack';

export interface PlaneGeometry {
  /** The area both planes share, in pixels (copyRects passes the smaller of the two). */
  readonly width: number;
  readonly height: number;
  readonly bpp: number;
  readonly srcStride: number;
  readonly dstStride: number;
}

export interface PlanOptions {
  /**
   * The source holds the complete current image and the destination may receive
   * any of its pixels inside width x height: copying undamaged pixels is then
   * correct, and the plan may do so where it is cheaper. Default false.
   */
  readonly sourceComplete?: boolean;
  /** Default: OUT_OF_CACHE_COPY. A compositor whose planes stay in cache passes IN_CACHE_COPY. */
  readonly model?: CopyCostModel;
  /**
   * The plan's rectangles must not overlap: each pixel is written once (a blend
   * in place, which is not idempotent). Otherwise overlapping damage may be
   * copied twice where removing the overlap costs more than it saves.
   */
  readonly eachPixelOnce?: boolean;
}

export interface DamagePlan {
  /** x, y, width, height quadruples, inside the plane, covering every damaged pixel. */
  readonly rects: Int32Array;
  /** The model's estimate of the plan, in nanoseconds. */
  readonly estimatedNs: number;
  /** The model's estimate of the damage copied as given. */
  readonly givenNs: number;
  readonly strategy: string;
}

const modelCache = new WeakMap<CopyCostModel, Float64Array>();

/** The model as the native planner takes it (cached per model object). */
export function packedModel(m: CopyCostModel = OUT_OF_CACHE_COPY): Float64Array {
  let a = modelCache.get(m);
  if (!a) {
    a = modelArray(m);
    modelCache.set(m, a);
  }
  return a;
}

/** The native copy's flags: bit 0 sourceComplete, bit 1 eachPixelOnce (the plan), bit 2 streaming stores (the model's). */
export function planFlags(options: PlanOptions): number {
  const model = options.model ?? OUT_OF_CACHE_COPY;
  return (options.sourceComplete ? 1 : 0) | (options.eachPixelOnce ? 2 : 0) | (model.streamingStores ? 4 : 0);
}

export function planDamage(damage: Damage, geometry: PlaneGeometry, options: PlanOptions = {}): DamagePlan {
  const p = planDamageRaw(packDamage(damage), geometry.width, geometry.height, geometry.bpp, geometry.srcStride, geometry.dstStride,
    options.sourceComplete ?? false, packedModel(options.model), options.eachPixelOnce ?? false);
  return { rects: p.rects, estimatedNs: p.cost, givenNs: p.given, strategy: p.strategy };
}
