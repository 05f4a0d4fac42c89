/**
 * The one surface/frame model a compositor sees, whatever protocol a client
 * speaks: bufshare's own (lib/ipc) or Wayland (lib/wayland).
 *
 * How am I supposed to use this? Subscribe once per source:
 *
 *   for (const source of [bufferServer, waylandServer]) {
 *     source.on('surface', (s) => show(s));            // s.width, s.height, s.format, s.title
 *     source.on('frame', (f) => {                      // f.region inside f.damage (buffer coordinates)
 *       composite(f.region, f.damage);
 *       previous?.release();                           // the client may reuse that buffer
 *       f.surface.frameDone();                         // and should draw its next frame
 *     });
 *     source.on('surfaceDestroyed', (s) => hide(s));
 *   }
 *   surface.pointer({ action: 'motion', x, y, buttons: 0 });   // surface-local coordinates
 *   surface.keyboard({ action: 'key', key: 30, pressed: true }); // evdev key codes (30 = KEY_A)
 *
 * Nothing here asks where a surface came from: ServerSurface/Frame (bufshare)
 * and WaylandSurface/WaylandFrame implement these interfaces, and input maps to
 * each protocol's own wire (bufshare's event channel, wl_seat).
 */
import type { EventEmitter } from 'eventemitter3';
import type { BufferKind, ClientAccess } from './descriptor';
import type { FormatInfo } from './format';
import type { GraphicsRegion } from './mapping/graphics-region';
import type { Rect, Region } from './region';

/**
 * Text for a surface from outside its keyboard: an input method, an on-screen
 * keyboard, the browser viewer's composition (Wayland text-input). Offsets are
 * UTF-8 bytes, as the protocols count them.
 */
export type SurfaceTextInput =
  /** Text being composed, shown by the client in place (replaces the previous preedit; '' clears it). */
  | { readonly action: 'preedit'; readonly text: string; readonly cursorBegin?: number; readonly cursorEnd?: number }
  /** Text to insert at the cursor (ends any preedit). */
  | { readonly action: 'commit'; readonly text: string }
  /** Bytes to delete around the cursor. */
  | { readonly action: 'deleteSurrounding'; readonly before: number; readonly after: number };

/** What a surface's text field tells about itself (CompositorSurface.textInputState). */
export interface TextInputState {
  /** A text field has focus and takes text (text-input enabled). */
  readonly enabled: boolean;
  /** The text around the cursor, as the client last said (bounded); undefined if it did not. */
  readonly surroundingText: string | undefined;
  /** Cursor and selection anchor, UTF-8 byte offsets into surroundingText. */
  readonly cursor: number;
  readonly anchor: number;
  /** text-input's content hint bits and purpose (a password field: purpose 8). */
  readonly contentHint: number;
  readonly contentPurpose: number;
  /** Where the cursor is drawn, surface-local (to place a candidate window), if known. */
  readonly cursorRectangle: Rect | undefined;
}

/**
 * A drag (Wayland wl_data_device.start_drag), as a seat carries it: 'start'
 * to the surface that began it (the seat takes it over; a drag nobody starts
 * is cancelled), then enter / motion / leave to the surfaces under the pointer
 * (surface-local), and 'drop' to the one under it when the button comes up, or
 * 'cancel' to the origin.
 */
export type SurfaceDragInput =
  | { readonly action: 'start' | 'leave' | 'drop' | 'cancel' }
  | { readonly action: 'enter' | 'motion'; readonly x: number; readonly y: number };

/**
 * The pointer image a client wants over its surface: its own `surface` at
 * `hotspot`; a named `shape` the compositor draws from its own images
 * (Wayland cursor-shape: 'default', 'text', 'pointer', 'crosshair', ...,
 * the CSS cursor names with '_' for '-'); or neither (surface null, no shape):
 * no pointer shown.
 */
export interface SurfaceCursor {
  readonly surface: CompositorSurface | null;
  readonly hotspotX: number;
  readonly hotspotY: number;
  readonly shape?: string;
}

/** A pointer lock or confinement (CompositorSurface.pointerConstraint). */
export interface PointerConstraint {
  readonly kind: 'lock' | 'confine';
  /** Surface-local, in surface units; undefined: the whole surface. */
  readonly region: Region | undefined;
  /** In force now. */
  readonly active: boolean;
}

