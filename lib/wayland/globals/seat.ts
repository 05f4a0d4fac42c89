/**
 * wl_seat with wl_pointer and wl_keyboard: where the shared model's surface
 * input API (CompositorSurface.pointer / .keyboard) becomes Wayland events.
 *
 * One pointer focus and one keyboard focus per server, as one seat has: an
 * event for a surface that does not have focus moves the focus there first
 * (leave to the old surface, enter to the new one), so a compositor can send
 * plain motion and key events. Modifier keys pressed through the API update
 * the modifier state clients are sent (xkb's real modifier bits: Shift 1,
 * Control 4, Mod1/Alt 8, Mod4/Super 64), as a compositor with xkb_state would.
 */
import type { SurfaceKeyboardInput, SurfacePointerInput, SurfaceTouchInput } from '../../surface-model';
import type { WaylandClient } from '../client';
import type { Global } from '../global';
import type { Keymap } from '../keymap';
import { wl_keyboard, wl_pointer, wl_seat, wl_touch } from '../protocol/wayland';
import type { Resource } from '../resource';
import type { WaylandSurface } from '../surface';
import type { SerialSource } from './xdg-shell';

const CAPS = wl_seat.enums.capability as { pointer: number; keyboard: number; touch: number };
const KEYMAP_XKB_V1 = (wl_keyboard.enums.keymap_format as { xkb_v1: number }).xkb_v1;

/** DOM MouseEvent.button -> evdev BTN_* (BTN_LEFT 0x110, BTN_MIDDLE 0x112, BTN_RIGHT 0x111). */
const BUTTONS: Readonly<Record<number, number>> = { 0: 0x110, 1: 0x112, 2: 0x111, 3: 0x113, 4: 0x114 };

/** evdev modifier keys -> xkb real modifier bits. */
const MODIFIER_KEYS: Readonly<Record<number, number>> = { 42: 1, 54: 1, 29: 4, 97: 4, 56: 8, 100: 8, 125: 64, 126: 64 };

const POINTER_ROLE_ERROR = (wl_pointer.enums.error as { role: number }).role;
const CURSOR_ROLE = 'wl_pointer cursor';

/**
 * set_cursor gives the surface the cursor role: one with another role (a window,
 * a subsurface) is wl_pointer.error.role. A cursor surface is drawn as a child
 * (its frames go to whoever shows it: the scene's seat, under the pointer).
 */
function cursorSurface(r: Resource<undefined>, client: WaylandClient, surfaceId: number): WaylandSurface | null {
  if (surfaceId === 0) return null;
  const surface = (client.lookup(surfaceId) as Resource<WaylandSurface>).data;
  if (surface.role === undefined) surface.role = { name: CURSOR_ROLE, shown: false, child: true };
  else if (surface.role.name !== CURSOR_ROLE) throw r.error(POINTER_ROLE_ERROR, `wl_surface@${surface.id} already has the role ${surface.role.name}`);
  return surface;
}

/** The cursor a client asked for: a surface and its hotspot, or null (hidden). */
export interface CursorImage {
  readonly surface: WaylandSurface | null;
  readonly hotspotX: number;
  readonly hotspotY: number;
}

export class Seat {
  private readonly pointers = new Map<WaylandClient, Set<Resource<undefined>>>();
  /** zwp_relative_pointer_v1 objects by client (globals/relative-pointer.ts). */
  private readonly relativePointers = new Map<WaylandClient, Set<Resource<undefined>>>();
  private readonly keyboards = new Map<WaylandClient, Set<Resource<undefined>>>();
  private readonly touches = new Map<WaylandClient, Set<Resource<undefined>>>();
  /** Touch points down, by id: the surface each went down on. */
  private readonly touchPoints = new Map<number, WaylandSurface>();
  private pointerFocus: WaylandSurface | undefined;
  private keyboardFocus: WaylandSurface | undefined;
  /** The cursor each client set (wl_pointer.set_cursor); none: the compositor's own. */
  private readonly cursors = new Map<WaylandClient, CursorImage>();
  private depressed = 0;
  private readonly keymap: Keymap;
  private readonly serials: SerialSource;
  private readonly now: () => number;

  /** Told where the keyboard goes (the clipboard offers the selection to that client). */
  private readonly keyboardFocusChanged: (client: WaylandClient | undefined) => void;
  /** Told after the keyboard entered a surface or left (text inputs follow it, after wl_keyboard.enter). */
  onKeyboardSurface: (surface: WaylandSurface | undefined) => void = () => {};

