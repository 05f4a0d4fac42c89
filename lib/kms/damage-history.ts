/**
 * Buffer age for an output's own buffers: what must be repainted in a buffer
 * last shown `age` frames ago. It missed the damage of the age - 1 frames
 * committed since, plus this frame's own; age 0 (never shown) or older than the
 * history means everything.
 */
import { Region } from '../region';

export class DamageHistory {
  private readonly frames: Region[] = [];
  private readonly width: number;
  private readonly height: number;
  private readonly depth: number;

  constructor(width: number, height: number, depth = 4) {
    this.width = width;
    this.height = height;
    this.depth = depth;
  }

  /** The region to repaint in a buffer of `age`, for a frame whose own damage is `current`. */
  repaint(age: number, current: Region): Region {
    if (age <= 0 || age - 1 > this.frames.length) return Region.full(this.width, this.height);
    let r = current;
    for (let i = this.frames.length - (age - 1); i < this.frames.length; i++) r = r.union(this.frames[i]!);
    return r.clip(this.width, this.height);
  }

  /** Records a committed frame's own damage. */
  push(damage: Region): void {
    this.frames.push(damage);
    if (this.frames.length > this.depth) this.frames.shift();
  }
}
