/**
 * SceneSeat: one pointer and one keyboard over the scene, as wlroots'
 * `wlr_seat` with its default grabs: input enters from any backend (a browser
 * viewer, evdev devices, a VNC peer) through one API, in layout coordinates,
 * and reaches the client surface under the pointer in its own coordinates,
 * whatever protocol the client speaks (CompositorSurface.pointer/keyboard).
 *
 * - Pointer focus follows the hit test (input regions, stacking). A button
 *   press grabs the pointer for that surface until every button is up, so a
 *   stroke that leaves the surface keeps going to it.
 * - Keyboard focus follows a press (click to focus); `focusKeyboard()` sets it
 *   directly. 'press' lets the compositor raise the window that was clicked.
 * - A surface that goes away loses its focus silently (no leave to a dead client).
 * - A cursor (unless `cursor: false`: a viewer that shows its own): the image the
 *   client under the pointer set (wl_pointer.set_cursor), else the compositor's
 *   arrow, in a layer over everything made before the seat (make the seat after
 *   your layers, or raise `cursorLayer`). It appears with the first pointer event.
 * - Pointer constraints the client under the pointer holds (a game's lock, a
 *   confinement): locked, the pointer stays put and the surface gets relative
 *   motion only; confined, the pointer stays inside the surface's region.
 * - Drag and drop: a client that starts a drag from the surface it pressed on
 *   ('drag') hands the pointer to the drag until the button is up: surfaces
 *   under the pointer get dragInput enter / motion / leave instead of pointer
 *   events, the one under it at the release gets 'drop' (or the origin
 *   'cancel'), and the drag's icon follows the pointer.
 */
import { EventEmitter } from 'eventemitter3';
import type { CompositorSurface, SurfacePointerInput, SurfaceTextInput } from '../surface-model';
import type { SceneBuffer } from './buffer';
import { defaultCursorBuffer } from './default-cursor';
import { clampToScene, type SceneBufferNode, type SceneTree } from './node';
import type { Scene } from './scene';
import { SceneSurface } from './surface-node';

/** Pointer input in layout coordinates. `buttons` as DOM MouseEvent.buttons after the event (1 primary, 2 secondary, 4 middle). */
export type SeatPointerInput =
  | { readonly action: 'leave'; readonly x: number; readonly y: number; readonly buttons: number }
  /** `dx`, `dy`: the motion a relative device reported (layout units); absent: the position's change. */
  | { readonly action: 'move'; readonly x: number; readonly y: number; readonly buttons: number; readonly dx?: number; readonly dy?: number }
  | { readonly action: 'down' | 'up'; readonly x: number; readonly y: number; readonly buttons: number; readonly button: number }
  | { readonly action: 'axis'; readonly x: number; readonly y: number; readonly buttons: number; readonly axis: 'vertical' | 'horizontal'; readonly value: number };

/**
 * Touch input in layout coordinates: each point (`id`, unique while down) goes
 * to the surface it went down on until it is up; 'frame' ends a set of
 * changes made at once; 'cancel' takes every point back.
 */
export type SeatTouchInput =
  | { readonly action: 'down' | 'motion'; readonly id: number; readonly x: number; readonly y: number }
  | { readonly action: 'up'; readonly id: number }
  | { readonly action: 'frame' | 'cancel' };

export interface SceneSeatEvents {
  /** A button went down on a window (the root of the surface under the pointer): the compositor may raise it. */
  press: [surface: SceneSurface];
  /** The keyboard went to another surface (or to none). */
  keyboardFocus: [surface: SceneSurface | undefined];
}

export interface SceneSeatOptions {
  /** Draw a cursor in the scene. Default true. */
  readonly cursor?: boolean;
  /**
   * The compositor's pointer images by shape name, for clients that name one
   * (Wayland cursor-shape: 'text', 'pointer', 'crosshair', ...): a buffer and
   * its hotspot, or undefined for the arrow. The seat takes a lock on each
   * buffer it shows. Default: the arrow for every shape.
   */
  readonly cursorImages?: (shape: string) => { readonly buffer: SceneBuffer; readonly hotspotX: number; readonly hotspotY: number } | undefined;
}

