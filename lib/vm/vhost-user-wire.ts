/**
 * The vhost-user wire (qemu docs/interop/vhost-user.rst): framing of the
 * front-end's (qemu's) requests on the stream socket, their fds, and the
 * payloads the GPU back-end reads. Pure: no socket, no state beyond one
 * message being assembled, so the fuzzer drives it directly.
 *
 * A message is a 12-byte header (request u32, flags u32, size u32, native
 * endian: little on every host we build for) and `size` payload bytes. qemu
 * writes each message with one sendmsg, its fds attached: the kernel delivers
 * an fd-carrying chunk as the end of a recvmsg, so the fds of a read belong to
 * the last message that starts in it (or, if none starts there, to the one it
 * continues).
 */
import { BufshareError } from '../errors';

export const VHOST_USER_VERSION = 0x1;
export const VHOST_USER_FLAG_REPLY = 0x4;
export const VHOST_USER_FLAG_NEED_REPLY = 0x8;
export const VHOST_USER_HEADER_BYTES = 12;
/** No request the GPU back-end takes is longer (SET_MEM_TABLE with 8 regions is 264 bytes; GET_CONFIG at most 268). */
export const VHOST_USER_MAX_PAYLOAD = 4096;
/** fds one message may carry (SET_MEM_TABLE: one per region, at most 8 without CONFIGURE_MEM_SLOTS). */
export const VHOST_USER_MAX_FDS = 8;

export const Req = {
  GET_FEATURES: 1,
  SET_FEATURES: 2,
  SET_OWNER: 3,
  RESET_OWNER: 4,
  SET_MEM_TABLE: 5,
  SET_LOG_BASE: 6,
  SET_LOG_FD: 7,
  SET_VRING_NUM: 8,
  SET_VRING_ADDR: 9,
  SET_VRING_BASE: 10,
  GET_VRING_BASE: 11,
  SET_VRING_KICK: 12,
  SET_VRING_CALL: 13,
  SET_VRING_ERR: 14,
  GET_PROTOCOL_FEATURES: 15,
  SET_PROTOCOL_FEATURES: 16,
  GET_QUEUE_NUM: 17,
  SET_VRING_ENABLE: 18,
  SEND_RARP: 19,
  NET_SET_MTU: 20,
  SET_SLAVE_REQ_FD: 21,
  IOTLB_MSG: 22,
  SET_VRING_ENDIAN: 23,
  GET_CONFIG: 24,
  SET_CONFIG: 25,
  GPU_SET_SOCKET: 33,
  RESET_DEVICE: 34,
  GET_MAX_MEM_SLOTS: 36,
  SET_STATUS: 39,
  GET_STATUS: 40,
} as const;

export const REQUEST_NAMES: ReadonlyMap<number, string> = new Map(Object.entries(Req).map(([k, v]) => [v, k]));

/** Protocol feature bits (VHOST_USER_PROTOCOL_F_*). */
export const ProtocolFeature = {
  MQ: 0,
  REPLY_ACK: 3,
  CONFIG: 9,
} as const;

/** Virtio feature bits the GPU back-end speaks of. */
export const Feature = {
  VIRTIO_GPU_F_VIRGL: 0,
  VIRTIO_GPU_F_EDID: 1,
  VIRTIO_RING_F_INDIRECT_DESC: 28,
  VIRTIO_RING_F_EVENT_IDX: 29,
  VHOST_USER_F_PROTOCOL_FEATURES: 30,
  VIRTIO_F_VERSION_1: 32,
} as const;

export interface VhostMessage {
  readonly request: number;
  readonly flags: number;
  /** A copy of the payload (the reader's buffer is reused). */
  readonly payload: Uint8Array;
  /** Owned by whoever takes the message: close or keep each. */
  readonly fds: number[];
}

function protocolError(message: string): BufshareError {
  return new BufshareError('ERR_BUFSHARE_PROTOCOL', `vhost-user: ${message}`);
}

/**
 * Reassembles messages from stream reads. push() returns the messages that
 * completed; a header that cannot be right (a size over the bound, fds beyond
 * the bound) throws ERR_BUFSHARE_PROTOCOL after closing every fd it held, and
 * the reader is then dead (the connection must go: the stream is out of step).
 */
