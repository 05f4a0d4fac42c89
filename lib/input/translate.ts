/**
 * One device's evdev stream -> normalised input events.
 *
 * evdev reports state changes in frames closed by SYN_REPORT; a frame is one
 * moment (a motion with its button, both touch axes). Events are applied per
 * frame, never half of one. SYN_DROPPED means the kernel's buffer overflowed
 * and events were lost: everything up to and including the next SYN_REPORT is
 * dropped (the kernel's documented contract), then the device's real state is
 * read back (EVIOCGKEY, EVIOCGABS) and the difference is sent as events, so a
 * key released during the overflow is not stuck down. Touches are ended at a
 * drop (their slots' state is not read back).
 */
import type { PointerAccel } from './accel';
import type { DeviceClass } from './classify';
import { hasBit } from './classify';
import * as c from './codes';
import type { AbsInfo } from './native-types';

/** Normalised input, as InputDevices emits it. Times are CLOCK_MONOTONIC ms (the evdev event's own time). */
export type InputEvent =
  | { readonly type: 'key'; readonly key: number; readonly pressed: boolean; readonly time: number }
  | { readonly type: 'button'; readonly button: number; readonly pressed: boolean; readonly time: number }
  /** Relative motion, accelerated (dx, dy) and as the device moved (unaccelX/Y). */
  | { readonly type: 'motion'; readonly dx: number; readonly dy: number; readonly unaccelX: number; readonly unaccelY: number; readonly time: number }
  /** Absolute position, 0..1 over the device's range (mapped to the layout by attachInput). */
  | { readonly type: 'position'; readonly x: number; readonly y: number; readonly time: number }
  /** Wheel: value120 = detents * 120 (hi-res wheels send fractions of a detent). */
  | { readonly type: 'axis'; readonly axis: 'vertical' | 'horizontal'; readonly value120: number; readonly time: number }
  | { readonly type: 'touch'; readonly action: 'down' | 'motion' | 'up'; readonly id: number; readonly x: number; readonly y: number; readonly time: number }
  /** The end of a set of touch changes made at once (after one device frame, or a resync). */
  | { readonly type: 'touchFrame'; readonly time: number };

/** Reads the device's current state after SYN_DROPPED. */
export interface DeviceState {
  keyState(): Uint8Array;
  absValue(code: number): number;
}

interface Slot {
  id: number;
  x: number;
  y: number;
  down: boolean;
  dirty: boolean;
}

/** The most multitouch slots tracked (a device may claim more; the rest are ignored). */
const MAX_SLOTS = 16;
/** Events held for one frame; a frame longer than this is a broken device: it is cut there. */
const MAX_FRAME_EVENTS = 4096;

export class EvdevTranslator {
  private readonly kind: DeviceClass;
  private readonly absInfo: Readonly<Record<number, AbsInfo>>;
  private readonly accel: PointerAccel | undefined;
  private readonly state: DeviceState;
  private readonly emit: (e: InputEvent) => void;
  private frame: number[] = [];
  private dropping = false;
  /** Keys and buttons we have reported down. */
  private readonly down = new Set<number>();
  private absX: number;
  private absY: number;
  private readonly slots: Slot[] = [];
  private slot = 0;
  /** Single-touch screens: BTN_TOUCH with ABS_X/Y. */
  private singleTouch = false;
  /** Drops seen (for tests and diagnostics). */
  drops = 0;
  /** Touch events emitted so far: a frame follows the ones a frame made. */
  private touchEvents = 0;

  constructor(kind: DeviceClass, absInfo: Readonly<Record<number, AbsInfo>>, accel: PointerAccel | undefined, state: DeviceState, emit: (e: InputEvent) => void) {
    this.kind = kind;
    this.absInfo = absInfo;
    this.accel = accel;
    this.state = state;
    this.emit = (e) => {
      if (e.type === 'touch') this.touchEvents++;
      emit(e);
    };
    this.absX = absInfo[c.ABS_X]?.value ?? 0;
    this.absY = absInfo[c.ABS_Y]?.value ?? 0;
    this.slot = absInfo[c.ABS_MT_SLOT]?.value ?? 0;
  }

  /** Keys and buttons reported down now. */
  get pressed(): ReadonlySet<number> {
    return this.down;
  }

