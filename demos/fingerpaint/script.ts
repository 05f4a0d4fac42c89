/**
 * fingerpaint's scripted stroke (--scripted, for headless runs where no pointer
 * comes): shared with the tests, which check that the ink lies on this path and
 * nowhere else.
 */
export interface Point {
  readonly x: number;
  readonly y: number;
}

/** The brush fingerpaint paints with. */
export const BRUSH_RADIUS = 6;

/** A wave across a width x height surface: the pointer samples, one per output frame. */
export function scriptedStroke(width: number, height: number): Point[] {
  const n = 60;
  return Array.from({ length: n + 1 }, (_, i) => {
    const t = i / n;
    return { x: width * (0.1 + 0.8 * t), y: height * (0.5 + 0.3 * Math.sin(t * 2 * Math.PI)) };
  });
}

/** Distance from `p` to the polyline through `path`. */
export function distanceToPath(p: Point, path: readonly Point[]): number {
  let best = path.length ? Math.hypot(p.x - path[0]!.x, p.y - path[0]!.y) : Infinity;
  for (let i = 1; i < path.length; i++) {
    const a = path[i - 1]!;
    const b = path[i]!;
    const dx = b.x - a.x;
    const dy = b.y - a.y;
    const len2 = dx * dx + dy * dy;
    const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((p.x - a.x) * dx + (p.y - a.y) * dy) / len2));
    best = Math.min(best, Math.hypot(p.x - (a.x + t * dx), p.y - (a.y + t * dy)));
  }
  return best;
}