/** Pointer input, in surface-local coordinates. Buttons as DOM MouseEvent.buttons/button (0 primary, 1 middle, 2 secondary). */
export type SurfacePointerInput =
  | { readonly action: 'enter' | 'leave'; readonly x: number; readonly y: number; readonly buttons: number }
  /**
   * `dx`, `dy`: the motion as the device made it (surface units, unbounded by
   * edges or a pointer lock), for relative-pointer clients (games, 3D views);
   * absent, only the position is known.
   */
  | { readonly action: 'motion'; readonly x: number; readonly y: number; readonly buttons: number; readonly dx?: number; readonly dy?: number }
  | { readonly action: 'down' | 'up'; readonly x: number; readonly y: number; readonly buttons: number; readonly button: number }
  | { readonly action: 'axis'; readonly x: number; readonly y: number; readonly buttons: number; readonly axis: 'vertical' | 'horizontal'; readonly value: number };

/**
 * Touch input, in surface-local coordinates: each touch point (`id`, unique
 * while it is down) goes to the surface it went down on until it is up; a
 * 'frame' ends a set of changes that happened at once; 'cancel' takes every
 * point of this surface back (the compositor took the gesture).
 */
export type SurfaceTouchInput =
  | { readonly action: 'down' | 'motion'; readonly id: number; readonly x: number; readonly y: number }
  | { readonly action: 'up'; readonly id: number }
  | { readonly action: 'frame' | 'cancel' };

/** Keyboard input. `key` is a Linux evdev key code (KEY_A = 30); modifiers follow xkb's default mask bits (Shift 1, Lock 2, Control 4, Mod1 8). */
export type SurfaceKeyboardInput =
  | { readonly action: 'enter' | 'leave' }
  | { readonly action: 'key'; readonly key: number; readonly pressed: boolean }
  | { readonly action: 'modifiers'; readonly depressed: number; readonly latched: number; readonly locked: number; readonly group: number };

/** Who drew the surface. */
export interface SurfaceOwner {
  /** Unique in its server. */
  readonly id: number;
  readonly pid: number;
  /** A name the client gave itself, if any. */
  readonly name: string | undefined;
}

export interface CompositorSurfaceEvents {
  /** A frame of this surface (a toplevel's is also emitted by its server). */
  frame: [frame: CompositorFrame];
  /** The content went away (attach(NULL)) but the surface lives on: a subsurface hides until its next frame. */
  unmap: [];
  /** Its subsurfaces came, went, moved or were restacked (read `subsurfaces`). */
  subsurfaces: [];
  /** Its popups came, went or moved (read `popups`). */
  popups: [];
  /** The cursor its client wants over it changed (read `cursor`). */
  cursor: [];
  /** Who draws the window's title bar and borders changed (read `decoration`). */
  decoration: [];
  /** The client asks the compositor to change its window (xdg_toplevel set_maximized, set_fullscreen, move, ...). */
  windowRequest: [request: WindowRequest];
  resize: [width: number, height: number];
  /** Its crop and scale changed (read `viewport`); emitted before the frame that shows them. */
  viewport: [];
  /** A pointer constraint came or went (read `pointerConstraint`). */
  pointerConstraint: [];
  /** Its text field was enabled, disabled or told new surrounding text (read `textInputState`). */
  textInput: [];
  /** Its client began dragging from it (a press is held on it): a seat carries the drag with dragInput('start', ...). `icon` is drawn at the pointer meanwhile. */
  drag: [drag: { readonly icon: CompositorSurface | null }];
  destroy: [reason: string];
  /** The title or app id changed. */
  title: [title: string | undefined];
}

/** A child surface drawn with its parent (a Wayland subsurface), at (x, y) of the parent's buffer. */
export interface SubsurfacePlacement {
  readonly surface: CompositorSurface;
  readonly x: number;
  readonly y: number;
}

/** What a client may ask of its window; the compositor decides (configure(), or moving it). */
export type WindowRequest =
  | { readonly kind: 'maximize' | 'unmaximize' | 'fullscreen' | 'unfullscreen' | 'minimize' | 'move' }
  /** Focus and raise it (xdg_activation_v1 with a valid token). */
  | { readonly kind: 'activate' }
  | { readonly kind: 'resize'; readonly edges: number };