export class VhostUserReader {
  private readonly buffer = new Uint8Array(VHOST_USER_HEADER_BYTES + VHOST_USER_MAX_PAYLOAD);
  private filled = 0;
  private fds: number[] = [];
  private dead = false;

  constructor(private readonly closeFd: (fd: number) => void) {}

  /** fds held by a message not yet complete. */
  get heldFds(): number {
    return this.fds.length;
  }

  push(data: Uint8Array, fds: readonly number[]): VhostMessage[] {
    if (this.dead) {
      for (const fd of fds) this.closeFd(fd);
      throw protocolError('the stream is already out of step');
    }
    const out: { request: number; flags: number; payload: Uint8Array; fds: number[] }[] = [];
    // The last message that starts in this read: an index into out, 'current' (still incomplete), or none.
    let lastStart: number | 'current' | undefined;
    const continuing = this.filled > 0;
    let pos = 0;
    try {
      while (pos < data.length) {
        if (this.filled === 0) lastStart = 'current';
        const need = this.filled < VHOST_USER_HEADER_BYTES ? VHOST_USER_HEADER_BYTES : VHOST_USER_HEADER_BYTES + this.payloadSize();
        const take = Math.min(need - this.filled, data.length - pos);
        this.buffer.set(data.subarray(pos, pos + take), this.filled);
        this.filled += take;
        pos += take;
        if (this.filled === VHOST_USER_HEADER_BYTES) {
          const size = this.payloadSize();
          if (size > VHOST_USER_MAX_PAYLOAD) throw protocolError(`a ${size}-byte payload is over the ${VHOST_USER_MAX_PAYLOAD}-byte bound (request ${this.header(0)})`);
        }
        if (this.filled >= VHOST_USER_HEADER_BYTES && this.filled === VHOST_USER_HEADER_BYTES + this.payloadSize()) {
          // this.fds are the fds that came with this message's earlier reads.
          out.push({ request: this.header(0), flags: this.header(4), payload: this.buffer.slice(VHOST_USER_HEADER_BYTES, this.filled), fds: this.fds });
          this.fds = [];
          if (lastStart === 'current') lastStart = out.length - 1;
          this.filled = 0;
        }
      }
      if (fds.length > 0) {
        // Attributed to the last message starting here, else to the one this read continued.
        const target = lastStart === 'current' ? this.fds : lastStart !== undefined ? out[lastStart].fds : continuing && out.length > 0 ? out[0].fds : this.fds;
        target.push(...fds);
      }
      for (const m of out) if (m.fds.length > VHOST_USER_MAX_FDS) throw protocolError(`${m.fds.length} fds with one message (at most ${VHOST_USER_MAX_FDS})`);
      if (this.fds.length > VHOST_USER_MAX_FDS) throw protocolError(`${this.fds.length} fds with one message (at most ${VHOST_USER_MAX_FDS})`);
      return out;
    } catch (e) {
      this.dead = true;
      const all = new Set<number>([...fds, ...this.fds, ...out.flatMap((m) => m.fds)]);
      for (const fd of all) this.closeFd(fd);
      this.fds = [];
      throw e;
    }
  }

  /** Closes the fds of a message left incomplete (the connection ended). */
  discard(): void {
    for (const fd of this.fds) this.closeFd(fd);
    this.fds = [];
    this.filled = 0;
  }

  private header(at: number): number {
    return (this.buffer[at] | (this.buffer[at + 1] << 8) | (this.buffer[at + 2] << 16) | (this.buffer[at + 3] << 24)) >>> 0;
  }

  private payloadSize(): number {
    return this.header(8);
  }
}

/** Encodes a back-end's reply: the request, flags version | REPLY, the payload. */
export function encodeReply(request: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(VHOST_USER_HEADER_BYTES + payload.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, request, true);
  v.setUint32(4, VHOST_USER_VERSION | VHOST_USER_FLAG_REPLY, true);
  v.setUint32(8, payload.length, true);
  out.set(payload, VHOST_USER_HEADER_BYTES);
  return out;
}

/** Encodes a front-end's request (tests and the bench stand in for qemu with it). */
export function encodeRequest(request: number, payload: Uint8Array = new Uint8Array(0), flags = VHOST_USER_VERSION): Uint8Array {
  const out = encodeReply(request, payload);
  new DataView(out.buffer).setUint32(4, flags, true);
  return out;
}

