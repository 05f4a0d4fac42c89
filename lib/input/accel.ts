/**
 * Pointer acceleration for relative devices (mice), the two profiles libinput
 * offers, from its documented behaviour (doc/user/pointer-acceleration.rst and
 * the linear profile it describes), not its code:
 *
 * - flat: every delta times a constant, 1 + speed (speed in [-1, 1]: 0..2).
 * - adaptive (libinput's "linear" mouse profile): the factor depends on the
 *   pointer's velocity in device units per ms, normalised to 1000 dpi:
 *   deceleration below 0.07 u/ms (10v + 0.3: down to 0.3 at rest), 1:1 up to a
 *   threshold, then a linear rise (incline) to a maximum factor. The speed
 *   setting moves the threshold (0.4 - 0.25 s u/ms, at least 0.2), the incline
 *   (1.1 + 0.75 s) and the maximum (2 + 1.5 s: 3.5 at speed 1).
 *
 * Velocity is measured over recent motion in one direction (libinput's
 * "trackers"): a change of direction or a pause (over 300 ms) starts afresh,
 * and the factor is averaged over the last and the current velocity, so a
 * jump in speed does not jerk the pointer.
 */
export type AccelProfile = 'flat' | 'adaptive';

export interface AccelOptions {
  readonly profile?: AccelProfile;
  /** libinput's speed setting, -1 (slowest) to 1. Default 0. */
  readonly speed?: number;
  /** The device's resolution; deltas are normalised to 1000 dpi before the curve. Default 1000. */
  readonly dpi?: number;
}

const DECEL_BELOW = 0.07; // u/ms
const MOTION_TIMEOUT_MS = 300;
const TRACKERS = 16;

/** The adaptive profile's factor at `velocity` (units per ms, at 1000 dpi) for a speed setting. */
export function adaptiveFactor(velocity: number, speed = 0): number {
  const threshold = Math.max(0.2, 0.4 - 0.25 * speed);
  const maxAccel = 2 + 1.5 * speed;
  const incline = 1.1 + 0.75 * speed;
  let f: number;
  if (velocity < DECEL_BELOW) f = 10 * velocity + 0.3;
  else if (velocity < threshold) f = 1;
  else f = incline * (velocity - threshold) + 1;
  return Math.min(maxAccel, f);
}

export function flatFactor(speed = 0): number {
  return 1 + speed;
}

interface Tracker {
  dx: number;
  dy: number;
  time: number;
  dir: number;
}

/** A direction bit set (8 sectors): motion in a different sector breaks the velocity run. */
function direction(dx: number, dy: number): number {
  if (dx === 0 && dy === 0) return 0;
  const sector = Math.floor(((Math.atan2(dy, dx) + Math.PI) / (2 * Math.PI)) * 8) % 8;
  // A delta near a sector edge counts in both neighbours, as libinput's trackers do.
  const a = ((Math.atan2(dy, dx) + Math.PI) / (2 * Math.PI)) * 8;
  const frac = a - Math.floor(a);
  let bits = 1 << sector;
  if (frac < 0.25) bits |= 1 << ((sector + 7) % 8);
  if (frac > 0.75) bits |= 1 << ((sector + 1) % 8);
  return bits;
}

export class PointerAccel {
  readonly profile: AccelProfile;
  readonly speed: number;
  private readonly dpi: number;
  private readonly trackers: Tracker[] = [];
  private lastVelocity = 0;

  constructor(options: AccelOptions = {}) {
    this.profile = options.profile ?? 'adaptive';
    this.speed = Math.min(1, Math.max(-1, options.speed ?? 0));
    this.dpi = options.dpi ?? 1000;
    if (this.profile !== 'flat' && this.profile !== 'adaptive') throw new RangeError(`unknown acceleration profile ${String(this.profile)}`);
  }

  /** The accelerated delta for a device delta at `timeMs` (monotonic). */
  apply(dx: number, dy: number, timeMs: number): [number, number] {
    if (this.profile === 'flat') {
      const f = flatFactor(this.speed);
      return [dx * f, dy * f];
    }
    const nx = (dx * 1000) / this.dpi;
    const ny = (dy * 1000) / this.dpi;
    const v = this.velocity(nx, ny, timeMs);
    // Simpson's rule over [last, current]: the mean factor over the speed change.
    const f = (adaptiveFactor(this.lastVelocity, this.speed) + 4 * adaptiveFactor((this.lastVelocity + v) / 2, this.speed) + adaptiveFactor(v, this.speed)) / 6;
    this.lastVelocity = v;
    return [dx * f, dy * f];
  }

  private velocity(dx: number, dy: number, time: number): number {
    const dir = direction(dx, dy);
    for (const t of this.trackers) {
      t.dx += dx;
      t.dy += dy;
    }
    this.trackers.unshift({ dx: 0, dy: 0, time, dir });
    if (this.trackers.length > TRACKERS) this.trackers.pop();
    // Walk back while the motion kept its direction and is recent; the oldest such tracker gives the run.
    let result = 0;
    let dirs = dir;
    for (let i = 1; i < this.trackers.length; i++) {
      const t = this.trackers[i]!;
      const dt = time - t.time;
      if (dt > MOTION_TIMEOUT_MS || dt <= 0) break;
      dirs &= t.dir;
      if (dirs === 0) break;
      const v = Math.hypot(t.dx, t.dy) / dt;
      // A large change of speed also ends the run: the newest part is what counts.
      if (result > 0 && (v > result * 2 || v < result / 2)) break;
      result = v;
    }
    if (result === 0 && this.trackers.length > 1) {
      // One event after a pause: its delta over the time since the last one (at most the timeout).
      const dt = Math.min(MOTION_TIMEOUT_MS, Math.max(1, time - this.trackers[1]!.time));
      result = Math.hypot(dx, dy) / dt;
    }
    return result;
  }
}
