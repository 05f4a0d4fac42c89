/**
 * A split virtqueue (virtio 1.x, 2.7) read from guest memory by the device
 * side: the driver's descriptor table and available ring, our used ring.
 *
 * Everything the guest wrote is hostile until checked. Each descriptor is read
 * once (the guest may change it meanwhile) and checked against the memory
 * table: its buffer must lie wholly inside one region; a chain may not loop
 * (more descriptors than the table holds), run past the table, put a readable
 * buffer after a writable one, nest indirect tables or mix INDIRECT with NEXT.
 * Such a chain comes back with `error` set and no buffers: the device answers
 * it (or returns it unused) and the queue goes on. What breaks the ring itself
 * (an available index that moved by more than the queue size, a head index past
 * the table) throws a VirtqueueError and the queue stops: its owner drops it.
 *
 * Ordering: the guest's stores reach us through shared memory; x86's ordering
 * (TSO) keeps "ring entry, then index" as the driver wrote them, and we write
 * "used entry, then used index" in that order. TSO does let a load pass an
 * earlier store, and EVENT_IDX has two store-then-load steps (publish
 * avail_event, look at the available index again; publish the used index, read
 * used_event): a full fence (native memoryFence, MFENCE) sits between each, as
 * Linux's virtio_mb() and qemu's smp_mb() do, or a kick or an interrupt can be
 * lost. Weaker hosts (arm64) would need fences on the other steps too.
 */
import { BufshareError } from '../errors';
import { memoryFence } from '../native';
import type { GuestMemory } from './guest-memory';

export const VIRTQ_DESC_F_NEXT = 1;
export const VIRTQ_DESC_F_WRITE = 2;
export const VIRTQ_DESC_F_INDIRECT = 4;
export const VIRTQ_AVAIL_F_NO_INTERRUPT = 1;
/** The largest split queue (virtio: 32768). */
export const MAX_QUEUE_SIZE = 32768;

export type ChainErrorReason =
  | 'bad-address' // a buffer not wholly inside one memory region
  | 'loop' // more descriptors than the table holds: a cycle
  | 'next-out-of-range' // a next index past the table
  | 'read-after-write' // a readable buffer after a writable one
  | 'nested-indirect' // an indirect table inside an indirect table
  | 'indirect-with-next' // INDIRECT and NEXT on one descriptor
  | 'bad-indirect-table' // an indirect table of a length not a positive multiple of 16, or outside memory
  | 'too-long'; // more bytes in the chain than the device takes

export class VirtqueueError extends BufshareError {
  readonly reason: string;
  constructor(reason: string, message: string) {
    super('ERR_BUFSHARE_PROTOCOL', `virtqueue: ${message}`);
    this.reason = reason;
  }
}

export interface DescriptorChain {
  /** The head index: what the used ring gets back. */
  readonly head: number;
  /** The device-readable buffers, in order (views into guest memory). Empty when `error` is set. */
  readonly readable: readonly Uint8Array[];
  /** The device-writable buffers, in order. Empty when `error` is set. */
  readonly writable: readonly Uint8Array[];
  readonly readableBytes: number;
  readonly writableBytes: number;
  readonly error?: { readonly reason: ChainErrorReason; readonly message: string };
}

export interface QueueAddresses {
  /** Front-end user addresses (SET_VRING_ADDR). */
  readonly desc: number;
  readonly avail: number;
  readonly used: number;
}

export interface SplitQueueOptions {
  /** VIRTIO_RING_F_INDIRECT_DESC was negotiated. */
  readonly indirect: boolean;
  /**
   * VIRTIO_RING_F_EVENT_IDX was negotiated: we publish avail_event (so the
   * driver kicks for the next chain) and interrupt only past used_event.
   */
  readonly eventIdx?: boolean;
  /** A chain's buffers may add up to at most this many bytes (default 16 MiB). */
  readonly maxChainBytes?: number;
}

export class SplitQueue {
  readonly size: number;
  private readonly mem: GuestMemory;
  private readonly desc: DataView;
  private readonly avail: DataView;
  private readonly used: DataView;
  private readonly indirect: boolean;
  private readonly maxChainBytes: number;
  /** The next available-ring slot to read (free-running, mod 2^16). */
  private lastAvail: number;
  /** Our used index (free-running, mod 2^16). */
  private usedIdx: number;
  private stopped: VirtqueueError | undefined;
  private readonly eventIdx: boolean;
  /** The used index when the driver was last interrupted (EVENT_IDX). */
  private signalledUsed: number;

