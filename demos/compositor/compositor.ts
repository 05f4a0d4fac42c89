/**
 * Compositor: a BufferServer, a scene and an output, tied together.
 *
 * How am I supposed to use this? `const c = await Compositor.start({ socketPath })`;
 * on every 'composed' event the output's damaged area has new pixels (show them:
 * ViewerServer.publishFrame, or write a PNG); feed pointer input to
 * `c.pointer(input)`. `await c.close()` ends it.
 *
 * Buffer lifetime, as in Wayland: the compositor keeps each surface's newest
 * frame (it may have to repaint from it at any time: a move, an expose) and
 * releases the previous one as soon as a newer one arrives, unless an output
 * still holds it (hold(): a buffer scanned out directly stays on screen until
 * the flip replacing it). frame_done goes to the surfaces that submitted, once
 * per output frame, after it was composed.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { EventEmitter } from 'eventemitter3';
import { BufferServer, type Allocator, type Region } from '../../lib';
import type { CompositorFrame, CompositorSurface, SurfacePointerInput, SurfaceSource } from '../../lib/surface-model';
import { WaylandServer } from '../../lib/wayland/server';
import { createBackground } from './background';
import { compose, type ComposeStats } from './composer';
import { Framebuffer, DEFAULT_OUTPUT_HEIGHT, DEFAULT_OUTPUT_WIDTH } from './framebuffer';
import { FramePacer } from './pacer';
import type { PlacementPolicy } from './placement';
import { PointerRouter, type PointerInput, type SurfacePointerEvent } from './pointer';
import { RateMeter } from './rate-meter';
import { Scene } from './scene';
import type { SurfaceInfo } from './viewer-protocol';
import type { OutputInfo } from '../../lib/wayland/globals/output';

export interface CompositorOptions {
  /** Default `$XDG_RUNTIME_DIR/bufshare-0`. */
  readonly socketPath?: string;
  readonly allocator?: Allocator;
  readonly width?: number;
  readonly height?: number;
  /** Output refresh rate: compositions and frame_done per second. Default 60. */
  readonly refreshHz?: number;
  readonly placement?: PlacementPolicy;
  /**
   * Also listen for Wayland clients: a name in $XDG_RUNTIME_DIR or an absolute
   * path (what clients put in WAYLAND_DISPLAY). Unset: no Wayland socket.
   */
  readonly wayland?: string;
  /**
   * What wl_output says beyond the size: a KMS output's describe() (connector name,
   * make, model, physical size, the mode's exact rate). Default: a virtual output.
   */
  readonly outputInfo?: Partial<OutputInfo>;
}

export interface CompositorEvents {
  /** The output changed in `damage` (output coordinates) at output frame `frame`. */
  composed: [damage: Region, stats: ComposeStats, frame: number];
  /** Every output frame (refresh tick), composed or not: a still scene has ticks but no 'composed'. */
  tick: [frame: number];
  /** Surfaces came, went, moved, or their rates changed: what a viewer's title bars show. */
  surfaces: [surfaces: SurfaceInfo[]];
}

/** How often the per-surface rates are republished. */
const INFO_INTERVAL_MS = 500;

interface Entry {
  /** Scene id: unique in this compositor (surface ids are per client). */
  readonly id: number;
  readonly surface: CompositorSurface;
  title: string;
  readonly meter: RateMeter;
  /** The newest frame, shown until the next one arrives. */
  frame: CompositorFrame | undefined;
  /** Submitted since the last output frame: owed a frame_done. */
  owed: boolean;
}

export class Compositor extends EventEmitter<CompositorEvents> {
  readonly server: BufferServer;
  /** The Wayland front door, when asked for (options.wayland). */
  readonly wayland: WaylandServer | undefined;
  readonly output: Framebuffer;
  readonly scene: Scene;
  readonly refreshHz: number;
  private readonly background: Framebuffer;
  private readonly entries = new Map<CompositorSurface, Entry>();
  private readonly byId = new Map<number, Entry>();
  private readonly router: PointerRouter;
  private readonly pacer: FramePacer;
  private nextId = 1;
  /** Frames an output still shows (hold()): how many holds each, released when the last ends. */
  private readonly holds = new Map<CompositorFrame, number>();
  /** Held frames the compositor no longer needs: released when their last hold ends. */
  private readonly dropped = new Set<CompositorFrame>();
  /** The surface keys go to: the last one clicked. */
  private keyboardFocus: number | undefined;
  private lastInfo = 0;
  private infoDirty = true;
  private closed = false;

