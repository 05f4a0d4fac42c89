/**
 * WaylandSurface: a wl_surface, and what the compositor sees of it: the same
 * CompositorSurface/CompositorFrame model bufshare's own surfaces have.
 *
 * State is double-buffered as in wlroots' wlr_compositor: every request
 * touches only `pending`; commit moves it to `current` (or, for a synchronized
 * subsurface, into `cached`, applied when its parent's state is). A surface is
 * announced to the compositor ('surface') when it has a toplevel role and its
 * first buffer; each commit that brings a buffer is a frame, with its damage
 * converted to buffer coordinates.
 *
 * The bridge copies no pixels: a frame's region is a read view of the client's
 * own pool memory (see globals/shm.ts for how it is kept safe).
 */
import { EventEmitter } from 'eventemitter3';
import { BufshareError } from '../errors';
import type { FormatInfo } from '../format';
import type { GraphicsRegion } from '../mapping/graphics-region';
import { Region, type Rect } from '../region';
import type {
  CompositorFrame, CompositorSurface, CompositorSurfaceEvents, FramePresentation, PointerConstraint, ScanoutSource, SubsurfacePlacement, SurfaceKeyboardInput, SurfacePointerInput, SurfaceCursor, SurfaceDragInput, SurfaceTextInput, SurfaceTouchInput, TextInputState, WindowState,
} from '../surface-model';
import { bufferOf, type BufferHold, type WaylandBuffer } from './buffer';
import type { WaylandClient } from './client';
import { sendDiscarded, sendPresented } from './globals/presentation';
import { wp_viewport } from './protocol/viewporter';
import { wl_callback, wl_surface } from './protocol/wayland';
import { ProtocolError, type Resource } from './resource';

const VIEWPORT_ERRORS = wp_viewport.enums.error as { bad_size: number; out_of_buffer: number };
const VIEWPORT_OUT_OF_BUFFER = VIEWPORT_ERRORS.out_of_buffer;
const VIEWPORT_BAD_SIZE = VIEWPORT_ERRORS.bad_size;
const SURFACE_ERROR = wl_surface.enums.error as { invalid_scale: number; invalid_transform: number; invalid_size: number; invalid_offset: number };

/** What a surface needs from its server. */
export interface SurfaceHost {
  announce(surface: WaylandSurface): void;
  frame(frame: WaylandFrame): void;
  withdraw(surface: WaylandSurface): void;
  pointer(surface: WaylandSurface, event: SurfacePointerInput): void;
  keyboard(surface: WaylandSurface, event: SurfaceKeyboardInput): void;
  touch?(surface: WaylandSurface, event: SurfaceTouchInput): void;
  /** Milliseconds, for frame callbacks and input events. */
  now(): number;
  /** How long a committed dma-buf's write fences may take to signal. */
  readonly fenceTimeoutMs: number;
  /** A commit's fences never signalled (or could not be waited for): the server ends that client. */
  fenceFailed(surface: WaylandSurface, error: BufshareError): void;
  /** Text inputs (text-input v3 and v1): the state of the surface's field, and text sent to it. */
  readonly textInputs?: { stateOf(surface: WaylandSurface): TextInputState | undefined; send(surface: WaylandSurface, event: SurfaceTextInput): boolean };
  /** The server's drag and drop, which a surface's dragInput feeds. */
  readonly drag?: { input(surface: WaylandSurface, event: SurfaceDragInput): void };
  /** The client's wl_output resources, which a presented feedback names (sync_output). */
  outputsOf(client: WaylandClient): readonly Resource<unknown>[];
  /** The cursor the surface's client set (wl_pointer.set_cursor), if any. */
  cursorOf(surface: WaylandSurface): SurfaceCursor | undefined;
}

/** A pointer constraint as the surface and the seat see it (globals/pointer-constraints.ts). */
export interface SurfaceConstraint extends PointerConstraint {
  /** The region set since the last commit becomes current. */
  applyPending(): void;
  /** The surface got the pointer: the constraint may take effect. */
  activate(): void;
  /** The surface lost the pointer. */
  deactivate(): void;
}

/** A role's hooks (xdg_toplevel, wl_subsurface). */
export interface SurfaceRole {
  readonly name: string;
  /** Before pending becomes current; may throw a ProtocolError (a buffer before the first configure). */
  beforeCommit?(surface: WaylandSurface, state: SurfaceState): void;
  /** After a commit was applied. */
  afterApply?(surface: WaylandSurface): void;
  /** A toplevel: shown to the compositor as a window. */
  readonly shown: boolean;
  /** Drawn as part of its parent (wl_subsurface): its frames go to this surface's listeners, not to the server's. */
  readonly child?: boolean;
  /** A synchronized subsurface caches its commits until its parent's are applied. */
  synchronized?(): boolean;
  /** Asks the client to close the window (xdg_toplevel.close). */
  close?(): void;
  /** Suggests a size (xdg_toplevel.configure); 0 lets the client choose. */
  configure?(width: number, height: number, state: WindowState): void;
}

export interface SurfaceState {
  /** undefined: no attach since the last commit; null: attach(NULL), the surface unmaps. */
  buffer: WaylandBuffer | null | undefined;
  surfaceDamage: Rect[];
  bufferDamage: Rect[];
  callbacks: Resource<unknown>[];
  /** wp_presentation_feedback objects asked for this commit (at most MAX_FEEDBACKS). */
  feedbacks: Resource<unknown>[];
  scale: number | undefined;
  transform: number | undefined;
  /** wp_viewport.set_source (surface-local, fixed point): undefined unchanged, null unset. */
  viewportSource: Rect | null | undefined;
  /** wp_viewport.set_destination (surface-local): undefined unchanged, null unset. */
  viewportDestination: { width: number; height: number } | null | undefined;
  /** Explicit sync points of this commit's buffer (wp_linux_drm_syncobj_surface_v1). */
  sync?: CommitSync;
}