  /**
   * @param lastAvail where to start (SET_VRING_BASE)
   * Throws VirtqueueError when the size is not a power of two up to 32768, or
   * an area is misaligned or not wholly inside one memory region.
   */
  constructor(mem: GuestMemory, size: number, addrs: QueueAddresses, lastAvail: number, options: SplitQueueOptions) {
    if (!Number.isInteger(size) || size < 1 || size > MAX_QUEUE_SIZE || (size & (size - 1)) !== 0) {
      throw new VirtqueueError('bad-size', `queue size ${size} is not a power of two up to ${MAX_QUEUE_SIZE}`);
    }
    this.size = size;
    this.mem = mem;
    this.indirect = options.indirect;
    this.maxChainBytes = options.maxChainBytes ?? 16 * 1024 * 1024;
    this.desc = area(mem, addrs.desc, 16 * size, 16, 'descriptor table');
    this.avail = area(mem, addrs.avail, 6 + 2 * size, 2, 'available ring');
    this.used = area(mem, addrs.used, 6 + 8 * size, 4, 'used ring');  // its avail_event is the last 2 of those 6
    this.lastAvail = lastAvail & 0xffff;
    // The used index the driver last saw is ours to continue from.
    this.usedIdx = this.used.getUint16(2, true);
    this.eventIdx = options.eventIdx === true;
    this.signalledUsed = this.usedIdx;
  }

  /** The next available-ring slot (what GET_VRING_BASE reports). */
  get nextAvail(): number {
    return this.lastAvail;
  }

  /** The ring's indices as they stand (reports): the driver's available index, ours, the used index, the event indices. */
  get indices(): { avail: number; next: number; used: number; usedEvent: number; availEvent: number; flags: number } {
    return {
      avail: this.avail.getUint16(2, true), next: this.lastAvail, used: this.used.getUint16(2, true),
      usedEvent: this.avail.getUint16(4 + 2 * this.size, true), availEvent: this.used.getUint16(4 + 8 * this.size, true), flags: this.avail.getUint16(0, true),
    };
  }

  get error(): VirtqueueError | undefined {
    return this.stopped;
  }

  /**
   * The next available chain, or undefined when the driver has made none
   * available. Throws (and stops the queue for good) when the ring itself is broken.
   */
  pop(): DescriptorChain | undefined {
    if (this.stopped) throw this.stopped;
    let availIdx = this.avail.getUint16(2, true);
    let pending = (availIdx - this.lastAvail) & 0xffff;
    if (pending === 0 && this.eventIdx) {
      // Ask for a kick at the next chain, then look again: one made meanwhile saw the old value.
      this.used.setUint16(4 + 8 * this.size, this.lastAvail, true);
      memoryFence();
      availIdx = this.avail.getUint16(2, true);
      pending = (availIdx - this.lastAvail) & 0xffff;
    }
    if (pending === 0) return undefined;
    if (pending > this.size) return this.stop('avail-overrun', `the available index moved ${pending} past our ${this.lastAvail} on a ${this.size}-entry queue`);
    const head = this.avail.getUint16(4 + 2 * (this.lastAvail % this.size), true);
    if (head >= this.size) return this.stop('head-out-of-range', `head index ${head} is past the ${this.size}-entry table`);
    this.lastAvail = (this.lastAvail + 1) & 0xffff;
    return this.walk(head);
  }

  /** Returns a chain to the driver with `written` bytes written into its writable buffers. */
  push(head: number, written: number): void {
    const slot = this.usedIdx % this.size;
    this.used.setUint32(4 + 8 * slot, head, true);
    this.used.setUint32(8 + 8 * slot, written >>> 0, true);
    this.usedIdx = (this.usedIdx + 1) & 0xffff;
    this.used.setUint16(2, this.usedIdx, true);
  }

  /**
   * Whether the driver wants an interrupt for what was pushed since the last
   * one: with EVENT_IDX, once the used index passed its used_event; otherwise
   * unless it set VIRTQ_AVAIL_F_NO_INTERRUPT. Call once per batch, then signal.
   */
  takeInterrupt(): boolean {
    memoryFence();   // the used index we stored before the driver's flags / used_event we read
    if (!this.eventIdx) return (this.avail.getUint16(0, true) & VIRTQ_AVAIL_F_NO_INTERRUPT) === 0;
    const event = this.avail.getUint16(4 + 2 * this.size, true);
    const now = this.usedIdx, old = this.signalledUsed;
    this.signalledUsed = now;
    // vring_need_event: the driver's event index lies in (old, now].
    return ((now - event - 1) & 0xffff) < ((now - old) & 0xffff);
  }