export class SceneSeat extends EventEmitter<SceneSeatEvents> {
  /** The cursor's layer: at the pointer's position, over the windows. */
  readonly cursorLayer: SceneTree;
  private readonly scene: Scene;
  private readonly drawCursor: boolean;
  private readonly arrow: SceneBufferNode;
  /** The compositor's image for a named shape, when one is on show. */
  private readonly shapeNode: SceneBufferNode;
  private readonly cursorImages: SceneSeatOptions['cursorImages'];
  /** The client's cursor surface on show, if any. */
  private cursorView: SceneSurface | undefined;
  private cursorSource: CompositorSurface | undefined;
  private readonly onCursor = (): void => this.updateCursor();
  private pointerFocus: SceneSurface | undefined;
  private grab: SceneSurface | undefined;
  /** An interactive move (xdg_toplevel.move): the window and where the pointer holds it. */
  private moving: { readonly window: SceneSurface; readonly dx: number; readonly dy: number } | undefined;
  /** An interactive resize (xdg_toplevel.resize): the window, its edges, and its box and the pointer when it began. */
  private resizing: { readonly window: SceneSurface; readonly edges: number; readonly box: { x: number; y: number; width: number; height: number }; readonly px: number; readonly py: number } | undefined;
  private lastX = 0;
  private lastY = 0;
  /** The input's own last position: relative motion from an absolute device is its change. */
  private rawX: number | undefined;
  private rawY: number | undefined;
  private keyboard: SceneSurface | undefined;
  private readonly forgetters = new Map<SceneSurface, () => void>();
  /** A drag and drop under way: where it began, its icon, the surface it is over. */
  private drag: { readonly origin: SceneSurface; readonly icon: SceneSurface | undefined; over: SceneSurface | undefined } | undefined;
  /** Touch points down: the surface each went down on. */
  private readonly touchPoints = new Map<number, SceneSurface>();
  /** Where the point emulating a pointer was last, surface-local (its release is there). */
  private emulatedAt: [number, number] = [0, 0];
  /** Surfaces that got touch changes since the last frame. */
  private readonly touchFramed = new Set<SceneSurface>();
  /** The pressed surface listens for a drag starting from it while its press lasts. */
  private dragWatch: { readonly view: SceneSurface; readonly off: () => void } | undefined;

  constructor(scene: Scene, options: SceneSeatOptions = {}) {
    super();
    this.scene = scene;
    this.drawCursor = options.cursor ?? true;
    this.cursorLayer = scene.createTree();
    this.cursorLayer.takesInput = false;
    this.cursorLayer.setEnabled(false);
    const arrow = defaultCursorBuffer();
    this.arrow = scene.createBuffer(this.cursorLayer, arrow);
    arrow.unlock();
    this.shapeNode = scene.createBuffer(this.cursorLayer);
    this.cursorImages = options.cursorImages;
  }

  /** The surface under the pointer (or holding its grab). */
  get pointerFocused(): SceneSurface | undefined {
    return this.pointerFocus;
  }

  get keyboardFocused(): SceneSurface | undefined {
    return this.keyboard;
  }

  /** The client surface at layout (x, y), through input regions and stacking. */
  surfaceAt(x: number, y: number): SceneSurface | undefined {
    const hit = this.scene.nodeAt(x, y);
    return hit?.node.data instanceof SceneSurface ? hit.node.data : undefined;
  }

