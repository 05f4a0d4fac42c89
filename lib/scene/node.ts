/**
 * The scene graph's nodes, as wlroots' `wlr_scene_node`: trees that group and
 * move their children together, solid rectangles, and buffers. Each has a
 * position relative to its parent, a place among its siblings (later = above)
 * and an enabled flag; a disabled node hides its whole subtree.
 *
 * How am I supposed to use this? Create nodes through the scene
 * (`scene.createTree()`, `scene.createRect()`, `scene.createBuffer()`), change
 * them with their setters, and never track damage yourself: every setter tells
 * the scene what area of the layout changed, and each output repaints only
 * that. `destroy()` a node you no longer need; a buffer node gives its buffer's
 * lock back.
 */
import { EventEmitter } from 'eventemitter3';
import { BufshareError } from '../errors';
import { Region, type Rect } from '../region';
import type { FramePresentation } from '../surface-model';
import type { SceneBuffer } from './buffer';

/** What a node reports to the scene it lives in. */
export interface NodeHost {
  /** `rects` (layout coordinates) look different now. */
  damageLayout(rects: readonly Rect[]): void;
  /** Which leaves show, where or in what order changed (not only their pixels), perhaps with nothing to repaint. */
  reordered(): void;
}

export interface SceneNodeEvents {
  /** The node left the scene for good. */
  destroy: [];
  /**
   * Buffer nodes: an output showing this node presented a frame (its pixels
   * reached the screen, or the headless timer ticked): the moment for
   * wl_surface.frame callbacks and bufshare's frame_done. Milliseconds,
   * `performance.now()`; `presentation` says the same instant in CLOCK_MONOTONIC
   * ns, with the output's refresh and counter (for wp_presentation).
   */
  present: [timeMs: number, presentation: FramePresentation];
}

export abstract class SceneNode extends EventEmitter<SceneNodeEvents> {
  /** Whatever the compositor wants to find again from a hit test (a window, a surface). */
  data: unknown;
  private hitTestable = true;
  protected readonly host: NodeHost;
  private parentTree: SceneTree | undefined;
  private px = 0;
  private py = 0;
  private isEnabled = true;
  private isDestroyed = false;

  /** @internal use the scene's create methods */
  constructor(host: NodeHost, parent: SceneTree | undefined) {
    super();
    this.host = host;
    if (parent) parent.adopt(this);
    this.parentTree = parent;
  }

  get parent(): SceneTree | undefined {
    return this.parentTree;
  }

  /** Relative to the parent. */
  get x(): number {
    return this.px;
  }

  get y(): number {
    return this.py;
  }

  get enabled(): boolean {
    return this.isEnabled;
  }

  /**
   * False: hit tests pass through this node and its subtree (a cursor, a drag
   * icon, a decoration that takes no clicks). Default true.
   */
  get takesInput(): boolean {
    return this.hitTestable;
  }

  set takesInput(value: boolean) {
    if (value === this.hitTestable) return;
    this.hitTestable = value;
    this.host.reordered();
  }

  get destroyed(): boolean {
    return this.isDestroyed;
  }

  /** The node and every ancestor enabled, and attached to the scene's root. */
  get visible(): boolean {
    for (let n: SceneNode | undefined = this; n; n = n.parentTree) {
      if (!n.isEnabled || n.isDestroyed) return false;
      if (n.parentTree === undefined) return n instanceof SceneTree && n.isRoot;
    }
    return false;
  }

  /** Position in the layout (the sum of the ancestors' positions). */
  get layoutX(): number {
    let x = 0;
    for (let n: SceneNode | undefined = this; n; n = n.parentTree) x += n.px;
    return x;
  }

  get layoutY(): number {
    let y = 0;
    for (let n: SceneNode | undefined = this; n; n = n.parentTree) y += n.py;
    return y;
  }

  setPosition(x: number, y: number): void {
    if (!Number.isInteger(x) || !Number.isInteger(y) || Math.abs(x) > MAX_COORD || Math.abs(y) > MAX_COORD) {
      throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', `node position (${x}, ${y}) must be integers within +-${MAX_COORD}`);
    }
    if (x === this.px && y === this.py) return;
    this.damageSubtree();
    this.px = x;
    this.py = y;
    this.damageSubtree();
  }