/** What one commit took from wp_linux_drm_syncobj_surface_v1 (lib/wayland/globals/linux-drm-syncobj.ts). */
export interface CommitSync {
  /** Undefined once the acquire point signalled, else a wait that resolves then (ERR_BUFSHARE_TIMEOUT past timeoutMs). */
  acquired(timeoutMs: number, signal: AbortSignal): Promise<void> | undefined;
  /** Signals the release point: the compositor is done with the buffer for this commit. Idempotent. */
  release(): void;
}

/** A surface's wp_linux_drm_syncobj_surface_v1: checks each commit's points (protocol errors) and takes them. */
export interface ExplicitSyncSurface {
  commit(buffer: WaylandBuffer | null | undefined): CommitSync | undefined;
}

/** Release points of commits shown with a buffer: signalled when its last hold ends, with wl_buffer.release. */
const releasePoints = new WeakMap<WaylandBuffer, CommitSync[]>();

function signalReleasePoints(buffer: WaylandBuffer): void {
  const points = releasePoints.get(buffer);
  if (points === undefined) return;
  releasePoints.delete(buffer);
  for (const p of points) p.release();
}

function emptyState(): SurfaceState {
  return {
    buffer: undefined,
    surfaceDamage: [],
    bufferDamage: [],
    callbacks: [],
    feedbacks: [],
    scale: undefined,
    transform: undefined,
    viewportSource: undefined,
    viewportDestination: undefined,
  };
}

/** What the compositor shows of a surface through its viewport: a source in buffer pixels at a size in surface units (CompositorSurface.viewport). */
export interface ShownViewport {
  readonly source: Rect | undefined;
  readonly width: number;
  readonly height: number;
}

/**
 * Presentation feedbacks one commit may ask for: past it the oldest is
 * discarded. A surface holds a commit's worth each for its pending state, a
 * synchronized subsurface's cache and the applied commit not yet presented
 * (and for each commit still waiting for its buffer's fences).
 */
export const MAX_FEEDBACKS = 64;

function discardAll(feedbacks: readonly Resource<unknown>[]): void {
  for (const f of feedbacks) sendDiscarded(f);
}

/** Damage rectangles a client may accumulate between commits (merged beyond). */
const MAX_DAMAGE_RECTS = 256;

function pushDamage(list: Rect[], r: Rect): void {
  if (r.width <= 0 || r.height <= 0) return;
  if (list.length < MAX_DAMAGE_RECTS) {
    list.push(r);
    return;
  }
  const all = Region.from(list).union(r).bounds!;
  list.length = 0;
  list.push(all);
}

/** Holds per buffer: wl_buffer.release goes out when the last one ends. */
const holdCounts = new WeakMap<WaylandBuffer, number>();

export class WaylandFrame implements CompositorFrame {
  readonly surface: WaylandSurface;
  readonly damage: Region;
  private readonly buffer: WaylandBuffer;
  private readonly hold: BufferHold;
  private isReleased = false;

  /** @internal */
  constructor(surface: WaylandSurface, buffer: WaylandBuffer, damage: Region) {
    this.hold = buffer.hold();
    this.surface = surface;
    this.buffer = buffer;
    this.damage = damage;
    holdCounts.set(buffer, (holdCounts.get(buffer) ?? 0) + 1);
  }

  get region(): GraphicsRegion {
    return this.hold.region;
  }

  get scanout(): ScanoutSource | undefined {
    return this.buffer.scanout;
  }

  get released(): boolean {
    return this.isReleased;
  }

  release(): void {
    if (this.isReleased) return;
    this.isReleased = true;
    this.hold.release();
    const left = (holdCounts.get(this.buffer) ?? 1) - 1;
    holdCounts.set(this.buffer, left);
    if (left === 0) signalReleasePoints(this.buffer);
    if (left === 0 && !this.buffer.resource.destroyed) this.buffer.resource.post('release');
  }
}