  pointer(input: SeatPointerInput): void {
    const dx = input.action === 'move' ? input.dx ?? (this.rawX === undefined ? 0 : input.x - this.rawX) : 0;
    const dy = input.action === 'move' ? input.dy ?? (this.rawY === undefined ? 0 : input.y - this.rawY) : 0;
    this.rawX = input.x;
    this.rawY = input.y;
    if (this.moving === undefined && input.action !== 'leave') {
      const held = this.constrained(input, dx, dy);
      if (held === undefined) return;
      input = held;
    }
    this.lastX = input.x;
    this.lastY = input.y;
    if (this.drag !== undefined) {
      this.dragPointer(input);
      return;
    }
    if (this.resizing !== undefined) {
      this.resizePointer(input);
      return;
    }
    if (this.moving !== undefined) {
      // The window follows the pointer until the button is up; its client gets nothing meanwhile.
      const { window, dx, dy } = this.moving;
      if (!window.tree.destroyed) {
        // dx, dy: the pointer's offset from the window in the layout; the position is relative to its parent tree.
        const px = window.tree.layoutX - window.tree.x;
        const py = window.tree.layoutY - window.tree.y;
        window.tree.setPosition(clampToScene(Math.round(input.x - dx - px)), clampToScene(Math.round(input.y - dy - py)));
      }
      if (this.drawCursor) this.cursorLayer.setPosition(Math.round(input.x), Math.round(input.y));
      if (input.action === 'up' && input.buttons === 0) {
        // The move took the press's grab; focus goes to what is under the pointer now.
        this.moving = undefined;
        this.grab = undefined;
        this.setPointerFocus(this.surfaceAt(input.x, input.y), input.x, input.y, 0);
      }
      return;
    }
    if (this.drawCursor) {
      this.cursorLayer.setPosition(Math.round(input.x), Math.round(input.y));
      this.cursorLayer.setEnabled(input.action !== 'leave');
    }
    if (this.grab?.node.destroyed) this.grab = undefined;
    const under = input.action === 'leave' ? undefined : this.surfaceAt(input.x, input.y);
    // A press outside the client of a grabbing popup (a menu) closes the menu, and goes no further.
    if (input.action === 'down' && this.grab === undefined && this.dismissPopupsOutside(under)) {
      this.setPointerFocus(this.surfaceAt(input.x, input.y), input.x, input.y, input.buttons);
      return;
    }
    const target = this.grab ?? under;
    this.setPointerFocus(target, input.x, input.y, input.buttons);
    if (!target) return;
    const [x, y] = this.local(target, input.x, input.y);
    switch (input.action) {
      case 'move':
        target.surface.pointer({ action: 'motion', x, y, buttons: input.buttons, dx, dy });
        break;
      case 'down':
        this.grab = target;
        this.watchDrag(target);
        // The keyboard goes to the window (a subsurface's root), and the window may be raised.
        this.focusKeyboard(target.root);
        this.emit('press', target.root);
        target.surface.pointer({ action: 'down', x, y, buttons: input.buttons, button: input.button });
        break;
      case 'up':
        target.surface.pointer({ action: 'up', x, y, buttons: input.buttons, button: input.button });
        if (input.buttons === 0) {
          this.grab = undefined;
          this.unwatchDrag();
          // The grab held focus; it goes to whatever is under the pointer now.
          this.setPointerFocus(this.surfaceAt(input.x, input.y), input.x, input.y, 0);
        }
        break;
      case 'axis':
        target.surface.pointer({ action: 'axis', x, y, buttons: input.buttons, axis: input.axis, value: input.value });
        break;
      case 'leave':
        // A grabbed surface keeps focus: its button release comes later.
        break;
    }
  }

  /** While `view` holds the press, a drag its client starts from it is the seat's to carry. */
  private watchDrag(view: SceneSurface): void {
    this.unwatchDrag();
    const onDrag = (d: { readonly icon: CompositorSurface | null }): void => this.startDrag(view, d.icon);
    view.surface.on('drag', onDrag);
    this.dragWatch = { view, off: () => view.surface.off('drag', onDrag) };
  }

  private unwatchDrag(): void {
    this.dragWatch?.off();
    this.dragWatch = undefined;
  }

