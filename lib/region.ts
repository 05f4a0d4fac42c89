/**
 * Rectangles and regions of pixels, for damage.
 *
 * A Region is a set of pixels kept as disjoint, non-empty rectangles. Regions are
 * immutable: every operation returns a new one. Coordinates are integers in
 * [-2^31, 2^31); a rectangle covers [x, x + width) x [y, y + height).
 *
 * How am I supposed to use this? Accumulate damage with `union`, clip it to the
 * buffer with `clip(width, height)`, bound its size with `simplify(max)` before
 * sending it, and hand `toInt32Array()` to copyRects.
 */
import { BufshareError } from './errors';

export interface Rect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

const COORD_MIN = -(2 ** 31);
const COORD_MAX = 2 ** 31 - 1;

function isCoord(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= COORD_MIN && v <= COORD_MAX;
}

/** Throws ERR_BUFSHARE_INVALID_RECT unless every field is an integer in the int32 range. */
export function checkRect(r: unknown): asserts r is Rect {
  const o = r as Partial<Record<keyof Rect, unknown>> | null;
  if (typeof o !== 'object' || o === null || !isCoord(o.x) || !isCoord(o.y) || !isCoord(o.width) || !isCoord(o.height)) {
    throw new BufshareError('ERR_BUFSHARE_INVALID_RECT', `invalid rectangle ${safeJson(r)}: x, y, width and height must be int32 integers`);
  }
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

export function rect(x: number, y: number, width: number, height: number): Rect {
  return { x, y, width, height };
}

export function rectIsEmpty(r: Rect): boolean {
  return r.width <= 0 || r.height <= 0;
}

export function rectArea(r: Rect): number {
  return rectIsEmpty(r) ? 0 : r.width * r.height;
}

/** The overlap of a and b, or undefined if they do not overlap. */
export function intersectRects(a: Rect, b: Rect): Rect | undefined {
  const x0 = Math.max(a.x, b.x);
  const y0 = Math.max(a.y, b.y);
  const x1 = Math.min(a.x + a.width, b.x + b.width);
  const y1 = Math.min(a.y + a.height, b.y + b.height);
  return x1 > x0 && y1 > y0 ? { x: x0, y: y0, width: x1 - x0, height: y1 - y0 } : undefined;
}

export function rectsOverlap(a: Rect, b: Rect): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

/** The smallest rectangle that holds both. */
export function boundRects(a: Rect, b: Rect): Rect {
  const x0 = Math.min(a.x, b.x);
  const y0 = Math.min(a.y, b.y);
  return { x: x0, y: y0, width: Math.max(a.x + a.width, b.x + b.width) - x0, height: Math.max(a.y + a.height, b.y + b.height) - y0 };
}

/** a minus b, as up to four disjoint rectangles (bands above, below, left, right). */
export function subtractRect(a: Rect, b: Rect): Rect[] {
  const o = intersectRects(a, b);
  if (!o) return [a];
  const out: Rect[] = [];
  const aBottom = a.y + a.height;
  const oBottom = o.y + o.height;
  if (o.y > a.y) out.push({ x: a.x, y: a.y, width: a.width, height: o.y - a.y });
  if (aBottom > oBottom) out.push({ x: a.x, y: oBottom, width: a.width, height: aBottom - oBottom });
  if (o.x > a.x) out.push({ x: a.x, y: o.y, width: o.x - a.x, height: o.height });
  const aRight = a.x + a.width;
  const oRight = o.x + o.width;
  if (aRight > oRight) out.push({ x: oRight, y: o.y, width: aRight - oRight, height: o.height });
  return out;
}

export class Region {
  /** Disjoint, non-empty rectangles. */
  readonly rects: readonly Rect[];

  private constructor(disjoint: readonly Rect[]) {
    this.rects = disjoint;
  }

  static readonly empty = new Region([]);

  /** The union of any rectangles (overlapping, empty or not); each is checked with checkRect. */
  static from(rects: Iterable<Rect>): Region {
    let out: Rect[] = [];
    for (const r of rects) {
      checkRect(r);
      if (!rectIsEmpty(r)) out = addDisjoint(out, { x: r.x, y: r.y, width: r.width, height: r.height });
    }
    return new Region(out);
  }

  static of(...rects: Rect[]): Region {
    return Region.from(rects);
  }

  /** The whole of a width x height buffer. */
  static full(width: number, height: number): Region {
    return Region.from([{ x: 0, y: 0, width, height }]);
  }

  get isEmpty(): boolean {
    return this.rects.length === 0;
  }

  get area(): number {
    let a = 0;
    for (const r of this.rects) a += r.width * r.height;
    return a;
  }

  /** The smallest rectangle holding the region, or undefined when it is empty. */
  get bounds(): Rect | undefined {
    if (this.rects.length === 0) return undefined;
    let b = this.rects[0]!;
    for (let i = 1; i < this.rects.length; i++) b = boundRects(b, this.rects[i]!);
    return b;
  }

  contains(x: number, y: number): boolean {
    return this.rects.some((r) => x >= r.x && x < r.x + r.width && y >= r.y && y < r.y + r.height);
  }

  union(other: Region | Rect): Region {
    const add = other instanceof Region ? other.rects : Region.from([other]).rects;
    if (add.length === 0) return this;
    if (this.rects.length === 0) return other instanceof Region ? other : new Region(add);
    let out = this.rects.slice();
    for (const r of add) out = addDisjoint(out, r);
    return new Region(out);
  }

  intersect(other: Region | Rect): Region {
    const b = other instanceof Region ? other.rects : Region.from([other]).rects;
    const out: Rect[] = [];
    // Pairwise overlaps of two disjoint sets are themselves disjoint.
    for (const r of this.rects) {
      for (const s of b) {
        const o = intersectRects(r, s);
        if (o) out.push(o);
      }
    }
    return new Region(out);
  }

  subtract(other: Region | Rect): Region {
    const b = other instanceof Region ? other.rects : Region.from([other]).rects;
    let out = this.rects.slice();
    for (const s of b) {
      const next: Rect[] = [];
      for (const r of out) {
        if (rectsOverlap(r, s)) next.push(...subtractRect(r, s));
        else next.push(r);
      }
      out = next;
    }
    return new Region(out);
  }

  /** The part inside a width x height buffer at the origin. */
  clip(width: number, height: number): Region {
    const out: Rect[] = [];
    const box = { x: 0, y: 0, width, height };
    for (const r of this.rects) {
      const o = intersectRects(r, box);
      if (o) out.push(o);
    }
    return out.length === this.rects.length && out.every((r, i) => r === this.rects[i]) ? this : new Region(out);
  }

  translate(dx: number, dy: number): Region {
    return new Region(this.rects.map((r) => ({ x: r.x + dx, y: r.y + dy, width: r.width, height: r.height })));
  }

  /**
   * A region of at most `maxRects` rectangles that covers this one (a superset:
   * damage may grow, never shrink). Merges the pair whose bounding box adds the
   * least area, after halving very long lists by merging neighbours in row order.
   */
  simplify(maxRects: number): Region {
    if (!Number.isInteger(maxRects) || maxRects < 1) {
      throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', `maxRects must be a positive integer, got ${maxRects}`);
    }
    if (this.rects.length <= maxRects) return this;
    let boxes = this.rects.slice();
    // Coarse passes keep the greedy step below O(n^3) for hostile inputs.
    while (boxes.length > Math.max(4 * maxRects, 64)) {
      boxes.sort((a, b) => a.y - b.y || a.x - b.x);
      const halved: Rect[] = [];
      for (let i = 0; i < boxes.length; i += 2) halved.push(i + 1 < boxes.length ? boundRects(boxes[i]!, boxes[i + 1]!) : boxes[i]!);
      boxes = absorbOverlaps(halved);
    }
    while (boxes.length > maxRects) {
      let bi = 0;
      let bj = 1;
      let best = Infinity;
      for (let i = 0; i < boxes.length; i++) {
        for (let j = i + 1; j < boxes.length; j++) {
          const cost = rectArea(boundRects(boxes[i]!, boxes[j]!)) - rectArea(boxes[i]!) - rectArea(boxes[j]!);
          if (cost < best) {
            best = cost;
            bi = i;
            bj = j;
          }
        }
      }
      const merged = boundRects(boxes[bi]!, boxes[bj]!);
      boxes.splice(bj, 1);
      boxes.splice(bi, 1);
      boxes.push(merged);
      boxes = absorbOverlaps(boxes);
    }
    return new Region(boxes);
  }

  /** x, y, width, height quadruples, for copyRects and the wire. */
  toInt32Array(): Int32Array {
    const a = new Int32Array(this.rects.length * 4);
    this.rects.forEach((r, i) => a.set([r.x, r.y, r.width, r.height], i * 4));
    return a;
  }

  toJSON(): Rect[] {
    return this.rects.map((r) => ({ x: r.x, y: r.y, width: r.width, height: r.height }));
  }
}

/** Adds r to a disjoint list, keeping it disjoint: only the parts of r not yet covered are added. */
function addDisjoint(list: Rect[], r: Rect): Rect[] {
  let pieces: Rect[] = [r];
  for (const existing of list) {
    if (pieces.length === 0) break;
    const next: Rect[] = [];
    for (const p of pieces) {
      if (rectsOverlap(p, existing)) next.push(...subtractRect(p, existing));
      else next.push(p);
    }
    pieces = next;
  }
  list.push(...pieces);
  return list;
}

/** Merges boxes that overlap until none do (bounding boxes, so the result is a superset). */
function absorbOverlaps(boxes: Rect[]): Rect[] {
  const out: Rect[] = [];
  for (let b of boxes) {
    let merged = true;
    while (merged) {
      merged = false;
      for (let i = 0; i < out.length; i++) {
        if (rectsOverlap(out[i]!, b)) {
          b = boundRects(out[i]!, b);
          out.splice(i, 1);
          merged = true;
          break;
        }
      }
    }
    out.push(b);
  }
  return out;
}
