/**
 * The `device` option of the DRM allocators: a path to open, or a DrmDevice the
 * compositor hands over (for instance DrmDevice.fromFd on the fd it already uses
 * for KMS), on which the allocator takes a reference.
 */
import { DrmDevice } from '../drm/device';
import { pickCardNode } from '../drm/pick';
import { deviceFromEnv } from './env';

export type DrmDeviceOption = string | DrmDevice;

/** A DrmDevice the caller holds one reference on. Paths are opened without keeping DRM master. */
export function deviceForAllocator(option: DrmDeviceOption | undefined, what: string, canAllocate: (device: DrmDevice) => void): DrmDevice {
  if (option instanceof DrmDevice) return option.ref();
  return DrmDevice.open(option ?? deviceFromEnv() ?? pickCardNode(what, canAllocate));
}