  private startDrag(origin: SceneSurface, iconSurface: CompositorSurface | null): void {
    if (this.drag !== undefined || this.grab !== origin || origin.node.destroyed || origin.surface.dragInput === undefined) return;
    origin.surface.dragInput({ action: 'start' });
    if (!this.drawCursor) this.arrow.setEnabled(false);
    this.unwatchDrag();
    // The drag has the pointer now: the surface under it hears of it only as a drag.
    this.setPointerFocus(undefined, this.lastX, this.lastY, 1);
    const icon = iconSurface === null ? undefined : new SceneSurface(this.scene, iconSurface, this.cursorLayer);
    this.cursorLayer.setPosition(Math.round(this.lastX), Math.round(this.lastY));
    this.cursorLayer.setEnabled(true);
    this.drag = { origin, icon, over: undefined };
    this.dragOver(this.surfaceAt(this.lastX, this.lastY), this.lastX, this.lastY);
  }

  /** The drag moves to (lx, ly), over `under`: leave and enter when it changed, else motion. */
  private dragOver(under: SceneSurface | undefined, lx: number, ly: number): void {
    const d = this.drag!;
    if (under !== d.over) {
      if (d.over && !d.over.node.destroyed) d.over.surface.dragInput?.({ action: 'leave' });
      d.over = under?.surface.dragInput === undefined ? undefined : under;
      if (d.over) {
        const [x, y] = this.local(d.over, lx, ly);
        d.over.surface.dragInput!({ action: 'enter', x, y });
      }
    } else if (d.over) {
      const [x, y] = this.local(d.over, lx, ly);
      d.over.surface.dragInput!({ action: 'motion', x, y });
    }
  }

  private dragPointer(input: SeatPointerInput): void {
    const d = this.drag!;
    this.cursorLayer.setPosition(Math.round(input.x), Math.round(input.y));
    if (d.over?.node.destroyed) d.over = undefined;
    switch (input.action) {
      case 'move':
        this.dragOver(this.surfaceAt(input.x, input.y), input.x, input.y);
        break;
      case 'leave':
        this.dragOver(undefined, input.x, input.y);
        break;
      case 'up':
        if (input.buttons !== 0) break;
        // Where it is released decides the target (no motion for the release itself).
        if (this.surfaceAt(input.x, input.y) !== d.over) this.dragOver(this.surfaceAt(input.x, input.y), input.x, input.y);
        if (d.over) d.over.surface.dragInput!({ action: 'drop' });
        else if (!d.origin.node.destroyed) d.origin.surface.dragInput?.({ action: 'cancel' });
        this.drag = undefined;
        d.icon?.destroy();
        this.grab = undefined;
        if (!this.drawCursor) this.cursorLayer.setEnabled(false);
        this.setPointerFocus(this.surfaceAt(input.x, input.y), input.x, input.y, 0);
        break;
      default:
        break; // other buttons and the wheel do nothing to a drag
    }
  }

  /**
   * Applies the focused surface's pointer constraint: returns the input to go
   * on with (confined: its position clamped into the region), or undefined when
   * the pointer is locked (then the surface got what it gets here: relative
   * motion at the locked position, buttons and axes there too).
   */
  private constrained(input: Exclude<SeatPointerInput, { action: 'leave' }>, dx: number, dy: number): Exclude<SeatPointerInput, { action: 'leave' }> | undefined {
    const focus = this.grab ?? this.pointerFocus;
    if (focus === undefined || focus.node.destroyed) return input;
    const c = focus.surface.pointerConstraint;
    if (c === undefined || !c.active) return input;
    const ox = focus.node.layoutX;
    const oy = focus.node.layoutY;
    if (c.kind === 'lock') {
      const x = this.lastX - ox;
      const y = this.lastY - oy;
      switch (input.action) {
        case 'move':
          focus.surface.pointer({ action: 'motion', x, y, buttons: input.buttons, dx, dy });
          break;
        case 'down':
        case 'up':
          focus.surface.pointer({ action: input.action, x, y, buttons: input.buttons, button: input.button });
          break;
        case 'axis':
          focus.surface.pointer({ action: 'axis', x, y, buttons: input.buttons, axis: input.axis, value: input.value });
          break;
      }
      return undefined;
    }
    const rects = c.region?.rects ?? [{ x: 0, y: 0, width: focus.node.width, height: focus.node.height }];
    const [cx, cy] = clampInto(input.x - ox, input.y - oy, rects);
    return { ...input, x: cx + ox, y: cy + oy };
  }

