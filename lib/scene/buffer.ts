/**
 * SceneBuffer: one client buffer's lifetime, whatever its source (wl_shm,
 * linux-dmabuf, a bufshare frame, a VM's scanout), as wlroots' `wlr_buffer`.
 *
 * How am I supposed to use this? A source wraps each committed buffer once
 * (`SceneBuffer.fromFrame(frame)`, or `new SceneBuffer(region, release)`); the
 * creator holds the first lock. Everything that reads the pixels later takes a
 * lock of its own and drops it when done: the scene node showing the buffer
 * (until the next commit replaces it, or the node goes), an output scanning it
 * out (until the flip that takes it off the screen), a screenshot (until the
 * PNG is written). When the last lock goes the buffer goes back to its client
 * (`wl_buffer.release`, bufshare's release) exactly once; its pixels must not
 * be read after that.
 *
 * Ownership: the buffer does not own the region's mapping; `release` does
 * (a frame's release unmaps its read view and tells the client).
 */
import { BufshareError } from '../errors';
import type { GraphicsRegion } from '../mapping/graphics-region';
import type { CompositorFrame, ScanoutSource } from '../surface-model';

export class SceneBuffer {
  /** The pixels, for reading; valid while the buffer is locked. */
  readonly region: GraphicsRegion;
  /** Its dma-buf, when a KMS plane could show it as it is. */
  readonly scanout: ScanoutSource | undefined;
  private locks = 1;
  private onRelease: (() => void) | undefined;

  /**
   * @param region the pixels, mapped for reading
   * @param release gives the buffer back to its client; called once, when the last lock goes
   */
  constructor(region: GraphicsRegion, release: () => void, scanout?: ScanoutSource) {
    this.region = region;
    this.scanout = scanout;
    this.onRelease = release;
  }

  /** A frame of any source (bufshare's Frame, WaylandFrame): released when the last lock goes. */
  static fromFrame(frame: CompositorFrame): SceneBuffer {
    return new SceneBuffer(frame.region, () => frame.release(), frame.scanout);
  }

  get width(): number {
    return this.region.width;
  }

  get height(): number {
    return this.region.height;
  }

  /** Locks held. 0 once released. */
  get lockCount(): number {
    return this.locks;
  }

  /** True once the last lock went and the buffer was given back. */
  get released(): boolean {
    return this.locks === 0;
  }

  /** Another reader. Throws on a buffer already given back: its memory is the client's again. */
  lock(): this {
    if (this.locks === 0) throw new BufshareError('ERR_BUFSHARE_DESTROYED', 'lock() on a buffer already released to its client');
    this.locks++;
    return this;
  }

  /** Ends one lock; the last one releases the buffer. Unlocking more often than locked is a bug and throws. */
  unlock(): void {
    if (this.locks === 0) throw new BufshareError('ERR_BUFSHARE_DESTROYED', 'unlock() on a buffer already released');
    if (--this.locks > 0) return;
    const release = this.onRelease;
    this.onRelease = undefined;
    release?.();
  }
}