  setEnabled(enabled: boolean): void {
    if (enabled === this.isEnabled) return;
    // Damage is taken where the subtree shows: before disabling, after enabling.
    if (!enabled) this.damageSubtree();
    this.isEnabled = enabled;
    if (enabled) this.damageSubtree();
  }

  /** Above all its siblings. */
  raiseToTop(): void {
    this.restack(() => this.requireParent().moveChild(this, Infinity));
  }

  /** Below all its siblings. */
  lowerToBottom(): void {
    this.restack(() => this.requireParent().moveChild(this, 0));
  }

  /** Just above `sibling` (a node of the same parent). */
  placeAbove(sibling: SceneNode): void {
    this.restack(() => this.requireParent().moveNextTo(this, sibling, 1));
  }

  /** Just below `sibling` (a node of the same parent). */
  placeBelow(sibling: SceneNode): void {
    this.restack(() => this.requireParent().moveNextTo(this, sibling, 0));
  }

  /** Moves the node (on top) into another tree of the same scene; its relative position is kept. */
  reparent(parent: SceneTree): void {
    if (parent === this.parentTree) return;
    for (let n: SceneNode | undefined = parent; n; n = n.parentTree) {
      if (n === this) throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', 'a node cannot become a child of its own subtree');
    }
    if (parent.host !== this.host) throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', 'a node cannot move to another scene');
    this.damageSubtree();
    this.parentTree?.disown(this);
    parent.adopt(this);
    this.parentTree = parent;
    this.damageSubtree();
  }

  /** Takes the node (and its subtree) out of the scene for good. Idempotent. */
  destroy(): void {
    if (this.isDestroyed) return;
    this.damageSubtree();
    this.teardown();
    this.parentTree?.disown(this);
    this.parentTree = undefined;
  }

  /** @internal restackChildren moved it relative to its siblings: what it shows is damaged. */
  damageMoved(): void {
    this.damageSubtree(true);
  }

  /** The layout rectangles this subtree shows (enabled leaves), pushed to `out`. */
  /** `input`: false when an ancestor lets hit tests pass through. */
  abstract collectLeaves(out: LeafPlacement[], x: number, y: number, input?: boolean): void;

  /** @internal */
  teardown(): void {
    this.isDestroyed = true;
    this.release();
    this.emit('destroy');
    this.removeAllListeners();
  }

  /** What the node holds (a buffer lock) goes back. */
  protected release(): void {}

  /**
   * Damages what this subtree shows now (nothing when it is not visible), for a
   * change of what shows where; `pixelsOnly`: only its pixels change (a colour).
   */
  protected damageSubtree(pixelsOnly = false): void {
    if (!this.visible) return;
    if (!pixelsOnly) this.host.reordered();
    const leaves: LeafPlacement[] = [];
    const parentX = this.layoutX - this.px;
    const parentY = this.layoutY - this.py;
    this.collectLeaves(leaves, parentX, parentY);
    if (leaves.length > 0) this.host.damageLayout(leaves.map((l) => l.rect));
  }

  /**
   * A change of order shows only where the subtree overlaps the siblings it
   * moved past: a click that raises a window damages the parts other windows
   * covered, not the whole window (a full repaint of it per click, before).
   */
  private restack(move: () => SceneNode[]): void {
    const passed = move();
    if (passed.length === 0) return;
    this.host.reordered();
    if (!this.visible) return;
    const parentX = this.layoutX - this.x;
    const parentY = this.layoutY - this.y;
    const mine: LeafPlacement[] = [];
    this.collectLeaves(mine, parentX, parentY);
    if (mine.length === 0) return;
    const theirs: LeafPlacement[] = [];
    for (const s of passed) s.collectLeaves(theirs, parentX, parentY);
    const overlap: Rect[] = [];
    for (const a of mine) {
      for (const b of theirs) {
        const x0 = Math.max(a.rect.x, b.rect.x);
        const y0 = Math.max(a.rect.y, b.rect.y);
        const x1 = Math.min(a.rect.x + a.rect.width, b.rect.x + b.rect.width);
        const y1 = Math.min(a.rect.y + a.rect.height, b.rect.y + b.rect.height);
        if (x1 > x0 && y1 > y0) overlap.push({ x: x0, y: y0, width: x1 - x0, height: y1 - y0 });
      }
    }
    if (overlap.length > 0) this.host.damageLayout(overlap);
  }

