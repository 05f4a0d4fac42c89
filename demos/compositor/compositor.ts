/**
 * The demo compositor: a BufferServer (and a Wayland server when asked), one
 * bufshare/scene with a window layer, a seat, and the viewer's output.
 *
 * How am I supposed to use this? `const c = await Compositor.start({ socketPath })`;
 * on every 'composed' event the output's damaged area has new pixels (show them:
 * ViewerServer.publishFrame, or write a PNG); feed pointer input to
 * `c.pointer(input)`. `await c.close()` ends it. A KMS screen is another output
 * of the same scene (KmsSceneOutput); the demo never asks where a window's
 * buffers came from.
 *
 * What is demo here and not library: where windows open (placement.ts), the
 * background grid, the per-window rates and titles the viewer shows.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { EventEmitter } from 'eventemitter3';
import { BufferServer, type Allocator, type Region } from '../../lib';
import { followSource, FramePacer, Scene, SceneBuffer, SceneSeat, SceneSurface, type RenderStats, type SceneOutput, type SceneRect, type SceneTree } from '../../lib/scene';
import type { CompositorSurface, SurfaceSource, WindowRequest } from '../../lib/surface-model';
import { WaylandServer } from '../../lib/wayland/server';
import { BACKGROUND_COLOR, createBackground } from './background';
import { Framebuffer, DEFAULT_OUTPUT_HEIGHT, DEFAULT_OUTPUT_WIDTH } from './framebuffer';
import { placeSurface, DEFAULT_PLACEMENT, type PlacementPolicy } from './placement';
import { RateMeter } from './rate-meter';
import type { PointerInput, SurfaceInfo } from './viewer-protocol';
import type { OutputInfo } from '../../lib/wayland/globals/output';

export interface CompositorOptions {
  /** Default `$XDG_RUNTIME_DIR/bufshare-0`. */
  readonly socketPath?: string;
  readonly allocator?: Allocator;
  readonly width?: number;
  readonly height?: number;
  /** The viewer output's refresh rate: compositions and frame callbacks per second. Default 60. */
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
  /** Draw the pointer into the output (a KMS screen needs it; the browser viewer shows its own). Default false. */
  readonly cursor?: boolean;
  /**
   * Output pixels per layout unit (1 or 2; default 1). At 2, Wayland clients are
   * told so and draw twice as many pixels (shown 1:1); the rest is doubled.
   * The viewer and PNG stay in output pixels.
   */
  readonly scale?: number;
}

export type ComposeStats = RenderStats;

export interface CompositorEvents {
  /** The output changed in `damage` (output coordinates) at output frame `frame`. */
  composed: [damage: Region, stats: ComposeStats, frame: number];
  /** Every output frame (refresh tick), composed or not: a still scene has ticks but no 'composed'. */
  tick: [frame: number];
  /** Surfaces came, went, moved, or their rates changed: what a viewer's title bars show. */
  surfaces: [surfaces: SurfaceInfo[]];
}

/** The title bar the demo draws for windows it decorates: the height placement keeps free above each window. */
const TITLE_BAR_HEIGHT = DEFAULT_PLACEMENT.titleHeight;
const TITLE_BAR_COLOR = 0xff3b4252;

/** How often the per-surface rates are republished. */
const INFO_INTERVAL_MS = 500;

interface Window {
  /** Unique in this compositor (surface ids are per client). */
  readonly id: number;
  readonly view: SceneSurface;
  title: string;
  readonly meter: RateMeter;
  /** Has shown a frame (the viewer lists it from then on). */
  shown: boolean;
}

export class Compositor extends EventEmitter<CompositorEvents> {
  readonly server: BufferServer;
  /** The Wayland front door, when asked for (options.wayland). */
  readonly wayland: WaylandServer | undefined;
  readonly scene: Scene;
  /** The viewer's (and the PNG's) output: the whole layout, composed at each tick into `framebuffer`. */
  readonly output: SceneOutput;
  readonly framebuffer: Framebuffer;
  readonly seat: SceneSeat;
  readonly refreshHz: number;
  private readonly windows: SceneTree;
  private readonly byView = new Map<SceneSurface, Window>();
  private readonly byId = new Map<number, Window>();
  private readonly pacer: FramePacer;
  private readonly policy: PlacementPolicy;
  private nextId = 1;
  private lastInfo = 0;
  private infoDirty = true;
  private closed = false;

