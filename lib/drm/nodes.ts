/**
 * DRM nodes on this machine: /dev/dri/card* (primary, KMS and dumb buffers) and
 * /dev/dri/renderD* (render-only), with their sysfs identity. Reading the list
 * opens nothing; describeNode() opens a node to ask the driver (DRM_IOCTL_VERSION
 * and GET_CAP).
 */
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { debug } from '../debug';
import { BufshareError } from '../errors';
import * as native from '../native';

export type DrmNodeType = 'card' | 'render';

export interface DrmNode {
  /** /dev/dri/card0 */
  readonly path: string;
  readonly type: DrmNodeType;
  /** card0, renderD128 */
  readonly name: string;
  /** Identity from sysfs, where the node has one. */
  readonly sysfs: DrmSysfsIdentity;
}

export interface DrmSysfsIdentity {
  /** 'pci', 'platform', 'virtual' (vgem, vkms) ... */
  readonly bus?: string;
  /** The bus address: "0000:00:02.0" for PCI, the device name for platform/virtual devices. */
  readonly busId?: string;
  /** The kernel driver bound to the device (sysfs), e.g. "bochs-drm". */
  readonly driver?: string;
  /** PCI vendor:device, "1234:1111". */
  readonly pciId?: string;
  /** The firmware's boot display (PCI `boot_vga`: the screen the machine showed its console on). */
  readonly bootVga?: boolean;
}

export interface DrmCaps {
  readonly dumbBuffer: boolean;
  readonly primeImport: boolean;
  readonly primeExport: boolean;
  readonly addfb2Modifiers: boolean;
  readonly dumbPreferredDepth: number;
}

export interface DrmNodeDescription extends DrmNode {
  readonly driver: { readonly name: string; readonly version: string; readonly date: string; readonly description: string };
  readonly caps: DrmCaps;
}

export const DRI_DIR = '/dev/dri';

/** Why DRM cannot be used here, or undefined when /dev/dri has nodes. */
export function drmUnavailableReason(dir = DRI_DIR): string | undefined {
  if (!existsSync(dir)) return `no ${dir}`;
  if (listDrmNodes(dir).length === 0) return `no DRM nodes in ${dir}`;
  return undefined;
}

function readTrimmed(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function sysfsIdentity(name: string, sysClass = '/sys/class/drm'): DrmSysfsIdentity {
  const dev = join(sysClass, name, 'device');
  const out: { bus?: string; busId?: string; driver?: string; pciId?: string; bootVga?: boolean } = {};
  try {
    out.bus = basename(readlinkSync(join(dev, 'subsystem')));
  } catch {
    // No device link (a node without a parent device).
  }
  try {
    out.driver = basename(readlinkSync(join(dev, 'driver')));
  } catch {
    // Unbound.
  }
  try {
    out.busId = basename(readlinkSync(dev));
  } catch {
    // Nothing to name it by.
  }
  const vendor = readTrimmed(join(dev, 'vendor'));
  const device = readTrimmed(join(dev, 'device'));
  if (out.bus === 'pci' && vendor && device) out.pciId = `${vendor.replace(/^0x/, '')}:${device.replace(/^0x/, '')}`;
  const bootVga = readTrimmed(join(dev, 'boot_vga'));
  if (bootVga !== undefined) out.bootVga = bootVga === '1';
  return out;
}

function nodeOrder(a: string, b: string): number {
  const num = (s: string): number => Number(s.replace(/^\D+/, ''));
  const ta = a.startsWith('card') ? 0 : 1;
  const tb = b.startsWith('card') ? 0 : 1;
  return ta - tb || num(a) - num(b);
}

/** Card nodes first, then render nodes, each in number order. Empty when there is no /dev/dri. */
export function listDrmNodes(dir = DRI_DIR): DrmNode[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => /^card\d+$/.test(n) || /^renderD\d+$/.test(n))
    .sort(nodeOrder)
    .map((name) => ({ path: join(dir, name), type: name.startsWith('card') ? 'card' : 'render', name, sysfs: sysfsIdentity(name) }) as DrmNode);
}

