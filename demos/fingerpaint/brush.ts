/**
 * Strokes on a canvas of XRGB8888 pixels: a round, anti-aliased brush stamped
 * densely along a smooth curve through the pointer samples.
 *
 * Smoothing: each new sample p2 extends the stroke with the quadratic Bezier
 * from mid(p0, p1) to mid(p1, p2) with p1 as control point, so the stroke bends
 * through the samples instead of turning corners at them; the stroke's ends are
 * joined to its first and last samples with straight pieces.
 */
import { Region, type Rect } from '../../lib';

/** Rows of 32-bit pixels. */
export interface PixelPlane {
  readonly pixels32: Uint32Array;
  /** Pixels per row. */
  readonly stride32: number;
}

export interface Point {
  readonly x: number;
  readonly y: number;
}

export interface Canvas extends PixelPlane {
  readonly width: number;
  readonly height: number;
}

/** Distance between stamps, as a fraction of the radius: dense enough that the edge shows no scallops. */
const STAMP_SPACING = 0.25;

export class Brush {
  readonly radius: number;
  color: number;

  constructor(radius: number, color: number) {
    this.radius = radius;
    this.color = color;
  }

  /** One disc at (cx, cy), blended by coverage; returns the rectangle it touched (clipped), if any. */
  stamp(canvas: Canvas, cx: number, cy: number): Rect | undefined {
    const r = this.radius;
    const x0 = Math.max(0, Math.floor(cx - r - 1));
    const y0 = Math.max(0, Math.floor(cy - r - 1));
    const x1 = Math.min(canvas.width, Math.ceil(cx + r + 1));
    const y1 = Math.min(canvas.height, Math.ceil(cy + r + 1));
    if (x1 <= x0 || y1 <= y0) return undefined;
    const px = canvas.pixels32;
    const color = this.color;
    const cr = (color >>> 16) & 0xff;
    const cg = (color >>> 8) & 0xff;
    const cb = color & 0xff;
    for (let y = y0; y < y1; y++) {
      const dy = y + 0.5 - cy;
      for (let x = x0; x < x1; x++) {
        const dx = x + 0.5 - cx;
        // Coverage falls from 1 to 0 across the last pixel of the edge.
        const cov = Math.min(1, Math.max(0, r + 0.5 - Math.sqrt(dx * dx + dy * dy)));
        if (cov <= 0) continue;
        const i = y * canvas.stride32 + x;
        const p = px[i]!;
        const mix = (c: number, shift: number): number => {
          const d = (p >>> shift) & 0xff;
          return Math.round(d + (c - d) * cov);
        };
        px[i] = (0xff000000 | (mix(cr, 16) << 16) | (mix(cg, 8) << 8) | mix(cb, 0)) >>> 0;
      }
    }
    return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
  }
}

/** One stroke: feed it pointer samples; it paints and reports what it changed. */
export class Stroke {
  private readonly brush: Brush;
  private readonly canvas: Canvas;
  private readonly samples: Point[] = [];
  /** Where the painted curve ends now. */
  private tip: Point | undefined;

  constructor(canvas: Canvas, brush: Brush) {
    this.canvas = canvas;
    this.brush = brush;
  }

  /** Adds a pointer sample; returns the damage it painted. */
  add(p: Point): Region {
    const s = this.samples;
    s.push(p);
    if (s.length === 1) {
      this.tip = p;
      return this.stampAt([p]);
    }
    if (s.length > 3) s.shift();
    if (s.length === 2) {
      // Not enough to bend yet: a straight piece to the midpoint.
      const m = mid(s[0]!, s[1]!);
      const pts = line(this.tip!, m, this.step());
      this.tip = m;
      return this.stampAt(pts);
    }
    const [p0, p1, p2] = [s[s.length - 3]!, s[s.length - 2]!, s[s.length - 1]!];
    const a = mid(p0, p1);
    const b = mid(p1, p2);
    const pts = quadratic(a, p1, b, this.step());
    this.tip = b;
    return this.stampAt(pts);
  }

  /** Ends the stroke at its last sample; returns the damage. */
  finish(): Region {
    const last = this.samples[this.samples.length - 1];
    if (!last || !this.tip) return Region.empty;
    const pts = line(this.tip, last, this.step());
    this.tip = last;
    return this.stampAt(pts);
  }

  private step(): number {
    return Math.max(0.5, this.brush.radius * STAMP_SPACING);
  }

  private stampAt(points: readonly Point[]): Region {
    let box: Rect | undefined;
    for (const p of points) {
      const r = this.brush.stamp(this.canvas, p.x, p.y);
      if (!r) continue;
      box = box ? bound(box, r) : r;
    }
    return box ? Region.of(box) : Region.empty;
  }
}

function mid(a: Point, b: Point): Point {
  return { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
}

function bound(a: Rect, b: Rect): Rect {
  const x0 = Math.min(a.x, b.x);
  const y0 = Math.min(a.y, b.y);
  return { x: x0, y: y0, width: Math.max(a.x + a.width, b.x + b.width) - x0, height: Math.max(a.y + a.height, b.y + b.height) - y0 };
}

/** Points from a (excluded) to b (included), at most `step` apart. */
function line(a: Point, b: Point, step: number): Point[] {
  const n = Math.max(1, Math.ceil(Math.hypot(b.x - a.x, b.y - a.y) / step));
  return Array.from({ length: n }, (_, i) => ({ x: a.x + ((b.x - a.x) * (i + 1)) / n, y: a.y + ((b.y - a.y) * (i + 1)) / n }));
}

/** Points along the quadratic Bezier a -> b with control c, from a (excluded) to b (included). */
function quadratic(a: Point, c: Point, b: Point, step: number): Point[] {
  // The control polygon is at least as long as the curve: enough samples.
  const length = Math.hypot(c.x - a.x, c.y - a.y) + Math.hypot(b.x - c.x, b.y - c.y);
  const n = Math.max(1, Math.ceil(length / step));
  const out: Point[] = [];
  for (let i = 1; i <= n; i++) {
    const t = i / n;
    const u = 1 - t;
    out.push({ x: u * u * a.x + 2 * u * t * c.x + t * t * b.x, y: u * u * a.y + 2 * u * t * c.y + t * t * b.y });
  }
  return out;
}