  private constructor(server: BufferServer, wayland: WaylandServer | undefined, options: CompositorOptions) {
    super();
    this.server = server;
    this.wayland = wayland;
    const width = options.width ?? DEFAULT_OUTPUT_WIDTH;
    const height = options.height ?? DEFAULT_OUTPUT_HEIGHT;
    this.policy = options.placement ?? 'tile';
    this.refreshHz = options.refreshHz ?? 60;
    this.scene = new Scene({ background: BACKGROUND_COLOR });
    this.output = this.scene.addOutput({ name: 'viewer', width, height, scale: options.scale ?? 1 });
    this.framebuffer = new Framebuffer(width, height);
    // The grid is a plain buffer at the bottom of the scene, like a wallpaper, in output pixels.
    const grid = createBackground(width, height);
    this.scene.createBuffer(this.scene.root, new SceneBuffer(grid.region, () => {})).setBufferScale(this.output.scale);
    this.windows = this.scene.createTree();
    this.seat = new SceneSeat(this.scene, { cursor: options.cursor ?? false });
    this.seat.on('press', (view) => this.raiseView(view));
    this.pacer = new FramePacer(this.refreshHz, (n) => this.tick(n));
    // One model: bufshare and Wayland surfaces are taken the same way, with no branch on their origin.
    const sources: SurfaceSource[] = wayland === undefined ? [server] : [server, wayland];
    for (const source of sources) followSource(this.scene, source, this.windows, (view) => this.addWindow(view));
    this.pacer.start();
  }

  static async start(options: CompositorOptions = {}): Promise<Compositor> {
    const server = BufferServer.listen({ path: options.socketPath, allocator: options.allocator });
    let wayland: WaylandServer | undefined;
    if (options.wayland !== undefined) {
      try {
        wayland = WaylandServer.listen({
          name: options.wayland,
          // The demo draws title bars: windows that let it (foot, kitty, alacritty) skip their own.
          decorations: 'server',
          output: {
            refreshMilliHz: (options.refreshHz ?? 60) * 1000, ...options.outputInfo,
            width: options.width ?? DEFAULT_OUTPUT_WIDTH, height: options.height ?? DEFAULT_OUTPUT_HEIGHT, scale: options.scale ?? 1,
          },
        });
      } catch (e) {
        await server.close();
        throw e;
      }
    }
    return new Compositor(server, wayland, options);
  }

  get socketPath(): string {
    return this.server.path;
  }

  /** Output frames (pacer ticks) so far. */
  get frames(): number {
    return this.pacer.frames;
  }

  /** Keyboard input (evdev key codes) for the focused surface (the last one clicked). */
  key(key: number, pressed: boolean): void {
    this.seat.key(key, pressed);
  }

  /** Gives the keyboard to a window (a click on it, or a viewer's raise). */
  focusKeyboard(id: number): void {
    this.seat.focusKeyboard(this.byId.get(id)?.view);
  }

  /** Pointer input in output pixels (from a viewer). */
  pointer(input: PointerInput): void {
    const s = this.output.scale;
    const x = input.x / s;
    const y = input.y / s;
    this.seat.pointer(input.action === 'down' || input.action === 'up' ? { ...input, x, y, action: input.action, button: input.button ?? 0 } : { action: input.action, x, y, buttons: input.buttons });
  }

  /**
   * Moves a window's top-left corner (a viewer dragging its title bar), clamped
   * to the output: the corner (and the title bar the viewer draws there) stays
   * reachable. Unknown ids are ignored.
   */
  move(id: number, x: number, y: number): void {
    const w = this.byId.get(id);
    if (!w) return;
    const { width, height } = this.output.rect;
    const s = this.output.scale;
    w.view.tree.setPosition(clamp(Math.round(x / s), 0, width - 1), clamp(Math.round(y / s), 0, height - 1));
    this.infoDirty = true;
  }

  raise(id: number): void {
    const w = this.byId.get(id);
    if (!w) return;
    // A minimized window comes back when raised (from the viewer's list).
    w.view.tree.setEnabled(true);
    this.infoDirty = true;
    this.raiseView(w.view);
    this.seat.focusKeyboard(w.view);
  }

  /** Per window with pixels, bottom to top, in output pixels: what a viewer shows. */
  surfaceInfo(now = performance.now()): SurfaceInfo[] {
    const out: SurfaceInfo[] = [];
    const k = this.output.scale;
    for (const node of this.windows.children) {
      const w = node.data instanceof SceneSurface ? this.byView.get(node.data) : undefined;
      if (!w || !w.view.mapped) continue;
      const s = w.view.surface;
      out.push({
        id: w.id, title: w.title, pid: s.client.pid, kind: s.kind, access: s.access, format: s.format.name,
        x: node.x * k, y: node.y * k, width: w.view.node.width * k, height: w.view.node.height * k, scale: s.bufferScale ?? 1, minimized: !node.enabled, fps: Math.round(w.meter.rate(now)),
      });
    }
    return out;
  }

  /** The buffer a display plane could show instead of a composition of the viewer's output (see SceneOutput.scanoutBuffer). */
  scanoutBuffer(): SceneBuffer | undefined {
    return this.output.scanoutBuffer();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.pacer.stop();
    for (const w of [...this.byView.values()]) w.view.destroy();
    await this.wayland?.close();
    await this.server.close();
  }