export class WaylandSurface extends EventEmitter<CompositorSurfaceEvents> implements CompositorSurface {
  readonly resource: Resource<WaylandSurface>;
  readonly host: SurfaceHost;
  role: SurfaceRole | undefined;
  /** Subsurfaces, in the order they were made (the stacking order is `stack`). */
  readonly children: WaylandSurface[] = [];
  parent: WaylandSurface | undefined;
  /** @internal this surface ('self') and its subsurfaces, bottom to top, as of the last commit */
  stack: (WaylandSurface | 'self')[] = ['self'];
  /** @internal the order the next commit applies (new subsurfaces, place_above/below); undefined: unchanged */
  pendingStack: (WaylandSurface | 'self')[] | undefined;
  /** @internal a subsurface's position in its parent, as of the parent's last commit, and the one its next commit applies */
  position = { x: 0, y: 0 };
  pendingPosition: { x: number; y: number } | undefined;
  /** A child surface has shown a buffer (its first frame damages all of it). */
  private contentShown = false;
  /** A child's newest frame that nobody listened for yet (see claimFrame). */
  private unclaimed: WaylandFrame | undefined;
  /** @internal xdg popups of this surface, oldest first (the newest is on top) */
  readonly popupChildren: WaylandSurface[] = [];
  /** @internal the surface this popup belongs to, and where it lies in that surface (surface-local pixels) */
  popupParent: WaylandSurface | undefined;
  popupPosition = { x: 0, y: 0 };
  /** @internal xdg_popup.grab was asked for */
  popupGrabRequested = false;
  private popupDone: (() => void) | undefined;
  private boundsProvider: (() => Rect | undefined) | undefined;
  private decorationMode: 'server' | 'client' | undefined;
  private pending: SurfaceState = emptyState();
  /** A synchronized subsurface's commits not yet applied. */
  private cached: SurfaceState | undefined;
  private buffer: WaylandBuffer | undefined;
  private scale = 1;
  private enteredOutput = false;
  private transform = 0;
  /** @internal the surface's wp_viewport, if it has one (one at most: viewport_exists) */
  viewportResource: Resource<unknown> | undefined;
  /** @internal its wp_linux_drm_syncobj_surface_v1, if it has one (surface_exists past one) */
  explicitSync: ExplicitSyncSurface | undefined;
  /** @internal the zwp_pointer_constraints_v1 lock or confinement on this surface, if any */
  constraint: SurfaceConstraint | undefined;
  /** The committed wp_viewport state, surface-local. */
  private viewportSource: Rect | undefined;
  private viewportDestination: { width: number; height: number } | undefined;
  /** The viewport of the frame shown last (what `viewport` reports). */
  private shownViewport: ShownViewport | undefined;
  /** The viewport of the last state applied (shown once its buffer is readable). */
  private appliedViewport: ShownViewport | undefined;
  private callbacks: Resource<unknown>[] = [];
  /** The applied commit's presentation feedbacks, until an output presents it or a newer commit replaces it. */
  private feedbacks: Resource<unknown>[] = [];
  private announced = false;
  private isDestroyed = false;
  private toplevelTitle: string | undefined;
  private toplevelAppId: string | undefined;
  /**
   * The presentation of the last commit still held back by implicit fences:
   * later commits queue behind it, so a surface's frames stay in commit order.
   */
  private presenting: Promise<void> | undefined;
  /** Cancels fence waits when the surface (or its client) goes. */
  /**
   * Cancels this surface's fence waits when it goes. Made by the first wait: an
   * abort's reason is an Error, whose stack cost ~0.5 ms under tsx's source maps,
   * and a client destroying thousands of surfaces that never waited paid it for each.
   */
  private fenceWaitsController: AbortController | undefined;

  private get fenceWaits(): AbortController {
    return (this.fenceWaitsController ??= new AbortController());
  }

  constructor(resource: Resource<WaylandSurface>, host: SurfaceHost) {
    super();
    this.resource = resource;
    this.host = host;
    resource.onDestroy(() => this.destroy('the client destroyed the surface'));
  }

  get id(): number {
    return this.resource.id;
  }

  get client(): WaylandClient {
    return this.resource.client;
  }

  /** The buffer's size in pixels; its size on the layout is this over `bufferScale` (or the viewport's destination). */
  get width(): number {
    return this.buffer?.width ?? 0;
  }

  get height(): number {
    return this.buffer?.height ?? 0;
  }

  /**
   * The crop and scale the client asked for (wp_viewporter): `source` is the
   * buffer's rectangle shown (undefined: all of it), in whole buffer pixels
   * (the protocol's fixed-point source, times the buffer scale, rounded
   * outward: the scene samples whole pixels, nearest-neighbour), shown at
   * `width` x `height` surface units (the destination). Undefined: the buffer
   * at its size over its scale. Changes come with 'viewport', before the frame
   * that shows them.
   */
  get viewport(): ShownViewport | undefined {
    return this.shownViewport;
  }

  /** @internal The surface's size in surface-local units as of the last state applied: the viewport's destination, else the buffer's size over its scale. */
  get surfaceSize(): { width: number; height: number } {
    const v = this.appliedViewport;
    if (v !== undefined) return { width: v.width, height: v.height };
    return { width: this.width / this.scale, height: this.height / this.scale };
  }

  /** The client's text field on this surface (text-input v3 / v1), when one is entered on it. */
  get textInputState(): TextInputState | undefined {
    return this.host.textInputs?.stateOf(this);
  }

  /** Sends text to the surface's enabled text field; false when it has none. */
  textInput(event: SurfaceTextInput): boolean {
    if (this.isDestroyed) return false;
    return this.host.textInputs?.send(this, event) ?? false;
  }

  /** A drag's progress over this surface (the seat carrying it sends these): wl_data_device events for its client. */
  dragInput(event: SurfaceDragInput): void {
    if (!this.isDestroyed) this.host.drag?.input(this, event);
  }

  /** The client's pointer lock or confinement (zwp_pointer_constraints_v1), if it has one. */
  get pointerConstraint(): PointerConstraint | undefined {
    return this.constraint;
  }

  /** wl_surface.set_buffer_scale's value (1 unless the client set one). */
  get bufferScale(): number {
    return this.scale;
  }

  get format(): FormatInfo {
    if (this.buffer === undefined) throw new Error('a Wayland surface has a format once it has a buffer');
    return this.buffer.format;
  }

  get kind(): 'shm' {
    return 'shm';
  }

  get access(): 'direct' {
    return 'direct';
  }

  get destroyed(): boolean {
    return this.isDestroyed;
  }

