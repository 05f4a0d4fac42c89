/**
 * Which card a display goes on when none is named: one with a connected screen,
 * real display hardware before a software-only output.
 *
 * How am I supposed to use this? `KmsOutput.open({})` and `KmsDevice.open()` call
 * `pickDisplayCard()`; `displayCards()` lists the candidates with the facts the
 * choice was made from (for a CLI or a log line); `rankDisplayCards()` is the
 * choice itself, on descriptions only.
 *
 * Order: (1) a connected connector with modes is required; (2) hardware before
 * software-only outputs: vkms composes into memory that nothing shows. Nothing in
 * KMS says so (its connector is "connected" and of type Virtual, like the
 * connectors of virtio-gpu and bochs, which are real screens in a VM window), so
 * it is a list of driver names; (3) the firmware's boot display (PCI boot_vga)
 * first, as wlroots and logind do: the screen the machine showed its console on;
 * (4) card number. Card numbers follow module load order (vkms was card1 before
 * virtio-gpu card2 on the 6.12 VM), so they only break ties.
 */
import { debug } from '../debug';
import { DrmDevice } from '../drm/device';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { drmUnavailableReason, listDrmNodes, type DrmNode } from '../drm/nodes';
import { BufshareError } from '../errors';
import { discoverKms } from './discovery';

/** KMS drivers whose outputs nobody sees (they scan out into memory, for tests and headless use). */
export const SOFTWARE_DISPLAY_DRIVERS: ReadonlySet<string> = new Set(['vkms']);

export interface DisplayCard {
  readonly path: string;
  /** The DRM driver name ("virtio_gpu", "vkms"). */
  readonly driver: string;
  /** Connectors with status connected and at least one mode. */
  readonly connected: readonly string[];
  readonly software: boolean;
  readonly bootVga: boolean;
  /** The number in cardN. */
  readonly index: number;
}

/** The candidates, best first: cards without a connected screen are left out. Pure. */
export function rankDisplayCards(cards: readonly DisplayCard[]): DisplayCard[] {
  return cards.filter((c) => c.connected.length > 0)
    .sort((a, b) => Number(a.software) - Number(b.software) || Number(b.bootVga) - Number(a.bootVga) || a.index - b.index);
}

/**
 * A card from sysfs alone, for a user who may not open the node (a seat
 * manager opens it later): connectors from /sys/class/drm/cardN-*\/status and
 * modes, the driver from the device's bound driver. undefined without connectors (no KMS).
 */
export function describeCardFromSysfs(node: DrmNode, sysClass = '/sys/class/drm'): DisplayCard | undefined {
  let entries: string[];
  try {
    entries = readdirSync(sysClass).filter((n) => n.startsWith(`${node.name}-`));
  } catch {
    return undefined;
  }
  const connectors = entries.filter((n) => !/-Writeback-\d+$/.test(n) && existsSync(join(sysClass, n, 'status')));
  if (connectors.length === 0) return undefined;
  const read = (f: string): string => {
    try {
      return readFileSync(f, 'utf8').trim();
    } catch {
      return '';
    }
  };
  const connected = connectors.filter((n) => read(join(sysClass, n, 'status')) === 'connected' && read(join(sysClass, n, 'modes')) !== '')
    .map((n) => n.slice(node.name.length + 1));
  // vkms' platform device is named vkms and has no bound driver link on some kernels.
  let driver = node.sysfs.driver ?? node.sysfs.busId ?? 'unknown';
  if (driver === 'virtio-pci') {
    // The card hangs off the PCI function; the DRM driver is bound to the virtio device under it.
    try {
      const dev = join(sysClass, node.name, 'device');
      const v = readdirSync(dev).find((n) => /^virtio\d+$/.test(n));
      if (v) driver = basename(readlinkSync(join(dev, v, 'driver')));
    } catch {
      // Keep the PCI driver's name.
    }
  }
  return {
    path: node.path, driver, index: Number(node.name.replace(/^card/, '')), connected,
    software: SOFTWARE_DISPLAY_DRIVERS.has(driver) || SOFTWARE_DISPLAY_DRIVERS.has(node.sysfs.busId ?? ''), bootVga: node.sysfs.bootVga === true,
  };
}

/**
 * Every card node with KMS, described (vgem and other nodes without KMS are left
 * out). A node this process may not open (a normal user's: the seat manager
 * opens it) is described from sysfs.
 */
export function displayCards(): DisplayCard[] {
  const out: DisplayCard[] = [];
  for (const node of listDrmNodes().filter((n) => n.type === 'card')) {
    let device: DrmDevice;
    try {
      device = DrmDevice.open(node.path);
    } catch (e) {
      debug('kms', `${node.path}: ${(e as Error).message}; described from sysfs`);
      const card = describeCardFromSysfs(node);
      if (card) out.push(card);
      continue;
    }
    try {
      const kms = discoverKms(device);
      out.push({
        path: node.path, driver: device.driver.name, index: Number(node.name.replace(/^card/, '')),
        connected: kms.connectors.filter((c) => c.status === 'connected' && c.modes.length > 0).map((c) => c.name),
        software: SOFTWARE_DISPLAY_DRIVERS.has(device.driver.name), bootVga: node.sysfs.bootVga === true,
      });
    } catch {
      // No KMS on this node (vgem).
    } finally {
      device.unref();
    }
  }
  return out;
}

/** The card a display goes on when none is named. ERR_BUFSHARE_NOT_AVAILABLE when no card has a connected screen. */
export function pickDisplayCard(): string {
  const none = drmUnavailableReason();
  if (none) throw new BufshareError('ERR_BUFSHARE_NOT_AVAILABLE', `no display: ${none}`);
  const cards = displayCards();
  const best = rankDisplayCards(cards)[0];
  if (!best) {
    throw new BufshareError('ERR_BUFSHARE_NOT_AVAILABLE', `no DRM card with a connected screen: ${cards.map((c) => `${c.path} (${c.driver})`).join(', ') || 'no card with KMS'}`);
  }
  debug('kms', `picked ${best.path} (${best.driver}) for the display, of ${cards.map((c) => `${c.path} (${c.driver}${c.software ? ', software' : ''}${c.bootVga ? ', boot display' : ''}, ${c.connected.length} connected)`).join(', ')}`);
  return best.path;
}