  private addWindow(view: SceneSurface): void {
    const id = this.nextId++;
    const surface = view.surface;
    const w: Window = { id, view, title: titleOf(surface), meter: new RateMeter(), shown: false };
    this.byView.set(view, w);
    this.byId.set(id, w);
    // Placed in layout units: a scale-2 client's buffer is twice its size there.
    const spot = placeSurface(this.policy, this.output.rect, this.placedRects(view), layoutSize(surface), DEFAULT_PLACEMENT);
    view.tree.setPosition(spot.x, spot.y);
    // A new window has the keyboard, as in most desktops (wl-copy and wl-paste wait for it).
    this.seat.focusKeyboard(view);
    const onTitle = (): void => {
      w.title = titleOf(surface);
      this.infoDirty = true;
    };
    const onFrame = (): void => {
      w.meter.record(performance.now());
      if (!w.shown) this.infoDirty = true;
      w.shown = true;
    };
    const onResize = (): void => {
      this.infoDirty = true;
    };
    // A title bar above a window whose client lets the compositor decorate it (xdg-decoration).
    let bar: SceneRect | undefined;
    const decorate = (): void => {
      const wanted = surface.decoration === 'server';
      if (wanted && bar === undefined) {
        bar = this.scene.createRect(1, TITLE_BAR_HEIGHT, TITLE_BAR_COLOR, view.tree);
        bar.lowerToBottom();
        bar.setPosition(0, -TITLE_BAR_HEIGHT);
      } else if (!wanted && bar !== undefined) {
        bar.destroy();
        bar = undefined;
      }
      bar?.setSize(Math.max(1, view.node.width), TITLE_BAR_HEIGHT);
    };
    surface.on('decoration', decorate);
    surface.on('frame', decorate);
    decorate();
    // What the client asks of its window: maximized (the output under the title bar),
    // fullscreen (the whole output: a KMS screen may scan it out), back, or moved with the pointer.
    let restore: { x: number; y: number } | undefined;
    const onRequest = (r: WindowRequest): void => {
      const out = this.output.rect;
      switch (r.kind) {
        case 'maximize':
        case 'fullscreen': {
          restore ??= { x: view.tree.x, y: view.tree.y };
          const full = r.kind === 'fullscreen';
          const top = full || surface.decoration !== 'server' ? 0 : TITLE_BAR_HEIGHT;
          view.tree.setPosition(0, top);
          surface.configure?.(out.width, out.height - top, full ? { fullscreen: true } : { maximized: true });
          break;
        }
        case 'unmaximize':
        case 'unfullscreen':
          if (restore) view.tree.setPosition(restore.x, restore.y);
          restore = undefined;
          surface.configure?.(0, 0, {});
          break;
        case 'move':
          this.seat.startMove(view);
          break;
        case 'activate':
          // xdg-activation with a valid token (a launcher handed it on): focus and raise; a minimized window comes back.
          view.tree.setEnabled(true);
          this.raiseView(view);
          this.seat.focusKeyboard(view);
          break;
        case 'resize':
          this.seat.startResize(view, r.edges);
          break;
        case 'minimize':
          // Hidden until the viewer raises it (its list keeps it) or the client asks to be activated.
          view.tree.setEnabled(false);
          if (this.seat.keyboardFocused?.root === view) this.seat.focusKeyboard(undefined);
          break;
        default:
          break;
      }
      this.infoDirty = true;
    };
    surface.on('windowRequest', onRequest);
    // Asked before it was shown (foot --fullscreen): granted now.
    if (surface.wantedState?.fullscreen) onRequest({ kind: 'fullscreen' });
    else if (surface.wantedState?.maximized) onRequest({ kind: 'maximize' });
    surface.on('title', onTitle);
    surface.on('frame', onFrame);
    surface.on('resize', onResize);
    view.tree.once('destroy', () => {
      surface.off('title', onTitle);
      surface.off('frame', onFrame);
      surface.off('resize', onResize);
      surface.off('decoration', decorate);
      surface.off('windowRequest', onRequest);
      surface.off('frame', decorate);
      this.byView.delete(view);
      this.byId.delete(id);
      this.infoDirty = true;
    });
    this.infoDirty = true;
  }

  /** Where the other windows are, for placement. */
  private placedRects(except: SceneSurface): { x: number; y: number; width: number; height: number }[] {
    const rects = [];
    for (const w of this.byView.values()) {
      if (w.view === except) continue;
      const t = w.view.tree;
      const size = layoutSize(w.view.surface);
      rects.push({ x: t.x, y: t.y, width: w.view.node.width || size.width, height: w.view.node.height || size.height });
    }
    return rects;
  }

  private raiseView(view: SceneSurface): void {
    view.tree.raiseToTop();
    this.infoDirty = true;
  }

  private tick(n: number): void {
    if (this.output.needsFrame) {
      const { damage, stats } = this.output.render(this.framebuffer.region, 1);
      this.emit('composed', damage, stats, n);
    }
    this.output.present(performance.now());
    this.emit('tick', n);
    const now = performance.now();
    if (this.infoDirty || now - this.lastInfo >= INFO_INTERVAL_MS) {
      this.infoDirty = false;
      this.lastInfo = now;
      this.emit('surfaces', this.surfaceInfo(now));
    }
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

function clamp(v: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, v));
}

/** A surface's size on the layout before its node has a buffer: its buffer's over its scale. */
function layoutSize(surface: CompositorSurface): { width: number; height: number } {
  const scale = surface.bufferScale ?? 1;
  return { width: Math.ceil(surface.width / scale), height: Math.ceil(surface.height / scale) };
}
