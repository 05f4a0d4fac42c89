/**
 * Modifiers decide CPU access: a client may map a buffer directly only when its
 * memory layout is what the CPU sees, i.e. linear and one plane. Anything else
 * (a tiled or compressed modifier, several planes, or a layout the driver chose
 * without saying: DRM_FORMAT_MOD_INVALID) gets a shm shadow, and the server's
 * gbm_bo_map, which detiles, is the only CPU path to the buffer.
 *
 * How am I supposed to use this? decideAccess() calls layoutProblem() with the
 * buffer's modifier and plane count; undefined means the layout is linear.
 */
import { MODIFIER_INVALID, MODIFIER_LINEAR, modifierToString } from '../format';
import type { HardwareKind } from './access';

/**
 * DRM drivers whose buffers are always linear: they have no tiling hardware
 * (virtual and simple display drivers), so Mesa's gbm on them (kms_swrast, dumb
 * buffers underneath) reports DRM_FORMAT_MOD_INVALID for a layout that can only
 * be linear. Measured: Mesa 22.3 on 6.12 and 6.1 reports 0x00ffffffffffffff for
 * every default gbm buffer on these, and refuses every explicit modifier list.
 */
export const LINEAR_ONLY_DRIVERS: ReadonlySet<string> = new Set(['vgem', 'vkms', 'virtio_gpu', 'bochs-drm', 'qxl', 'cirrus', 'simpledrm', 'udl', 'gm12u320', 'ast', 'mgag200']);

/** Why a buffer's layout rules out direct CPU access by a client, or undefined when it is linear. */
export function layoutProblem(kind: HardwareKind, driver: string, modifier: bigint, planes: number): string | undefined {
  if (planes > 1) return `${planes} planes (a client maps one linear plane only)`;
  if (modifier === MODIFIER_LINEAR) return undefined;
  // Dumb buffers are linear by definition (DRM's CPU-drawable buffers); a udmabuf is memfd pages.
  if (kind !== 'gbm') return undefined;
  if (modifier === MODIFIER_INVALID) {
    return LINEAR_ONLY_DRIVERS.has(driver) ? undefined : `implicit modifier on ${driver || 'this driver'} (the driver chose the layout and may have tiled it)`;
  }
  return `modifier ${modifierToString(modifier)} is not linear (tiled or compressed)`;
}
