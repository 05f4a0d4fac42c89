/**
 * WritebackCapture: what the display engine composed, read back through a
 * writeback connector (vkms has one): a framebuffer attached to one commit with
 * WRITEBACK_FB_ID, filled by the hardware, done when the sync_file from
 * WRITEBACK_OUT_FENCE_PTR signals. An independent readback of what was scanned
 * out: tests compare it pixel for pixel with the expected scene.
 */
import { BufshareError } from '../errors';
import type { DrmDevice } from '../drm/device';
import type { FormatInfo } from '../format';
import type { GraphicsRegion } from '../mapping/graphics-region';
import * as native from '../native';
import { ScanoutBuffer } from './scanout-buffer';

export class WritebackCapture {
  private readonly buffer: ScanoutBuffer;
  private fence = -1;

  /** @internal Made by KmsOutput.createCapture(). */
  constructor(device: DrmDevice, width: number, height: number, format: FormatInfo) {
    this.buffer = new ScanoutBuffer(device, width, height, format);
  }

  /** @internal */
  get fbId(): number {
    return this.buffer.fbId;
  }

  /** @internal The out-fence of the commit this capture rode on (owned here). */
  setFence(fd: number): void {
    if (this.fence >= 0) native.closeFd(this.fence);
    this.fence = fd;
  }

  /** Waits (blocking, up to timeoutMs) for the hardware to finish writing; then `region` holds the frame. */
  wait(timeoutMs = 2000): void {
    if (this.fence < 0) throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', 'this capture was not attached to a commit');
    const done = native.waitReadable(this.fence, timeoutMs);
    if (!done) throw new BufshareError('ERR_BUFSHARE_SYSCALL', `writeback did not complete in ${timeoutMs} ms`, { syscall: 'poll', errno: 'ETIMEDOUT' });
    native.closeFd(this.fence);
    this.fence = -1;
  }

  /** The captured pixels (after wait()). */
  get region(): GraphicsRegion {
    return this.buffer.region;
  }

  destroy(): void {
    this.setFence(-1);
    this.buffer.destroy();
  }
}
