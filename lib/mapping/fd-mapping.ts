/**
 * Maps an fd (a shm file or a dma-buf) into a GraphicsRegion.
 *
 * dma-bufs are bracketed with DMA_BUF_IOCTL_SYNC: START (matching the mode) when
 * mapped, END when unmapped, so that caches are coherent with the device on
 * drivers that need it; on the others the ioctl is cheap.
 *
 * Read regions cannot crash a writer. JS has no read-only typed arrays, and a JS
 * write into PROT_READ memory is a SIGSEGV that kills the process, so a region is
 * never PROT_READ memory: mode 'read' maps the fd PROT_READ|PROT_WRITE when it is
 * open read-write (a stray write changes the pixels, as it would in C), and takes
 * a private copy of the pixels when the fd is read-only (a read-only dma-buf
 * export): a stray write then changes only the copy. The sync bracket still says
 * READ, so no cache is flushed for a write the program did not mean.
 */
import { BufshareError, fromNativeError } from '../errors';
import * as native from '../native';
import { GraphicsRegion, type MapMode, type MappingStrategy, type RegionGeometry } from './graphics-region';

export interface FdMapRequest extends RegionGeometry {
  readonly fd: number;
  /** Bytes to map from offset 0 (covers geometry.offset + stride x height). */
  readonly size: number;
  readonly mode: MapMode;
  readonly strategy: MappingStrategy;
  /** Bracket with DMA_BUF_IOCTL_SYNC. */
  readonly dmabuf: boolean;
}

function syncFlags(mode: MapMode): number {
  const c = native.constants;
  return mode === 'read' ? c.DMA_BUF_SYNC_READ : mode === 'write' ? c.DMA_BUF_SYNC_WRITE : c.DMA_BUF_SYNC_RW;
}

/** True when `fd` was opened read-write: only then can a shared mapping of it be writable. */
export function fdIsReadWrite(fd: number): boolean {
  return (native.getFdFlags(fd) & native.constants.O_ACCMODE) === native.constants.O_RDWR;
}

export function mapFd(req: FdMapRequest): GraphicsRegion {
  if (req.mode === 'read' && !fdIsReadWrite(req.fd)) return copyReadOnly(req);
  // Every mode maps PROT_READ | PROT_WRITE: JS views cannot be write-only, nor read-only.
  const memory = native.mmapFd(req.fd, req.size, 0, native.PROT_READ | native.PROT_WRITE);
  let syncing = false;
  try {
    // A read waits for nothing here: its caller waited for the fences it owed
    // (lib/sync), and a fence added since (a client writing a buffer it handed
    // over) would make DMA_BUF_IOCTL_SYNC START wait on the event loop, unbounded.
    // Then the read goes without the bracket, as linux-dmabuf frames do.
    const pendingForRead = req.dmabuf && req.mode === 'read' && !native.dmabufReady(req.fd, native.FENCE_ACCESS_READ);
    if (req.dmabuf && !pendingForRead) {
      native.dmabufSync(req.fd, native.constants.DMA_BUF_SYNC_START | syncFlags(req.mode));
      syncing = true;
    }
    const guarded = native.mappingState(memory).guarded;
    return new GraphicsRegion(memory, req, req.mode, req.strategy, () => {
      try {
        if (syncing) native.dmabufSync(req.fd, native.constants.DMA_BUF_SYNC_END | syncFlags(req.mode));
      } finally {
        native.unmapBuffer(memory);
      }
    }, guarded ? () => native.mappingState(memory).faulted : undefined);
  } catch (e) {
    if (syncing) native.dmabufSync(req.fd, native.constants.DMA_BUF_SYNC_END | syncFlags(req.mode));
    native.unmapBuffer(memory);
    throw e instanceof BufshareError ? e : fromNativeError(e);
  }
}

/**
 * A read region of an fd that cannot be mapped writable: the pixels copied, under
 * the READ sync bracket, into memory of our own. Not zero copy, and a snapshot
 * (later writes to the buffer are not seen), but nothing written to it can fault.
 */
function copyReadOnly(req: FdMapRequest): GraphicsRegion {
  const memory = native.mmapFd(req.fd, req.size, 0, native.PROT_READ);
  let copy: ArrayBuffer;
  try {
    if (req.dmabuf) native.dmabufSync(req.fd, native.constants.DMA_BUF_SYNC_START | native.constants.DMA_BUF_SYNC_READ);
    try {
      copy = memory.slice(0);
    } finally {
      if (req.dmabuf) native.dmabufSync(req.fd, native.constants.DMA_BUF_SYNC_END | native.constants.DMA_BUF_SYNC_READ);
    }
  } catch (e) {
    throw e instanceof BufshareError ? e : fromNativeError(e);
  } finally {
    native.unmapBuffer(memory);
  }
  // Unmapping detaches the copy (transferring it), so that its views drop to length 0 like a mapping's.
  return new GraphicsRegion(copy, req, req.mode, req.strategy, () => void structuredClone(copy, { transfer: [copy] }));
}