  private requireParent(): SceneTree {
    if (!this.parentTree) throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', 'the root tree has no siblings');
    return this.parentTree;
  }
}

/** Positions are bounded so that layout sums stay exact small integers. */
export const MAX_COORD = 1 << 24;

/** A client's int32 coordinate (an offset, a hotspot) brought within the scene's +-MAX_COORD: far off any screen either way. */
export function clampToScene(v: number): number {
  return Math.max(-MAX_COORD, Math.min(MAX_COORD, Math.trunc(v) || 0));
}

/** A leaf on the layout: what an output paints, bottom to top. */
export interface LeafPlacement {
  readonly node: SceneRect | SceneBufferNode;
  /** Layout coordinates of the leaf's whole area. */
  readonly rect: Rect;
  /** Hit tests may find it (no ancestor passes input through). */
  readonly input: boolean;
}

export class SceneTree extends SceneNode {
  /** Bottom to top. */
  private readonly kids: SceneNode[] = [];
  /** @internal */
  readonly isRoot: boolean;

  /** @internal */
  constructor(host: NodeHost, parent: SceneTree | undefined) {
    super(host, parent);
    this.isRoot = parent === undefined;
  }

  /** Bottom to top. */
  get children(): readonly SceneNode[] {
    return this.kids;
  }

  collectLeaves(out: LeafPlacement[], x: number, y: number, input = true): void {
    if (!this.enabled) return;
    const ox = x + this.x;
    const oy = y + this.y;
    const takes = input && this.takesInput;
    for (const child of this.kids) child.collectLeaves(out, ox, oy, takes);
  }

  /** @internal */
  adopt(child: SceneNode): void {
    this.kids.push(child);
  }

  /** @internal */
  disown(child: SceneNode): void {
    const i = this.kids.indexOf(child);
    if (i >= 0) this.kids.splice(i, 1);
  }

  /** @internal moves child to index `to` (clamped); returns the siblings it moved past */
  moveChild(child: SceneNode, to: number): SceneNode[] {
    const i = this.kids.indexOf(child);
    const target = Math.min(to, this.kids.length - 1);
    if (i < 0 || i === target) return [];
    this.kids.splice(i, 1);
    this.kids.splice(target, 0, child);
    return target > i ? this.kids.slice(i, target) : this.kids.slice(target + 1, i + 1);
  }

  /** @internal places child just below (0) or above (1) sibling; returns the siblings it moved past */
  moveNextTo(child: SceneNode, sibling: SceneNode, above: 0 | 1): SceneNode[] {
    if (sibling === child) return [];
    if (sibling.parent !== this) throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', 'placeAbove/placeBelow take a sibling (a node of the same parent)');
    const i = this.kids.indexOf(child);
    this.kids.splice(i, 1);
    const target = this.kids.indexOf(sibling) + above;
    this.kids.splice(target, 0, child);
    return target > i ? this.kids.slice(i, target) : this.kids.slice(target + 1, i + 1);
  }

  /**
   * Puts `top` (children of this tree, bottom to top) above the other children,
   * in that order: what raising each in turn does, in one step. Raising each in
   * turn cost O(n) a raise (the siblings passed, their leaves compared), so a
   * client restacking one of 3,000 subsurfaces made every commit take 2 s of the
   * loop (issue 23's held-out campaign). Damage: the whole area of each child
   * that moved relative to the others, i.e. the children outside a longest run
   * that kept its order (a pixel whose top changes is covered by two children
   * that swapped, one of which is outside that run).
   */
  restackChildren(top: readonly SceneNode[]): void {
    const wanted = new Set(top);
    for (const n of top) {
      if (n.parent !== this) throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', 'restackChildren takes children of this tree');
    }
    if (wanted.size !== top.length) throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', 'restackChildren takes each child once');
    const next = [...this.kids.filter((n) => !wanted.has(n)), ...top];
    if (next.every((n, i) => n === this.kids[i])) return;
    const oldIndex = new Map<SceneNode, number>();
    this.kids.forEach((n, i) => oldIndex.set(n, i));
    const kept = longestIncreasingRun(next.map((n) => oldIndex.get(n)!));
    const moved = next.filter((_, i) => !kept.has(i));
    this.kids.splice(0, this.kids.length, ...next);
    this.host.reordered();
    for (const n of moved) n.damageMoved();
  }