  private stop(reason: string, message: string): never {
    this.stopped = new VirtqueueError(reason, message);
    throw this.stopped;
  }

  private walk(head: number): DescriptorChain {
    const readable: Uint8Array[] = [];
    const writable: Uint8Array[] = [];
    let readableBytes = 0;
    let writableBytes = 0;
    const fail = (reason: ChainErrorReason, message: string): DescriptorChain => ({
      head, readable: [], writable: [], readableBytes: 0, writableBytes: 0, error: { reason, message },
    });
    let table = this.desc;
    let tableSize = this.size;
    let inIndirect = false;
    let index = head;
    let seen = 0;
    for (;;) {
      if (++seen > tableSize) return fail('loop', `chain from head ${head} has more than ${tableSize} descriptors (a cycle)`);
      const at = 16 * index;
      const addr = Number(table.getBigUint64(at, true));
      const len = table.getUint32(at + 8, true);
      const flags = table.getUint16(at + 12, true);
      const next = table.getUint16(at + 14, true);
      if (flags & VIRTQ_DESC_F_INDIRECT) {
        if (!this.indirect) return fail('nested-indirect', `descriptor ${index} is INDIRECT, which was not negotiated`);
        if (inIndirect) return fail('nested-indirect', `descriptor ${index} of an indirect table is INDIRECT again`);
        if (flags & VIRTQ_DESC_F_NEXT) return fail('indirect-with-next', `descriptor ${index} sets both INDIRECT and NEXT`);
        if (len === 0 || len % 16 !== 0 || len / 16 > MAX_QUEUE_SIZE) return fail('bad-indirect-table', `indirect table of ${len} bytes`);
        const bytes = this.mem.guest(addr, len);
        if (bytes === undefined) return fail('bad-indirect-table', `indirect table at 0x${addr.toString(16)} (${len} bytes) is outside guest memory`);
        table = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        tableSize = len / 16;
        inIndirect = true;
        index = 0;
        seen = 0;
        continue;
      }
      const bytes = this.mem.guest(addr, len);
      if (bytes === undefined) return fail('bad-address', `descriptor ${index}: ${len} bytes at 0x${addr.toString(16)} are not inside guest memory`);
      if (flags & VIRTQ_DESC_F_WRITE) {
        writable.push(bytes);
        writableBytes += len;
      } else {
        if (writable.length > 0) return fail('read-after-write', `descriptor ${index} is readable after a writable one`);
        readable.push(bytes);
        readableBytes += len;
      }
      if (readableBytes + writableBytes > this.maxChainBytes) return fail('too-long', `chain from head ${head} holds over ${this.maxChainBytes} bytes`);
      if (!(flags & VIRTQ_DESC_F_NEXT)) break;
      if (next >= tableSize) return fail('next-out-of-range', `descriptor ${index} names next ${next}, past the ${tableSize}-entry table`);
      index = next;
    }
    return { head, readable, writable, readableBytes, writableBytes };
  }
}

function area(mem: GuestMemory, uva: number, length: number, align: number, what: string): DataView {
  if (uva % align !== 0) throw new VirtqueueError('misaligned', `${what} at 0x${uva.toString(16)} is not ${align}-byte aligned`);
  const bytes = mem.user(uva, length);
  if (bytes === undefined) throw new VirtqueueError('bad-ring-address', `${what} (${length} bytes at user address 0x${uva.toString(16)}) is not inside the memory table`);
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Copies the readable buffers of a chain, up to `max` bytes, into one array (a command and its trailing data). */
export function gather(chain: DescriptorChain, max: number): Uint8Array {
  const n = Math.min(chain.readableBytes, max);
  const out = new Uint8Array(n);
  let at = 0;
  for (const b of chain.readable) {
    if (at >= n) break;
    const take = Math.min(b.length, n - at);
    out.set(b.subarray(0, take), at);
    at += take;
  }
  return out;
}

/** Writes `data` across the writable buffers of a chain; returns the bytes written (short if they hold less). */
export function scatter(chain: DescriptorChain, data: Uint8Array): number {
  let at = 0;
  for (const b of chain.writable) {
    if (at >= data.length) break;
    const take = Math.min(b.length, data.length - at);
    b.set(data.subarray(at, at + take));
    at += take;
  }
  return at;
}
