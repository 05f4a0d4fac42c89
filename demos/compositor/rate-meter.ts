/** Events per second over the last second: the fps the viewer shows per surface. */
export class RateMeter {
  private readonly windowMs: number;
  private readonly times: number[] = [];

  constructor(windowMs = 1000) {
    this.windowMs = windowMs;
  }

  record(nowMs: number): void {
    this.times.push(nowMs);
    this.trim(nowMs);
  }

  /** Events per second in the window that ends at `nowMs`. */
  rate(nowMs: number): number {
    this.trim(nowMs);
    return (this.times.length * 1000) / this.windowMs;
  }

  private trim(nowMs: number): void {
    let drop = 0;
    while (drop < this.times.length && this.times[drop]! <= nowMs - this.windowMs) drop++;
    if (drop > 0) this.times.splice(0, drop);
  }
}