  get title(): string | undefined {
    return this.toplevelTitle ?? this.toplevelAppId;
  }

  get appId(): string | undefined {
    return this.toplevelAppId;
  }

  /** What the client last asked of its window's state (xdg_toplevel set/unset_maximized, set/unset_fullscreen). */
  wantedState = { maximized: false, fullscreen: false };

  /** Who draws this window's title bar and borders (xdg-decoration), or undefined when the client did not say. */
  get decoration(): 'server' | 'client' | undefined {
    return this.decorationMode;
  }

  /** @internal xdg-decoration's mode changed */
  setDecoration(mode: 'server' | 'client' | undefined): void {
    if (mode === this.decorationMode) return;
    this.decorationMode = mode;
    if (!this.isDestroyed) this.emit('decoration');
  }

  /** The cursor this surface's client wants while the pointer is over it: undefined, the compositor's own; surface null, none. */
  get cursor(): SurfaceCursor | undefined {
    return this.host.cursorOf(this);
  }

  /** Shown to the compositor now. */
  get mapped(): boolean {
    return this.announced;
  }

  /**
   * Subsurfaces below and above this surface's own buffer, as of its last
   * commit, at their positions (surface units).
   */
  get subsurfaces(): { below: SubsurfacePlacement[]; above: SubsurfacePlacement[] } {
    const below: SubsurfacePlacement[] = [];
    const above: SubsurfacePlacement[] = [];
    let list = below;
    for (const s of this.stack) {
      if (s === 'self') list = above;
      else list.push({ surface: s, x: s.position.x, y: s.position.y });
    }
    return { below, above };
  }

  /** Holds `buffer` as the frame to claim (undefined: none), giving back the one held before. */
  private keepUnclaimed(buffer: WaylandBuffer | undefined): void {
    this.unclaimed?.release();
    this.unclaimed = undefined;
    // A dma-buf is not held here: reading it means waiting for its fences, which only a role's commit does.
    if (buffer === undefined || buffer.resource.destroyed || buffer.whenReadable !== undefined) return;
    try {
      this.unclaimed = new WaylandFrame(this, buffer, Region.full(buffer.width, buffer.height));
    } catch (e) {
      // A pool truncated under it: the client's fault, told as the protocol says.
      if (e instanceof ProtocolError) this.client.fail(e);
      else throw e;
    }
  }

  /**
   * The newest frame of a subsurface that came before anyone listened for its
   * frames (it drew before its parent showed it); undefined once taken. The
   * taker releases it like any frame.
   */
  claimFrame(): CompositorFrame | undefined {
    const f = this.unclaimed;
    this.unclaimed = undefined;
    return f;
  }

  /** Popups of this surface (xdg_popup), oldest first, at their places in this surface (surface units, as subsurfaces). */
  get popups(): SubsurfacePlacement[] {
    return this.popupChildren.map((p) => ({ surface: p, x: p.popupPosition.x, y: p.popupPosition.y }));
  }

  /** A popup that holds an explicit grab and shows pixels: a press on any other client's surface (or on none) should dismiss it. */
  get popupGrab(): boolean {
    return this.popupGrabRequested && this.contentShown && this.popupParent !== undefined;
  }

  /** Closes this popup and the popups above it (xdg_popup.popup_done, topmost first); a no-op for other surfaces. */
  dismiss(): void {
    for (const p of [...this.popupChildren].reverse()) p.dismiss();
    const done = this.popupDone;
    this.popupDone = undefined;
    done?.();
  }

  /**
   * Where this window may place its popups, surface-local: the compositor
   * gives a function that says it when asked (the output the window is on).
   */
  setBoundsProvider(provider: () => Rect | undefined): void {
    this.boundsProvider = provider;
  }

  /** @internal the area the provider gives now */
  bounds(): Rect | undefined {
    return this.boundsProvider?.();
  }

  /** @internal this surface becomes a popup of `parent`, on top of its other popups */
  attachPopup(parent: WaylandSurface, done: () => void): void {
    this.popupParent = parent;
    this.popupDone = done;
    parent.popupChildren.push(this);
    parent.emit('popups');
  }

  /** @internal the popup role went: it leaves its parent at once */
  detachPopup(): void {
    const parent = this.popupParent;
    this.popupParent = undefined;
    this.popupDone = undefined;
    if (parent === undefined) return;
    const i = parent.popupChildren.indexOf(this);
    if (i >= 0) parent.popupChildren.splice(i, 1);
    if (!parent.isDestroyed) parent.emit('popups');
  }

  /** @internal */
  setPopupPosition(x: number, y: number): void {
    if (x === this.popupPosition.x && y === this.popupPosition.y) return;
    this.popupPosition = { x, y };
    if (this.popupParent && !this.popupParent.isDestroyed) this.popupParent.emit('popups');
  }

  /** @internal a new subsurface goes on top of its siblings and parent at the parent's next commit */
  addChild(child: WaylandSurface): void {
    this.children.push(child);
    (this.pendingStack ??= this.stack.slice()).push(child);
  }

  /** @internal a subsurface (or its role) went: unmapped at once, as the protocol says */
  removeChild(child: WaylandSurface): void {
    const i = this.children.indexOf(child);
    if (i >= 0) this.children.splice(i, 1);
    if (this.pendingStack) this.pendingStack = this.pendingStack.filter((s) => s !== child);
    if (this.stack.includes(child)) {
      this.stack = this.stack.filter((s) => s !== child);
      if (!this.isDestroyed) this.emit('subsurfaces');
    }
  }

