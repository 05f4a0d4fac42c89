/**
 * InputDevices: every evdev device of a seat, found in /dev/input and kept up to
 * date while running, translated to one stream of normalised events.
 *
 * - Discovery: event* nodes in the directory, classified by capabilities
 *   (classify.ts); devices that are neither keyboard, pointer nor touch screen
 *   are closed again and reported as 'ignored'.
 * - Hotplug: inotify on the directory (Node's fs.watch is inotify on Linux):
 *   a node created (IN_CREATE) is opened; one that cannot be opened yet (udev
 *   sets its owner and mode just after the kernel makes it: EACCES) is tried
 *   again when its attributes change (IN_ATTRIB); a deleted node (IN_DELETE)
 *   or a read failing with ENODEV removes the device.
 * - Grab: by default each device is grabbed (EVIOCGRAB), so in a kiosk the keys
 *   do not also reach the VT's console below (or another reader).
 * - pause() / resume(): for a session that loses the seat (a VT switch):
 *   keys and buttons held are released, grabs dropped and events discarded
 *   until resume(), which grabs again.
 * - Devices handed in by a session manager: addDevice(path, fd).
 */
import { existsSync, readdirSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { EventEmitter } from 'eventemitter3';
import { BufshareError } from '../errors';
import type { AccelOptions } from './accel';
import { EvdevDevice } from './evdev-device';
import { KeyRepeat, type KeyRepeatOptions } from './key-repeat';
import type { InputEvent } from './translate';

export interface InputDevicesOptions {
  /** Where the event nodes are. Default /dev/input. */
  readonly dir?: string;
  /** EVIOCGRAB every device. Default true. */
  readonly grab?: boolean;
  /** Pointer acceleration of relative pointers. Default adaptive, speed 0. */
  readonly accel?: AccelOptions;
  readonly repeat?: KeyRepeatOptions;
  /** Watch the directory for devices plugged and unplugged. Default true. */
  readonly hotplug?: boolean;
  /** Opens a node instead of open(2) (a session manager's TakeDevice); return the fd. */
  readonly openDevice?: (path: string) => number;
}

export interface InputDevicesEvents {
  input: [event: InputEvent, device: EvdevDevice];
  /** The compositor's key repeat (for its own bindings; Wayland clients repeat themselves). */
  repeat: [key: number];
  added: [device: EvdevDevice];
  removed: [device: EvdevDevice, reason: string];
  /** A node that is no input device we drive (a power button, a touchpad, a joystick). */
  ignored: [path: string, reason: string];
  /** A node that could not be opened (other than not yet permitted or already gone). */
  error: [error: Error, path: string];
}

const EVENT_NODE = /^event\d{1,6}$/;
/** At most this many devices held open (a hostile uinput user could make thousands). */
const MAX_DEVICES = 256;

export class InputDevices extends EventEmitter<InputDevicesEvents> {
  readonly dir: string;
  private readonly options: InputDevicesOptions;
  private readonly byPath = new Map<string, EvdevDevice>();
  /** Nodes that could not be opened yet (EACCES/EPERM): tried again on IN_ATTRIB. */
  private readonly waiting = new Set<string>();
  private readonly ignoredPaths = new Set<string>();
  private watcher: FSWatcher | undefined;
  private readonly repeater: KeyRepeat;
  private pausedState = false;
  private started = false;

  constructor(options: InputDevicesOptions = {}) {
    super();
    this.options = options;
    this.dir = options.dir ?? '/dev/input';
    this.repeater = new KeyRepeat((key) => this.emit('repeat', key), options.repeat);
  }

  get devices(): readonly EvdevDevice[] {
    return [...this.byPath.values()];
  }

  get paused(): boolean {
    return this.pausedState;
  }

  get repeatRate(): number {
    return this.repeater.rate;
  }

  get repeatDelay(): number {
    return this.repeater.delay;
  }

  /** Opens every device there is now and starts watching for more. Throws ERR_BUFSHARE_NOT_AVAILABLE when the directory cannot be read. */
  start(): this {
    if (this.started) return this;
    this.started = true;
    if (this.options.hotplug ?? true) {
      // Before the scan: a device plugged during it is not missed (seen twice at worst: add() is idempotent).
      try {
        this.watcher = watch(this.dir, { persistent: false }, (kind, name) => {
          if (typeof name === 'string' && EVENT_NODE.test(name)) this.onNode(kind, join(this.dir, name));
        });
        this.watcher.on('error', (e) => this.emit('error', e, this.dir));
      } catch (e) {
        throw new BufshareError('ERR_BUFSHARE_NOT_AVAILABLE', `cannot watch ${this.dir}: ${(e as Error).message}`, { cause: e });
      }
    }
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch (e) {
      this.watcher?.close();
      throw new BufshareError('ERR_BUFSHARE_NOT_AVAILABLE', `cannot read ${this.dir}: ${(e as Error).message}`, { cause: e });
    }
    for (const n of names.filter((n) => EVENT_NODE.test(n)).sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)))) {
      this.tryOpen(join(this.dir, n));
    }
    return this;
  }

  /**
   * Takes a device whose fd a session manager opened (the fd is ours from here).
   * Replaces a device already open at `path`. Returns the device, or undefined when it is ignored.
   */
  addDevice(path: string, fd: number): EvdevDevice | undefined {
    this.removeDevice(path, 'replaced');
    return this.adopt(path, () => EvdevDevice.open(path, { fd, accel: this.options.accel }));
  }

  /** Closes the device at `path` (a session manager revoked it, or it is unwanted). */
  removeDevice(path: string, reason = 'removed'): void {
    const d = this.byPath.get(path);
    if (d === undefined) return;
    this.byPath.delete(path);
    this.releaseHeld(d);
    d.close();
    this.emit('removed', d, reason);
  }

  /** The session went away (VT switch): held keys are released, grabs dropped, input discarded until resume(). */
  pause(): void {
    if (this.pausedState) return;
    // Releases first, while they still go out; then nothing does.
    for (const d of this.byPath.values()) this.releaseHeld(d);
    this.pausedState = true;
    this.repeater.stop();
    for (const d of this.byPath.values()) {
      try {
        d.ungrab();
      } catch {
        // a revoked fd (logind revokes on pause): its grab went with it
      }
    }
  }

  /**
   * The session is back: grabs again. A session manager revokes input fds on
   * pause (seatd and logind: EVIOCREVOKE): a device whose fd was revoked is
   * opened afresh (through `openDevice`), and devices dropped while paused (their
   * reads failed with ENODEV) are opened again from the directory.
   */
  resume(): void {
    if (!this.pausedState) return;
    this.pausedState = false;
    for (const d of [...this.byPath.values()]) {
      if (!(this.options.grab ?? true)) continue;
      try {
        d.grab();
      } catch (e) {
        if ((e as BufshareError).errno === 'ENODEV' && nodeExists(d.path)) {
          this.removeDevice(d.path, 'revoked');
          this.tryOpen(d.path);
        } else {
          this.emit('error', e as Error, d.path);
        }
      }
    }
    if (this.started) this.rescan();
  }

  /** Opens the directory's event nodes not open yet (nor ignored). */
  private rescan(): void {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return; // the directory went: hotplug will say when it is back
    }
    for (const n of names) {
      const path = join(this.dir, n);
      if (EVENT_NODE.test(n) && !this.byPath.has(path) && !this.ignoredPaths.has(path)) this.tryOpen(path);
    }
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
    this.repeater.stop();
    for (const path of [...this.byPath.keys()]) this.removeDevice(path, 'closed');
    this.waiting.clear();
    this.started = false;
  }

  private onNode(kind: string, path: string): void {
    // 'rename' is IN_CREATE or IN_DELETE (or a move); 'change' is IN_ATTRIB (or IN_MODIFY).
    if (this.byPath.has(path)) {
      if (kind === 'rename') {
        // Gone, or a new node in its place: the old fd reads ENODEV. Reopen if the node exists.
        const d = this.byPath.get(path)!;
        if (!nodeExists(path)) this.removeDevice(path, 'unplugged');
        else if (d.closed) this.tryOpen(path);
      }
      return;
    }
    if (!nodeExists(path)) {
      this.waiting.delete(path);
      this.ignoredPaths.delete(path);
      return;
    }
    if (kind === 'rename') this.ignoredPaths.delete(path); // a new node with an old name
    if (this.ignoredPaths.has(path)) return;
    this.tryOpen(path);
  }

  private tryOpen(path: string): void {
    if (this.byPath.has(path)) return;
    const open = this.options.openDevice;
    this.adopt(path, () => open ? EvdevDevice.open(path, { fd: open(path), accel: this.options.accel }) : EvdevDevice.open(path, { accel: this.options.accel }));
  }

  private adopt(path: string, opener: () => EvdevDevice): EvdevDevice | undefined {
    if (this.byPath.size >= MAX_DEVICES) {
      this.emit('error', new BufshareError('ERR_BUFSHARE_LIMIT_EXCEEDED', `more than ${MAX_DEVICES} input devices: ${path} not opened`), path);
      return undefined;
    }
    let d: EvdevDevice;
    try {
      d = opener();
    } catch (e) {
      const errno = (e as { errno?: string }).errno;
      if (errno === 'EACCES' || errno === 'EPERM') this.waiting.add(path); // udev has not set its mode yet
      else if (errno !== 'ENOENT' && errno !== 'ENODEV' && errno !== 'ENXIO') this.emit('error', e as Error, path);
      return undefined;
    }
    this.waiting.delete(path);
    if (d.kind.ignored !== undefined && !d.kind.keyboard && d.kind.pointer === undefined && !d.kind.touch) {
      d.close();
      this.ignoredPaths.add(path);
      this.emit('ignored', path, `${d.name}: ${d.kind.ignored}`);
      return undefined;
    }
    try {
      if ((this.options.grab ?? true) && !this.pausedState) d.grab();
      d.start();
    } catch (e) {
      d.close();
      this.emit('error', e as Error, path);
      return undefined;
    }
    d.on('input', (event) => {
      if (this.pausedState) return;
      if (event.type === 'key') this.repeater.key(event.key, event.pressed);
      this.emit('input', event, d);
    });
    d.on('gone', (errno) => {
      if (this.byPath.get(path) !== d) return;
      this.byPath.delete(path);
      this.emit('removed', d, errno === 'ENODEV' ? 'unplugged' : `read failed: ${errno}`);
    });
    this.byPath.set(path, d);
    this.emit('added', d);
    return d;
  }

  /** Sends releases for what `d` holds down (unless paused: that was done at the pause). */
  private releaseHeld(d: EvdevDevice): void {
    if (this.pausedState) return;
    // The translator emits the releases through 'input', which feeds the repeater too.
    d.releaseAll();
  }
}

function nodeExists(path: string): boolean {
  return existsSync(path);
}