  /** Dismisses the popup chains holding a grab whose client is not `target`'s; true when one was. */
  private dismissPopupsOutside(target: SceneSurface | undefined): boolean {
    let dismissed = false;
    const leaves = this.scene.leaves();
    for (let i = leaves.length - 1; i >= 0; i--) {
      const view = leaves[i]!.node.data;
      if (!(view instanceof SceneSurface) || view.surface.popupGrab !== true) continue;
      if (target !== undefined && target.surface.client === view.surface.client) continue;
      // The whole chain goes: from the first popup above the window.
      let first = view;
      while (first.popup && first.parent?.popup === true) first = first.parent;
      first.surface.dismiss?.();
      dismissed = true;
    }
    return dismissed;
  }

  /**
   * Starts moving `window` with the pointer (its client asked: xdg_toplevel.move,
   * from a press on its own title bar). Only while a button is down; it ends
   * when every button is up. Returns false when no button is down.
   */
  startMove(window: SceneSurface): boolean {
    const root = window.root;
    if (this.grab === undefined || this.grab.root !== root) return false;
    this.moving = { window: root, dx: this.lastX - root.tree.layoutX, dy: this.lastY - root.tree.layoutY };
    return true;
  }

  /**
   * Starts resizing `window` with the pointer by `edges` (xdg_toplevel's
   * resize_edge bits: top 1, bottom 2, left 4, right 8), its client asked from
   * a press on its border. Each motion configures the new size (at least 1x1);
   * a top or left edge moves the window so the opposite edge stays put. Ends
   * when every button is up. Returns false when no button is down on it.
   */
  startResize(window: SceneSurface, edges: number): boolean {
    const root = window.root;
    if (this.grab === undefined || this.grab.root !== root || (edges & 15) === 0) return false;
    const box = { x: root.tree.x, y: root.tree.y, width: root.node.width, height: root.node.height };
    this.resizing = { window: root, edges, box, px: this.lastX, py: this.lastY };
    return true;
  }

  private resizePointer(input: SeatPointerInput): void {
    const { window, edges, box, px, py } = this.resizing!;
    if (this.drawCursor) this.cursorLayer.setPosition(Math.round(input.x), Math.round(input.y));
    if (!window.tree.destroyed && input.action === 'move') {
      const dx = Math.round(input.x - px);
      const dy = Math.round(input.y - py);
      let { x, y, width, height } = box;
      if (edges & 8) width = Math.max(1, box.width + dx);
      if (edges & 4) {
        width = Math.max(1, box.width - dx);
        x = box.x + box.width - width;
      }
      if (edges & 2) height = Math.max(1, box.height + dy);
      if (edges & 1) {
        height = Math.max(1, box.height - dy);
        y = box.y + box.height - height;
      }
      window.tree.setPosition(clampToScene(x), clampToScene(y));
      window.surface.configure?.(width, height, { activated: true });
    }
    if (input.action === 'up' && input.buttons === 0) {
      this.resizing = undefined;
      this.grab = undefined;
      this.setPointerFocus(this.surfaceAt(input.x, input.y), input.x, input.y, 0);
    }
  }