  protected override release(): void {
    for (const child of this.kids.splice(0)) child.teardown();
  }
}

/** Positions (in `values`) of one longest strictly increasing subsequence: O(n log n). */
function longestIncreasingRun(values: readonly number[]): Set<number> {
  const tails: number[] = []; // tails[k]: position of the smallest tail of a run of length k + 1
  const prev = new Array<number>(values.length).fill(-1);
  for (let i = 0; i < values.length; i++) {
    let lo = 0;
    let hi = tails.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (values[tails[mid]!]! < values[i]!) lo = mid + 1;
      else hi = mid;
    }
    if (lo > 0) prev[i] = tails[lo - 1]!;
    tails[lo] = i;
  }
  const run = new Set<number>();
  for (let i = tails.length > 0 ? tails[tails.length - 1]! : -1; i >= 0; i = prev[i]!) run.add(i);
  return run;
}

/** A solid rectangle; `color` is 0xAARRGGBB, premultiplied (alpha 0xff: opaque). */
export class SceneRect extends SceneNode {
  private w: number;
  private h: number;
  private argb: number;

  /** @internal */
  constructor(host: NodeHost, parent: SceneTree, width: number, height: number, color: number) {
    checkSize(width, height);
    checkColor(color);
    super(host, parent);
    this.w = width;
    this.h = height;
    this.argb = color >>> 0;
    this.damageSubtree();
  }

  get width(): number {
    return this.w;
  }

  get height(): number {
    return this.h;
  }

  get color(): number {
    return this.argb;
  }

  get opaque(): boolean {
    return this.argb >>> 24 === 0xff;
  }

  setSize(width: number, height: number): void {
    checkSize(width, height);
    if (width === this.w && height === this.h) return;
    this.damageSubtree();
    this.w = width;
    this.h = height;
    this.damageSubtree();
  }

  setColor(color: number): void {
    checkColor(color);
    if (color >>> 0 === this.argb) return;
    this.argb = color >>> 0;
    this.damageSubtree(true);
  }

  collectLeaves(out: LeafPlacement[], x: number, y: number, input = true): void {
    if (!this.enabled || this.w === 0 || this.h === 0) return;
    out.push({ node: this, rect: { x: x + this.x, y: y + this.y, width: this.w, height: this.h }, input: input && this.takesInput });
  }
}

/**
 * A buffer node's crop and scale (wp_viewporter): the buffer's `source`
 * rectangle (whole buffer pixels; undefined: all of it) shown at `width` x
 * `height` layout pixels, nearest-neighbour.
 */
export interface SceneViewport {
  readonly source?: Rect;
  readonly width: number;
  readonly height: number;
}

/**
 * A buffer on the layout: at its size over its buffer scale (a buffer drawn at
 * scale 2 covers half its pixels in layout units, and shows 1:1 on an output of
 * scale 2), or at its viewport's destination size. The node holds one lock on
 * the buffer it shows and gives it back when a new buffer replaces it or the
 * node is destroyed.
 */
export class SceneBufferNode extends SceneNode {
  private current: SceneBuffer | undefined;
  private input: Region | undefined;
  private view: SceneViewport | undefined;
  private scale = 1;

  /** @internal */
  constructor(host: NodeHost, parent: SceneTree) {
    super(host, parent);
  }

  get buffer(): SceneBuffer | undefined {
    return this.current;
  }

  /** The size shown, layout units: the viewport's destination, else the buffer's over its scale, rounded up (0 without a buffer). */
  get width(): number {
    if (this.current === undefined) return 0;
    return this.view?.width ?? Math.ceil(this.current.width / this.scale);
  }