  /** @internal wl_subsurface.place_above/below: `child` just above (1) or below (0) `sibling` (a sibling or this surface) */
  restackChild(child: WaylandSurface, sibling: WaylandSurface, above: 0 | 1): void {
    const stack = (this.pendingStack ??= this.stack.slice()).filter((s) => s !== child);
    const at = stack.indexOf(sibling === this ? 'self' : sibling);
    stack.splice(at + above, 0, child);
    this.pendingStack = stack;
  }

  /** @internal xdg_toplevel.set_title / set_app_id. */
  setTitle(title: string | undefined, appId: string | undefined): void {
    this.toplevelTitle = title;
    this.toplevelAppId = appId;
    if (this.announced) this.emit('title', this.title);
  }

  /**
   * The applied commit was shown: frame callbacks get done, presentation
   * feedbacks presented, with `presentation` (without it: now, at an unknown
   * refresh, no flags). Subsurfaces' too, as they are drawn with this surface.
   */
  frameDone(presentation?: FramePresentation): void {
    if (this.isDestroyed) return;
    const now = this.host.now() >>> 0;
    const callbacks = this.callbacks;
    this.callbacks = [];
    for (const cb of callbacks) {
      cb.post('done', now);
      cb.destroy();
    }
    const feedbacks = this.feedbacks;
    this.feedbacks = [];
    if (feedbacks.length > 0) {
      const p = presentation ?? { timeNs: process.hrtime.bigint(), refreshNs: 0, sequence: 0, vsync: false, hardware: false };
      const outputs = this.host.outputsOf(this.client);
      for (const f of feedbacks) sendPresented(f, p, outputs);
    }
    for (const child of this.children) child.frameDone(presentation);
  }

  pointer(event: SurfacePointerInput): void {
    if (!this.isDestroyed) this.host.pointer(this, event);
  }

  keyboard(event: SurfaceKeyboardInput): void {
    if (!this.isDestroyed) this.host.keyboard(this, event);
  }

  touch(event: SurfaceTouchInput): void {
    if (!this.isDestroyed) this.host.touch?.(this, event);
  }

  /** Asks the client to close this window (xdg_toplevel.close); a no-op for other roles. */
  requestClose(): void {
    if (!this.isDestroyed) this.role?.close?.();
  }

  /** Suggests a window size (xdg_toplevel.configure; 0 x 0: the client chooses). */
  configure(width: number, height: number, state: boolean | WindowState = true): void {
    if (!this.isDestroyed) this.role?.configure?.(width, height, typeof state === 'boolean' ? { activated: state } : { activated: true, ...state });
  }

  // --- requests ----------------------------------------------------------

  /** @internal */
  attach(bufferId: number, dx: number, dy: number): void {
    if ((dx !== 0 || dy !== 0) && this.resource.version >= 5) {
      throw this.resource.error(SURFACE_ERROR.invalid_offset, 'attach with a non-zero offset (use wl_surface.offset)');
    }
    if (bufferId === 0) {
      this.pending.buffer = null;
      return;
    }
    const buffer = bufferOf(this.resource.client.lookup(bufferId)!);
    if (buffer === undefined) throw this.resource.error(SURFACE_ERROR.invalid_size, `object ${bufferId} is not a buffer`);
    this.pending.buffer = buffer;
  }

  /** @internal */
  damageSurface(x: number, y: number, width: number, height: number): void {
    pushDamage(this.pending.surfaceDamage, clampRect(x, y, width, height));
  }

  /** @internal */
  damageBuffer(x: number, y: number, width: number, height: number): void {
    pushDamage(this.pending.bufferDamage, clampRect(x, y, width, height));
  }

  /** @internal */
  addFrameCallback(id: number): void {
    const cb = this.client.create(id, wl_callback, 1, {}, undefined);
    this.pending.callbacks.push(cb);
    cb.onDestroy(() => {
      this.pending.callbacks = this.pending.callbacks.filter((c) => c !== cb);
      this.callbacks = this.callbacks.filter((c) => c !== cb);
    });
  }

  /** @internal wp_presentation.feedback: for the next commit; past MAX_FEEDBACKS the oldest is discarded. */
  addFeedback(feedback: Resource<unknown>): void {
    if (this.isDestroyed) {
      sendDiscarded(feedback);
      return;
    }
    const list = this.pending.feedbacks;
    list.push(feedback);
    if (list.length > MAX_FEEDBACKS) sendDiscarded(list.shift()!);
  }

  /** @internal */
  setScale(scale: number): void {
    if (scale < 1) throw this.resource.error(SURFACE_ERROR.invalid_scale, `buffer scale ${scale} is below 1`);
    this.pending.scale = scale;
  }

  /** @internal wp_viewport.set_source (checked for bad_value by the caller); null unsets. */
  setViewportSource(source: Rect | null): void {
    this.pending.viewportSource = source;
  }

  /** @internal wp_viewport.set_destination (checked for bad_value by the caller); null unsets. */
  setViewportDestination(size: { width: number; height: number } | null): void {
    this.pending.viewportDestination = size;
  }

  /** @internal */
  setTransform(transform: number): void {
    if (transform < 0 || transform > 7) throw this.resource.error(SURFACE_ERROR.invalid_transform, `buffer transform ${transform} is not 0..7`);
    this.pending.transform = transform;
  }

