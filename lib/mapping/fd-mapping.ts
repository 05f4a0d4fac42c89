/**
 * Maps an fd (a shm file or a dma-buf) into a GraphicsRegion.
 *
 * dma-bufs are bracketed with DMA_BUF_IOCTL_SYNC: START (matching the mode) when
 * mapped, END when unmapped, so that caches are coherent with the device on
 * drivers that need it; on the others the ioctl is cheap.
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

function protFor(mode: MapMode): number {
  // A 'write' mapping is PROT_READ | PROT_WRITE too: JS views cannot be write-only.
  return mode === 'read' ? native.PROT_READ : native.PROT_READ | native.PROT_WRITE;
}

export function mapFd(req: FdMapRequest): GraphicsRegion {
  const memory = native.mmapFd(req.fd, req.size, 0, protFor(req.mode));
  let syncing = false;
  try {
    if (req.dmabuf) {
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
