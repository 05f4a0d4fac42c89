/**
 * Damage as it crosses the socket: clipped to the buffer and bounded to a number
 * of rectangles, on both sides.
 *
 * A client may send any int32 rectangles; the server keeps only what lies inside
 * the buffer, and when there are more rectangles than the limit it merges them
 * (bounding boxes, then Region.simplify), so damage can only grow, never be lost.
 * The cost is bounded for hostile input: at most MAX_WIRE_RECTS rectangles arrive,
 * they are first merged pairwise in row order down to the limit (linear passes),
 * and only then made disjoint.
 */
import { Region, type Rect } from '../region';

/** Rectangles of x, y, width, height quadruples clipped to width x height; empty ones dropped. */
export function clipQuads(quads: Int32Array, width: number, height: number): Rect[] {
  const out: Rect[] = [];
  for (let i = 0; i + 3 < quads.length; i += 4) {
    const x = quads[i]!;
    const y = quads[i + 1]!;
    const w = quads[i + 2]!;
    const h = quads[i + 3]!;
    if (w <= 0 || h <= 0) continue;
    // Doubles: x + w cannot overflow, however close to 2^31 the client pushes it.
    const x0 = Math.max(x, 0);
    const y0 = Math.max(y, 0);
    const x1 = Math.min(x + w, width);
    const y1 = Math.min(y + h, height);
    if (x1 > x0 && y1 > y0) out.push({ x: x0, y: y0, width: x1 - x0, height: y1 - y0 });
  }
  return out;
}

function bound(a: Rect, b: Rect): Rect {
  const x0 = Math.min(a.x, b.x);
  const y0 = Math.min(a.y, b.y);
  return { x: x0, y: y0, width: Math.max(a.x + a.width, b.x + b.width) - x0, height: Math.max(a.y + a.height, b.y + b.height) - y0 };
}

/** A region covering `rects` with at most `maxRects` rectangles. */
export function boundedRegion(rects: readonly Rect[], maxRects: number): Region {
  let boxes = rects;
  while (boxes.length > maxRects) {
    const sorted = boxes.slice().sort((a, b) => a.y - b.y || a.x - b.x);
    const merged: Rect[] = [];
    for (let i = 0; i < sorted.length; i += 2) merged.push(i + 1 < sorted.length ? bound(sorted[i]!, sorted[i + 1]!) : sorted[i]!);
    boxes = merged;
  }
  const region = Region.from(boxes);
  return region.rects.length > maxRects ? region.simplify(maxRects) : region;
}

/** Damage from the wire: clipped to the buffer, at most `maxRects` rectangles. */
export function damageFromQuads(quads: Int32Array, width: number, height: number, maxRects: number): Region {
  return boundedRegion(clipQuads(quads, width, height), maxRects);
}