  /**
   * Touch (a touchscreen): a point goes to the surface under it when it goes
   * down, and stays with it until up; touching a window focuses its keyboard
   * and may raise it ('press'), as a click does. A surface whose client takes
   * no touch (a source without it) gets the first point as a pointer with the
   * primary button.
   */
  touch(input: SeatTouchInput): void {
    switch (input.action) {
      case 'down': {
        const target = this.surfaceAt(input.x, input.y);
        if (target === undefined) return;
        this.touchPoints.set(input.id, target);
        this.track(target);
        this.focusKeyboard(target.root);
        this.emit('press', target.root);
        const [x, y] = this.local(target, input.x, input.y);
        if (target.surface.touch) target.surface.touch({ action: 'down', id: input.id, x, y });
        else if (this.touchPoints.size === 1) {
          this.emulatedAt = [x, y];
          target.surface.pointer({ action: 'down', x, y, buttons: 1, button: 0 });
        }
        this.touchFramed.add(target);
        break;
      }
      case 'motion': {
        const target = this.touchPoints.get(input.id);
        if (target === undefined || target.node.destroyed) return;
        const [x, y] = this.local(target, input.x, input.y);
        if (target.surface.touch) target.surface.touch({ action: 'motion', id: input.id, x, y });
        else if (this.touchPoints.keys().next().value === input.id) {
          this.emulatedAt = [x, y];
          target.surface.pointer({ action: 'motion', x, y, buttons: 1 });
        }
        this.touchFramed.add(target);
        break;
      }
      case 'up': {
        const target = this.touchPoints.get(input.id);
        if (target === undefined) return;
        const first = this.touchPoints.keys().next().value === input.id;
        this.touchPoints.delete(input.id);
        if (target.node.destroyed) return;
        if (target.surface.touch) target.surface.touch({ action: 'up', id: input.id });
        else if (first) target.surface.pointer({ action: 'up', x: this.emulatedAt[0], y: this.emulatedAt[1], buttons: 0, button: 0 });
        this.touchFramed.add(target);
        this.untrack(target);
        break;
      }
      case 'frame':
        for (const t of this.touchFramed) if (!t.node.destroyed) t.surface.touch?.({ action: 'frame' });
        this.touchFramed.clear();
        break;
      case 'cancel': {
        const all = new Set(this.touchPoints.values());
        this.touchPoints.clear();
        this.touchFramed.clear();
        for (const t of all) if (!t.node.destroyed) t.surface.touch?.({ action: 'cancel' });
        break;
      }
    }
  }

  /** A key (Linux evdev code) for the surface with keyboard focus. */
  key(key: number, pressed: boolean): void {
    // A menu open with a grab takes the keys of its window (arrows, Enter, Escape), as in wlroots.
    const menu = this.grabbingPopupOf(this.keyboard?.root);
    if (menu !== undefined && menu !== this.keyboard) this.focusKeyboard(menu);
    this.keyboard?.surface.keyboard({ action: 'key', key, pressed });
  }

  /**
   * Text for the keyboard's surface from outside the keyboard (an input
   * method, an on-screen keyboard, a viewer's composition): reaches its text
   * field (Wayland text-input). False when it has none enabled.
   */
  text(event: SurfaceTextInput): boolean {
    const target = this.grabbingPopupOf(this.keyboard?.root) ?? this.keyboard;
    return target?.surface.textInput?.(event) ?? false;
  }

  /** The topmost popup holding a grab in `window`'s tree, if any. */
  private grabbingPopupOf(window: SceneSurface | undefined): SceneSurface | undefined {
    if (window === undefined) return undefined;
    const leaves = this.scene.leaves();
    for (let i = leaves.length - 1; i >= 0; i--) {
      const view = leaves[i]!.node.data;
      if (view instanceof SceneSurface && view.popup && view.root === window && view.surface.popupGrab === true) return view;
    }
    return undefined;
  }

  /** Gives the keyboard to `surface` (or to nobody). */
  focusKeyboard(surface: SceneSurface | undefined): void {
    if (surface?.node.destroyed) surface = undefined;
    if (surface === this.keyboard) return;
    const old = this.keyboard;
    this.keyboard = surface;
    if (old && !old.node.destroyed) old.surface.keyboard({ action: 'leave' });
    this.untrack(old);
    if (surface) {
      this.track(surface);
      surface.surface.keyboard({ action: 'enter' });
    }
    this.emit('keyboardFocus', surface);
  }

  private setPointerFocus(target: SceneSurface | undefined, lx: number, ly: number, buttons: number): void {
    if (target === this.pointerFocus) return;
    const old = this.pointerFocus;
    this.pointerFocus = target;
    this.followCursorOf(target?.surface);
    if (old && !old.node.destroyed) {
      const [x, y] = this.local(old, lx, ly);
      old.surface.pointer({ action: 'leave', x, y, buttons });
    }
    this.untrack(old);
    if (target) {
      this.track(target);
      const [x, y] = this.local(target, lx, ly);
      const enter: SurfacePointerInput = { action: 'enter', x, y, buttons };
      target.surface.pointer(enter);
    }
  }

