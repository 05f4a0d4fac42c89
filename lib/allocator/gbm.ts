/**
 * GbmAllocator: GBM buffer objects (Mesa's libgbm, dlopen'ed) on a DRM node,
 * exported as dma-bufs through PRIME (read-write, before anything can export
 * them read-only: see exportOnce), mapped by the server with gbm_bo_map.
 *
 * Usage flags come from the request: LINEAR (CPU access needs a linear layout)
 * and RENDERING always, SCANOUT when `scanout` is asked; explicit modifiers go
 * through gbm_bo_create_with_modifiers instead.
 */
import { debug } from '../debug';
import { DrmDevice } from '../drm/device';
import { BufshareError, isErrno } from '../errors';
import { formats, modifierToString, resolveFormat, type FormatInfo } from '../format';
import { checkDimensions } from '../layout';
import { mapGbm } from '../mapping/gbm-mapping';
import * as native from '../native';
import type { DrmAllocatorOptions } from './dumb';
import { deviceForAllocator } from './device-option';
import { forcedShadowReason } from './env';
import { CapabilityCache, createHardwareBuffer, exportOnce, type HardwareBuffer, type RawBuffer } from './hardware-buffer';
import type { AllocateRequest, Allocator } from './types';

/** A gbm_device on an open DRM node. Buffer objects keep it (and the node) alive until they are destroyed. */
export class GbmDevice {
  readonly drm: DrmDevice;
  readonly id: number;
  readonly backend: string;
  private closed = false;

  /** Takes a reference on `drm`. ERR_BUFSHARE_NOT_AVAILABLE without libgbm. */
  constructor(drm: DrmDevice) {
    native.gbmLoad();
    this.id = native.gbmCreateDevice(drm.fd);
    this.drm = drm.ref();
    try {
      this.backend = native.gbmDeviceBackend(this.id);
    } catch (e) {
      native.gbmDeviceDestroy(this.id);
      this.drm.unref();
      throw e;
    }
  }

  /** The formats this device says it can render to, of those bufshare knows. */
  supportedFormats(): FormatInfo[] {
    return formats.filter((f) => native.gbmIsFormatSupported(this.id, f.fourcc, native.constants.GBM_BO_USE_RENDERING));
  }