export function u64Payload(value: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, value, true);
  return out;
}

// --- payload decoders: each checks its size and throws ERR_BUFSHARE_PROTOCOL ---

function view(payload: Uint8Array, need: number, what: string): DataView {
  if (payload.length < need) throw protocolError(`${what} needs ${need} payload bytes, got ${payload.length}`);
  return new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
}

/** Addresses above 2^53 are refused: no guest or qemu address here comes near, and numbers stay exact. */
function address(v: DataView, at: number, what: string): number {
  const x = v.getBigUint64(at, true);
  if (x > BigInt(Number.MAX_SAFE_INTEGER)) throw protocolError(`${what} 0x${x.toString(16)} is past 2^53`);
  return Number(x);
}

export function decodeU64(payload: Uint8Array, what: string): bigint {
  return view(payload, 8, what).getBigUint64(0, true);
}

export interface VringState {
  readonly index: number;
  readonly num: number;
}

export function decodeVringState(payload: Uint8Array, what: string): VringState {
  const v = view(payload, 8, what);
  return { index: v.getUint32(0, true), num: v.getUint32(4, true) };
}

export interface VringAddress {
  readonly index: number;
  readonly flags: number;
  /** Front-end (qemu) user addresses, translated through the memory table's user addresses. */
  readonly desc: number;
  readonly used: number;
  readonly avail: number;
}

export function decodeVringAddress(payload: Uint8Array): VringAddress {
  const v = view(payload, 40, 'SET_VRING_ADDR');
  return {
    index: v.getUint32(0, true),
    flags: v.getUint32(4, true),
    desc: address(v, 8, 'descriptor table address'),
    used: address(v, 16, 'used ring address'),
    avail: address(v, 24, 'available ring address'),
  };
}

export interface MemoryRegionWire {
  readonly guestAddress: number;
  readonly size: number;
  readonly userAddress: number;
  readonly mmapOffset: number;
}

export const MAX_MEMORY_REGIONS = 8;

export function decodeMemoryTable(payload: Uint8Array): MemoryRegionWire[] {
  const v = view(payload, 8, 'SET_MEM_TABLE');
  const n = v.getUint32(0, true);
  if (n === 0 || n > MAX_MEMORY_REGIONS) throw protocolError(`SET_MEM_TABLE with ${n} regions (1 to ${MAX_MEMORY_REGIONS})`);
  view(payload, 8 + n * 32, 'SET_MEM_TABLE');
  const out: MemoryRegionWire[] = [];
  for (let i = 0; i < n; i++) {
    const at = 8 + i * 32;
    out.push({
      guestAddress: address(v, at, 'region guest address'),
      size: address(v, at + 8, 'region size'),
      userAddress: address(v, at + 16, 'region user address'),
      mmapOffset: address(v, at + 24, 'region mmap offset'),
    });
  }
  return out;
}

/** SET_VRING_KICK/CALL/ERR: the ring index (bits 0-7) and whether no fd comes (bit 8). */
export function decodeVringFd(payload: Uint8Array, what: string): { index: number; noFd: boolean } {
  const x = decodeU64(payload, what);
  if (x >> 9n !== 0n) throw protocolError(`${what} 0x${x.toString(16)} sets bits past 8`);
  return { index: Number(x & 0xffn), noFd: (x & 0x100n) !== 0n };
}

export interface ConfigAccess {
  readonly offset: number;
  readonly size: number;
  readonly flags: number;
  readonly data: Uint8Array;
}

export const MAX_CONFIG_BYTES = 256;

export function decodeConfig(payload: Uint8Array, what: string): ConfigAccess {
  const v = view(payload, 12, what);
  const offset = v.getUint32(0, true);
  const size = v.getUint32(4, true);
  if (size > MAX_CONFIG_BYTES || offset > MAX_CONFIG_BYTES) throw protocolError(`${what} of ${size} bytes at ${offset} is past the ${MAX_CONFIG_BYTES}-byte config space`);
  view(payload, 12 + size, what);
  return { offset, size, flags: v.getUint32(8, true), data: payload.subarray(12, 12 + size) };
}

export function encodeConfig(offset: number, flags: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, offset, true);
  v.setUint32(4, data.length, true);
  v.setUint32(8, flags, true);
  out.set(data, 12);
  return out;
}