  get height(): number {
    if (this.current === undefined) return 0;
    return this.view?.height ?? Math.ceil(this.current.height / this.scale);
  }

  /** Buffer pixels per layout unit (wl_surface.set_buffer_scale); 1 unless set. */
  get bufferScale(): number {
    return this.scale;
  }

  /**
   * Says how many buffer pixels make one layout unit, each way (an integer,
   * 1 to 8): a client that draws for a scale-2 output gives 2. Without a
   * viewport the node's size becomes the buffer's over it.
   */
  setBufferScale(scale: number): void {
    if (!Number.isInteger(scale) || scale < 1 || scale > 8) {
      throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', `buffer scale ${scale} must be an integer from 1 to 8`);
    }
    if (scale === this.scale) return;
    this.damageSubtree();
    this.scale = scale;
    this.damageSubtree();
  }

  get viewport(): SceneViewport | undefined {
    return this.view;
  }

  /**
   * The part of the buffer shown: the viewport's source (the whole buffer
   * without one); undefined without a buffer or when the source does not lie
   * wholly inside it (the renderer then paints the placeholder colour).
   */
  get sourceRect(): Rect | undefined {
    const b = this.current;
    if (b === undefined) return undefined;
    const src = this.view?.source;
    if (src === undefined) return { x: 0, y: 0, width: b.width, height: b.height };
    return src.x >= 0 && src.y >= 0 && src.x + src.width <= b.width && src.y + src.height <= b.height ? src : undefined;
  }

  /**
   * Crops and scales the buffer (wp_viewporter): `source` (buffer pixels, whole
   * numbers; undefined: the whole buffer) shown at `width` x `height`, which
   * becomes the node's size (hit tests, damage, placement). Undefined: buffer
   * pixels 1:1 again. A source reaching past the buffer (a buffer that
   * shrank under it) shows the placeholder colour until one of them changes.
   */
  setViewport(viewport: SceneViewport | undefined): void {
    if (viewport !== undefined) {
      checkSize(viewport.width, viewport.height);
      if (viewport.width === 0 || viewport.height === 0) throw new BufshareError('ERR_BUFSHARE_INVALID_DIMENSIONS', `viewport size ${viewport.width}x${viewport.height} is empty`);
      const src = viewport.source;
      if (src !== undefined) {
        if (!Number.isInteger(src.x) || !Number.isInteger(src.y) || Math.abs(src.x) > MAX_COORD || Math.abs(src.y) > MAX_COORD) {
          throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', `viewport source position (${src.x}, ${src.y}) must be integers within +-${MAX_COORD}`);
        }
        checkSize(src.width, src.height);
        if (src.width === 0 || src.height === 0) throw new BufshareError('ERR_BUFSHARE_INVALID_DIMENSIONS', `viewport source ${src.width}x${src.height} is empty`);
      }
    }
    const old = this.view;
    const same =
      old === viewport ||
      (old !== undefined &&
        viewport !== undefined &&
        old.width === viewport.width &&
        old.height === viewport.height &&
        sameRect(old.source, viewport.source));
    if (same) return;
    this.damageSubtree();
    this.view = viewport && { source: viewport.source && { ...viewport.source }, width: viewport.width, height: viewport.height };
    this.damageSubtree();
  }

  /** Covers what lies below it: a format without alpha. */
  get opaque(): boolean {
    const format = this.current?.region.format;
    return format !== undefined && !format.hasAlpha;
  }

  /**
   * Shows `buffer` (the node takes a lock of its own on it; the caller keeps
   * its own) and gives the previous one back. `damage`, in buffer coordinates,
   * is what changed since the previous buffer; omitted, or with a first buffer
   * or one of another size, the whole node changed.
   */
  setBuffer(buffer: SceneBuffer | undefined, damage?: Region): void {
    const previous = this.current;
    if (buffer === previous) {
      if (buffer && damage) this.damageBufferRegion(damage);
      return;
    }
    buffer?.lock();
    const sameSize = previous !== undefined && buffer !== undefined && previous.width === buffer.width && previous.height === buffer.height;
    if (sameSize && damage !== undefined) {
      this.current = buffer;
      this.damageBufferRegion(damage);
    } else {
      this.damageSubtree();
      this.current = buffer;
      this.damageSubtree();
    }
    previous?.unlock();
  }

