/** The addon's evdev functions (src-native/evdev.cc), as lib/native.ts types them. */

export interface AbsInfo {
  readonly value: number;
  readonly minimum: number;
  readonly maximum: number;
  readonly fuzz: number;
  readonly flat: number;
  /** Units per mm (per radian for rotations); 0 when the driver does not say. */
  readonly resolution: number;
}

/** EVIOCGNAME, EVIOCGID, EVIOCGPROP, EVIOCGBIT and EVIOCGABS of one device. Bitmaps: bit n at byte n >> 3, bit n & 7. */
export interface EvdevInfoRaw {
  readonly name: string;
  readonly bustype: number;
  readonly vendor: number;
  readonly product: number;
  readonly version: number;
  readonly props: Uint8Array;
  readonly ev: Uint8Array;
  readonly key: Uint8Array;
  readonly rel: Uint8Array;
  readonly abs: Uint8Array;
  readonly absInfo: Readonly<Record<number, AbsInfo>>;
}

export interface EvdevReaderNative {
  start(): void;
  stop(): void;
}

export interface EvdevNative {
  evdevOpen(path: string): number;
  evdevInfo(fd: number): EvdevInfoRaw;
  evdevKeyState(fd: number): Uint8Array;
  evdevAbsValue(fd: number, code: number): number;
  evdevGrab(fd: number, grab: boolean): void;
  evdevSetClock(fd: number, clock: 'monotonic' | 'realtime' | 'boottime'): void;
  EvdevReader: new (fd: number, onEvents: (events: Float64Array | null, errno?: string) => void) => EvdevReaderNative;
}
