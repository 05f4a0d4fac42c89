/**
 * Key repeat done by the compositor: after `delay` ms held, the last key
 * pressed repeats `rate` times a second until it is released or another key
 * goes down. Modifiers and lock keys never repeat (as xkb's default keymap).
 *
 * Wayland clients repeat keys themselves from wl_keyboard.repeat_info, so the
 * repeats are for the compositor's own key bindings and for peers that get raw
 * keys (a viewer); attachInput does not send them to Wayland clients.
 */
export interface RepeatClock {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface KeyRepeatOptions {
  /** Repeats per second; 0 turns repeat off. Default 25 (what wl_keyboard.repeat_info says). */
  readonly rate?: number;
  /** ms held before the first repeat. Default 600. */
  readonly delay?: number;
  readonly clock?: RepeatClock;
}

/** Shift, Ctrl, Alt, Meta (left and right), Caps/Num/Scroll Lock, AltGr, Compose. */
const NO_REPEAT = new Set([29, 42, 54, 56, 58, 69, 70, 97, 100, 125, 126, 127]);

const realClock: RepeatClock = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export class KeyRepeat {
  readonly rate: number;
  readonly delay: number;
  private readonly clock: RepeatClock;
  private readonly onRepeat: (key: number) => void;
  private held: number | undefined;
  private timer: unknown;

  constructor(onRepeat: (key: number) => void, options: KeyRepeatOptions = {}) {
    this.rate = options.rate ?? 25;
    this.delay = options.delay ?? 600;
    if (!(this.rate >= 0 && this.rate <= 1000) || !(this.delay >= 0 && this.delay <= 10_000)) {
      throw new RangeError(`key repeat: rate must be in [0, 1000] and delay in [0, 10000] ms, got ${this.rate}, ${this.delay}`);
    }
    this.clock = options.clock ?? realClock;
    this.onRepeat = onRepeat;
  }

  /** Every key press and release of the seat, in order. */
  key(key: number, pressed: boolean): void {
    if (pressed) {
      if (NO_REPEAT.has(key) || this.rate === 0) return;
      this.stop();
      this.held = key;
      this.timer = this.clock.setTimeout(() => this.fire(), this.delay);
    } else if (key === this.held) {
      this.stop();
    }
  }

  /** Stops repeating (focus change, pause). */
  stop(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.held = undefined;
  }

  private fire(): void {
    const key = this.held;
    if (key === undefined) return;
    this.timer = this.clock.setTimeout(() => this.fire(), 1000 / this.rate);
    this.onRepeat(key);
  }
}