/** A window's state as configure() tells its client. */
export interface WindowState {
  readonly activated?: boolean;
  readonly maximized?: boolean;
  readonly fullscreen?: boolean;
}

export interface CompositorSurface extends EventEmitter<CompositorSurfaceEvents> {
  /** The client's id for it (unique per client, not per server). */
  readonly id: number;
  readonly client: SurfaceOwner;
  /** The buffer's size, in pixels. */
  readonly width: number;
  readonly height: number;
  /**
   * Buffer pixels per surface unit, each way (Wayland wl_surface.set_buffer_scale;
   * absent: 1). A surface's own units are its buffer's pixels over this: what
   * positions, viewports, hotspots and pointer input are measured in, and what a
   * scene lays out (a scale-2 buffer shows 1:1 on a scale-2 output).
   */
  readonly bufferScale?: number;
  readonly format: FormatInfo;
  /** Where its buffers' memory comes from ('shm' for Wayland wl_shm). */
  readonly kind: BufferKind;
  /** 'direct': the compositor reads the client's memory (zero copy). */
  readonly access: ClientAccess;
  readonly destroyed: boolean;
  /** A title the client set (xdg_toplevel.set_title), if any. */
  readonly title: string | undefined;
  /** An application id the client set (xdg_toplevel.set_app_id), if any. */
  readonly appId: string | undefined;
  /**
   * Child surfaces, bottom to top, those drawn below this surface's own buffer
   * and those drawn above it (Wayland subsurfaces, as of the parent's last
   * commit), at positions in this surface's units. Undefined or empty for
   * sources without them.
   */
  readonly subsurfaces?: { readonly below: readonly SubsurfacePlacement[]; readonly above: readonly SubsurfacePlacement[] };
  /**
   * A frame that came before anyone listened for this surface's frames (a
   * subsurface that drew before its parent showed it), once; the taker
   * releases it. Undefined when there is none.
   */
  claimFrame?(): CompositorFrame | undefined;
  /**
   * The crop and scale its client asked for (Wayland wp_viewporter): the
   * buffer's `source` rectangle (in buffer pixels, whole ones; undefined: all
   * of it) shown at `width` x `height` surface units. Undefined, or absent for
   * sources without viewports: the buffer at its size over `bufferScale`.
   */
  readonly viewport?: { readonly source: Rect | undefined; readonly width: number; readonly height: number };
  /** Popups of this surface (menus, tooltips: Wayland xdg_popup), oldest first (drawn above it and its subsurfaces), at their places in this surface (its units). */
  readonly popups?: readonly SubsurfacePlacement[];
  /** This is a popup holding an explicit grab: a press outside its client's surfaces should dismiss it. */
  readonly popupGrab?: boolean;
  /** Closes a popup and the popups above it (xdg_popup.popup_done); a no-op for other surfaces. */
  dismiss?(): void;
  /**
   * The compositor says where this window may place its popups (the output it is
   * on), surface-local, through a function asked each time a popup is placed.
   */
  setBoundsProvider?(provider: () => Rect | undefined): void;
  /**
   * The pointer image the client wants while the pointer is over this surface
   * (wl_pointer.set_cursor): a surface with its hotspot, surface null to hide the
   * pointer; undefined: the compositor's own cursor.
   */
  readonly cursor?: SurfaceCursor;
  /**
   * Who draws the window's title bar and borders: 'server' (the compositor:
   * draw them around it), 'client' (it draws its own), undefined (it did not say).
   */
  readonly decoration?: 'server' | 'client';
  /**
   * A pointer lock or confinement the client asked for (Wayland
   * zwp_pointer_constraints_v1). When `active` (the surface has the pointer), a
   * seat keeps the pointer where it is ('lock': only relative motion reaches
   * the surface) or inside `region` ('confine'; undefined: the whole surface).
   */
  readonly pointerConstraint?: PointerConstraint;
  /** Its client's text field, when the surface has one that takes text (Wayland text-input v3 or v1); absent for sources without. */
  readonly textInputState?: TextInputState;
  /** Sends composed or committed text to the surface's enabled text field; false when it has none (the text goes nowhere). */
  textInput?(event: SurfaceTextInput): boolean;
  /** A drag's progress over this surface (SurfaceDragInput); absent for sources that take no drops. */
  dragInput?(event: SurfaceDragInput): void;
  /** What the client last asked of its window's state (a request made before the window was shown included). */
  readonly wantedState?: { readonly maximized: boolean; readonly fullscreen: boolean };
  /** Suggests a window size and state (xdg_toplevel.configure; 0 x 0: the client chooses). A no-op for other kinds of surface. */
  configure?(width: number, height: number, state?: WindowState): void;
  /**
   * "Shown: draw the next one" (wl_surface.frame / bufshare frame_done). A no-op once gone.
   * `presentation` says when and how the output showed it (a scene output's present
   * passes it: Wayland's wp_presentation feedback); without it, "shown now", at an
   * unknown refresh.
   */
  frameDone(presentation?: FramePresentation): void;
  /** Touch input for this surface (Wayland wl_touch); absent for sources without touch. A no-op once gone. */
  touch?(event: SurfaceTouchInput): void;
  /** Pointer input for this surface. A no-op once gone. */
  pointer(event: SurfacePointerInput): void;
  /** Keyboard input for this surface. A no-op once gone. */
  keyboard(event: SurfaceKeyboardInput): void;
}

