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
    const r = (rects instanceof Region ? rects : Region.from(rects)).clip(this.width, this.height);
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
