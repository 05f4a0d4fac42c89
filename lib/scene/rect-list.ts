/**
 * A growable list of rectangles stored flat (x, y, width, height as int32
 * quadruples): what the composer clips and subtracts per surface, and what
 * copyRects and blendRects take as they are. Rect objects and a fresh Int32Array
 * per surface per frame were most of the composer's JS time for scattered damage
 * (profile of 16 rectangles over the benchmark scene); these lists are reused.
 */
import type { Rect } from '../region';

export class RectList {
  private data = new Int32Array(4 * 16);
  count = 0;

  clear(): this {
    this.count = 0;
    return this;
  }

  push(x: number, y: number, width: number, height: number): void {
    if (this.count * 4 === this.data.length) {
      const grown = new Int32Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    const i = this.count++ * 4;
    const d = this.data;
    d[i] = x;
    d[i + 1] = y;
    d[i + 2] = width;
    d[i + 3] = height;
  }

  rect(i: number): Rect {
    const d = this.data;
    return { x: d[i * 4]!, y: d[i * 4 + 1]!, width: d[i * 4 + 2]!, height: d[i * 4 + 3]! };
  }

  /** This list, replaced by `rects`. */
  setRects(rects: readonly Rect[]): this {
    this.count = 0;
    for (const r of rects) this.push(r.x, r.y, r.width, r.height);
    return this;
  }

  /** This list, replaced by the parts of `src`'s disjoint rectangles inside the box (still disjoint). */
  setClipped(src: RectList, bx: number, by: number, bw: number, bh: number): this {
    this.count = 0;
    const s = src.data;
    const bx1 = bx + bw;
    const by1 = by + bh;
    for (let i = 0, n = src.count * 4; i < n; i += 4) {
      const x0 = Math.max(s[i]!, bx);
      const y0 = Math.max(s[i + 1]!, by);
      const x1 = Math.min(s[i]! + s[i + 2]!, bx1);
      const y1 = Math.min(s[i + 1]! + s[i + 3]!, by1);
      if (x1 > x0 && y1 > y0) this.push(x0, y0, x1 - x0, y1 - y0);
    }
    return this;
  }

  /** This list, replaced by `src`'s disjoint rectangles minus the box (bands above, below, left, right; still disjoint). */
  setSubtracted(src: RectList, bx: number, by: number, bw: number, bh: number): this {
    this.count = 0;
    const s = src.data;
    const bx1 = bx + bw;
    const by1 = by + bh;
    for (let i = 0, n = src.count * 4; i < n; i += 4) {
      const ax = s[i]!;
      const ay = s[i + 1]!;
      const ax1 = ax + s[i + 2]!;
      const ay1 = ay + s[i + 3]!;
      const ox = Math.max(ax, bx);
      const oy = Math.max(ay, by);
      const ox1 = Math.min(ax1, bx1);
      const oy1 = Math.min(ay1, by1);
      if (ox1 <= ox || oy1 <= oy) {
        this.push(ax, ay, ax1 - ax, ay1 - ay);
        continue;
      }
      if (oy > ay) this.push(ax, ay, ax1 - ax, oy - ay);
      if (ay1 > oy1) this.push(ax, oy1, ax1 - ax, ay1 - oy1);
      if (ox > ax) this.push(ax, oy, ox - ax, oy1 - oy);
      if (ax1 > ox1) this.push(ox1, oy, ax1 - ox1, oy1 - oy);
    }
    return this;
  }

  /** This list, replaced by a copy of `src`. */
  setCopy(src: RectList): this {
    this.count = 0;
    const s = src.data;
    for (let i = 0, n = src.count * 4; i < n; i += 4) this.push(s[i]!, s[i + 1]!, s[i + 2]!, s[i + 3]!);
    return this;
  }

  /**
   * This list minus every rectangle of `minus` (still disjoint), worked out
   * between this list and `spare`: returns whichever of the two holds the result.
   */
  subtractList(minus: RectList, spare: RectList): RectList {
    let from: RectList = this;
    let into = spare;
    const m = minus.data;
    for (let i = 0, n = minus.count * 4; i < n && from.count > 0; i += 4) {
      into.setSubtracted(from, m[i]!, m[i + 1]!, m[i + 2]!, m[i + 3]!);
      [from, into] = [into, from];
    }
    return from;
  }

  /** Moves every rectangle by (dx, dy), in place. */
  translate(dx: number, dy: number): this {
    const d = this.data;
    for (let i = 0, n = this.count * 4; i < n; i += 4) {
      d[i] = d[i]! + dx;
      d[i + 1] = d[i + 1]! + dy;
    }
    return this;
  }

  /** The backing quadruples, `count` of them in use, for a ComposePass (valid until the list grows). */
  get ints(): Int32Array {
    return this.data;
  }

  /** The quadruples, for copyRects and blendRects (a view, valid until the list changes). */
  quads(): Int32Array {
    return this.data.subarray(0, this.count * 4);
  }
}
