/**
 * Frame: one submitted buffer, as the compositor sees it, until it releases it.
 *
 * How am I supposed to use this? In `server.on('frame', (frame) => ...)` read
 * `frame.region` (the buffer mapped for reading) inside `frame.damage`, show it,
 * then `frame.release()` so the client may draw into the buffer again. Call
 * `frame.surface.frameDone()` when the client should draw its next frame.
 *
 * Coherence: the client wrote the pixels before it submitted; for shadow-access
 * buffers the server copied the damage into the buffer before the frame was
 * emitted. Reading after release() races with the client's next frame.
 */
import type { SharedBuffer } from '../allocator/types';
import type { GraphicsRegion } from '../mapping/graphics-region';
import type { Region } from '../region';
import type { ServerSurface } from './server-surface';
import type { BufferSlot } from './server-surface';
import type { CompositorFrame, ScanoutSource } from '../surface-model';

export class Frame implements CompositorFrame {
  readonly surface: ServerSurface;
  /** Damage clipped to the buffer, at most the client's maxRectsPerSubmit rectangles. */
  readonly damage: Region;
  private readonly slot: BufferSlot;
  private isReleased = false;

  /** @internal Made by the server when a client submits. */
  constructor(surface: ServerSurface, slot: BufferSlot, damage: Region) {
    this.surface = surface;
    this.slot = slot;
    this.damage = damage;
  }

  get buffer(): SharedBuffer {
    return this.slot.buffer;
  }

  /** The shared buffer itself: an output asks it for a dma-buf to scan out (a software buffer has none: refused as 'no-dmabuf'). */
  get scanout(): ScanoutSource {
    return this.slot.buffer;
  }

  /**
   * The frame mapped for reading, made on first use. Shm buffers, dumb buffers
   * and shadowed hardware buffers (read from their shadow, cached RAM) keep one
   * mapping per buffer; a gbm_bo_map (perhaps a staging copy) or a dma-buf
   * mapping (DMA_BUF_SYNC START/END) is made per frame and ended by release():
   * see HardwareBuffer.mapFrameSource for each rule. Valid until release() even
   * if the client destroys the surface, disconnects or dies meanwhile: the
   * buffer is destroyed at release then. Only closing the server ends it
   * earlier; its views then have length 0, never a dangling read. Never keep a
   * region past release().
   */
  get region(): GraphicsRegion {
    return this.surface.readRegion(this.slot);
  }

  get released(): boolean {
    return this.isReleased;
  }

  /** Returns the buffer to its client (or destroys it, when its surface is gone). Idempotent. */
  release(): void {
    if (this.isReleased) return;
    this.isReleased = true;
    this.surface.releaseSlot(this.slot);
  }
}