  /** Feeds raw events (5 numbers each: sec, usec, type, code, value). */
  feed(events: Float64Array | readonly number[]): void {
    for (let i = 0; i + 4 < events.length; i += 5) {
      const type = events[i + 2]!;
      const code = events[i + 3]!;
      if (type === c.EV_SYN && code === c.SYN_DROPPED) {
        this.frame = [];
        this.dropping = true;
        this.drops++;
        continue;
      }
      if (type === c.EV_SYN && code === c.SYN_REPORT) {
        const time = events[i]! * 1000 + events[i + 1]! / 1000;
        if (this.dropping) {
          this.dropping = false;
          this.resync(time);
        } else {
          this.applyFrame(time);
        }
        this.frame = [];
        continue;
      }
      if (this.dropping) continue;
      if (this.frame.length >= MAX_FRAME_EVENTS * 3) continue;
      this.frame.push(type, code, events[i + 4]!);
    }
  }

  /** Releases everything held (the device went away or the session paused). */
  releaseAll(time: number): void {
    for (const k of [...this.down].sort((a, b) => a - b)) this.keyChange(k, false, time);
    this.endTouches(time);
  }

  /** Every touch point still down goes up (a drop, an unplug, a pause), then a frame. */
  private endTouches(time: number): void {
    const before = this.touchEvents;
    this.slots.forEach((s, i) => {
      if (s?.down) {
        s.down = false;
        s.id = -1;
        this.emit({ type: 'touch', action: 'up', id: i, x: s.x, y: s.y, time });
      }
    });
    if (this.singleTouch) {
      this.singleTouch = false;
      this.emit({ type: 'touch', action: 'up', id: 0, x: this.norm(c.ABS_X, this.absX), y: this.norm(c.ABS_Y, this.absY), time });
    }
    if (this.touchEvents !== before) this.emit({ type: 'touchFrame', time });
  }

  private applyFrame(time: number): void {
    let dx = 0;
    let dy = 0;
    let absMoved = false;
    const wheel = { v: 0, h: 0, vHi: 0, hHi: 0 };
    const keys: [number, boolean][] = [];
    let touchButton: boolean | undefined;
    const f = this.frame;
    for (let j = 0; j < f.length; j += 3) {
      const type = f[j]!;
      const code = f[j + 1]!;
      const value = f[j + 2]!;
      switch (type) {
        case c.EV_KEY:
          if (value === 2) break; // the kernel's autorepeat: we repeat ourselves
          if (code === c.BTN_TOUCH && this.kind.touch) touchButton = value !== 0;
          else keys.push([code, value !== 0]);
          break;
        case c.EV_REL:
          if (code === c.REL_X) dx += value;
          else if (code === c.REL_Y) dy += value;
          else if (code === c.REL_WHEEL) wheel.v += value;
          else if (code === c.REL_HWHEEL) wheel.h += value;
          else if (code === c.REL_WHEEL_HI_RES) wheel.vHi += value;
          else if (code === c.REL_HWHEEL_HI_RES) wheel.hHi += value;
          break;
        case c.EV_ABS:
          if (code === c.ABS_X) {
            this.absX = value;
            absMoved = true;
          } else if (code === c.ABS_Y) {
            this.absY = value;
            absMoved = true;
          } else if (code === c.ABS_MT_SLOT) this.slot = value;
          else if (code === c.ABS_MT_TRACKING_ID || code === c.ABS_MT_POSITION_X || code === c.ABS_MT_POSITION_Y) this.mt(code, value);
          break;
      }
    }
    // Motion first: a button in the same frame happens where the pointer is now (a tablet's click lands at its new position).
    if (this.kind.pointer === 'relative' && (dx !== 0 || dy !== 0)) {
      const [ax, ay] = this.accel ? this.accel.apply(dx, dy, time) : [dx, dy];
      this.emit({ type: 'motion', dx: ax, dy: ay, unaccelX: dx, unaccelY: dy, time });
    }
    if (this.kind.pointer === 'absolute' && absMoved) this.emit({ type: 'position', x: this.norm(c.ABS_X, this.absX), y: this.norm(c.ABS_Y, this.absY), time });
    for (const [k, p] of keys) this.keyChange(k, p, time);
    // A hi-res wheel sends both; the hi-res one is exact (120 per detent).
    const v120 = this.kind.hiResWheel ? wheel.vHi : wheel.v * c.WHEEL_HI_RES_PER_DETENT;
    const h120 = this.kind.hiResWheel ? wheel.hHi : wheel.h * c.WHEEL_HI_RES_PER_DETENT;
    // evdev's REL_WHEEL is positive away from the user; wl_pointer's vertical axis is positive down.
    if (v120 !== 0) this.emit({ type: 'axis', axis: 'vertical', value120: -v120, time });
    if (h120 !== 0) this.emit({ type: 'axis', axis: 'horizontal', value120: h120, time });
    if (this.kind.touch) {
      const before = this.touchEvents;
      this.touchFrame(absMoved, touchButton, time);
      if (this.touchEvents !== before) this.emit({ type: 'touchFrame', time });
    }
  }

