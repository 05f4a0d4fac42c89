/**
 * A damage ring, as wlroots' `wlr_damage_ring`: an output's damage since the
 * last frame, and the damage of the frames before it, so that a buffer of the
 * output's swapchain that is `age` frames old is brought up to date by
 * repainting exactly what changed since it was last painted.
 *
 * How am I supposed to use this? `add()` what changed (output coordinates);
 * before painting into a buffer of age `age` (1: it holds the previous frame;
 * 0: its contents are unknown), `damageFor(age)` says what to repaint; after
 * painting, `rotate()`.
 */
import { Region, type Rect } from '../region';

/** Frames remembered: a swapchain older than this is repainted whole (triple buffering needs 3). */
export const DAMAGE_RING_LENGTH = 4;
/** Damage rectangles kept per frame; beyond, they are merged into fewer, larger ones (a superset). */
const MAX_RECTS = 32;

export class DamageRing {
  private width: number;
  private height: number;
  private pending: Region;
  /** Newest first: previous[0] is the damage of the frame before the pending one. */
  private previous: Region[] = [];

  constructor(width: number, height: number) {
    this.width = width;
    this.height = height;
    this.pending = Region.full(width, height);
  }

  /** Damage since the last frame. */
  get current(): Region {
    return this.pending;
  }

  /** A new size: everything is damaged, and older frames say nothing any more. */
  setSize(width: number, height: number): void {
    this.width = width;
    this.height = height;
    this.previous = [];
    this.addAll();
  }

  add(rects: readonly Rect[] | Region): void {
    // Many rectangles at once (a subtree of a thousand nested subsurfaces moved)
    // become their bounding box: building an exact region of n overlapping ones
    // costs O(n^2), and a client's 1,000-deep tree made each of its moves do that
    // (85 s of the loop, issue 23's held-out campaign). Damage may grow, never shrink.
    const many = !(rects instanceof Region) && rects.length > MAX_RECTS;
    const r = (rects instanceof Region ? rects : Region.from(many ? [boundingBox(rects)] : rects)).clip(this.width, this.height);
    if (r.isEmpty) return;
    let d = this.pending.union(r);
    if (d.rects.length > MAX_RECTS) d = d.simplify(MAX_RECTS / 2);
    this.pending = d;
  }

  addAll(): void {
    this.pending = Region.full(this.width, this.height);
  }

  /** What to repaint in a buffer `age` frames old (0 or unknown: all of it). */
  damageFor(age: number): Region {
    if (!Number.isInteger(age) || age < 1 || age > this.previous.length + 1) return Region.full(this.width, this.height);
    let d = this.pending;
    for (let i = 0; i < age - 1; i++) d = d.union(this.previous[i]!);
    return d.rects.length > MAX_RECTS ? d.simplify(MAX_RECTS) : d;
  }

  /** A frame was painted: the pending damage becomes the newest frame's. */
  rotate(): void {
    this.previous.unshift(this.pending);
    if (this.previous.length > DAMAGE_RING_LENGTH) this.previous.length = DAMAGE_RING_LENGTH;
    this.pending = Region.empty;
  }
}

function boundingBox(rects: readonly Rect[]): Rect {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (const r of rects) {
    if (r.width <= 0 || r.height <= 0) continue;
    x0 = Math.min(x0, r.x);
    y0 = Math.min(y0, r.y);
    x1 = Math.max(x1, r.x + r.width);
    y1 = Math.max(y1, r.y + r.height);
  }
  return x1 > x0 ? { x: x0, y: y0, width: x1 - x0, height: y1 - y0 } : { x: 0, y: 0, width: 0, height: 0 };
}
