/**
 * Frame pacing: a tick at the output's refresh rate (60 Hz by default), on a
 * fixed grid of deadlines so that timer jitter does not drift the rate. A tick
 * that runs late by more than a frame skips the deadlines it missed instead of
 * firing them back to back (a compositor that falls behind drops frames, it does
 * not replay them).
 *
 * The compositor composes on each tick and then sends frame_done to the surfaces
 * that submitted, so clients draw at most once per output frame.
 */

export interface PacerClock {
  /** Milliseconds, monotonic. */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realClock: PacerClock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export class FramePacer {
  readonly rateHz: number;
  readonly periodMs: number;
  /** Ticks fired. */
  frames = 0;
  /** Deadlines skipped because a tick ran late. */
  skipped = 0;
  private readonly onTick: (frame: number) => void;
  private readonly clock: PacerClock;
  private timer: unknown;
  private origin = 0;
  private slot = 0;

  constructor(rateHz: number, onTick: (frame: number) => void, clock: PacerClock = realClock) {
    if (!Number.isFinite(rateHz) || rateHz <= 0 || rateHz > 1000) throw new RangeError(`refresh rate must be in (0, 1000] Hz, got ${rateHz}`);
    this.rateHz = rateHz;
    this.periodMs = 1000 / rateHz;
    this.onTick = onTick;
    this.clock = clock;
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  start(): void {
    if (this.running) return;
    this.origin = this.clock.now();
    this.slot = 0;
    this.schedule();
  }

  stop(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    this.slot++;
    const now = this.clock.now();
    // Deadlines already past (this.slot's included) are skipped, not fired late.
    const missed = Math.floor((now - this.origin) / this.periodMs) - this.slot + 1;
    if (missed > 0) {
      this.skipped += missed;
      this.slot += missed;
    }
    const deadline = this.origin + this.slot * this.periodMs;
    this.timer = this.clock.setTimeout(() => this.fire(), Math.max(0, deadline - now));
  }

  private fire(): void {
    if (this.timer === undefined) return;
    this.frames++;
    try {
      this.onTick(this.frames);
    } finally {
      if (this.timer !== undefined) this.schedule();
    }
  }
}
