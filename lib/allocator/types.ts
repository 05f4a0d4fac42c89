/**
 * The Allocator and SharedBuffer interfaces every backend implements
 * (shm here; dumb, gbm and udmabuf in their own modules).
 *
 * How am I supposed to use this? The server allocates, `export()`s the descriptor
 * and fds to the client, maps the buffer itself to read what the client drew, and
 * `destroy()`s it when the surface goes away. The client rebuilds the buffer from
 * the descriptor with `fromDescriptor()` (lib/imported-buffer.ts).
 */
import type { ClientAccess, BufferKind, ClientBufferDescriptor, PlaneLayout } from '../descriptor';
import type { FormatInfo, FormatSpec } from '../format';
import type { GraphicsRegion, MapMode } from '../mapping/graphics-region';
import type { Region } from '../region';

export type BufferUsage = 'software' | 'hardware';

export interface AllocateRequest {
  readonly width: number;
  readonly height: number;
  readonly format: FormatSpec;
  /** 'software': shared memory; 'hardware': a DRM/dma-buf buffer where the machine has one. Default 'software'. */
  readonly usage?: BufferUsage;
  /** Acceptable format modifiers, best first; absent means "linear or whatever the driver picks". */
  readonly modifiers?: readonly bigint[];
  /** Force the client access strategy; 'auto' (default) lets the backend decide from what the driver can do. */
  readonly access?: ClientAccess | 'auto';
  /** Hardware buffers: the buffer may be shown on a display plane (GBM_BO_USE_SCANOUT). Default false. */
  readonly scanout?: boolean;
}

export interface MapOptions {
  /** Default 'readwrite'. */
  readonly mode?: MapMode;
}

/** A descriptor and the fds that go with it, in descriptor.fds order. The fds stay owned by the buffer. */
export interface ExportedBuffer {
  readonly descriptor: ClientBufferDescriptor;
  readonly fds: readonly number[];
}

/** What the server and the client both see of a buffer. */
export interface BufferInfo {
  /** Unique in this process. */
  readonly id: number;
  readonly width: number;
  readonly height: number;
  readonly format: FormatInfo;
  readonly modifier: bigint;
  readonly planes: readonly PlaneLayout[];
  /** Bytes of the buffer's memory. */
  readonly size: number;
  readonly kind: BufferKind;
  /** The client's access strategy. */
  readonly access: ClientAccess;
  readonly readOnly: boolean;
  readonly destroyed: boolean;
  /**
   * The memory under a mapping of this buffer vanished (an unsealed file was
   * truncated by another holder); the SIGBUS guard turned it into zeros. Never
   * true for sealed memfds and dma-bufs.
   */
  readonly faulted: boolean;
  /** Maps the pixels for the CPU; see GraphicsRegion. */
  map(options?: MapOptions): GraphicsRegion;
  /**
   * Unmaps every region still mapped and closes every fd, exactly once. Idempotent.
   * A shm or imported buffer dropped without it has its fds closed when it is
   * garbage collected; hardware buffers (GEM handles, driver mappings) must be destroyed.
   */
  destroy(): void;
}

/** A buffer the server allocated and owns. */
export interface SharedBuffer extends BufferInfo {
  /** The descriptor and fds to send to a client. The fds stay owned by the buffer. */
  export(): ExportedBuffer;
  /**
   * For shadow-access buffers: copies the damaged rectangles from the shadow into
   * the buffer through the server's own mapping, clipped to the buffer. Returns
   * the pixels copied; 0 for direct-access buffers (there is nothing to copy).
   */
  commitShadow(damage: Region): number;
}

export interface Allocator {
  /** 'shm', 'dumb', 'gbm', 'udmabuf', or 'auto' for the capability-driven one. */
  readonly name: BufferKind | 'auto';
  allocate(request: AllocateRequest): SharedBuffer;
  /** Releases the allocator's own resources (a DRM fd, a gbm device). Buffers stay valid until destroyed. */
  close(): void;
}

let nextBufferId = 1;
/** Buffer ids, unique in this process. */
export function newBufferId(): number {
  return nextBufferId++;
}