  /** @internal */
  commit(): void {
    const state = this.pending;
    this.pending = emptyState();
    // Explicit sync's commit-time errors come first; its points go with the state.
    const sync = this.explicitSync?.commit(state.buffer);
    if (sync !== undefined) state.sync = sync;
    this.role?.beforeCommit?.(this, state);
    if (this.role?.synchronized?.() === true) {
      this.cached = this.cached === undefined ? state : mergeStates(this.cached, state);
      return;
    }
    if (this.cached !== undefined) {
      const merged = mergeStates(this.cached, state);
      this.cached = undefined;
      this.apply(merged);
    } else {
      this.apply(state);
    }
  }

  /** @internal Its role object was destroyed (xdg_toplevel.destroy): unmapped, and no longer shown. */
  withdrawRole(): void {
    if (this.announced) {
      this.announced = false;
      this.host.withdraw(this);
    }
  }

  /** @internal A subsurface that became desynchronized applies what it cached. */
  applyCached(): void {
    const cached = this.cached;
    if (cached === undefined) return;
    this.cached = undefined;
    this.apply(cached);
  }

  private apply(state: SurfaceState): void {
    // A buffer destroyed between attach and commit counts as attach(NULL), as in weston:
    // its memory may be gone already (its pool freed with it).
    if (state.buffer?.resource.destroyed === true) state.buffer = null;
    const previous = this.buffer;
    if (state.scale !== undefined) this.scale = state.scale;
    if (state.transform !== undefined) this.transform = state.transform;
    if (state.buffer !== undefined) this.buffer = state.buffer ?? undefined;
    if (state.viewportSource !== undefined) this.viewportSource = state.viewportSource ?? undefined;
    if (state.viewportDestination !== undefined) this.viewportDestination = state.viewportDestination ?? undefined;
    const viewport = this.checkedViewport();
    this.appliedViewport = viewport;
    // Children's positions and order are the parent's state (wl_subsurface), applied with it.
    let restacked = false;
    for (const child of this.children) {
      if (child.pendingPosition === undefined) continue;
      restacked ||= child.pendingPosition.x !== child.position.x || child.pendingPosition.y !== child.position.y;
      child.position = child.pendingPosition;
      child.pendingPosition = undefined;
    }
    if (this.pendingStack !== undefined) {
      restacked ||= this.pendingStack.length !== this.stack.length || this.pendingStack.some((s, i) => s !== this.stack[i]);
      this.stack = this.pendingStack;
      this.pendingStack = undefined;
    }
    // The compositor learns of new children before their cached frames arrive, so that it can take them.
    if (restacked) this.emit('subsurfaces');
    // Children's cached state is applied with their parent's (wl_subsurface sync mode).
    for (const child of this.children) child.applyCached();
    this.role?.afterApply?.(this);
    // State other objects keep double-buffered with the surface (a pointer constraint's region).
    this.constraint?.applyPending();
    const callbacks = state.callbacks;
    const feedbacks = state.feedbacks;
    const child = this.role?.child === true;
    if (this.role?.shown !== true && !child) {
      // Not shown: nothing reads this commit's buffer now.
      state.sync?.release();
      this.callbacks.push(...callbacks);
      this.replaceFeedbacks(feedbacks);
      // A surface that has no role yet keeps what it committed, as wlroots' surfaces do:
      // a cursor or subsurface role given after the commit shows it (claimFrame).
      if (this.role === undefined && state.buffer !== undefined) this.keepUnclaimed(state.buffer ?? undefined);
      return;
    }
    const buffer = this.buffer;
    if (buffer === undefined) {
      state.sync?.release();
      this.present(() => {
        this.callbacks.push(...callbacks);
        this.replaceFeedbacks(feedbacks);
        if (this.announced) {
          this.announced = false;
          this.host.withdraw(this);
        }
        this.unclaimed?.release();
        this.unclaimed = undefined;
        // A surface that hides takes its menus with it.
        for (const p of [...this.popupChildren]) p.dismiss();
        if (this.contentShown) {
          this.contentShown = false;
          this.emit('unmap');
        }
      });
      return;
    }
    const newBuffer = state.buffer !== undefined;
    const viewportChanged = !sameViewport(viewport, this.shownViewport);
    if (!newBuffer && callbacks.length === 0 && feedbacks.length === 0 && !viewportChanged) return;
    const sync = state.sync;
    let damage: Region;
    const shownBefore = child ? this.contentShown : this.announced;
    if (!shownBefore || previous === undefined || previous.width !== buffer.width || previous.height !== buffer.height || !newBuffer) {
      damage = newBuffer ? Region.full(buffer.width, buffer.height) : Region.empty;
    } else {
      damage = this.bufferDamage(state, buffer);
    }
    const resized = previous !== undefined && (previous.width !== buffer.width || previous.height !== buffer.height);
    // Every frame of a fenced buffer waits, re-shown ones too: hold()'s DMA_BUF_IOCTL_SYNC would block on its fences.
    // Explicit sync: the commit's acquire point instead of the buffer's implicit fences.
    const readable = buffer.resource.destroyed ? undefined
      : sync !== undefined ? sync.acquired(this.host.fenceTimeoutMs, this.fenceWaits.signal)
        : buffer.whenReadable?.(this.host.fenceTimeoutMs, this.fenceWaits.signal);
    this.present(() => {
      this.callbacks.push(...callbacks);
      this.replaceFeedbacks(feedbacks);
      if (buffer.resource.destroyed) {
        sync?.release();
        // Contents are gone with their buffer; nothing new to show, but the client waits for its callbacks.
        discardAll(this.feedbacks);
        this.feedbacks = [];
        this.frameDone();
        return;
      }
      let frame: WaylandFrame;
      try {
        frame = new WaylandFrame(this, buffer, damage);
      } catch (e) {
        sync?.release(); // its buffer cannot be read (a fault): nothing holds it
        throw e;
      }
      if (sync !== undefined) releasePoints.set(buffer, [...(releasePoints.get(buffer) ?? []), sync]);
      // The new crop and scale before the frame they show (a scene sets its node's viewport, then the buffer).
      const viewportNews = !sameViewport(viewport, this.shownViewport);
      this.shownViewport = viewport;
      if (viewportNews) this.emit('viewport');
      this.enterOutput();
      if (child) {
        if (resized && this.contentShown) this.emit('resize', this.width, this.height);
        this.contentShown = true;
        // A subsurface's frame goes to whoever draws its parent's tree. A desynchronized one
        // may draw before its parent shows it: the newest such frame waits to be claimed.
        if (this.listenerCount('frame') === 0) {
          this.unclaimed?.release();
          this.unclaimed = frame;
        } else {
          this.emit('frame', frame);
        }
        return;
      }
      if (!this.announced) {
        this.announced = true;
        this.host.announce(this);
      } else if (resized) {
        this.emit('resize', this.width, this.height);
      }
      this.emit('frame', frame);
      this.host.frame(frame);
    }, readable, () => sync?.release());
  }