  /**
   * Where the node takes pointer input, node-local (wl_surface.set_input_region);
   * undefined: all of it.
   */
  setInputRegion(region: Region | undefined): void {
    this.input = region;
  }

  /** True when node-local (x, y) takes input. */
  acceptsInput(x: number, y: number): boolean {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return false;
    return this.input === undefined || this.input.contains(x, y);
  }

  collectLeaves(out: LeafPlacement[], x: number, y: number, input = true): void {
    if (!this.enabled || this.current === undefined) return;
    out.push({ node: this, rect: { x: x + this.x, y: y + this.y, width: this.width, height: this.height }, input: input && this.takesInput });
  }

  protected override release(): void {
    const b = this.current;
    this.current = undefined;
    b?.unlock();
  }

  private damageBufferRegion(damage: Region): void {
    if (!this.visible || !this.current) return;
    const clipped = damage.clip(this.current.width, this.current.height);
    if (clipped.isEmpty) return;
    const lx = this.layoutX;
    const ly = this.layoutY;
    // A buffer scale is a viewport of the whole buffer at its size over the scale.
    const view = this.view ?? (this.scale === 1 ? undefined : { width: this.width, height: this.height });
    if (view === undefined) {
      this.host.damageLayout(clipped.rects.map((r) => ({ x: r.x + lx, y: r.y + ly, width: r.width, height: r.height })));
      return;
    }
    // Buffer damage through the viewport: destination pixel dx shows source
    // column sx + floor(dx * sw / dw), so buffer columns [a, b) show in
    // destination columns [floor((a - sx) * dw / sw), ceil((b - sx) * dw / sw))
    // (rounded outward, exact in integers), clipped to the destination.
    const src = view.source ?? { x: 0, y: 0, width: this.current.width, height: this.current.height };
    const rects: Rect[] = [];
    for (const r of clipped.rects) {
      const x0 = Math.max(0, floorDiv((r.x - src.x) * view.width, src.width));
      const y0 = Math.max(0, floorDiv((r.y - src.y) * view.height, src.height));
      const x1 = Math.min(view.width, -floorDiv(-(r.x + r.width - src.x) * view.width, src.width));
      const y1 = Math.min(view.height, -floorDiv(-(r.y + r.height - src.y) * view.height, src.height));
      if (x1 > x0 && y1 > y0) rects.push({ x: x0 + lx, y: y0 + ly, width: x1 - x0, height: y1 - y0 });
    }
    if (rects.length > 0) this.host.damageLayout(rects);
  }
}

/** floor(n / d) for integers (|n| below 2^53, d > 0), exact where the float quotient may round across an integer. */
function floorDiv(n: number, d: number): number {
  let q = Math.floor(n / d);
  while (q * d > n) q--;
  while ((q + 1) * d <= n) q++;
  return q;
}

function sameRect(a: Rect | undefined, b: Rect | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.x === b.x && a.y === b.y && a.width === b.width && a.height === b.height;
}

function checkSize(width: number, height: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 0 || height < 0 || width > MAX_COORD || height > MAX_COORD) {
    throw new BufshareError('ERR_BUFSHARE_INVALID_DIMENSIONS', `rectangle size ${width}x${height} is out of range`);
  }
}

function checkColor(color: number): void {
  // `0xff000000 | rgb` is a negative int32 in JS: both readings of the 32 bits are taken.
  if (!Number.isInteger(color) || color < -(2 ** 31) || color > 0xffffffff) {
    throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', `colour ${color} is not a 32-bit 0xAARRGGBB value`);
  }
  const a = color >>> 24;
  const over = [(color >>> 16) & 0xff, (color >>> 8) & 0xff, color & 0xff].some((c) => c > a);
  if (over) throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', `colour 0x${(color >>> 0).toString(16)} is not premultiplied (a channel above alpha)`);
}
