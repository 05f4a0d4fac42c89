/**
 * Tries every CPU path of one buffer object for real: its own server mapping,
 * the dma-buf export (read-write, else read-only), and dma-buf mmap for reading
 * and for writing, each bracketed with DMA_BUF_IOCTL_SYNC and verified by a
 * pattern read back through a second mapping (coherency, not a successful call).
 */
import type { RawBuffer } from '../allocator/hardware-buffer';
import { mapFd } from '../mapping/fd-mapping';
import type { GraphicsRegion, MapMode } from '../mapping/graphics-region';
import { dmabufMmapForbidden } from './quirks';
import type { KindCapability, ServerMapping } from './access';
import { checkPattern, fillCheckPattern } from './pattern';
import { failed, failureOf, ok, skipped, type PathResult } from './result';

const SEED_OWN = 0x51;
const SEED_DMABUF = 0xa7;

/** Maps with `map`, runs `use`, always unmaps; a throw becomes a failure of `call`. */
function withRegion(call: string, map: () => GraphicsRegion, use: (r: GraphicsRegion) => PathResult): PathResult {
  let region: GraphicsRegion;
  try {
    region = map();
  } catch (e) {
    return failureOf(call, e);
  }
  try {
    return use(region);
  } catch (e) {
    return failureOf(call, e);
  } finally {
    try {
      region.unmap();
    } catch {
      // The failure that matters was reported above (or the path worked).
    }
  }
}

function verify(region: GraphicsRegion, seed: number, what: string): PathResult {
  const bad = checkPattern(region, seed);
  return bad === undefined ? ok() : failed('verify', 'EIO', `${what}: pixel (${bad.x}, ${bad.y}) differs from the pattern written`);
}

function mapDmabuf(raw: RawBuffer, fd: number, mode: MapMode): GraphicsRegion {
  return mapFd({
    fd, size: raw.size, mode, strategy: 'dmabuf-sync', dmabuf: true,
    width: raw.width, height: raw.height, stride: raw.plane.stride, format: raw.format, offset: raw.plane.offset,
  });
}

export function tryPaths(raw: RawBuffer): KindCapability {
  const own = raw.ownMapping;
  // 1. The backend's own mapping: write a pattern, read it back through a fresh map.
  let ownResult = withRegion(own, () => raw.mapOwn('write'), (r) => {
    fillCheckPattern(r, SEED_OWN);
    return ok();
  });
  if (ownResult.ok) ownResult = withRegion(own, () => raw.mapOwn('read'), (r) => verify(r, SEED_OWN, `${own} read-back`));

  const { fd } = raw.export;
  const quirk = dmabufMmapForbidden(raw.driver);
  let read: PathResult;
  let write: PathResult;
  if (quirk) {
    read = write = skipped(`quirk: ${quirk.reason}`);
  } else if (fd === undefined) {
    read = write = skipped('no dma-buf: every export failed');
  } else {
    // 2. dma-buf mmap for reading: sees what the own mapping wrote?
    read = withRegion('mmap', () => mapDmabuf(raw, fd, 'read'), (r) =>
      ownResult.ok ? verify(r, SEED_OWN, `reading through the dma-buf what ${own} wrote`) : ok('mapped; not verified: the own mapping failed'));
    // 3. dma-buf mmap for writing, read back through a second dma-buf mapping and the own mapping.
    if (!raw.export.readWrite.ok) {
      write = skipped('the dma-buf is read-only');
    } else {
      write = withRegion('mmap', () => mapDmabuf(raw, fd, 'write'), (r) => {
        fillCheckPattern(r, SEED_DMABUF);
        return ok();
      });
      if (write.ok) write = withRegion('mmap', () => mapDmabuf(raw, fd, 'read'), (r) => verify(r, SEED_DMABUF, 'second dma-buf mapping'));
      if (write.ok && ownResult.ok) write = withRegion(own, () => raw.mapOwn('read'), (r) => verify(r, SEED_DMABUF, `reading through ${own} what the dma-buf mapping wrote`));
    }
  }
  const serverMaps: Partial<Record<ServerMapping, PathResult>> = { [own]: ownResult, 'dmabuf-sync': write };
  return { allocate: ok(), exportReadWrite: raw.export.readWrite, exportReadOnly: raw.export.readOnly, dmabufMmapRead: read, dmabufMmapWrite: write, serverMaps };
}
