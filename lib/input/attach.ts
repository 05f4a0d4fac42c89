/**
 * attachInput: evdev input into a SceneSeat, the same calls the browser
 * viewer's input makes (seat.pointer in layout coordinates, seat.key with
 * evdev codes), so focus, click-to-focus, raise, popup grabs and the cursor
 * behave the same whatever the input came from.
 *
 * - Relative motion moves a pointer kept inside the layout box; absolute
 *   devices (tablets) map their range onto the box.
 * - Buttons become DOM-style button numbers and masks (the seat's convention).
 * - Wheels: 15 px per detent on wl_pointer.axis (what libinput-based
 *   compositors send for a wheel click), hi-res wheels in fractions of it.
 * - Relative motion also carries the device's own delta (accelerated), which
 *   the seat passes on as relative motion (a locked pointer's game gets it).
 * - Touch: each finger goes to seat.touch (wl_touch where the client has it;
 *   the seat gives a client without touch the first finger as its pointer),
 *   with a frame after each device frame's changes.
 * - Key repeats are not sent: Wayland clients repeat from wl_keyboard.repeat_info.
 */
import type { SceneSeat } from '../scene/seat';
import * as c from './codes';
import type { EvdevDevice } from './evdev-device';
import type { InputDevices } from './devices';
import type { InputEvent } from './translate';

/** The part of the layout the pointer moves in (the outputs' bounding box). */
export interface PointerArea {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface AttachedInput {
  /** The pointer's position in the layout. */
  readonly x: number;
  readonly y: number;
  /** Moves the pointer (a warp), e.g. to centre it. */
  warp(x: number, y: number): void;
  detach(): void;
}

/** evdev BTN_* -> DOM MouseEvent.button. */
const DOM_BUTTON: Readonly<Record<number, number>> = { [c.BTN_LEFT]: 0, [c.BTN_MIDDLE]: 1, [c.BTN_RIGHT]: 2, [c.BTN_SIDE]: 3, [c.BTN_EXTRA]: 4 };
/** Scroll distance of one wheel detent, in surface pixels. */
export const PIXELS_PER_DETENT = 15;

export function attachInput(seat: SceneSeat, devices: InputDevices, area: PointerArea | (() => PointerArea)): AttachedInput {
  const box = typeof area === 'function' ? area : () => area;
  const b0 = box();
  let x = b0.x + b0.width / 2;
  let y = b0.y + b0.height / 2;
  let buttons = 0;
  const touchIds = new Map<string, number>();
  let nextTouchId = 1;

  const clamp = (): void => {
    const b = box();
    x = Math.min(b.x + b.width - 1, Math.max(b.x, x));
    y = Math.min(b.y + b.height - 1, Math.max(b.y, y));
  };
  const move = (): void => {
    clamp();
    seat.pointer({ action: 'move', x, y, buttons });
  };
  const button = (dom: number, pressed: boolean): void => {
    const bit = 1 << (dom === 1 ? 2 : dom === 2 ? 1 : dom); // DOM buttons mask: 1 primary, 2 secondary, 4 middle
    buttons = pressed ? buttons | bit : buttons & ~bit;
    seat.pointer({ action: pressed ? 'down' : 'up', x, y, buttons, button: dom });
  };
  const toArea = (nx: number, ny: number): void => {
    const b = box();
    x = b.x + nx * (b.width - 1);
    y = b.y + ny * (b.height - 1);
  };

  const onInput = (e: InputEvent, d: EvdevDevice): void => {
    switch (e.type) {
      case 'key':
        seat.key(e.key, e.pressed);
        break;
      case 'button': {
        const dom = DOM_BUTTON[e.button];
        if (dom !== undefined) button(dom, e.pressed);
        break;
      }
      case 'motion':
        x += e.dx;
        y += e.dy;
        clamp();
        seat.pointer({ action: 'move', x, y, buttons, dx: e.dx, dy: e.dy });
        break;
      case 'position':
        toArea(e.x, e.y);
        move();
        break;
      case 'axis':
        clamp();
        seat.pointer({ action: 'axis', x, y, buttons, axis: e.axis, value: (e.value120 / c.WHEEL_HI_RES_PER_DETENT) * PIXELS_PER_DETENT });
        break;
      case 'touch': {
        // Touch points are numbered per device; the seat's ids are per seat.
        const key = `${d.path}#${e.id}`;
        let id = touchIds.get(key);
        if (e.action === 'down') {
          if (id !== undefined) break;
          id = nextTouchId++ & 0x7fffffff;
          touchIds.set(key, id);
        }
        if (id === undefined) break;
        const b = box();
        const tx = b.x + e.x * (b.width - 1);
        const ty = b.y + e.y * (b.height - 1);
        if (e.action === 'up') {
          touchIds.delete(key);
          seat.touch({ action: 'up', id });
        } else seat.touch({ action: e.action, id, x: tx, y: ty });
        break;
      }
      case 'touchFrame':
        seat.touch({ action: 'frame' });
        break;
    }
  };
  const onRemoved = (d: EvdevDevice): void => {
    // The translator already sent ups for the points still down; forget any left.
    let ended = false;
    for (const [key, id] of touchIds) {
      if (!key.startsWith(`${d.path}#`)) continue;
      touchIds.delete(key);
      seat.touch({ action: 'up', id });
      ended = true;
    }
    if (ended) seat.touch({ action: 'frame' });
  };
  devices.on('input', onInput);
  devices.on('removed', onRemoved);
  return {
    get x() {
      return x;
    },
    get y() {
      return y;
    },
    warp(nx: number, ny: number) {
      x = nx;
      y = ny;
      move();
    },
    detach() {
      devices.off('input', onInput);
      devices.off('removed', onRemoved);
    },
  };
}