  constructor(keymap: Keymap, serials: SerialSource, now: () => number, keyboardFocusChanged: (client: WaylandClient | undefined) => void = () => {}) {
    this.keymap = keymap;
    this.serials = serials;
    this.now = now;
    this.keyboardFocusChanged = keyboardFocusChanged;
  }

  global(): Global {
    return {
      spec: wl_seat,
      version: 7,
      bind: (client, id, version) => {
        const seat = client.create(id, wl_seat, version, {
          get_pointer: (_r, [pid]) => {
            const p = client.create(pid as number, wl_pointer, version, {
              set_cursor: (r, [, surfaceId, hx, hy]) => {
                this.cursors.set(client, { surface: cursorSurface(r, client, surfaceId as number), hotspotX: hx as number, hotspotY: hy as number });
                // The cursor shows while one of the client's surfaces has the pointer.
                if (this.pointerFocus?.client === client && !this.pointerFocus.destroyed) this.pointerFocus.emit('cursor');
              },
            }, undefined);
            this.track(this.pointers, client, p);
          },
          get_keyboard: (_r, [kid]) => {
            const k = client.create(kid as number, wl_keyboard, version, {}, undefined);
            this.track(this.keyboards, client, k);
            k.post('keymap', KEYMAP_XKB_V1, this.keymap.fd, this.keymap.size);
            k.post('repeat_info', 25, 600);
            const focus = this.keyboardFocus;
            if (focus !== undefined && focus.client === client && !focus.destroyed) {
              k.post('enter', this.serials.nextSerial(), focus.id, new Uint8Array(0));
              k.post('modifiers', this.serials.nextSerial(), this.depressed, 0, 0, 0);
            }
          },
          get_touch: (_r, [tid]) => {
            this.track(this.touches, client, client.create(tid as number, wl_touch, version, {}, undefined));
          },
        }, undefined);
        seat.post('capabilities', CAPS.pointer | CAPS.keyboard | CAPS.touch);
        seat.post('name', 'seat0');
      },
    };
  }

  private track(map: Map<WaylandClient, Set<Resource<undefined>>>, client: WaylandClient, r: Resource<undefined>): void {
    let set = map.get(client);
    if (set === undefined) {
      set = new Set();
      map.set(client, set);
    }
    set.add(r);
    r.onDestroy(() => {
      set.delete(r);
      if (set.size === 0) map.delete(client);
    });
  }

  /** @internal a client's zwp_relative_pointer_v1 */
  addRelativePointer(client: WaylandClient, r: Resource<undefined>): void {
    this.track(this.relativePointers, client, r);
  }

  /** `surface` has the pointer focus now. */
  hasPointer(surface: WaylandSurface): boolean {
    return this.pointerFocus === surface;
  }

  /** The cursor `client` set, if any. */
  cursorOf(client: WaylandClient): CursorImage | undefined {
    const c = this.cursors.get(client);
    if (c?.surface?.destroyed === true) return { ...c, surface: null };
    return c;
  }

  /** A client left: its cursor with it. */
  dropClient(client: WaylandClient): void {
    this.cursors.delete(client);
  }

  /** The surface is gone: it loses focus without events (its client knows). */
  forget(surface: WaylandSurface): void {
    for (const [id, s] of this.touchPoints) if (s === surface) this.touchPoints.delete(id);
    if (this.pointerFocus === surface) this.pointerFocus = undefined;
    if (this.keyboardFocus === surface) this.keyboardFocus = undefined;
  }

  pointer(surface: WaylandSurface, event: SurfacePointerInput): void {
    const time = this.now() >>> 0;
    if (event.action === 'leave') {
      if (this.pointerFocus === surface) this.pointerLeave();
      return;
    }
    const entered = this.pointerEnter(surface, event.x, event.y);
    if (event.action === 'motion' && (event.dx !== undefined || event.dy !== undefined)) this.relativeMotion(surface.client, event.dx ?? 0, event.dy ?? 0);
    const targets = this.pointers.get(surface.client);
    if (targets === undefined) return;
    // Locked, the pointer does not move: the client hears of motion only as relative motion.
    const locked = surface.constraint?.kind === 'lock' && surface.constraint.active;
    for (const p of targets) {
      switch (event.action) {
        case 'enter':
          break;
        case 'motion':
          if (!entered && !locked) p.post('motion', time, event.x, event.y);
          break;
        case 'down':
        case 'up':
          p.post('button', this.serials.nextSerial(), time, BUTTONS[event.button] ?? 0x110 + event.button, event.action === 'down' ? 1 : 0);
          break;
        case 'axis':
          p.post('axis', time, event.axis === 'vertical' ? 0 : 1, event.value);
          break;
      }
      if (p.hasEvent('frame')) p.post('frame');
    }
  }

