/**
 * A stand-in for qemu and the guest's virtio-gpu driver, for the unit tests
 * and the bench: real kernel objects (a memfd as guest RAM in two regions,
 * eventfds for kick and call, a unix stream socket with SCM_RIGHTS), the
 * vhost-user requests qemu 7.2 sends, and split-virtqueue chains written into
 * "guest" memory the way a driver writes them.
 */
import * as native from '../../lib/native';
import {
  encodeRequest, Req, u64Payload, VHOST_USER_FLAG_NEED_REPLY, VHOST_USER_HEADER_BYTES, VHOST_USER_VERSION,
} from '../../lib/vm/vhost-user-wire';
import { VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from '../../lib/vm/virtio-queue';

export const RAM_BYTES = 64 * 1024 * 1024;
/** Region 0: guest [0, 32 MiB) at file offset 0; region 1: guest [32, 64 MiB) at file offset 32 MiB. */
export const SPLIT = 32 * 1024 * 1024;
/** qemu's user addresses for the RAM (any value: translated through the table). */
export const USER_BASE = 0x7f1200000000;
export const QUEUE_SIZE = 64;
const RING_GPA = [0x10000, 0x20000];
/** Where command and response buffers go (region 0). */
const SCRATCH_GPA = 0x100000;
/** Where the guest's images go (page allocator, region 1 and up from 33 MiB). */
export const IMAGE_GPA = SPLIT + 0x100000;

export interface Reply {
  readonly request: number;
  readonly payload: Uint8Array;
}

export class FakeFrontEnd {
  readonly ramFd: number;
  readonly ram: ArrayBuffer;
  readonly bytes: Uint8Array;
  readonly view: DataView;
  private readonly socket: native.StreamSocket;
  private readonly kickFds: number[] = [];
  private readonly callWatches: (native.EventFdWatchNative | undefined)[] = [];
  private readonly waiters: ((r: Reply) => void)[] = [];
  private readonly calls: (() => void)[][] = [[], []];
  /** Interrupts the guest got per ring (signals on a watched call fd). */
  readonly interrupts = [0, 0];
  private inbuf = new Uint8Array(0);
  private availIdx = [0, 0];
  private usedSeen = [0, 0];
  private seq = 0;
  closedByPeer = false;
  private gpuPeer: number | undefined;
  private gpuSocket: native.StreamSocket | undefined;
  private gpuBuf = new Uint8Array(0);
  /** What the back-end sent on qemu's display socket (after watchGpu()). */
  readonly gpuMessages: { request: number; payload: Uint8Array }[] = [];

  /** Reads the GPU socket as qemu's display side does, into gpuMessages. */
  watchGpu(): void {
    if (this.gpuPeer === undefined || this.gpuSocket !== undefined) return;
    const fd = this.gpuPeer;
    this.gpuPeer = undefined;
    const sock = native.openStream(fd, (status, events) => {
      if (status < 0 || !(events & native.constants.POLL_READABLE)) return;
      const buf = new Uint8Array(1 << 20);
      const fds = new Int32Array(native.MAX_FDS_PER_STREAM_SEND);
      const meta = new Int32Array(2);
      const n = sock.recvStream(buf, fds, meta);
      if (n <= 0) {
        if (n < 0) sock.poll(0);
        return;
      }
      const joined = new Uint8Array(this.gpuBuf.length + n);
      joined.set(this.gpuBuf);
      joined.set(buf.subarray(0, n), this.gpuBuf.length);
      this.gpuBuf = joined;
      while (this.gpuBuf.length >= 12) {
        const v = new DataView(this.gpuBuf.buffer, this.gpuBuf.byteOffset);
        const size = v.getUint32(8, true);
        if (this.gpuBuf.length < 12 + size) break;
        this.gpuMessages.push({ request: v.getUint32(0, true), payload: this.gpuBuf.slice(12, 12 + size) });
        this.gpuBuf = this.gpuBuf.slice(12 + size);
      }
    });
    sock.poll(native.constants.POLL_READABLE);
    this.gpuSocket = sock;
  }

  constructor(path: string, readonly options: { readonly sealed?: boolean } = {}) {
    // qemu's memory-backend-memfd seals (F_SEAL_GROW | F_SEAL_SHRINK) by default.
    this.ramFd = native.memfdCreate('fake-guest-ram', RAM_BYTES, options.sealed === false ? 0 : 0x2 | 0x4);
    this.ram = native.mmapFd(this.ramFd, RAM_BYTES, 0, native.PROT_READ | native.PROT_WRITE);
    this.bytes = new Uint8Array(this.ram);
    this.view = new DataView(this.ram);
    this.socket = native.openStream(native.streamConnect(path), (status, events) => this.onEvent(status, events));
    this.socket.poll(native.constants.POLL_READABLE);
  }

  private onEvent(status: number, events: number): void {
    if (status < 0 || !(events & native.constants.POLL_READABLE)) return;
    const buf = new Uint8Array(65536);
    const fds = new Int32Array(native.MAX_FDS_PER_STREAM_SEND);
    const meta = new Int32Array(2);
    const n = this.socket.recvStream(buf, fds, meta);
    for (let i = 0; i < meta[0]; i++) native.closeFd(fds[i]);
    if (n < 0) {
      this.closedByPeer = true;
      this.socket.poll(0);
      return;
    }
    if (n === 0) return;
    const joined = new Uint8Array(this.inbuf.length + n);
    joined.set(this.inbuf);
    joined.set(buf.subarray(0, n), this.inbuf.length);
    this.inbuf = joined;
    for (;;) {
      if (this.inbuf.length < VHOST_USER_HEADER_BYTES) break;
      const v = new DataView(this.inbuf.buffer, this.inbuf.byteOffset);
      const size = v.getUint32(8, true);
      if (this.inbuf.length < VHOST_USER_HEADER_BYTES + size) break;
      const reply = { request: v.getUint32(0, true), payload: this.inbuf.slice(12, 12 + size) };
      this.inbuf = this.inbuf.slice(12 + size);
      this.waiters.shift()?.(reply);
    }
  }

  /** Sends raw bytes with fds (the fuzzer and hostile tests). */
  sendRaw(data: Uint8Array, fds: number[] = []): void {
    const sent = this.socket.sendStream(data, fds.length > 0 ? Int32Array.from(fds) : undefined);
    if (sent !== data.length) throw new Error(`short send ${sent}/${data.length}`);
  }

  send(request: number, payload?: Uint8Array, fds: number[] = [], flags = VHOST_USER_VERSION): void {
    this.sendRaw(encodeRequest(request, payload, flags), fds);
  }

  /** Sends a request that gets a reply and waits for it. */
  ask(request: number, payload?: Uint8Array, fds: number[] = [], needReply = false, timeoutMs = 2000): Promise<Reply> {
    const p = new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply to request ${request}`)), timeoutMs);
      this.waiters.push((r) => {
        clearTimeout(timer);
        resolve(r);
      });
    });
    this.send(request, payload, fds, VHOST_USER_VERSION | (needReply ? VHOST_USER_FLAG_NEED_REPLY : 0));
    return p;
  }

  /** The memory table qemu would send: two regions of the one memfd. */
  memTablePayload(regions = [{ gpa: 0, size: SPLIT, off: 0 }, { gpa: SPLIT, size: RAM_BYTES - SPLIT, off: SPLIT }]): Uint8Array {
    const out = new Uint8Array(8 + 32 * regions.length);
    const v = new DataView(out.buffer);
    v.setUint32(0, regions.length, true);
    regions.forEach((r, i) => {
      const at = 8 + 32 * i;
      v.setBigUint64(at, BigInt(r.gpa), true);
      v.setBigUint64(at + 8, BigInt(r.size), true);
      v.setBigUint64(at + 16, BigInt(USER_BASE + r.gpa), true);
      v.setBigUint64(at + 24, BigInt(r.off), true);
    });
    return out;
  }

  /** What qemu 7.2 sends to start vhost-user-gpu: negotiation, memory, both rings. */
  async start(features?: bigint): Promise<void> {
    const f = await this.ask(Req.GET_FEATURES);
    const offered = new DataView(f.payload.buffer).getBigUint64(0, true);
    const pf = await this.ask(Req.GET_PROTOCOL_FEATURES);
    this.send(Req.SET_PROTOCOL_FEATURES, pf.payload);
    this.send(Req.SET_OWNER);
    const cfg = new Uint8Array(12 + 16);
    new DataView(cfg.buffer).setUint32(4, 16, true);
    await this.ask(Req.GET_CONFIG, cfg);
    const [a, b] = native.streamPair();
    this.gpuPeer = a;
    this.send(Req.GPU_SET_SOCKET, undefined, [b]);
    native.closeFd(b);
    this.send(Req.SET_FEATURES, u64Payload(features ?? offered));
    this.send(Req.SET_MEM_TABLE, this.memTablePayload(), [this.ramFd, this.ramFd]);
    for (let q = 0; q < 2; q++) this.startRing(q);
    // A round trip: everything above has been handled when it answers.
    await this.ask(Req.GET_FEATURES);
  }

  ringAddrs(q: number): { desc: number; avail: number; used: number } {
    const desc = RING_GPA[q];
    const avail = desc + 16 * QUEUE_SIZE;
    const used = (avail + 6 + 2 * QUEUE_SIZE + 3) & ~3;
    return { desc, avail, used };
  }

  startRing(q: number, addrs = this.ringAddrs(q)): void {
    const state = (index: number, num: number): Uint8Array => {
      const out = new Uint8Array(8);
      new DataView(out.buffer).setUint32(0, index, true);
      new DataView(out.buffer).setUint32(4, num, true);
      return out;
    };
    this.send(Req.SET_VRING_NUM, state(q, QUEUE_SIZE));
    this.send(Req.SET_VRING_BASE, state(q, 0));
    const addr = new Uint8Array(40);
    const v = new DataView(addr.buffer);
    v.setUint32(0, q, true);
    v.setBigUint64(8, BigInt(USER_BASE + addrs.desc), true);
    v.setBigUint64(16, BigInt(USER_BASE + addrs.used), true);
    v.setBigUint64(24, BigInt(USER_BASE + addrs.avail), true);
    this.send(Req.SET_VRING_ADDR, addr);
    const kick = native.eventfdCreate();
    this.kickFds[q] = kick;
    this.send(Req.SET_VRING_KICK, u64Payload(BigInt(q)), [kick]);
    this.setCall(q, true);
  }

  /**
   * Gives ring `q` a new call eventfd, as qemu does while the guest masks
   * (`watched` false: a masked notifier nobody reads, standing for one qemu
   * looked at too early) and unmasks (`watched` true: the guest's interrupt)
   * its MSI-X vector. The old fd stops counting either way.
   */
  setCall(q: number, watched: boolean): void {
    this.callWatches[q]?.close();
    this.callWatches[q] = undefined;
    const call = native.eventfdCreate();
    this.send(Req.SET_VRING_CALL, u64Payload(BigInt(q)), [call]);
    if (!watched) {
      // The back-end holds its own copy: ours only has to stay unread.
      native.closeFd(call);
      return;
    }
    this.callWatches[q] = native.watchEventFd(call, () => {
      this.interrupts[q]++;
      const waiting = this.calls[q];
      this.calls[q] = [];
      for (const w of waiting) w();
    });
  }

  usedIdx(q: number): number {
    return this.view.getUint16(this.ringAddrs(q).used + 2, true);
  }

  /**
   * Makes a chain available and kicks: `readable` buffers (placed in scratch
   * memory unless given as guest addresses), then a writable response buffer
   * of `respBytes`. Resolves with the response bytes and the used length.
   */
  async submit(q: number, readable: (Uint8Array | { gpa: number; len: number })[], respBytes: number, timeoutMs = 2000): Promise<{ resp: Uint8Array; len: number }> {
    const { desc, avail, used } = this.ringAddrs(q);
    const base = (this.seq * 8) % QUEUE_SIZE;
    this.seq++;
    let scratch = SCRATCH_GPA + (this.seq % 16) * 0x20000;
    const parts: { gpa: number; len: number; write: boolean }[] = [];
    for (const r of readable) {
      if (r instanceof Uint8Array) {
        this.bytes.set(r, scratch);
        parts.push({ gpa: scratch, len: r.length, write: false });
        scratch += (r.length + 63) & ~63;
      } else {
        parts.push({ gpa: r.gpa, len: r.len, write: false });
      }
    }
    const respGpa = scratch;
    this.bytes.fill(0xee, respGpa, respGpa + respBytes);
    if (respBytes > 0) parts.push({ gpa: respGpa, len: respBytes, write: true });
    parts.forEach((p, i) => {
      const at = desc + 16 * (base + i);
      this.view.setBigUint64(at, BigInt(p.gpa), true);
      this.view.setUint32(at + 8, p.len, true);
      this.view.setUint16(at + 12, (p.write ? VIRTQ_DESC_F_WRITE : 0) | (i < parts.length - 1 ? VIRTQ_DESC_F_NEXT : 0), true);
      this.view.setUint16(at + 14, base + i + 1, true);
    });
    return this.makeAvailable(q, base, respGpa, respBytes, timeoutMs, avail, used);
  }

  /** Puts head `head` (descriptors written by the caller) on the available ring, kicks, waits for it to be used. */
  async makeAvailable(q: number, head: number, respGpa: number, respBytes: number, timeoutMs = 2000,
    avail = this.ringAddrs(q).avail, used = this.ringAddrs(q).used): Promise<{ resp: Uint8Array; len: number }> {
    // used_event (EVENT_IDX): interrupt us when the entry we wait for is used.
    this.view.setUint16(avail + 4 + 2 * QUEUE_SIZE, this.usedSeen[q], true);
    this.view.setUint16(avail + 4 + 2 * (this.availIdx[q] % QUEUE_SIZE), head, true);
    this.availIdx[q] = (this.availIdx[q] + 1) & 0xffff;
    this.view.setUint16(avail + 2, this.availIdx[q], true);
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`queue ${q}: chain ${head} was not used in ${timeoutMs} ms`)), timeoutMs);
      const check = (): void => {
        if (this.usedIdx(q) !== this.usedSeen[q]) {
          clearTimeout(timer);
          resolve();
        } else this.calls[q].push(check);
      };
      this.calls[q].push(check);
    });
    native.eventfdSignal(this.kickFds[q]);
    await done;
    const slot = this.usedSeen[q] % QUEUE_SIZE;
    this.usedSeen[q] = (this.usedSeen[q] + 1) & 0xffff;
    const len = this.view.getUint32(used + 4 + 8 * slot + 4, true);
    return { resp: this.bytes.slice(respGpa, respGpa + respBytes), len };
  }

  /** Kicks without waiting (a broken ring answers nothing). */
  kick(q: number): void {
    native.eventfdSignal(this.kickFds[q]);
  }

  close(): void {
    this.socket.close();
    for (const w of this.callWatches) w?.close();
    for (const fd of this.kickFds) native.closeFd(fd);
    if (this.gpuPeer !== undefined) native.closeFd(this.gpuPeer);
    this.gpuSocket?.close();
    native.unmapBuffer(this.ram);
    native.closeFd(this.ramFd);
  }
}
