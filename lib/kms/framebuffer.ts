/**
 * Framebuffers: ADDFB2 of a GEM handle, with its modifier where the device takes
 * modifiers (DRM_CAP_ADDFB2_MODIFIERS), else as an implicit-layout (linear) fb.
 */
import type { DrmDevice } from '../drm/device';
import { BufshareError } from '../errors';
import { MODIFIER_INVALID, MODIFIER_LINEAR, modifierToString } from '../format';
import * as native from '../native';

export interface FramebufferLayout {
  readonly width: number;
  readonly height: number;
  readonly fourcc: number;
  readonly handle: number;
  readonly pitch: number;
  readonly offset: number;
  /** The buffer's modifier; undefined or INVALID: implicit (the driver's default, linear for dumb). */
  readonly modifier?: bigint;
}

/** ADDFB2; the caller removes the fb with native.kmsRmFb (closing the fd removes it too). */
export function addFramebuffer(device: DrmDevice, fb: FramebufferLayout): number {
  const explicit = fb.modifier !== undefined && fb.modifier !== MODIFIER_INVALID && device.caps.addfb2Modifiers;
  if (fb.modifier !== undefined && fb.modifier !== MODIFIER_INVALID && fb.modifier !== MODIFIER_LINEAR && !explicit) {
    // A tiled or compressed layout without ADDFB2 modifiers would be scanned out as linear: garbage.
    throw new BufshareError('ERR_BUFSHARE_UNSUPPORTED_MODIFIER',
      `${device} takes no framebuffer modifiers (DRM_CAP_ADDFB2_MODIFIERS is 0), so a buffer with modifier ${modifierToString(fb.modifier)} cannot be scanned out`);
  }
  return native.kmsAddFb2(device.fd, fb.width, fb.height, fb.fourcc, Uint32Array.of(fb.handle), Uint32Array.of(fb.pitch),
    Uint32Array.of(fb.offset), explicit ? BigUint64Array.of(fb.modifier!) : undefined);
}
