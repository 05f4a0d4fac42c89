/**
 * SceneOutput: one output's view of the scene: where it sits in the layout, the
 * damage it has not painted yet (a damage ring, for swapchains of any depth),
 * and the painter that brings a buffer of it up to date.
 *
 * How am I supposed to use this? A backend (headless timer, KMS flips, a
 * viewer) owns the pixels. When `needsFrame` is true (or the 'damage' event
 * fired), it takes a buffer of the output's size, asks `render(buffer, age)` to
 * repaint what changed since that buffer was last painted, shows it, and calls
 * `present(time)` once the frame is really shown: surfaces on this output then
 * get their frame callbacks. Before composing, `scanoutBuffer()` says whether a
 * single client buffer covers the whole output opaquely (a KMS plane could show
 * it as it is, composing nothing).
 */
import { EventEmitter } from 'eventemitter3';
import { BufshareError } from '../errors';
import type { GraphicsRegion } from '../mapping/graphics-region';
import { Region, type Rect } from '../region';
import type { FramePresentation } from '../surface-model';
import type { SceneBuffer } from './buffer';
import { DamageRing } from './damage-ring';
import { MAX_COORD, SceneBufferNode, type LeafPlacement } from './node';
import { pixelRegion, SceneRenderer, type RenderStats } from './render';

export interface SceneOutputOptions {
  /** A name for logs and the viewer ("HDMI-A-1", "headless-1"). */
  readonly name?: string;
  /** Top-left corner in the layout. Default (0, 0). */
  readonly x?: number;
  readonly y?: number;
  /** The output's size in pixels (its mode, its framebuffer). */
  readonly width: number;
  readonly height: number;
  /**
   * Pixels per layout unit, each way (an integer, 1 to 4; default 1): at 2 the
   * output covers half its pixel size in the layout, scale-1 buffers show
   * doubled and clients that draw at buffer scale 2 show 1:1 (HiDPI).
   */
  readonly scale?: number;
  /** The refresh period in nanoseconds, told to clients with each present; 0 (default): unknown or variable. */
  readonly refreshNs?: number;
}

/** What a backend knows of a present beyond its time (SceneOutput.present). */
export interface PresentDetail {
  /** The same instant in CLOCK_MONOTONIC ns, when the backend has it from the kernel (a page flip's timestamp). */
  readonly timeNs?: bigint;
  /** The refresh counter (a CRTC's vblank count); default: this output's presents so far. */
  readonly sequence?: number;
  /** Shown at a vertical retrace (a page flip). Default false. */
  readonly vsync?: boolean;
  /** The timestamp came from the display hardware. Default false. */
  readonly hardware?: boolean;
}

export interface SceneOutputEvents {
  /** Something on this output changed: a backend that sleeps while nothing changes should schedule a frame. */
  damage: [];
  destroy: [];
}

/** What the scene tells its outputs. @internal */
export interface OutputHost {
  leaves(): LeafPlacement[];
  readonly backgroundColor: number;
  removeOutput(output: SceneOutput): void;
}

export interface RenderResult {
  /** What was repainted, output coordinates. */
  readonly damage: Region;
  readonly stats: RenderStats;
}

export class SceneOutput extends EventEmitter<SceneOutputEvents> {
  readonly name: string;
  /** The refresh period in nanoseconds; 0: unknown. */
  readonly refreshNs: number;
  private readonly host: OutputHost;
  private ox: number;
  private oy: number;
  private w: number;
  private h: number;
  private s: number;
  private readonly ring: DamageRing;
  private readonly renderer = new SceneRenderer();
  private background: GraphicsRegion;
  private isDestroyed = false;
  private presents = 0;

  /** @internal use scene.addOutput() */
  constructor(host: OutputHost, options: SceneOutputOptions, name: string) {
    super();
    checkGeometry(options.x ?? 0, options.y ?? 0, options.width, options.height);
    checkScale(options.scale ?? 1);
    this.host = host;
    this.name = options.name ?? name;
    this.refreshNs = options.refreshNs ?? 0;
    this.ox = options.x ?? 0;
    this.oy = options.y ?? 0;
    this.w = options.width;
    this.h = options.height;
    this.s = options.scale ?? 1;
    this.ring = new DamageRing(this.w, this.h);
    this.background = this.paintBackground();
  }

