/**
 * Driver quirks: only what cannot be probed safely. Everything else is tried for
 * real (drivers change between kernel versions; see docs/design.md).
 */

export interface DriverQuirk {
  /** DRM driver name as DRM_IOCTL_VERSION reports it. */
  readonly driver: string;
  /** Never mmap a dma-buf of this driver: the client gets a shadow, the server its own map. */
  readonly noDmabufMmap: boolean;
  /** Why: shown in probe reports and debug output. */
  readonly reason: string;
}

export const DRIVER_QUIRKS: readonly DriverQuirk[] = Object.freeze([
  Object.freeze({
    driver: 'vmwgfx',
    noDmabufMmap: true,
    reason: 'vmwgfx refuses dma-buf mmap by design (surfaces live in the host); its buffers are shared through a shm shadow',
  }),
]);

/** The quirks of a driver (none for most). */
export function quirksFor(driver: string): DriverQuirk[] {
  return DRIVER_QUIRKS.filter((q) => q.driver === driver);
}

export function dmabufMmapForbidden(driver: string): DriverQuirk | undefined {
  return quirksFor(driver).find((q) => q.noDmabufMmap);
}