  touch(surface: WaylandSurface, event: SurfaceTouchInput): void {
    const targets = this.touches.get(surface.client);
    const time = this.now() >>> 0;
    switch (event.action) {
      case 'down': {
        this.touchPoints.set(event.id, surface);
        const serial = this.serials.nextSerial();
        for (const t of targets ?? []) t.post('down', serial, time, surface.id, event.id, event.x, event.y);
        break;
      }
      case 'motion':
        if (this.touchPoints.get(event.id) !== surface) return;
        for (const t of targets ?? []) t.post('motion', time, event.id, event.x, event.y);
        break;
      case 'up': {
        if (this.touchPoints.get(event.id) !== surface) return;
        this.touchPoints.delete(event.id);
        const serial = this.serials.nextSerial();
        for (const t of targets ?? []) t.post('up', serial, time, event.id);
        break;
      }
      case 'frame':
        for (const t of targets ?? []) t.post('frame');
        break;
      case 'cancel':
        for (const [id, s] of this.touchPoints) if (s === surface) this.touchPoints.delete(id);
        for (const t of targets ?? []) t.post('cancel');
        break;
    }
  }

  keyboard(surface: WaylandSurface, event: SurfaceKeyboardInput): void {
    if (event.action === 'leave') {
      if (this.keyboardFocus === surface) this.keyboardLeave();
      return;
    }
    this.keyboardEnter(surface);
    const targets = this.keyboards.get(surface.client) ?? new Set();
    if (event.action === 'key') {
      const time = this.now() >>> 0;
      for (const k of targets) k.post('key', this.serials.nextSerial(), time, event.key, event.pressed ? 1 : 0);
      const bit = MODIFIER_KEYS[event.key];
      if (bit !== undefined) {
        this.depressed = event.pressed ? this.depressed | bit : this.depressed & ~bit;
        for (const k of targets) k.post('modifiers', this.serials.nextSerial(), this.depressed, 0, 0, 0);
      }
    } else if (event.action === 'modifiers') {
      this.depressed = event.depressed;
      for (const k of targets) k.post('modifiers', this.serials.nextSerial(), event.depressed, event.latched, event.locked, event.group);
    }
  }

  /** Returns true when it sent enter (which carries the position). */
  private pointerEnter(surface: WaylandSurface, x: number, y: number): boolean {
    if (this.pointerFocus === surface) return false;
    this.pointerLeave();
    this.pointerFocus = surface;
    const serial = this.serials.nextSerial();
    for (const p of this.pointers.get(surface.client) ?? []) {
      p.post('enter', serial, surface.id, x, y);
    }
    surface.constraint?.activate();
    return true;
  }

  /** zwp_relative_pointer_v1.relative_motion: time in microseconds, the motion accelerated and not (one value here: what the device gave). */
  private relativeMotion(client: WaylandClient, dx: number, dy: number): void {
    const targets = this.relativePointers.get(client);
    if (targets === undefined || (dx === 0 && dy === 0)) return;
    const us = BigInt(Math.round(this.now() * 1000));
    const hi = Number(us >> 32n);
    const lo = Number(us & 0xffffffffn);
    for (const r of targets) r.post('relative_motion', hi, lo, dx, dy, dx, dy);
  }

  private pointerLeave(): void {
    const old = this.pointerFocus;
    this.pointerFocus = undefined;
    if (old === undefined || old.destroyed) return;
    old.constraint?.deactivate();
    const serial = this.serials.nextSerial();
    for (const p of this.pointers.get(old.client) ?? []) {
      p.post('leave', serial, old.id);
      if (p.hasEvent('frame')) p.post('frame');
    }
  }

  private keyboardEnter(surface: WaylandSurface): void {
    if (this.keyboardFocus === surface) return;
    this.keyboardLeave();
    this.keyboardFocus = surface;
    // The selection is offered before enter, as compositors do, so the client has it when it takes focus.
    this.keyboardFocusChanged(surface.client);
    const serial = this.serials.nextSerial();
    for (const k of this.keyboards.get(surface.client) ?? []) {
      k.post('enter', serial, surface.id, new Uint8Array(0));
      k.post('modifiers', this.serials.nextSerial(), this.depressed, 0, 0, 0);
    }
    this.onKeyboardSurface(surface);
  }

  private keyboardLeave(): void {
    const old = this.keyboardFocus;
    this.keyboardFocus = undefined;
    if (old === undefined || old.destroyed) return;
    const serial = this.serials.nextSerial();
    for (const k of this.keyboards.get(old.client) ?? []) k.post('leave', serial, old.id);
    this.onKeyboardSurface(undefined);
  }
}
