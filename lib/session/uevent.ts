/**
 * Kernel uevents: what the kernel announces when devices come, go or change
 * (a DRM card's connectors: ACTION=change with HOTPLUG=1). Read from the
 * NETLINK_KOBJECT_UEVENT socket (the kernel's own multicast group, sender
 * checked in src-native/seat_uevent.cc), so no udev is needed: bare VTs,
 * containers and the test VM have none.
 *
 * How am I supposed to use this?
 *
 *   const stop = watchUevents((e) => { if (e.subsystem === 'drm' && isDrmHotplug(e)) rescan(); },
 *                             () => rescanEverything());   // messages were lost
 *   ...
 *   stop();
 *
 * One socket serves every subscriber; it closes with the last one. A kernel
 * message is "ACTION@DEVPATH\0KEY=VALUE\0..." (lib/kobject_uevent.c); parseUevent
 * is pure and takes any bytes (a message it cannot read is undefined, never a throw).
 */
import { BufshareError } from '../errors';
import * as native from '../native';
import type { UeventSocketNative } from './native-types';

export interface Uevent {
  /** add, remove, change, move, online, offline, bind, unbind. */
  readonly action: string;
  /** Under /sys: "/devices/pci0000:00/0000:00:02.0/drm/card0". */
  readonly devpath: string;
  readonly subsystem: string;
  /** Relative to /dev: "dri/card0" (absent for devices without a node). */
  readonly devname?: string;
  /** Every KEY=VALUE the message carried. */
  readonly env: ReadonlyMap<string, string>;
}

/** Keys a message may carry before the rest is ignored (the kernel sends at most 32, UEVENT_NUM_ENVP). */
const MAX_KEYS = 64;

/** A kernel uevent message, or undefined when it is not one (udev's rebroadcast starts with "libudev"). */
export function parseUevent(message: Uint8Array): Uevent | undefined {
  const text = Buffer.from(message.buffer, message.byteOffset, message.byteLength).toString('latin1');
  const fields = text.split('\0');
  const head = fields[0] ?? '';
  const at = head.indexOf('@');
  if (at <= 0 || at === head.length - 1) return undefined;
  const env = new Map<string, string>();
  for (const f of fields.slice(1)) {
    if (env.size >= MAX_KEYS) break;
    const eq = f.indexOf('=');
    if (eq <= 0) continue;
    env.set(f.slice(0, eq), f.slice(eq + 1));
  }
  const action = env.get('ACTION') ?? head.slice(0, at);
  const devpath = env.get('DEVPATH') ?? head.slice(at + 1);
  const subsystem = env.get('SUBSYSTEM');
  if (subsystem === undefined) return undefined;
  const devname = env.get('DEVNAME');
  return { action, devpath, subsystem, ...(devname !== undefined ? { devname } : {}), env };
}

/**
 * A DRM card's connectors may have changed: the kernel's HOTPLUG=1 change event
 * (drm_sysfs_hotplug_event, also per connector with CONNECTOR=id on 5.x+), or a
 * synthetic one written to the card's uevent file (no HOTPLUG key, or
 * SYNTH_ARG_HOTPLUG=1): a rescan that finds nothing changed costs one probe.
 */
export function isDrmHotplug(e: Uevent): boolean {
  if (e.subsystem !== 'drm' || e.action !== 'change') return false;
  if (!/^dri\/card\d+$/.test(e.devname ?? '')) return false;
  return e.env.get('HOTPLUG') === '1' || e.env.has('SYNTH_UUID') || e.env.get('SYNTH_ARG_HOTPLUG') === '1';
}

type UeventHandler = (e: Uevent) => void;
/** Messages were lost (the socket's queue overflowed): rescan what you watch. */
type LostHandler = () => void;

let socket: UeventSocketNative | undefined;
const subscribers = new Set<{ onEvent: UeventHandler; onLost?: LostHandler }>();

/**
 * Calls `onEvent` with every kernel uevent from now on (and `onLost` when some
 * were lost) until the returned function is called. The socket keeps the
 * process alive while anyone subscribes. ERR_BUFSHARE_SYSCALL when the socket
 * cannot be opened (a kernel without CONFIG_NET).
 */
export function watchUevents(onEvent: UeventHandler, onLost?: LostHandler): () => void {
  const sub = { onEvent, ...(onLost ? { onLost } : {}) };
  if (!socket) {
    const s = native.openUeventSocket((messages, errno) => {
      if (messages === null) {
        // ENOBUFS: the kernel dropped messages; anything else stopped the socket.
        for (const x of [...subscribers]) x.onLost?.();
        if (errno !== 'ENOBUFS') closeSocket();
        return;
      }
      for (const m of messages) {
        const e = parseUevent(m);
        if (!e) continue;
        for (const x of [...subscribers]) x.onEvent(e);
      }
    });
    try {
      s.start();
    } catch (e) {
      s.close();
      throw e instanceof BufshareError ? e : new BufshareError('ERR_BUFSHARE_SYSCALL', (e as Error).message, { cause: e });
    }
    socket = s;
  }
  subscribers.add(sub);
  let done = false;
  return () => {
    if (done) return;
    done = true;
    subscribers.delete(sub);
    if (subscribers.size === 0) closeSocket();
  };
}

function closeSocket(): void {
  socket?.close();
  socket = undefined;
}

/** Whether a uevent socket is open now (tests: it closes with the last subscriber). */
export function ueventSocketOpen(): boolean {
  return socket !== undefined;
}