  get x(): number {
    return this.ox;
  }

  get y(): number {
    return this.oy;
  }

  /** Pixels across (what `render` paints); the layout width is `rect.width`. */
  get width(): number {
    return this.w;
  }

  get height(): number {
    return this.h;
  }

  /** Pixels per layout unit. */
  get scale(): number {
    return this.s;
  }

  /** The output's area in the layout: its pixel size over its scale, rounded up. */
  get rect(): Rect {
    return { x: this.ox, y: this.oy, width: Math.ceil(this.w / this.s), height: Math.ceil(this.h / this.s) };
  }

  get destroyed(): boolean {
    return this.isDestroyed;
  }

  /** Damage not painted yet, output coordinates. */
  get pendingDamage(): Region {
    return this.ring.current;
  }

  get needsFrame(): boolean {
    return !this.ring.current.isEmpty;
  }

  setPosition(x: number, y: number): void {
    checkGeometry(x, y, this.w, this.h);
    if (x === this.ox && y === this.oy) return;
    this.ox = x;
    this.oy = y;
    this.damageAll();
  }

  setSize(width: number, height: number): void {
    checkGeometry(this.ox, this.oy, width, height);
    if (width === this.w && height === this.h) return;
    this.w = width;
    this.h = height;
    this.background = this.paintBackground();
    this.ring.setSize(width, height);
    this.emit('damage');
  }

  /** Changes the pixels per layout unit (the output's area in the layout changes with it); everything is repainted. */
  setScale(scale: number): void {
    checkScale(scale);
    if (scale === this.s) return;
    this.s = scale;
    this.damageAll();
  }

  /** Everything is to be repainted (the background colour changed, the screen was taken over and given back). */
  damageAll(): void {
    this.ring.addAll();
    this.emit('damage');
  }

  /**
   * Repaints into `target` (XRGB8888, the output's size) what changed since it
   * was last painted, `age` frames ago (1: it holds the previous frame; 0: its
   * contents are unknown, everything is repainted), then starts a new frame of
   * damage. Returns what was repainted.
   */
  render(target: GraphicsRegion, age = 1): RenderResult {
    this.checkTarget(target);
    const damage = this.ring.damageFor(age);
    const stats = this.renderer.render(this.host.leaves(), this.ox, this.oy, this.s, target, this.background, damage);
    this.ring.rotate();
    return { damage, stats };
  }

  /**
   * A frame went out without painting (a plane shows a client's buffer as it
   * is): its damage joins the ring, so that buffers painted before it are
   * brought up to date when composition resumes.
   */
  skipRender(): void {
    this.ring.rotate();
  }

  /** Paints the whole output into `target`, leaving the damage as it is (screenshots, references). */
  renderFull(target: GraphicsRegion): RenderStats {
    this.checkTarget(target);
    return this.renderer.render(this.host.leaves(), this.ox, this.oy, this.s, target, this.background, Region.full(this.w, this.h));
  }

  /**
   * The buffer a plane could show instead of a composition: the topmost leaf
   * that touches the output is a client buffer that covers the whole output
   * exactly and opaquely (nothing else can show). Undefined otherwise.
   */
  scanoutBuffer(): SceneBuffer | undefined {
    const leaves = this.host.leaves();
    const area = this.rect;
    for (let i = leaves.length - 1; i >= 0; i--) {
      const { node, rect } = leaves[i]!;
      if (!overlaps(rect, area)) continue;
      if (!(node instanceof SceneBufferNode) || !node.opaque) return undefined;
      const buffer = node.buffer!;
      // A plane here shows buffers 1:1: the buffer must be the output's pixels exactly
      // (a crop or a scale other than the output's is not the image shown).
      const src = node.sourceRect;
      const whole = src !== undefined && src.x === 0 && src.y === 0 && src.width === buffer.width && src.height === buffer.height;
      const exact = rect.x === this.ox && rect.y === this.oy && rect.width * this.s === this.w && rect.height * this.s === this.h;
      return whole && exact && buffer.width === this.w && buffer.height === this.h && buffer.region.mapped ? buffer : undefined;
    }
    return undefined;
  }