  /**
   * wl_surface.enter, once, when it first shows pixels: the server has one
   * output, and a client picks its buffer scale from the outputs its surfaces
   * are on (foot, GTK): without enter they draw at scale 1 on a scale-2 output.
   */
  private enterOutput(): void {
    if (this.enteredOutput) return;
    this.enteredOutput = true;
    for (const o of this.host.outputsOf(this.client)) this.resource.post('enter', o.id);
  }

  /** A commit took effect: its feedbacks are the ones an output's present answers; those of the commit it replaced were never shown. */
  private replaceFeedbacks(feedbacks: Resource<unknown>[]): void {
    if (feedbacks.length === 0 && this.feedbacks.length === 0) return;
    discardAll(this.feedbacks);
    this.feedbacks = feedbacks;
  }

  /**
   * Runs a commit's presentation now, or once `readable` resolved and every earlier
   * held-back commit of this surface was presented. A surface destroyed meanwhile
   * presents nothing more; a wait that fails ends the client.
   */
  private present(step: () => void, readable?: Promise<void>, dropped?: () => void): void {
    if (this.presenting === undefined && readable === undefined) {
      step();
      return;
    }
    let ran = false;
    const run = step;
    step = () => {
      ran = true;
      run();
    };
    // Rejections are handled in the chain below; this stops Node reporting one that settles before its turn.
    readable?.catch(() => {});
    const before = this.presenting ?? Promise.resolve();
    const presented: Promise<void> = before.then(() => readable).then(
      () => this.presentLater(step),
      (e: unknown) => {
        if (this.isDestroyed || this.fenceWaits.signal.aborted) return;
        const error = e instanceof BufshareError ? e : new BufshareError('ERR_BUFSHARE_TIMEOUT', String(e));
        this.host.fenceFailed(this, error);
      },
    ).finally(() => {
      // A commit that never took effect (its wait failed, its surface or client went) holds nothing.
      if (!ran) dropped?.();
      if (this.presenting === presented) this.presenting = undefined;
    });
    this.presenting = presented;
  }

  /** A presentation step run from a promise: its errors go where a synchronous request's would. */
  private presentLater(step: () => void): void {
    if (this.isDestroyed || this.client.closed) return;
    try {
      step();
    } catch (e) {
      if (e instanceof ProtocolError) {
        this.client.fail(e);
        return;
      }
      process.nextTick(() => {
        throw e; // a compositor listener threw after a fence wait: as uncaught as when it throws synchronously
      });
    }
  }