/** GET_CAP, with caps the driver does not know reported as 0 (what libdrm's callers assume). */
function cap(fd: number, capability: number): number {
  try {
    return native.drmGetCap(fd, capability);
  } catch {
    return 0;
  }
}

export function readCaps(fd: number): DrmCaps {
  const c = native.constants;
  const prime = cap(fd, c.DRM_CAP_PRIME);
  return {
    dumbBuffer: cap(fd, c.DRM_CAP_DUMB_BUFFER) !== 0,
    primeImport: (prime & c.DRM_PRIME_CAP_IMPORT) !== 0,
    primeExport: (prime & c.DRM_PRIME_CAP_EXPORT) !== 0,
    addfb2Modifiers: cap(fd, c.DRM_CAP_ADDFB2_MODIFIERS) !== 0,
    dumbPreferredDepth: cap(fd, c.DRM_CAP_DUMB_PREFERRED_DEPTH),
  };
}

export function readDriver(fd: number): DrmNodeDescription['driver'] {
  const v = native.drmVersion(fd);
  return { name: v.name, version: `${v.major}.${v.minor}.${v.patchlevel}`, date: v.date, description: v.desc };
}

/** Opens `node` briefly and asks its driver; throws ERR_BUFSHARE_NOT_AVAILABLE when it cannot be opened. */
export function describeNode(node: DrmNode): DrmNodeDescription {
  const fd = openNode(node.path);
  try {
    return { ...node, driver: readDriver(fd), caps: readCaps(fd) };
  } finally {
    native.closeFd(fd);
  }
}

export interface OpenNodeOptions {
  /**
   * Keep DRM master if the open made this fd master (default false: it is dropped
   * at once). Only a program that drives the display itself asks for it.
   */
  readonly master?: boolean;
}

/**
 * open(path, O_RDWR | O_CLOEXEC), with a missing or forbidden node as ERR_BUFSHARE_NOT_AVAILABLE.
 *
 * The first process to open a card node while no master exists becomes DRM master
 * (DESIGN.md). An allocator or a probe that kept it would stop the compositor's own
 * KMS, or a logind/libseat session, from becoming master: unless `master` is asked
 * for, it is dropped right after the open.
 */
export function openNode(path: string, options: OpenNodeOptions = {}): number {
  let fd: number;
  try {
    fd = native.drmOpen(path);
  } catch (e) {
    const errno = (e as BufshareError).errno;
    const why = errno === 'ENOENT' ? 'no such device' : errno === 'EACCES' || errno === 'EPERM' ? 'permission denied (join the video/render group)' : (e as Error).message;
    throw new BufshareError('ERR_BUFSHARE_NOT_AVAILABLE', `DRM device ${path} not available: ${why}`, { cause: e, ...(errno ? { errno, syscall: 'open' } : {}) });
  }
  if (!options.master) releaseMasterGainedByOpen(fd, path);
  return fd;
}

/**
 * Drops DRM master if `fd` holds it. Since Linux 5.8 the process that became
 * master by opening may drop it without CAP_SYS_ADMIN; where the kernel refuses,
 * the fd stays master and debug output says so (DrmDevice.isMaster reports it).
 */
export function releaseMasterGainedByOpen(fd: number, path: string): void {
  let master: boolean;
  try {
    master = native.drmIsMaster(fd);
  } catch {
    return; // Not a DRM fd the test applies to: nothing was gained.
  }
  if (!master) return;
  try {
    native.drmDropMaster(fd);
    debug('drm', `${path}: dropped the DRM master this open gained`);
  } catch (e) {
    debug('drm', `${path}: this open made us DRM master and dropping it failed (${(e as Error).message}); another process cannot modeset until the device is closed`);
  }
}