  private keyChange(code: number, pressed: boolean, time: number): void {
    if (pressed === this.down.has(code)) return; // no double press or release
    if (pressed) this.down.add(code);
    else this.down.delete(code);
    const button = code >= c.BTN_MISC && code < c.KEY_OK;
    if (button) this.emit({ type: 'button', button: code, pressed, time });
    else this.emit({ type: 'key', key: code, pressed, time });
  }

  private mt(code: number, value: number): void {
    if (this.slot < 0 || this.slot >= MAX_SLOTS) return;
    const s = (this.slots[this.slot] ??= { id: -1, x: 0, y: 0, down: false, dirty: false });
    if (code === c.ABS_MT_TRACKING_ID) s.id = value;
    else if (code === c.ABS_MT_POSITION_X) s.x = this.norm(c.ABS_MT_POSITION_X, value);
    else s.y = this.norm(c.ABS_MT_POSITION_Y, value);
    s.dirty = true;
  }

  private touchFrame(absMoved: boolean, touchButton: boolean | undefined, time: number): void {
    if (this.slots.length === 0 && !hasMt(this.absInfo)) {
      // Single touch: BTN_TOUCH is the finger, ABS_X/Y its place.
      const x = this.norm(c.ABS_X, this.absX);
      const y = this.norm(c.ABS_Y, this.absY);
      if (touchButton === true && !this.singleTouch) {
        this.singleTouch = true;
        this.emit({ type: 'touch', action: 'down', id: 0, x, y, time });
      } else if (touchButton === false && this.singleTouch) {
        this.singleTouch = false;
        this.emit({ type: 'touch', action: 'up', id: 0, x, y, time });
      } else if (absMoved && this.singleTouch) this.emit({ type: 'touch', action: 'motion', id: 0, x, y, time });
      return;
    }
    for (let i = 0; i < this.slots.length; i++) {
      const s = this.slots[i];
      if (!s?.dirty) continue;
      s.dirty = false;
      if (s.id >= 0 && !s.down) {
        s.down = true;
        this.emit({ type: 'touch', action: 'down', id: i, x: s.x, y: s.y, time });
      } else if (s.id < 0 && s.down) {
        s.down = false;
        this.emit({ type: 'touch', action: 'up', id: i, x: s.x, y: s.y, time });
      } else if (s.down) this.emit({ type: 'touch', action: 'motion', id: i, x: s.x, y: s.y, time });
    }
  }

  private norm(code: number, value: number): number {
    const a = this.absInfo[code];
    if (a === undefined || a.maximum <= a.minimum) return 0;
    return Math.min(1, Math.max(0, (value - a.minimum) / (a.maximum - a.minimum)));
  }

  /** After a drop: the device's real key and axis state, as events. */
  private resync(time: number): void {
    // The position first, as in a frame: a button held or released lands where the pointer is.
    if (this.kind.pointer === 'absolute') {
      try {
        const x = this.state.absValue(c.ABS_X);
        const y = this.state.absValue(c.ABS_Y);
        if (x !== this.absX || y !== this.absY) {
          this.absX = x;
          this.absY = y;
          this.emit({ type: 'position', x: this.norm(c.ABS_X, x), y: this.norm(c.ABS_Y, y), time });
        }
      } catch {
        // the device is going away: its removal follows
      }
    }
    let keys: Uint8Array;
    try {
      keys = this.state.keyState();
    } catch {
      keys = new Uint8Array(0); // the device is going away: its removal releases everything
    }
    for (const k of [...this.down].sort((a, b) => a - b)) if (!hasBit(keys, k)) this.keyChange(k, false, time);
    for (let k = 0; k <= c.KEY_MAX; k++) if (hasBit(keys, k) && !this.down.has(k) && k !== c.BTN_TOUCH) this.keyChange(k, true, time);
    this.endTouches(time);
  }
}

function hasMt(absInfo: Readonly<Record<number, AbsInfo>>): boolean {
  return absInfo[c.ABS_MT_POSITION_X] !== undefined;
}