  /**
   * The committed viewport against the buffer now current (wp_viewport's
   * commit-time errors), in buffer pixels; undefined without a viewport or a
   * buffer. Surface coordinates are the buffer's divided by its scale
   * (transforms are not shown by the model, so not applied here either).
   */
  private checkedViewport(): ShownViewport | undefined {
    const src = this.viewportSource;
    const dst = this.viewportDestination;
    const buffer = this.buffer;
    if ((src === undefined && dst === undefined) || buffer === undefined) return undefined;
    const s = this.scale;
    if (src !== undefined) {
      if (src.x + src.width > buffer.width / s || src.y + src.height > buffer.height / s) {
        const where = this.viewportResource ?? this.resource;
        throw where.error(VIEWPORT_OUT_OF_BUFFER, `source rectangle ${src.width}x${src.height}+${src.x}+${src.y} reaches past the ${buffer.width / s}x${buffer.height / s} surface-local buffer`);
      }
      if (dst === undefined && (!Number.isInteger(src.width) || !Number.isInteger(src.height))) {
        const where = this.viewportResource ?? this.resource;
        throw where.error(VIEWPORT_BAD_SIZE, `source size ${src.width}x${src.height} is not whole pixels and no destination is set`);
      }
    }
    // Whole buffer pixels: the scene samples whole pixels (nearest-neighbour),
    // so a fractional source is rounded outward (every pixel it touches shows:
    // weston-scaler's one-pixel green edge at x 21.25 of a scale-2 buffer is
    // pixel 42, cut off if rounded to the nearest edge, 43); a source whose
    // size is whole buffer pixels keeps it, starting at the pixel its start
    // falls in (shown 1:1 where no destination scales it, no column dropped).
    let source: Rect | undefined;
    if (src !== undefined) {
      const [x0, x1] = wholePixels(src.x * s, src.width * s, buffer.width);
      const [y0, y1] = wholePixels(src.y * s, src.height * s, buffer.height);
      source = { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
    }
    const size = dst ?? { width: src!.width, height: src!.height };
    return { source, width: size.width, height: size.height };
  }

  /** Surface damage scaled into buffer coordinates (transforms other than normal, and viewports, damage everything), plus buffer damage, clipped. */
  private bufferDamage(state: SurfaceState, buffer: WaylandBuffer): Region {
    let damage = Region.from(state.bufferDamage.map((r) => clampRect(r.x, r.y, r.width, r.height)));
    if (state.surfaceDamage.length > 0) {
      if (this.transform !== 0 || this.shownViewport !== undefined || this.viewportSource !== undefined || this.viewportDestination !== undefined) {
        return Region.full(buffer.width, buffer.height);
      }
      const s = this.scale;
      damage = damage.union(Region.from(state.surfaceDamage.map((r) => clampRect(r.x * s, r.y * s, r.width * s, r.height * s))));
    }
    return damage.clip(buffer.width, buffer.height);
  }

  /** @internal The surface is gone: withdrawn from the compositor, callbacks dropped. */
  destroy(reason: string): void {
    if (this.isDestroyed) return;
    this.isDestroyed = true;
    this.fenceWaitsController?.abort(new BufshareError('ERR_BUFSHARE_CONNECTION_CLOSED', `surface ${this.id} is gone: ${reason}`));
    if (this.parent !== undefined) {
      this.parent.removeChild(this);
      this.parent = undefined;
    }
    for (const child of this.children) child.parent = undefined;
    this.children.length = 0;
    this.stack = ['self'];
    this.pendingStack = undefined;
    this.unclaimed?.release();
    this.unclaimed = undefined;
    // Content updates of a surface that goes are never shown.
    discardAll([...this.pending.feedbacks, ...(this.cached?.feedbacks ?? []), ...this.feedbacks]);
    this.pending.feedbacks = [];
    if (this.cached) this.cached.feedbacks = [];
    this.feedbacks = [];
    // Its popups cannot outlive it; as a popup itself, it leaves its parent.
    for (const p of [...this.popupChildren]) p.dismiss();
    this.detachPopup();
    if (this.announced) {
      this.announced = false;
      this.host.withdraw(this);
    }
    this.emit('destroy', reason);
  }
}

/** A synchronized subsurface's commits folded into one: the older commit's content update is replaced, so its feedbacks are discarded (as weston does). */
function mergeStates(older: SurfaceState, newer: SurfaceState): SurfaceState {
  if (older.feedbacks.length > 0) discardAll(older.feedbacks);
  // A cached buffer replaced before it was ever shown: the compositor is done with it.
  if (newer.buffer !== undefined) older.sync?.release();
  return {
    ...(newer.buffer !== undefined ? (newer.sync ? { sync: newer.sync } : {}) : (older.sync ? { sync: older.sync } : {})),
    buffer: newer.buffer !== undefined ? newer.buffer : older.buffer,
    surfaceDamage: [...older.surfaceDamage, ...newer.surfaceDamage].slice(0, MAX_DAMAGE_RECTS),
    bufferDamage: [...older.bufferDamage, ...newer.bufferDamage].slice(0, MAX_DAMAGE_RECTS),
    callbacks: [...older.callbacks, ...newer.callbacks],
    feedbacks: newer.feedbacks,
    scale: newer.scale ?? older.scale,
    transform: newer.transform ?? older.transform,
    // null (unset) is a change too: only undefined keeps the older one.
    viewportSource: newer.viewportSource !== undefined ? newer.viewportSource : older.viewportSource,
    viewportDestination: newer.viewportDestination !== undefined ? newer.viewportDestination : older.viewportDestination,
  };
}

/** [start, end) in whole pixels for a fractional span [at, at + size) inside [0, limit] (see checkedViewport). */
function wholePixels(at: number, size: number, limit: number): [number, number] {
  let start = Math.min(limit - 1, Math.floor(at));
  if (Number.isInteger(size)) {
    start = Math.max(0, Math.min(start, limit - size));
    return [start, start + Math.max(1, size)];
  }
  return [start, Math.max(start + 1, Math.min(limit, Math.ceil(at + size)))];
}

function sameViewport(a: ShownViewport | undefined, b: ShownViewport | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  const sa = a.source;
  const sb = b.source;
  const sameSource = sa === undefined || sb === undefined ? sa === sb : sa.x === sb.x && sa.y === sb.y && sa.width === sb.width && sa.height === sb.height;
  return sameSource && a.width === b.width && a.height === b.height;
}

/** Clients send INT32_MAX-sized damage to mean "everything": clamp into int32 rectangles Region accepts. */
function clampRect(x: number, y: number, width: number, height: number): Rect {
  const lim = 2 ** 30;
  const cx = Math.max(-lim, Math.min(lim, Math.trunc(x)));
  const cy = Math.max(-lim, Math.min(lim, Math.trunc(y)));
  return { x: cx, y: cy, width: Math.max(0, Math.min(lim, Math.trunc(width))), height: Math.max(0, Math.min(lim, Math.trunc(height))) };
}