  /** Destroys the gbm device once its last buffer object is gone, and drops the node reference. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    native.gbmDeviceDestroy(this.id);
    this.drm.unref();
  }
}

export interface GbmObjectOptions {
  readonly modifiers?: readonly bigint[];
  readonly scanout?: boolean;
}

export function gbmUsageFlags(scanout: boolean): number {
  const c = native.constants;
  return c.GBM_BO_USE_LINEAR | c.GBM_BO_USE_RENDERING | (scanout ? c.GBM_BO_USE_SCANOUT : 0);
}

function gbmFormatWorks(gbm: GbmDevice, format: FormatInfo, flags: number): boolean {
  try {
    native.gbmBoDestroy(native.gbmBoCreate(gbm.id, 16, 16, format.fourcc, flags));
    return true;
  } catch {
    return false;
  }
}

/** Creates a buffer object and exports it (PRIME read-write, else read-only, else gbm_bo_get_fd). */
export function createGbmObject(gbm: GbmDevice, width: number, height: number, format: FormatInfo, options: GbmObjectOptions = {}): RawBuffer {
  checkDimensions(width, height);
  const mods = options.modifiers && options.modifiers.length > 0 ? [...options.modifiers] : undefined;
  let bo: number;
  try {
    bo = native.gbmBoCreate(gbm.id, width, height, format.fourcc, gbmUsageFlags(options.scanout ?? false), mods);
  } catch (e) {
    if (isErrno(e, 'EACCES') && gbm.drm.type === 'render') {
      throw new BufshareError('ERR_BUFSHARE_RENDER_NODE',
        `${gbm.drm.path} is a render node and gbm (${gbm.backend}) needs dumb buffers here, which render nodes refuse (EACCES); use a card node (/dev/dri/card*)`, { cause: e, syscall: e.syscall ?? 'gbm_bo_create', errno: 'EACCES' });
    }
    if (mods) {
      throw new BufshareError('ERR_BUFSHARE_UNSUPPORTED_MODIFIER',
        `${gbm.drm} (gbm ${gbm.backend}) cannot allocate ${format.name} with modifiers ${mods.map(modifierToString).join(', ')}`, { cause: e });
    }
    // gbm_device_is_format_supported can claim formats the driver then refuses
    // (kms_swrast on virtio_gpu: RGB565), so list what really allocates.
    const flags = gbmUsageFlags(options.scanout ?? false);
    const supported = gbm.supportedFormats().filter((f) => f !== format && gbmFormatWorks(gbm, f, flags));
    if (supported.length > 0) {
      throw new BufshareError('ERR_BUFSHARE_UNSUPPORTED_FORMAT',
        `${gbm.drm} (gbm ${gbm.backend}) cannot allocate ${format.name} (${(e as Error).message}); supported: ${supported.map((f) => f.name).join(', ')}`, { cause: e });
    }
    throw e;
  }
  const drm = gbm.drm.ref();
  let exported;
  let info: native.GbmBoInfo;
  try {
    info = native.gbmBoInfo(bo);
  } catch (e) {
    native.gbmBoDestroy(bo);
    drm.unref();
    throw e;
  }
  drm.claimGemHandle(info.handle);
  try {
    exported = exportOnce((rw) => native.drmPrimeHandleToFd(drm.fd, info.handle, rw), () => native.gbmBoGetFd(bo));
  } catch (e) {
    drm.releaseGemHandle(info.handle);
    native.gbmBoDestroy(bo);
    drm.unref();
    throw e;
  }
  let size = info.offset + info.stride * height;
  if (exported.fd !== undefined) {
    const seek = native.seekSize(exported.fd);
    if (seek >= size) size = seek;
  }
  // Every plane goes in the descriptor (its aux planes at their offsets in the same dma-buf), and more than one means a shadow.
  const extraPlanes = info.planes.slice(1);
  if (extraPlanes.some((p) => p.stride === 0 || p.offset + p.stride > size)) {
    drm.releaseGemHandle(info.handle);
    native.gbmBoDestroy(bo);
    drm.unref();
    if (exported.fd !== undefined) native.closeFd(exported.fd);
    throw new BufshareError('ERR_BUFSHARE_UNSUPPORTED_MODIFIER', `gbm bo of modifier 0x${info.modifier.toString(16)} has ${info.planeCount} planes this libgbm cannot describe (no per-plane stride, or a plane outside its dma-buf)`);
  }
  let destroyed = false;
  return {
    kind: 'gbm', driver: drm.driver.name, width, height, format, modifier: info.modifier,
    plane: { offset: info.offset, stride: info.stride }, extraPlanes, size, export: exported, ownMapping: 'gbm-map', ownMappingIsDirect: false,
    mapOwn: (mode) => mapGbm({ bo, width, height, format, mode }),
    destroy: () => {
      if (destroyed) return;
      destroyed = true;
      try {
        if (exported.fd !== undefined) native.closeFd(exported.fd);
        drm.releaseGemHandle(info.handle);
        native.gbmBoDestroy(bo);
      } finally {
        drm.unref();
      }
    },
  };
}

/**
 * GBM on a render node works where the driver renders without KMS (real GPUs);
 * Mesa's kms_swrast (virtual GPUs) needs dumb buffers, which render nodes refuse.
 * Find out at once, with one small buffer, rather than at the first client's.
 */
function checkRenderNodeAllocates(gbm: GbmDevice): void {
  try {
    createGbmObject(gbm, 16, 16, resolveFormat('XRGB8888')).destroy();
  } catch (e) {
    gbm.close();
    if ((e as BufshareError).code === 'ERR_BUFSHARE_RENDER_NODE') throw e;
    throw new BufshareError('ERR_BUFSHARE_RENDER_NODE',
      `${gbm.drm.path} is a render node and gbm (${gbm.backend}, driver ${gbm.drm.driver.name}) cannot allocate there: ${(e as Error).message}; hand over a card node (/dev/dri/card*)`, { cause: e });
  }
}

export class GbmAllocator implements Allocator {
  readonly name = 'gbm' as const;
  readonly gbm: GbmDevice;
  private readonly capabilities: CapabilityCache;
  private closed = false;

  constructor(options: DrmAllocatorOptions = {}) {
    native.gbmLoad();
    const drm = deviceForAllocator(options.device, 'gbm', (d) => {
      const g = new GbmDevice(d);
      try {
        createGbmObject(g, 16, 16, resolveFormat('XRGB8888')).destroy();
      } finally {
        g.close();
      }
    });
    try {
      this.gbm = new GbmDevice(drm);
    } finally {
      drm.unref();
    }
    if (drm.type === 'render') checkRenderNodeAllocates(this.gbm);
    this.capabilities = new CapabilityCache((w, h, f) => createGbmObject(this.gbm, w, h, f));
    debug('gbm', `opened ${drm} with gbm backend ${this.gbm.backend}`);
  }

  allocate(request: AllocateRequest): HardwareBuffer {
    if (this.closed) throw new BufshareError('ERR_BUFSHARE_DESTROYED', 'the gbm allocator was closed');
    const format = resolveFormat(request.format);
    const raw = createGbmObject(this.gbm, request.width, request.height, format, {
      ...(request.modifiers ? { modifiers: request.modifiers } : {}), scanout: request.scanout ?? false,
    });
    return createHardwareBuffer(raw, this.capabilities.get(format), forcedShadowReason(request.access));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.gbm.close();
  }
}
