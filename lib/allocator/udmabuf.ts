/**
 * UdmabufAllocator: a sealed memfd turned into a dma-buf by /dev/udmabuf. The
 * memory is ordinary RAM (no GPU needed), but clients get a real dma-buf they can
 * import into a GPU; the server maps the memfd itself, coherent with the dma-buf
 * (docs/design.md). Stride aligned to 256 bytes, what GPU importers commonly require.
 * Linux 5.0+ with CONFIG_UDMABUF (Debian 6.12 has it; 6.1 does not).
 */
import { existsSync } from 'node:fs';
import { BufshareError, isErrno } from '../errors';
import { MODIFIER_LINEAR, resolveFormat, type FormatInfo } from '../format';
import { computeLayout } from '../layout';
import { mapFd } from '../mapping/fd-mapping';
import * as native from '../native';
import { forcedShadowReason } from './env';
import { ok, skipped } from '../capabilities/result';
import { CapabilityCache, createHardwareBuffer, type BufferExport, type HardwareBuffer, type RawBuffer } from './hardware-buffer';
import { checkLinearModifiers } from './shm';
import { createShmFile } from './shm-file';
import type { AllocateRequest, Allocator } from './types';

export const UDMABUF_DEVICE = '/dev/udmabuf';
export const UDMABUF_STRIDE_ALIGN = 256;

/** Why udmabuf cannot be used here, or undefined. */
export function udmabufUnavailableReason(): string | undefined {
  return existsSync(UDMABUF_DEVICE) ? undefined : `no ${UDMABUF_DEVICE} (CONFIG_UDMABUF, Linux 5.0+)`;
}

/** A sealed memfd and its udmabuf. */
export function createUdmabufObject(width: number, height: number, format: FormatInfo): RawBuffer {
  const { stride, size } = computeLayout(width, height, format, UDMABUF_STRIDE_ALIGN, native.pageSize);
  const memfd = createShmFile(size, { name: `bufshare-udmabuf-${width}x${height}` });
  if (!memfd.sealed) {
    native.closeFd(memfd.fd);
    throw new BufshareError('ERR_BUFSHARE_NOT_AVAILABLE', 'udmabuf not available: it needs a sealed memfd and memfd_create is unavailable');
  }
  let dmabuf: number;
  try {
    dmabuf = native.udmabufCreate(memfd.fd, 0, size);
  } catch (e) {
    native.closeFd(memfd.fd);
    if (isErrno(e, 'ENOENT', 'ENODEV')) throw new BufshareError('ERR_BUFSHARE_NOT_AVAILABLE', `udmabuf not available: ${e.message}`, { cause: e });
    throw e;
  }
  // udmabuf has no read-only flavour: its dma-buf is always O_RDWR.
  const exported: BufferExport = { fd: dmabuf, readWrite: ok(), readOnly: skipped('a udmabuf is always read-write') };
  let destroyed = false;
  return {
    kind: 'udmabuf', driver: '', width, height, format, modifier: MODIFIER_LINEAR, plane: { offset: 0, stride }, size,
    export: exported, ownMapping: 'direct', ownMappingIsDirect: true,
    mapOwn: (mode) => mapFd({ fd: memfd.fd, size, mode, strategy: 'direct', dmabuf: false, width, height, stride, format, offset: 0 }),
    destroy: () => {
      if (destroyed) return;
      destroyed = true;
      try {
        native.closeFd(dmabuf);
      } finally {
        native.closeFd(memfd.fd);
      }
    },
  };
}

export class UdmabufAllocator implements Allocator {
  readonly name = 'udmabuf' as const;
  private readonly capabilities = new CapabilityCache(createUdmabufObject);

  constructor() {
    const why = udmabufUnavailableReason();
    if (why) throw new BufshareError('ERR_BUFSHARE_NOT_AVAILABLE', `udmabuf not available: ${why}`);
  }

  allocate(request: AllocateRequest): HardwareBuffer {
    const format = resolveFormat(request.format);
    checkLinearModifiers(request.modifiers, 'udmabuf');
    return createHardwareBuffer(createUdmabufObject(request.width, request.height, format), this.capabilities.get(format), forcedShadowReason(request.access));
  }

  close(): void {
    // Nothing held between allocations.
  }
}
