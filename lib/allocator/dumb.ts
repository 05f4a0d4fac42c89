/**
 * DumbAllocator: DRM dumb buffers (DRM_IOCTL_MODE_CREATE_DUMB) on a card node,
 * exported as dma-bufs through PRIME, mapped by the server with MODE_MAP_DUMB.
 * Dumb buffers are linear memory any KMS driver can scan out; the kernel only
 * knows their bits per pixel, so any 16- or 32-bit format can be laid in them.
 *
 * How am I supposed to use this? `new DumbAllocator()` opens the first card node
 * that can allocate (or `{ device: '/dev/dri/card1' }`); allocate(), export() to
 * clients, destroy(); close() when done (buffers stay valid until destroyed).
 */
import { debug } from '../debug';
import { DrmDevice } from '../drm/device';
import { BufshareError, isErrno } from '../errors';
import { formats, MODIFIER_LINEAR, resolveFormat, type FormatInfo } from '../format';
import { checkDimensions } from '../layout';
import { mapDumb } from '../mapping/dumb-mapping';
import * as native from '../native';
import { deviceForAllocator, type DrmDeviceOption } from './device-option';
import { forcedShadowReason } from './env';
import { CapabilityCache, createHardwareBuffer, exportOnce, type HardwareBuffer, type RawBuffer } from './hardware-buffer';
import { checkLinearModifiers } from './shm';
import type { AllocateRequest, Allocator } from './types';

/** Bytes per pixel a dumb buffer can hold (the bpp every KMS driver accepts). */
const DUMB_BPP = new Set([2, 4]);

export function dumbFormats(): FormatInfo[] {
  return formats.filter((f) => DUMB_BPP.has(f.bpp));
}

function dumbBppWorks(device: DrmDevice, bpp: number): boolean {
  try {
    native.drmDestroyDumb(device.fd, native.drmCreateDumb(device.fd, 16, 16, bpp * 8).handle);
    return true;
  } catch {
    return false;
  }
}

/** Creates one dumb buffer and exports it. Holds a reference on `device` until destroyed. */
export function createDumbObject(device: DrmDevice, width: number, height: number, format: FormatInfo): RawBuffer {
  checkDimensions(width, height);
  if (!DUMB_BPP.has(format.bpp)) {
    throw new BufshareError('ERR_BUFSHARE_UNSUPPORTED_FORMAT',
      `dumb buffers on ${device} hold 16- or 32-bit pixels; ${format.name} has ${format.bpp * 8}. Supported: ${dumbFormats().map((f) => f.name).join(', ')}`);
  }
  const fd = device.fd;
  let info: native.DumbBufferInfo;
  try {
    info = native.drmCreateDumb(fd, width, height, format.bpp * 8);
  } catch (e) {
    if (isErrno(e, 'EACCES') && device.type === 'render') {
      throw new BufshareError('ERR_BUFSHARE_RENDER_NODE',
        `${device.path} is a render node: the kernel refuses dumb buffers there (EACCES); use a card node (/dev/dri/card*)`, { cause: e, syscall: e.syscall ?? 'ioctl', errno: 'EACCES' });
    }
    if (isErrno(e, 'EINVAL')) {
      // Drivers limit the bpp they accept (virtio_gpu: 32 only): say which formats this one takes.
      const supported = dumbFormats().filter((f) => f.bpp !== format.bpp && dumbBppWorks(device, f.bpp));
      if (supported.length > 0) {
        throw new BufshareError('ERR_BUFSHARE_UNSUPPORTED_FORMAT',
          `${device} refuses ${format.bpp * 8}-bit dumb buffers (CREATE_DUMB: EINVAL), so not ${format.name}; supported: ${supported.map((f) => f.name).join(', ')}`, { cause: e, syscall: e.syscall ?? 'ioctl', errno: 'EINVAL' });
      }
    }
    throw e;
  }
  device.ref();
  device.claimGemHandle(info.handle);
  let exported;
  try {
    exported = exportOnce((rw) => native.drmPrimeHandleToFd(fd, info.handle, rw));
  } catch (e) {
    device.releaseGemHandle(info.handle);
    native.drmDestroyDumb(fd, info.handle);
    device.unref();
    throw e;
  }
  let size = info.size;
  if (exported.fd !== undefined) {
    const seek = native.seekSize(exported.fd);
    if (seek > 0) size = Math.min(size, seek);
  }
  let destroyed = false;
  const plane = { offset: 0, stride: info.pitch };
  return {
    kind: 'dumb', driver: device.driver.name, width, height, format, modifier: MODIFIER_LINEAR, plane, size,
    export: exported, ownMapping: 'dumb-map', ownMappingIsDirect: true,
    mapOwn: (mode) => mapDumb({ drmFd: device.fd, handle: info.handle, size: info.size, mode, width, height, stride: info.pitch, format, offset: 0 }),
    destroy: () => {
      if (destroyed) return;
      destroyed = true;
      try {
        if (exported.fd !== undefined) native.closeFd(exported.fd);
        device.releaseGemHandle(info.handle);
        native.drmDestroyDumb(device.fd, info.handle);
      } finally {
        device.unref();
      }
    },
  };
}

export interface DrmAllocatorOptions {
  /**
   * The DRM node to open (default: BUFSHARE_DEVICE, else the first card node that
   * can allocate), or a DrmDevice to allocate on (e.g. DrmDevice.fromFd(fd) on the
   * compositor's own fd: borrowed, never closed by the allocator).
   */
  readonly device?: DrmDeviceOption;
}

export class DumbAllocator implements Allocator {
  readonly name = 'dumb' as const;
  readonly device: DrmDevice;
  private readonly capabilities: CapabilityCache;
  private closed = false;

  constructor(options: DrmAllocatorOptions = {}) {
    this.device = deviceForAllocator(options.device, 'dumb', (d) => createDumbObject(d, 16, 16, resolveFormat('XRGB8888')).destroy());
    this.capabilities = new CapabilityCache((w, h, f) => createDumbObject(this.device, w, h, f));
    debug('dumb', `opened ${this.device}`);
  }

  allocate(request: AllocateRequest): HardwareBuffer {
    if (this.closed) throw new BufshareError('ERR_BUFSHARE_DESTROYED', 'the dumb allocator was closed');
    const format = resolveFormat(request.format);
    checkLinearModifiers(request.modifiers, 'dumb');
    const raw = createDumbObject(this.device, request.width, request.height, format);
    return createHardwareBuffer(raw, this.capabilities.get(format), forcedShadowReason(request.access));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.device.unref();
  }
}