  private constructor(server: BufferServer, wayland: WaylandServer | undefined, options: CompositorOptions) {
    super();
    this.server = server;
    this.wayland = wayland;
    const width = options.width ?? DEFAULT_OUTPUT_WIDTH;
    const height = options.height ?? DEFAULT_OUTPUT_HEIGHT;
    this.output = new Framebuffer(width, height);
    this.background = createBackground(width, height);
    this.scene = new Scene(width, height, options.placement ?? 'tile');
    this.refreshHz = options.refreshHz ?? 60;
    this.router = new PointerRouter(this.scene, (id, event) => {
      if (event.action === 'down') this.focusKeyboard(id);
      this.entryById(id)?.surface.pointer(pointerInput(event));
    });
    this.pacer = new FramePacer(this.refreshHz, (n) => this.tick(n));
    // One model: bufshare and Wayland surfaces are taken the same way, with no branch on their origin.
    const sources: SurfaceSource[] = wayland === undefined ? [server] : [server, wayland];
    for (const source of sources) {
      source.on('surface', (s) => this.addSurface(s));
      source.on('frame', (f) => this.onFrame(f));
      source.on('surfaceDestroyed', (s) => this.removeSurface(s));
    }
    this.pacer.start();
  }

  static async start(options: CompositorOptions = {}): Promise<Compositor> {
    const server = await BufferServer.listen({ path: options.socketPath, allocator: options.allocator });
    let wayland: WaylandServer | undefined;
    if (options.wayland !== undefined) {
      try {
        wayland = WaylandServer.listen({
          name: options.wayland,
          output: {
            refreshMilliHz: (options.refreshHz ?? 60) * 1000, ...options.outputInfo,
            width: options.width ?? DEFAULT_OUTPUT_WIDTH, height: options.height ?? DEFAULT_OUTPUT_HEIGHT,
          },
        });
      } catch (e) {
        await server.close();
        throw e;
      }
    }
    return new Compositor(server, wayland, options);
  }

  /** Keyboard input (evdev key codes) for the focused surface (the last one clicked). */
  key(key: number, pressed: boolean): void {
    const entry = this.keyboardFocus === undefined ? undefined : this.entryById(this.keyboardFocus);
    entry?.surface.keyboard({ action: 'key', key, pressed });
  }

  /** Gives the keyboard to a surface (a click on it, or a viewer's raise). */
  focusKeyboard(id: number): void {
    if (this.keyboardFocus === id) return;
    const old = this.keyboardFocus === undefined ? undefined : this.entryById(this.keyboardFocus);
    old?.surface.keyboard({ action: 'leave' });
    const next = this.entryById(id);
    this.keyboardFocus = next === undefined ? undefined : id;
    next?.surface.keyboard({ action: 'enter' });
  }

  get socketPath(): string {
    return this.server.path;
  }

  /** Output frames (pacer ticks) so far. */
  get frames(): number {
    return this.pacer.frames;
  }

  /** Pointer input in output coordinates (from a viewer). */
  pointer(input: PointerInput): void {
    this.router.handle(input);
  }

  /** Moves a surface's top-left corner (a viewer dragging its title bar). Unknown ids are ignored. */
  move(id: number, x: number, y: number): void {
    if (!this.scene.get(id)) return;
    this.scene.move(id, x, y);
    this.infoDirty = true;
  }

  raise(id: number): void {
    if (!this.scene.get(id)) return;
    this.scene.raise(id);
    this.focusKeyboard(id);
    this.infoDirty = true;
  }

  /** Per surface, bottom to top: what a viewer shows. */
  surfaceInfo(now = performance.now()): SurfaceInfo[] {
    const out: SurfaceInfo[] = [];
    for (const s of this.scene.surfaces) {
      const e = this.entryById(s.id);
      if (!e || !s.shown) continue;
      out.push({
        id: s.id, title: e.title, pid: e.surface.client.pid, kind: e.surface.kind, access: e.surface.access,
        format: e.surface.format.name, x: s.x, y: s.y, width: s.width, height: s.height, fps: Math.round(e.meter.rate(now)),
      });
    }
    return out;
  }

  /**
   * The frame an output may scan out instead of composing: the topmost shown
   * surface's, when it is opaque and covers the output exactly (so nothing else
   * is visible). Undefined otherwise.
   */
  fullscreenFrame(): CompositorFrame | undefined {
    const shown = this.scene.surfaces.filter((s) => s.shown);
    const top = shown[shown.length - 1];
    if (!top || !top.opaque || top.x !== 0 || top.y !== 0 || top.width !== this.output.width || top.height !== this.output.height) return undefined;
    return this.entryById(top.id)?.frame;
  }