/**
 * When and how an output showed a frame: what its present knows (a KMS page flip's
 * kernel timestamp and vblank counter, a headless tick's time). Wayland's
 * wp_presentation_feedback.presented carries it to clients.
 */
export interface FramePresentation {
  /**
   * When the frame turned to light: CLOCK_MONOTONIC, in nanoseconds. On Linux this is
   * process.hrtime.bigint()'s clock (libuv's uv_hrtime reads CLOCK_MONOTONIC), so
   * `process.hrtime.bigint()` taken at the present is a valid value.
   */
  readonly timeNs: bigint;
  /** The output's refresh period in nanoseconds (when its next refresh may come); 0: unknown or variable. */
  readonly refreshNs: number;
  /** The output's refresh counter at this frame (a KMS CRTC's vblank count, a headless output's tick); 0: none. */
  readonly sequence: number;
  /** Shown at a vertical retrace, so it cannot tear (a page flip); false for a timer's tick. */
  readonly vsync: boolean;
  /** The time and completion came from the display hardware (a page flip event's kernel timestamp), not from a software clock read. */
  readonly hardware: boolean;
}

/**
 * A client buffer a display plane could show as it is (direct scanout): its
 * geometry and its dma-buf. Does not own the fds; they stay valid while the
 * frame is held.
 */
export interface ScanoutSource {
  readonly width: number;
  readonly height: number;
  readonly format: FormatInfo;
  readonly modifier: bigint;
  readonly planes: readonly { readonly offset: number; readonly stride: number }[];
  /** The fds by role ('buffer': the dma-buf); borrowed, never to be closed by the caller. */
  export(): { readonly descriptor: { readonly fds: readonly string[] }; readonly fds: readonly number[] };
  /**
   * Calls `listener` once when the buffer is gone for good (its client destroyed
   * it and nothing holds it), at once if it is gone already. An output keeps what
   * it made of the buffer (a KMS framebuffer) until then, made once rather than
   * every frame, as wlroots keeps one per wlr_buffer; a source without it is
   * imported afresh for each frame.
   */
  onceGone?(listener: () => void): void;
}

export interface CompositorFrame {
  readonly surface: CompositorSurface;
  /** The buffer's dma-buf, when it has one a KMS plane could scan out (bufshare hardware buffers, Wayland linux-dmabuf). */
  readonly scanout?: ScanoutSource;
  /** Damage in buffer coordinates, clipped to the buffer. */
  readonly damage: Region;
  /** The buffer mapped for reading; valid until release(). */
  readonly region: GraphicsRegion;
  readonly released: boolean;
  /** Gives the buffer back to its client. Idempotent. */
  release(): void;
}

export interface SurfaceSourceEvents {
  surface: [surface: CompositorSurface];
  frame: [frame: CompositorFrame];
  surfaceDestroyed: [surface: CompositorSurface];
}

/** A server a compositor takes surfaces from (BufferServer, WaylandServer). */
export interface SurfaceSource {
  on<E extends keyof SurfaceSourceEvents>(event: E, listener: (...args: SurfaceSourceEvents[E]) => void): unknown;
  off<E extends keyof SurfaceSourceEvents>(event: E, listener: (...args: SurfaceSourceEvents[E]) => void): unknown;
}
