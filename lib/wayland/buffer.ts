/**
 * WaylandBuffer: what a wl_buffer is to the surface code, whatever made it
 * (wl_shm today; zwp_linux_dmabuf_v1 would add a second kind).
 *
 * A committed buffer is *held* by the compositor until the frame that shows it
 * is released; wl_buffer.release goes out when the last hold ends (a buffer can
 * be committed again before its previous frame was released).
 */
import type { FormatInfo } from '../format';
import type { GraphicsRegion } from '../mapping/graphics-region';
import type { ScanoutSource } from '../surface-model';
import type { Resource } from './resource';

/** One hold on a buffer's pixels: a read view valid until release(). */
export interface BufferHold {
  readonly region: GraphicsRegion;
  release(): void;
}

export interface WaylandBuffer {
  readonly resource: Resource<unknown>;
  readonly width: number;
  readonly height: number;
  readonly format: FormatInfo;
  /**
   * Takes a hold for a frame. Throws a ProtocolError when the pixels cannot be
   * read (the pool was truncated under the buffer).
   */
  hold(): BufferHold;
  /**
   * A buffer with implicit fences (a client's dma-buf): undefined when its write
   * fences have signalled (it may be read now), else a promise that resolves once
   * they have, rejects with ERR_BUFSHARE_TIMEOUT after `timeoutMs`, or with the
   * signal's reason when aborted. hold() must wait for it: DMA_BUF_IOCTL_SYNC
   * would otherwise block the whole server on a fence that never signals.
   */
  whenReadable?(timeoutMs: number, signal: AbortSignal): Promise<void> | undefined;
  /** A dma-buf a KMS plane could scan out (linux-dmabuf buffers). */
  readonly scanout?: ScanoutSource;
}

const buffers = new WeakMap<Resource<unknown>, WaylandBuffer>();

/** Registers `buffer` as what its wl_buffer resource stands for. */
export function registerBuffer(buffer: WaylandBuffer): void {
  buffers.set(buffer.resource, buffer);
}

/** The buffer behind a wl_buffer resource. */
export function bufferOf(resource: Resource<unknown>): WaylandBuffer | undefined {
  return buffers.get(resource);
}