  /**
   * Keeps a frame from going back to its client even when a newer one replaces
   * it (an output that scans the buffer out directly holds it until the flip
   * taking it off screen). Returns the function that ends this hold.
   */
  hold(frame: CompositorFrame): () => void {
    this.holds.set(frame, (this.holds.get(frame) ?? 0) + 1);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      const left = (this.holds.get(frame) ?? 1) - 1;
      if (left > 0) {
        this.holds.set(frame, left);
        return;
      }
      this.holds.delete(frame);
      if (this.dropped.delete(frame)) frame.release();
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.pacer.stop();
    for (const e of this.entries.values()) if (e.frame) this.drop(e.frame);
    this.entries.clear();
    this.byId.clear();
    await this.wayland?.close();
    await this.server.close();
  }

  private addSurface(surface: CompositorSurface): void {
    const id = this.nextId++;
    const entry: Entry = { id, surface, title: titleOf(surface), meter: new RateMeter(), frame: undefined, owed: false };
    surface.on('title', () => {
      entry.title = titleOf(surface);
      this.infoDirty = true;
    });
    this.entries.set(surface, entry);
    this.byId.set(id, entry);
    this.scene.add(id, surface.width, surface.height, surface.format);
    surface.on('resize', (w, h) => {
      this.scene.resize(id, w, h);
      this.infoDirty = true;
    });
    this.infoDirty = true;
  }

  private onFrame(frame: CompositorFrame): void {
    const entry = this.entries.get(frame.surface);
    if (!entry) {
      frame.release();
      return;
    }
    const previous = entry.frame;
    entry.frame = frame;
    const first = previous === undefined;
    this.scene.attach(entry.id, frame.region, frame.damage);
    // The scene now reads the new buffer: the old one goes back to the client.
    if (previous && previous !== frame) this.drop(previous);
    entry.owed = true;
    entry.meter.record(performance.now());
    if (first) this.infoDirty = true;
  }

  private removeSurface(surface: CompositorSurface): void {
    const entry = this.entries.get(surface);
    if (!entry) return;
    if (this.keyboardFocus === entry.id) this.keyboardFocus = undefined;
    this.entries.delete(surface);
    this.byId.delete(entry.id);
    this.scene.remove(entry.id);
    this.router.surfaceRemoved(entry.id);
    if (entry.frame) this.drop(entry.frame);
    this.infoDirty = true;
  }

  /** The compositor is done with a frame: back to its client now, or when the last hold ends. */
  private drop(frame: CompositorFrame): void {
    if (this.holds.has(frame)) this.dropped.add(frame);
    else frame.release();
  }

  private tick(n: number): void {
    const damage = this.scene.takeDamage();
    if (!damage.isEmpty) {
      const stats = compose(this.scene, this.output, this.background, damage);
      this.emit('composed', damage, stats, n);
    }
    this.emit('tick', n);
    for (const e of this.entries.values()) {
      if (!e.owed) continue;
      e.owed = false;
      if (!e.surface.destroyed) e.surface.frameDone();
    }
    const now = performance.now();
    if (this.infoDirty || now - this.lastInfo >= INFO_INTERVAL_MS) {
      this.infoDirty = false;
      this.lastInfo = now;
      this.emit('surfaces', this.surfaceInfo(now));
    }
  }

  private entryById(id: number): Entry | undefined {
    return this.byId.get(id);
  }
}

/** The surface's title (bufshare: the hello's name; Wayland: xdg_toplevel's title or app id), else its program's name (from /proc), else "client <pid>". */
function titleOf(surface: CompositorSurface): string {
  const client = surface.client;
  if (surface.title) return surface.title.slice(0, 64);
  try {
    const args = readFileSync(`/proc/${client.pid}/cmdline`, 'utf8').split('\0');
    const script = args.find((a) => /\.(ts|js|mjs|cjs)$/.test(a));
    if (script) return basename(script).replace(/\.[^.]+$/, '');
  } catch {
    // the process is gone already, or not ours to read
  }
  return `client ${client.pid}`;
}

/** The router's event as the shared model's pointer input (the same payload bufshare clients always got). */
function pointerInput(e: SurfacePointerEvent): SurfacePointerInput {
  if (e.action === 'down' || e.action === 'up') return { action: e.action, x: e.x, y: e.y, buttons: e.buttons, button: e.button ?? 0 };
  return { action: e.action, x: e.x, y: e.y, buttons: e.buttons };
}
