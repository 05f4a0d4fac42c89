/** What src-native/seat.cc and seat_uevent.cc give JS (see lib/native.ts). */

export interface SeatNative {
  /** The seat's name ("seat0"). */
  name(): string;
  /** Watches libseat's fd on the loop; events arrive through the constructor's callback. */
  start(): void;
  /** libseat_dispatch without waiting: the events it (and any earlier call) reported, in order. */
  dispatch(): string[];
  /** A device fd from the seat; yours until closeDevice(id), which closes it. */
  openDevice(path: string): { fd: number; id: number };
  closeDevice(id: number): void;
  /** Acknowledges a 'disable' (libseat_disable_seat). */
  disable(): void;
  /** Asks the seat to switch to session (VT) n. */
  switchSession(n: number): void;
  /** libseat_close_seat; idempotent. */
  close(): void;
}

export interface UeventSocketNative {
  start(): void;
  close(): void;
}
