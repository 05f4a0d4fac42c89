/**
 * The server's mapping of a dumb buffer: DRM_IOCTL_MODE_MAP_DUMB gives a fake
 * offset, and mmap of the card fd at that offset maps the buffer's pages.
 * Coherent with a dma-buf mapping of the same buffer on every driver tested
 * (docs/design.md), so no sync bracket is needed on this path.
 */
import * as native from '../native';
import { GraphicsRegion, type MapMode, type RegionGeometry } from './graphics-region';

export interface DumbMapRequest extends RegionGeometry {
  readonly drmFd: number;
  readonly handle: number;
  /** Bytes of the dumb buffer (CREATE_DUMB's size). */
  readonly size: number;
  readonly mode: MapMode;
}

export function mapDumb(req: DumbMapRequest): GraphicsRegion {
  const offset = native.drmMapDumb(req.drmFd, req.handle);
  // PROT_WRITE for 'read' too: a JS write into PROT_READ memory is a SIGSEGV, and
  // the card fd is always open read-write (fd-mapping.ts explains).
  const memory = native.mmapFd(req.drmFd, req.size, offset, native.PROT_READ | native.PROT_WRITE);
  try {
    // The card fd is no regular file: mmapFd guards the mapping (a client holding
    // the buffer's dma-buf can have a driver purge it; an unplug faults it).
    const guarded = native.mappingState(memory).guarded;
    return new GraphicsRegion(memory, req, req.mode, 'dumb-map', () => {
      native.unmapBuffer(memory);
    }, guarded ? () => native.mappingState(memory).faulted : undefined);
  } catch (e) {
    native.unmapBuffer(memory);
    throw e;
  }
}
