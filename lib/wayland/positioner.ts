/**
 * xdg_positioner's rules and where they put a popup: a pure function, so the
 * placement (anchor, gravity, offset, then the constraint adjustments flip,
 * slide and resize, each axis on its own) is tested without a client.
 *
 * Coordinates are relative to the parent's window geometry, as the protocol
 * has them; `bounds` is the area the popup must stay in (the output the parent
 * is on), in the same coordinates. Follows xdg-shell.xml's text: a flip is
 * kept only when it removes the constraint on its axis; a slide moves the box
 * just inside (its left/top edge wins when it is larger than the bounds); a
 * resize cuts what still lies outside.
 */
import type { Rect } from '../region';

export const enum Edge {
  None = 0,
  Top = 1,
  Bottom = 2,
  Left = 3,
  Right = 4,
  TopLeft = 5,
  BottomLeft = 6,
  TopRight = 7,
  BottomRight = 8,
}

export const enum Adjust {
  SlideX = 1,
  SlideY = 2,
  FlipX = 4,
  FlipY = 8,
  ResizeX = 16,
  ResizeY = 32,
}

export interface PositionerRules {
  readonly width: number;
  readonly height: number;
  readonly anchorRect: Rect;
  readonly anchor: number;
  readonly gravity: number;
  readonly adjust: number;
  readonly offsetX: number;
  readonly offsetY: number;
}

/** -1: toward left/top, 1: toward right/bottom, 0: centred; per axis. */
function horizontal(edge: number): -1 | 0 | 1 {
  if (edge === Edge.Left || edge === Edge.TopLeft || edge === Edge.BottomLeft) return -1;
  if (edge === Edge.Right || edge === Edge.TopRight || edge === Edge.BottomRight) return 1;
  return 0;
}

function vertical(edge: number): -1 | 0 | 1 {
  if (edge === Edge.Top || edge === Edge.TopLeft || edge === Edge.TopRight) return -1;
  if (edge === Edge.Bottom || edge === Edge.BottomLeft || edge === Edge.BottomRight) return 1;
  return 0;
}

/** One axis: where the box starts for an anchor side `a` and gravity side `g`. */
function axisStart(rectStart: number, rectSize: number, a: -1 | 0 | 1, g: -1 | 0 | 1, size: number, offset: number): number {
  const anchor = a < 0 ? rectStart : a > 0 ? rectStart + rectSize : rectStart + Math.trunc(rectSize / 2);
  const start = g < 0 ? anchor - size : g > 0 ? anchor : anchor - Math.trunc(size / 2);
  return start + offset;
}

/** Places one axis: [start, size] of the popup, adjusted to [lo, hi). */
function placeAxis(rectStart: number, rectSize: number, a: -1 | 0 | 1, g: -1 | 0 | 1, size: number, offset: number,
  lo: number, hi: number, flip: boolean, slide: boolean, resize: boolean): [number, number] {
  let start = axisStart(rectStart, rectSize, a, g, size, offset);
  const outside = (s: number, n: number): boolean => s < lo || s + n > hi;
  if (!outside(start, size)) return [start, size];
  if (flip) {
    // The anchor and gravity inverted, as the protocol says (the offset is not).
    const flipped = axisStart(rectStart, rectSize, (-a) as -1 | 0 | 1, (-g) as -1 | 0 | 1, size, offset);
    if (!outside(flipped, size)) return [flipped, size];
  }
  if (slide) {
    if (start + size > hi) start = hi - size;
    if (start < lo) start = lo;
  }
  if (resize) {
    const end = Math.min(start + size, hi);
    start = Math.max(start, lo);
    size = Math.max(1, end - start);
  }
  return [start, size];
}

/** The popup's box (x, y relative to the parent's window geometry; its size), kept inside `bounds` as the rules allow. */
export function placePopup(rules: PositionerRules, bounds: Rect | undefined): Rect {
  const r = rules.anchorRect;
  const ax = horizontal(rules.anchor);
  const ay = vertical(rules.anchor);
  const gx = horizontal(rules.gravity);
  const gy = vertical(rules.gravity);
  if (bounds === undefined) {
    return { x: axisStart(r.x, r.width, ax, gx, rules.width, rules.offsetX), y: axisStart(r.y, r.height, ay, gy, rules.height, rules.offsetY), width: rules.width, height: rules.height };
  }
  const [x, width] = placeAxis(r.x, r.width, ax, gx, rules.width, rules.offsetX, bounds.x, bounds.x + bounds.width,
    (rules.adjust & Adjust.FlipX) !== 0, (rules.adjust & Adjust.SlideX) !== 0, (rules.adjust & Adjust.ResizeX) !== 0);
  const [y, height] = placeAxis(r.y, r.height, ay, gy, rules.height, rules.offsetY, bounds.y, bounds.y + bounds.height,
    (rules.adjust & Adjust.FlipY) !== 0, (rules.adjust & Adjust.SlideY) !== 0, (rules.adjust & Adjust.ResizeY) !== 0);
  return { x, y, width, height };
}
