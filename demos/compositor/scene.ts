/**
 * The scene: which surfaces are on the output, where, in what order, and what
 * on the output has changed since the last composition (the damage).
 *
 * Damage comes from four things, all in output coordinates and clipped to it:
 * a client submitting (its damage, moved to where the surface sits), a surface
 * showing its first pixels, a surface leaving (what it covered shows again) and
 * a surface moving or being raised (old and new places).
 *
 * Ownership: the scene keeps a reference to each surface's current pixels and
 * never releases them; whoever attaches a region keeps it mapped until it
 * attaches the next one or removes the surface.
 */
import { BufshareError, Region, type FormatInfo, type GraphicsRegion, type Rect } from '../../lib';
import { placeSurface, DEFAULT_PLACEMENT, type PlacementOptions, type PlacementPolicy } from './placement';

/** How a surface's pixels reach the XRGB8888 output. */
export type PaintMode =
  /** XRGB8888: rows copied as they are (native copyRects). */
  | 'copy'
  /** ARGB8888, premultiplied: source-over blend. */
  | 'blend'
  /** Any other format: a flat placeholder, so the surface still shows where it is. */
  | 'placeholder';

export function paintModeFor(format: FormatInfo): PaintMode {
  if (format.name === 'XRGB8888') return 'copy';
  if (format.name === 'ARGB8888') return 'blend';
  return 'placeholder';
}

/** Damage regions with more rectangles than this are merged into fewer, larger ones. */
const MAX_DAMAGE_RECTS = 32;

export class SceneSurface {
  readonly id: number;
  width: number;
  height: number;
  readonly paintMode: PaintMode;
  x: number;
  y: number;
  /** The pixels on show; undefined until the first attach. */
  content: GraphicsRegion | undefined;

  constructor(id: number, width: number, height: number, paintMode: PaintMode, x: number, y: number) {
    this.id = id;
    this.width = width;
    this.height = height;
    this.paintMode = paintMode;
    this.x = x;
    this.y = y;
  }

  get rect(): Rect {
    return { x: this.x, y: this.y, width: this.width, height: this.height };
  }

  /** Has pixels to show: content attached and still mapped (a client that went away leaves an unmapped region). */
  get shown(): boolean {
    return this.content !== undefined && this.content.mapped;
  }

  /** Covers what is below it wherever it is shown. */
  get opaque(): boolean {
    return this.paintMode !== 'blend';
  }

  contains(x: number, y: number): boolean {
    return x >= this.x && x < this.x + this.width && y >= this.y && y < this.y + this.height;
  }
}

export class Scene {
  readonly width: number;
  readonly height: number;
  private readonly policy: PlacementPolicy;
  private readonly placement: PlacementOptions;
  /** Bottom to top. */
  private readonly stack: SceneSurface[] = [];
  private damage: Region;

  constructor(width: number, height: number, policy: PlacementPolicy = 'tile', placement: PlacementOptions = DEFAULT_PLACEMENT) {
    this.width = width;
    this.height = height;
    this.policy = policy;
    this.placement = placement;
    // Nothing has been drawn yet: the first composition paints the whole output.
    this.damage = Region.full(width, height);
  }

  /** Bottom to top. */
  get surfaces(): readonly SceneSurface[] {
    return this.stack;
  }

  get(id: number): SceneSurface | undefined {
    return this.stack.find((s) => s.id === id);
  }

  /** Places a new surface on top. It shows (and damages) nothing until its first attach. */
  add(id: number, width: number, height: number, format: FormatInfo): SceneSurface {
    if (this.get(id)) throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', `surface ${id} is already in the scene`);
    const spot = placeSurface(this.policy, this, this.stack.map((s) => s.rect), { width, height }, this.placement);
    const surface = new SceneSurface(id, width, height, paintModeFor(format), spot.x, spot.y);
    this.stack.push(surface);
    return surface;
  }

  /**
   * Shows `content` for the surface; `damage` (surface-local) is what changed
   * since the previous content. The first content damages the whole surface.
   */
  attach(id: number, content: GraphicsRegion, damage: Region): void {
    const s = this.require(id);
    const first = s.content === undefined;
    s.content = content;
    this.addDamage(first ? Region.full(s.width, s.height).translate(s.x, s.y) : damage.clip(s.width, s.height).translate(s.x, s.y));
  }

  /** Takes the surface off the output; returns it, or undefined when it was not there. */
  remove(id: number): SceneSurface | undefined {
    const i = this.stack.findIndex((s) => s.id === id);
    if (i < 0) return undefined;
    const [s] = this.stack.splice(i, 1);
    if (s!.content) this.addDamage(Region.of(s!.rect));
    return s;
  }

  /**
   * Moves the surface's top-left corner to (x, y), clamped to the output: the
   * corner (and the title bar the viewer draws there) stays reachable, and every
   * shown pixel of the surface lies right of and below the output's origin.
   */
  move(id: number, x: number, y: number): void {
    const s = this.require(id);
    const nx = clamp(Math.round(x), 0, this.width - 1);
    const ny = clamp(Math.round(y), 0, this.height - 1);
    if (nx === s.x && ny === s.y) return;
    const old = s.rect;
    s.x = nx;
    s.y = ny;
    if (s.content) this.addDamage(Region.of(old, s.rect));
  }

  /** The surface's size changed (a client resize): its old and new areas change. */
  resize(id: number, width: number, height: number): void {
    const s = this.require(id);
    if (width === s.width && height === s.height) return;
    const old = s.rect;
    s.width = width;
    s.height = height;
    if (s.content) this.addDamage(Region.of(old, s.rect));
  }

  /** Puts the surface on top of the others. */
  raise(id: number): void {
    const i = this.stack.findIndex((s) => s.id === id);
    if (i < 0 || i === this.stack.length - 1) return;
    const [s] = this.stack.splice(i, 1);
    this.stack.push(s!);
    if (s!.content) this.addDamage(Region.of(s!.rect));
  }

  /** The topmost surface showing pixels at output (x, y). */
  surfaceAt(x: number, y: number): SceneSurface | undefined {
    for (let i = this.stack.length - 1; i >= 0; i--) {
      const s = this.stack[i]!;
      if (s.shown && s.contains(x, y)) return s;
    }
    return undefined;
  }

  /** Marks the whole output as changed. */
  damageAll(): void {
    this.damage = Region.full(this.width, this.height);
  }

  get pendingDamage(): Region {
    return this.damage;
  }

  /** The damage accumulated since the last call, clipped to the output; resets it. */
  takeDamage(): Region {
    const d = this.damage;
    this.damage = Region.empty;
    return d;
  }

  private addDamage(r: Region): void {
    const clipped = r.clip(this.width, this.height);
    if (clipped.isEmpty) return;
    let d = this.damage.union(clipped);
    if (d.rects.length > MAX_DAMAGE_RECTS) d = d.simplify(MAX_DAMAGE_RECTS / 2);
    this.damage = d;
  }

  private require(id: number): SceneSurface {
    const s = this.get(id);
    if (!s) throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', `surface ${id} is not in the scene`);
    return s;
  }
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, v));
}