  /**
   * The frame painted last is on the screen at `timeMs` (performance.now()):
   * buffer nodes on this output get 'present' (their frame callbacks), with
   * `detail` and the refresh (their presentation feedback).
   */
  present(timeMs = performance.now(), detail: PresentDetail = {}): void {
    this.presents++;
    // performance.now() and process.hrtime share libuv's monotonic clock (CLOCK_MONOTONIC on
    // Linux): the present's time in it is now's, less how long ago timeMs was.
    const timeNs = detail.timeNs ?? process.hrtime.bigint() - BigInt(Math.max(0, Math.round((performance.now() - timeMs) * 1e6)));
    const presentation: FramePresentation = {
      timeNs, refreshNs: this.refreshNs, sequence: detail.sequence ?? this.presents, vsync: detail.vsync ?? false, hardware: detail.hardware ?? false,
    };
    const leaves = this.host.leaves();
    const area = this.rect;
    for (const { node, rect } of leaves) {
      if (!(node instanceof SceneBufferNode) || !overlaps(rect, area)) continue;
      node.emit('present', timeMs, presentation);
    }
  }

  /** Takes the output out of the layout. Idempotent. */
  destroy(): void {
    if (this.isDestroyed) return;
    this.isDestroyed = true;
    this.host.removeOutput(this);
    this.emit('destroy');
    this.removeAllListeners();
  }

  /** @internal layout rectangles that changed */
  damageLayout(rects: readonly Rect[]): void {
    const local: Rect[] = [];
    const s = this.s;
    for (const r of rects) {
      // Layout units to this output's pixels, clipped to them.
      const x0 = Math.max((r.x - this.ox) * s, 0);
      const y0 = Math.max((r.y - this.oy) * s, 0);
      const x1 = Math.min((r.x + r.width - this.ox) * s, this.w);
      const y1 = Math.min((r.y + r.height - this.oy) * s, this.h);
      if (x1 > x0 && y1 > y0) local.push({ x: x0, y: y0, width: x1 - x0, height: y1 - y0 });
    }
    if (local.length === 0) return;
    const had = this.needsFrame;
    this.ring.add(local);
    if (!had) this.emit('damage');
  }

  /** @internal the background colour changed */
  repaintBackground(): void {
    this.background = this.paintBackground();
    this.damageAll();
  }

  private paintBackground(): GraphicsRegion {
    const bg = pixelRegion(this.w, this.h);
    bg.pixels32.fill(this.host.backgroundColor);
    return bg;
  }

  private checkTarget(target: GraphicsRegion): void {
    if (this.isDestroyed) throw new BufshareError('ERR_BUFSHARE_DESTROYED', `output ${this.name} was destroyed`);
    if (target.width !== this.w || target.height !== this.h) {
      throw new BufshareError('ERR_BUFSHARE_INVALID_DIMENSIONS', `output ${this.name} is ${this.w}x${this.h}; the target is ${target.width}x${target.height}`);
    }
  }
}

function overlaps(a: Rect, b: Rect): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

function checkScale(scale: number): void {
  if (!Number.isInteger(scale) || scale < 1 || scale > 4) {
    throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', `output scale ${scale} must be an integer from 1 to 4`);
  }
}

function checkGeometry(x: number, y: number, width: number, height: number): void {
  if (![x, y].every((v) => Number.isInteger(v) && Math.abs(v) <= MAX_COORD)) {
    throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', `output position (${x}, ${y}) must be integers within +-${MAX_COORD}`);
  }
  if (![width, height].every((v) => Number.isInteger(v) && v >= 1 && v <= 16384)) {
    throw new BufshareError('ERR_BUFSHARE_INVALID_DIMENSIONS', `output size ${width}x${height} is out of range (1..16384)`);
  }
}