  /** Shows the cursor `surface`'s client wants (and follows its changes), else the arrow. */
  private followCursorOf(surface: CompositorSurface | undefined): void {
    if (surface === this.cursorSource) return;
    this.cursorSource?.off('cursor', this.onCursor);
    this.cursorSource = surface;
    surface?.on('cursor', this.onCursor);
    this.updateCursor();
  }

  private updateCursor(): void {
    if (!this.drawCursor) return;
    const wanted = this.cursorSource?.cursor;
    const image = wanted?.surface ?? undefined;
    if (this.cursorView !== undefined && (this.cursorView.surface !== image || this.cursorView.tree.destroyed)) {
      this.cursorView.destroy();
      this.cursorView = undefined;
    }
    if (image !== undefined && this.cursorView === undefined) this.cursorView = new SceneSurface(this.scene, image, this.cursorLayer);
    // A client's hotspot is any int32 (INT_MAX threw here and ended the compositor: held-out campaign).
    this.cursorView?.tree.setPosition(clampToScene(-(wanted?.hotspotX ?? 0)), clampToScene(-(wanted?.hotspotY ?? 0)));
    // A named shape: the compositor's image for it, else the arrow.
    const shaped = wanted?.shape === undefined ? undefined : this.cursorImages?.(wanted.shape);
    this.shapeNode.setBuffer(shaped?.buffer);
    this.shapeNode.setPosition(clampToScene(-(shaped?.hotspotX ?? 0)), clampToScene(-(shaped?.hotspotY ?? 0)));
    // The arrow when the client set nothing, or a shape we have no image for; nothing when it hid the pointer.
    this.arrow.setEnabled(wanted === undefined || (wanted.shape !== undefined && shaped === undefined));
  }

  private local(s: SceneSurface, lx: number, ly: number): [number, number] {
    return [lx - s.node.layoutX, ly - s.node.layoutY];
  }

  /** Listens for the surface's end while the seat refers to it. */
  private track(s: SceneSurface): void {
    if (this.forgetters.has(s)) return;
    const forget = (): void => {
      this.forgetters.delete(s);
      if (this.pointerFocus === s) {
        this.pointerFocus = undefined;
        this.followCursorOf(undefined); // the arrow again, not a gone client's image
      }
      if (this.grab === s) this.grab = undefined;
      if (this.keyboard === s) {
        this.keyboard = undefined;
        // A closed menu gives the keyboard back to its window.
        const back = s.popup && !s.root.tree.destroyed ? s.root : undefined;
        if (back) this.focusKeyboard(back);
        else this.emit('keyboardFocus', undefined);
      }
    };
    s.node.once('destroy', forget);
    this.forgetters.set(s, () => s.node.off('destroy', forget));
  }

  private untrack(s: SceneSurface | undefined): void {
    if (!s || s === this.pointerFocus || s === this.keyboard || s === this.grab || [...this.touchPoints.values()].includes(s)) return;
    this.forgetters.get(s)?.();
    this.forgetters.delete(s);
  }
}

/** The point nearest (x, y) inside one of `rects` (half-open: a pointer stays 1/256 inside the right and bottom edges, wl_fixed's step). */
function clampInto(x: number, y: number, rects: readonly { x: number; y: number; width: number; height: number }[]): [number, number] {
  let best: [number, number] = [x, y];
  let bestDistance = Infinity;
  for (const r of rects) {
    if (r.width <= 0 || r.height <= 0) continue;
    const px = Math.min(Math.max(x, r.x), r.x + r.width - 1 / 256);
    const py = Math.min(Math.max(y, r.y), r.y + r.height - 1 / 256);
    const d = (px - x) ** 2 + (py - y) ** 2;
    if (d < bestDistance) {
      bestDistance = d;
      best = [px, py];
    }
  }
  return best;
}
