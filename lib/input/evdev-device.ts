/**
 * One evdev device: its fd (opened here, or handed in by a session manager
 * such as seatd or logind, which own the open), its identity and class, an
 * optional grab, and its events read on the loop and translated.
 */
import { EventEmitter } from 'eventemitter3';
import { BufshareError } from '../errors';
import * as native from '../native';
import { PointerAccel, type AccelOptions } from './accel';
import { classify, type DeviceClass } from './classify';
import type { AbsInfo, EvdevReaderNative } from './native-types';
import { EvdevTranslator, type InputEvent } from './translate';

export interface EvdevDeviceEvents {
  input: [event: InputEvent];
  /** Reading failed (ENODEV: unplugged); the device is closed after this. */
  gone: [errno: string];
}

export interface EvdevDeviceOptions {
  /** An fd for the node, opened by someone else (a session manager). The device owns it from here (closes it). */
  readonly fd?: number;
  readonly accel?: AccelOptions;
}

export class EvdevDevice extends EventEmitter<EvdevDeviceEvents> {
  readonly path: string;
  readonly name: string;
  readonly bustype: number;
  readonly vendor: number;
  readonly product: number;
  readonly kind: DeviceClass;
  readonly absInfo: Readonly<Record<number, AbsInfo>>;
  private fdValue: number;
  private reader: EvdevReaderNative | undefined;
  private readonly translator: EvdevTranslator;
  private grabbed = false;

  private constructor(path: string, fd: number, accel: AccelOptions | undefined) {
    super();
    this.path = path;
    this.fdValue = fd;
    const info = native.evdevInfo(fd);
    this.name = info.name;
    this.bustype = info.bustype;
    this.vendor = info.vendor;
    this.product = info.product;
    this.kind = classify(info);
    this.absInfo = info.absInfo;
    // Event times on CLOCK_MONOTONIC, the clock of process.hrtime and of wl_* times.
    try {
      native.evdevSetClock(fd, 'monotonic');
    } catch {
      // kernels before 3.4: wall clock times; nothing depends on them but latency figures
    }
    const pointerAccel = this.kind.pointer === 'relative' ? new PointerAccel(accel) : undefined;
    this.translator = new EvdevTranslator(this.kind, info.absInfo, pointerAccel, {
      keyState: () => native.evdevKeyState(this.fd),
      absValue: (code) => native.evdevAbsValue(this.fd, code),
    }, (e) => this.emit('input', e));
  }

  /** Opens `path` (or takes options.fd for it) and reads its capabilities. Throws ERR_BUFSHARE_SYSCALL (EACCES, ENOENT, ENOTTY). */
  static open(path: string, options: EvdevDeviceOptions = {}): EvdevDevice {
    const fd = options.fd ?? native.evdevOpen(path);
    try {
      return new EvdevDevice(path, fd, options.accel);
    } catch (e) {
      native.closeFd(fd);
      throw e;
    }
  }

  get fd(): number {
    if (this.fdValue < 0) throw new BufshareError('ERR_BUFSHARE_DESTROYED', `${this.path} is closed`);
    return this.fdValue;
  }

  get closed(): boolean {
    return this.fdValue < 0;
  }

  get isGrabbed(): boolean {
    return this.grabbed;
  }

  /** Keys and buttons down now. */
  get pressed(): ReadonlySet<number> {
    return this.translator.pressed;
  }

  /** SYN_DROPPED seen so far. */
  get drops(): number {
    return this.translator.drops;
  }

  /** Starts reading events on the loop. */
  start(): void {
    if (this.reader !== undefined) return;
    this.reader = native.openEvdevReader(this.fd, (events, errno) => {
      if (events !== null) this.translator.feed(events);
      else this.lost(errno ?? 'EIO');
    });
    this.reader.start();
  }

  /** Stops reading (events queue in the kernel, up to its buffer; then SYN_DROPPED). */
  stop(): void {
    this.reader?.stop();
    this.reader = undefined;
  }

  /** EVIOCGRAB: only this fd gets the device's events (not the VT's keyboard, not another reader). */
  grab(): void {
    if (this.grabbed) return;
    native.evdevGrab(this.fd, true);
    this.grabbed = true;
  }

  ungrab(): void {
    if (!this.grabbed || this.closed) return;
    this.grabbed = false;
    native.evdevGrab(this.fd, false);
  }

  /** Releases the keys and buttons held (as events), e.g. before a pause: nothing stays stuck down. */
  releaseAll(): void {
    this.translator.releaseAll(Number(process.hrtime.bigint() / 1000n) / 1000);
  }

  /** Feeds raw events as if read (tests). */
  feed(events: readonly number[]): void {
    this.translator.feed(events);
  }

  close(): void {
    if (this.closed) return;
    this.stop();
    // Closing the fd ends a grab too; no ioctl on a gone device.
    this.grabbed = false;
    native.closeFd(this.fdValue);
    this.fdValue = -1;
  }

  private lost(errno: string): void {
    this.reader = undefined;
    this.releaseAll();
    this.close();
    this.emit('gone', errno);
  }
}
