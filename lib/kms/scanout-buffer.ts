/**
 * ScanoutBuffer: a dumb buffer the size of the mode, mapped read-write by the
 * compositor (MAP_DUMB: the mapping is the scanout memory itself, coherent with
 * what the display engine reads; on real GPUs it is write-combined, so it is
 * only ever written, never read back), with its KMS framebuffer.
 *
 * Dumb buffers are linear and any KMS driver scans them out; GBM scanout buffers
 * (tiled on real GPUs) are for direct scanout of clients' buffers, not for CPU
 * composition.
 */
import type { DrmDevice } from '../drm/device';
import { MODIFIER_LINEAR, type FormatInfo } from '../format';
import { mapDumb } from '../mapping/dumb-mapping';
import type { GraphicsRegion } from '../mapping/graphics-region';
import * as native from '../native';
import { addFramebuffer } from './framebuffer';

export class ScanoutBuffer {
  readonly width: number;
  readonly height: number;
  readonly format: FormatInfo;
  readonly fbId: number;
  /** The buffer's pixels (write into it; reads from write-combined memory are ~40x slower). */
  readonly region: GraphicsRegion;
  private readonly device: DrmDevice;
  private readonly handle: number;
  private destroyed = false;

  /** Takes a reference on `device` until destroyed. */
  constructor(device: DrmDevice, width: number, height: number, format: FormatInfo) {
    const fd = device.fd;
    const dumb = native.drmCreateDumb(fd, width, height, format.bpp * 8);
    let fbId = 0;
    try {
      fbId = addFramebuffer(device, { width, height, fourcc: format.fourcc, handle: dumb.handle, pitch: dumb.pitch, offset: 0, modifier: MODIFIER_LINEAR });
      this.region = mapDumb({ drmFd: fd, handle: dumb.handle, size: dumb.size, mode: 'readwrite', width, height, stride: dumb.pitch, format, offset: 0 });
    } catch (e) {
      if (fbId) native.kmsRmFb(fd, fbId);
      native.drmDestroyDumb(fd, dumb.handle);
      throw e;
    }
    this.device = device.ref();
    this.width = width;
    this.height = height;
    this.format = format;
    this.fbId = fbId;
    this.handle = dumb.handle;
  }

  /** Removes the framebuffer (the display turns the plane off if it still shows it), unmaps, frees. Idempotent. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    try {
      this.region.unmap();
      native.kmsRmFb(this.device.fd, this.fbId);
      native.drmDestroyDumb(this.device.fd, this.handle);
    } finally {
      this.device.unref();
    }
  }
}
