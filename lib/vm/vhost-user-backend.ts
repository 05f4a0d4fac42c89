/**
 * One vhost-user front-end (qemu's vhost-user-gpu-pci) on a connected stream
 * socket: the control protocol (qemu docs/interop/vhost-user.rst), the guest
 * memory table, the two vrings (0 control, 1 cursor) with their kick, call and
 * err eventfds, and the hand-off of each descriptor chain to the GPU device.
 *
 * Negotiated: VIRTIO_F_VERSION_1, VIRTIO_RING_F_INDIRECT_DESC and
 * VHOST_USER_F_PROTOCOL_FEATURES; protocol features CONFIG (qemu's
 * vhost-user-gpu reads virtio_gpu_config through GET_CONFIG) and REPLY_ACK.
 *
 * Robustness: a malformed message (bad size, a payload too short for its
 * request, a bad memory table) ends the connection with ERR_BUFSHARE_PROTOCOL;
 * a bad descriptor chain is answered (or returned unused) and the ring goes on;
 * a broken ring (its indices) is stopped, reported through its err eventfd and
 * 'error'. Every fd received is owned by exactly one place and closed at
 * close(): memory regions, kick/call/err eventfds, the GPU socket.
 */
import { readlinkSync } from 'node:fs';
import { EventEmitter } from 'eventemitter3';
import { BufshareError } from '../errors';
import * as native from '../native';
import { GuestMemory } from './guest-memory';
import { SplitQueue, VirtqueueError } from './virtio-queue';
import type { VirtioGpuDevice } from './virtio-gpu-device';
import { CONFIG_BYTES } from './virtio-gpu-wire';
import {
  decodeConfig, decodeMemoryTable, decodeU64, decodeVringAddress, decodeVringFd, decodeVringState, encodeConfig, encodeReply, Feature,
  ProtocolFeature, Req, REQUEST_NAMES, u64Payload, VhostUserReader, VHOST_USER_FLAG_NEED_REPLY, VHOST_USER_MAX_FDS, type VhostMessage,
  type VringAddress,
} from './vhost-user-wire';

const QUEUES = 2;
const DEFAULT_QUEUE_SIZE = 256;

export const OFFERED_FEATURES = (1n << BigInt(Feature.VIRTIO_F_VERSION_1)) | (1n << BigInt(Feature.VIRTIO_RING_F_INDIRECT_DESC)) |
  (1n << BigInt(Feature.VIRTIO_RING_F_EVENT_IDX)) | (1n << BigInt(Feature.VHOST_USER_F_PROTOCOL_FEATURES));
export const OFFERED_PROTOCOL_FEATURES = (1n << BigInt(ProtocolFeature.CONFIG)) | (1n << BigInt(ProtocolFeature.REPLY_ACK));

interface Vring {
  num: number;
  addr: VringAddress | undefined;
  /** The next available slot to read, while no queue is built. */
  base: number;
  kick: native.EventFdWatchNative | undefined;
  call: number | undefined;
  err: number | undefined;
  started: boolean;
  enabled: boolean;
  explicitlyDisabled: boolean;
  queue: SplitQueue | undefined;
  broken: VirtqueueError | undefined;
  /** Interrupts: call fds installed, signalled, not wanted by the driver, wanted with no call fd to signal. */
  irq: { callFds: number; signalled: number; suppressed: number; noFd: number };
}

export interface VhostUserBackendEvents {
  /** The guest's rings are running (after the first kick of the control queue). */
  started: [];
  /** A ring stopped on an error of its own (the connection goes on). */
  error: [error: BufshareError];
  /** qemu's display socket came (VHOST_USER_GPU_SET_SOCKET): borrowed, the backend keeps and closes it; dup it to keep it. */
  gpuSocket: [fd: number];
  /** Once: the front-end went away, or we ended the connection (error set then). */
  close: [reason: string, error: BufshareError | undefined];
}

/** Throws, after closing `fd`, unless it is an eventfd (what qemu sends on Linux). */
function requireEventFd(fd: number, what: string): void {
  let target: string;
  try {
    target = readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return; // no /proc: cannot tell; qemu sends eventfds
  }
  if (target === 'anon_inode:[eventfd]') return;
  closeQuietly(fd);
  throw new BufshareError('ERR_BUFSHARE_PROTOCOL', `vhost-user: ${what} fd is ${target}, not an eventfd`);
}

function closeQuietly(fd: number | undefined): void {
  if (fd === undefined) return;
  try {
    native.closeFd(fd);
  } catch {
    // already gone
  }
}

const recvBuffer = new Uint8Array(65536);
const recvFds = new Int32Array(native.MAX_FDS_PER_STREAM_SEND);
const recvMeta = new Int32Array(2);

export class VhostUserBackend extends EventEmitter<VhostUserBackendEvents> {
  readonly device: VirtioGpuDevice;
  private readonly socket: native.StreamSocket;
  private readonly reader = new VhostUserReader(closeQuietly);
  private readonly vrings: Vring[];
  private memory: GuestMemory | undefined;
  private gpuSocket: number | undefined;
  private features = 0n;
  private protocolFeatures = 0n;
  private outbox: Uint8Array[] = [];
  private closed = false;
  private scheduled = false;
  /** Messages handled, by request name (reports and tests). */
  readonly requests = new Map<string, number>();

  /** Takes ownership of `fd`, a connected stream socket. */
  constructor(fd: number, device: VirtioGpuDevice) {
    super();
    this.device = device;
    this.vrings = Array.from({ length: QUEUES }, () => ({
      num: DEFAULT_QUEUE_SIZE, addr: undefined, base: 0, kick: undefined, call: undefined, err: undefined, started: false, enabled: false, explicitlyDisabled: false, queue: undefined, broken: undefined,
      irq: { callFds: 0, signalled: 0, suppressed: 0, noFd: 0 },
    }));
    this.socket = native.openStream(fd, (status, events) => this.onEvent(status, events));
    this.socket.poll(native.constants.POLL_READABLE);
  }

  /** The guest memory table, while one is set. */
  get guestMemory(): GuestMemory | undefined {
    return this.memory;
  }

  /** The front-end's pid at connect time (SO_PEERCRED); 0 if unknown. */
  get peerPid(): number {
    try {
      return this.socket.peerCred().pid;
    } catch {
      return 0;
    }
  }

  /** A ring's state (reports and tests). */
  ringState(index: number): Record<string, unknown> | undefined {
    const v = this.vrings[index];
    if (v === undefined) return undefined;
    return { num: v.num, started: v.started, enabled: v.enabled, kick: v.kick !== undefined, call: v.call !== undefined, broken: v.broken?.message, irq: { ...v.irq }, ...(v.queue?.indices ?? { base: v.base }) };
  }

  get negotiatedFeatures(): bigint {
    return this.features;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Ends the connection and releases every fd and mapping. Idempotent. */
  close(reason = 'closed', error?: BufshareError): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close();
    this.reader.discard();
    for (const v of this.vrings) this.stopRing(v, true);
    this.memory?.close();
    this.memory = undefined;
    closeQuietly(this.gpuSocket);
    this.gpuSocket = undefined;
    this.device.reset();
    this.emit('close', reason, error);
  }

  private onEvent(status: number, events: number): void {
    if (this.closed) return;
    if (status < 0) return this.close('socket error', new BufshareError('ERR_BUFSHARE_CONNECTION_CLOSED', `vhost-user socket error ${status}`));
    if (events & native.constants.POLL_WRITABLE) this.flushOutbox();
    if (!(events & native.constants.POLL_READABLE)) return;
    let n: number;
    try {
      n = this.socket.recvStream(recvBuffer, recvFds, recvMeta);
    } catch (e) {
      return this.close('read failed', e instanceof BufshareError ? e : undefined);
    }
    if (n === 0) return;
    if (n < 0) return this.close('the front-end closed the connection', undefined);
    const fds = Array.from(recvFds.subarray(0, recvMeta[0]));
    if (recvMeta[1] !== 0) {
      for (const fd of fds) closeQuietly(fd);
      return this.close('fds lost', new BufshareError('ERR_BUFSHARE_PROTOCOL', 'vhost-user: a message\'s fds were truncated'));
    }
    let messages: VhostMessage[];
    try {
      messages = this.reader.push(recvBuffer.subarray(0, n), fds);
    } catch (e) {
      return this.close('protocol error', e as BufshareError);
    }
    for (let i = 0; i < messages.length; i++) {
      if (this.closed) {
        for (const m of messages.slice(i)) for (const fd of m.fds) closeQuietly(fd);
        return;
      }
      try {
        this.handle(messages[i]);
      } catch (e) {
        for (const m of messages.slice(i + 1)) for (const fd of m.fds) closeQuietly(fd);
        const err = e instanceof BufshareError ? e : new BufshareError('ERR_BUFSHARE_PROTOCOL', `vhost-user: ${(e as Error).message}`);
        return this.close('protocol error', err);
      }
    }
  }

  private send(data: Uint8Array): void {
    if (this.closed) return;
    this.outbox.push(data);
    if (this.outbox.length === 1) this.flushOutbox();
  }

  private flushOutbox(): void {
    while (this.outbox.length > 0 && !this.closed) {
      const head = this.outbox[0];
      let sent: number;
      try {
        sent = this.socket.sendStream(head);
      } catch (e) {
        return this.close('write failed', e instanceof BufshareError ? e : undefined);
      }
      if (sent === 0) {
        this.socket.poll(native.constants.POLL_READABLE | native.constants.POLL_WRITABLE);
        return;
      }
      if (sent < head.length) this.outbox[0] = head.subarray(sent);
      else this.outbox.shift();
    }
    if (this.outbox.length > 64) return this.close('the front-end does not read', new BufshareError('ERR_BUFSHARE_LIMIT_EXCEEDED', 'vhost-user: over 64 replies unread'));
    if (!this.closed) this.socket.poll(native.constants.POLL_READABLE);
  }

  private reply(request: number, payload?: Uint8Array): void {
    this.send(encodeReply(request, payload));
  }

  private ring(index: number, what: string): Vring {
    const v = this.vrings[index];
    if (v === undefined) throw new BufshareError('ERR_BUFSHARE_PROTOCOL', `vhost-user: ${what} for ring ${index} (the GPU has ${QUEUES})`);
    return v;
  }

  private handle(m: VhostMessage): void {
    const name = REQUEST_NAMES.get(m.request) ?? `#${m.request}`;
    this.requests.set(name, (this.requests.get(name) ?? 0) + 1);
    let fds = m.fds;
    const take = (): number | undefined => {
      const fd = fds[0];
      fds = fds.slice(1);
      return fd;
    };
    let acked = false;
    try {
      switch (m.request) {
        case Req.GET_FEATURES:
          acked = true;
          this.reply(m.request, u64Payload(OFFERED_FEATURES));
          break;
        case Req.SET_FEATURES:
          // What the guest acked. qemu 7.2's vhost-user-gpu offers its guest its own feature set
          // (virtio_gpu_base_get_features, not masked by ours: EVENT_IDX, RING_RESET, ...) and sends
          // that here, so bits we did not offer are accepted; those we act on are ring features.
          this.features = decodeU64(m.payload, 'SET_FEATURES');
          break;
        case Req.GET_PROTOCOL_FEATURES:
          acked = true;
          this.reply(m.request, u64Payload(OFFERED_PROTOCOL_FEATURES));
          break;
        case Req.SET_PROTOCOL_FEATURES: {
          const f = decodeU64(m.payload, 'SET_PROTOCOL_FEATURES');
          if ((f & ~OFFERED_PROTOCOL_FEATURES) !== 0n) throw new BufshareError('ERR_BUFSHARE_PROTOCOL', `vhost-user: SET_PROTOCOL_FEATURES 0x${f.toString(16)} sets features we did not offer`);
          this.protocolFeatures = f;
          break;
        }
        case Req.SET_OWNER:
        case Req.RESET_OWNER:
        case Req.SET_VRING_ENDIAN:
        case Req.SET_STATUS:
          break;
        case Req.SET_MEM_TABLE: {
          const regions = decodeMemoryTable(m.payload);
          if (fds.length !== regions.length) throw new BufshareError('ERR_BUFSHARE_PROTOCOL', `vhost-user: SET_MEM_TABLE with ${regions.length} regions and ${fds.length} fds`);
          const mine = fds;
          fds = [];
          const mem = new GuestMemory(regions.map((r, i) => ({ ...r, fd: mine[i] })));
          // Queues read the old mappings: rebuilt over the new table at their next kick.
          for (const v of this.vrings) this.dropQueue(v);
          this.memory?.close();
          this.memory = mem;
          break;
        }
        case Req.SET_VRING_NUM: {
          const s = decodeVringState(m.payload, 'SET_VRING_NUM');
          const v = this.ring(s.index, 'SET_VRING_NUM');
          this.dropQueue(v);
          v.num = s.num;
          break;
        }
        case Req.SET_VRING_ADDR: {
          const a = decodeVringAddress(m.payload);
          const v = this.ring(a.index, 'SET_VRING_ADDR');
          this.dropQueue(v);
          v.addr = a;
          break;
        }
        case Req.SET_VRING_BASE: {
          const s = decodeVringState(m.payload, 'SET_VRING_BASE');
          const v = this.ring(s.index, 'SET_VRING_BASE');
          this.dropQueue(v);
          v.base = s.num & 0xffff;
          break;
        }
        case Req.GET_VRING_BASE: {
          const s = decodeVringState(m.payload, 'GET_VRING_BASE');
          const v = this.ring(s.index, 'GET_VRING_BASE');
          this.dropQueue(v);
          this.stopRing(v, false);
          acked = true;
          const out = new Uint8Array(8);
          new DataView(out.buffer).setUint32(0, s.index, true);
          new DataView(out.buffer).setUint32(4, v.base, true);
          this.reply(m.request, out);
          break;
        }
        case Req.SET_VRING_KICK: {
          const f = decodeVringFd(m.payload, 'SET_VRING_KICK');
          const v = this.ring(f.index, 'SET_VRING_KICK');
          const fd = f.noFd ? undefined : take();
          if (!f.noFd && fd === undefined) throw new BufshareError('ERR_BUFSHARE_PROTOCOL', 'vhost-user: SET_VRING_KICK without its fd');
          // Watched level-triggered: anything but an eventfd (a file, a socket with data) would stay
          // readable and spin the loop.
          if (fd !== undefined) requireEventFd(fd, 'SET_VRING_KICK');
          v.kick?.close();
          v.kick = undefined;
          if (fd !== undefined) {
            const index = f.index;
            v.kick = native.watchEventFd(fd, () => this.safeProcess(index));
          }
          // The ring starts at its kick fd (vhost-user.rst, "Ring states"). With protocol features it
          // should also wait for SET_VRING_ENABLE; qemu releases before 7.2 never send it to
          // vhost-user-gpu, and libvhost-user's GPU processes started rings regardless: so do we,
          // unless the front-end disabled the ring explicitly.
          v.started = true;
          if (!v.explicitlyDisabled) v.enabled = true;
          if (f.index === 0) this.emit('started');
          this.process(f.index);
          break;
        }
        case Req.SET_VRING_CALL:
        case Req.SET_VRING_ERR: {
          const what = m.request === Req.SET_VRING_CALL ? 'SET_VRING_CALL' : 'SET_VRING_ERR';
          const f = decodeVringFd(m.payload, what);
          const v = this.ring(f.index, what);
          const fd = f.noFd ? undefined : take();
          if (!f.noFd && fd === undefined) throw new BufshareError('ERR_BUFSHARE_PROTOCOL', `vhost-user: ${what} without its fd`);
          if (fd !== undefined) requireEventFd(fd, what);
          if (m.request === Req.SET_VRING_CALL) {
            closeQuietly(v.call);
            v.call = fd;
            if (fd !== undefined) {
              v.irq.callFds++;
              // qemu swaps the call fd while the guest masks and unmasks its MSI-X vector (a
              // masked notifier, then the irqfd), and tests the masked one for a pending
              // interrupt right after sending this, without waiting for us: an interrupt we
              // sent to the old fd meanwhile would be lost and the guest would wait forever
              // for a response it has. One spurious interrupt on the new fd covers it (the
              // driver finds nothing new and ignores it); libvhost-user does the same.
              this.signal(v);
            }
          } else {
            closeQuietly(v.err);
            v.err = fd;
          }
          break;
        }
        case Req.SET_VRING_ENABLE: {
          const s = decodeVringState(m.payload, 'SET_VRING_ENABLE');
          const v = this.ring(s.index, 'SET_VRING_ENABLE');
          v.enabled = s.num !== 0;
          v.explicitlyDisabled = !v.enabled;
          if (v.enabled) this.process(s.index);
          break;
        }
        case Req.GET_CONFIG: {
          const c = decodeConfig(m.payload, 'GET_CONFIG');
          const space = new Uint8Array(Math.max(CONFIG_BYTES, c.offset + c.size));
          const dv = new DataView(space.buffer);
          // events_read and events_clear are qemu's own (it overrides them); num_scanouts is ours.
          dv.setUint32(8, this.device.numScanouts, true);
          acked = true;
          this.reply(m.request, encodeConfig(c.offset, c.flags, space.subarray(c.offset, c.offset + c.size)));
          break;
        }
        case Req.SET_CONFIG:
          decodeConfig(m.payload, 'SET_CONFIG'); // events_clear: qemu keeps events_read itself
          break;
        case Req.GPU_SET_SOCKET: {
          const fd = take();
          if (fd === undefined) throw new BufshareError('ERR_BUFSHARE_PROTOCOL', 'vhost-user: GPU_SET_SOCKET without its fd');
          closeQuietly(this.gpuSocket);
          this.gpuSocket = fd;
          this.emit('gpuSocket', fd);
          break;
        }
        case Req.SET_SLAVE_REQ_FD:
        case Req.SET_LOG_FD:
        case Req.SET_LOG_BASE:
          // Not negotiated: the fd is not kept.
          break;
        default:
          // A request we do not implement: refused through REPLY_ACK when asked, otherwise ignored (vhost-user.rst lets a back-end do either).
          if ((m.flags & VHOST_USER_FLAG_NEED_REPLY) !== 0 && this.replyAck()) {
            acked = true;
            this.reply(m.request, u64Payload(1n));
          }
          break;
      }
      if (!acked && (m.flags & VHOST_USER_FLAG_NEED_REPLY) !== 0 && this.replyAck()) this.reply(m.request, u64Payload(0n));
    } finally {
      for (const fd of fds) closeQuietly(fd);
    }
    if (m.fds.length > VHOST_USER_MAX_FDS) throw new BufshareError('ERR_BUFSHARE_PROTOCOL', 'vhost-user: too many fds');
  }

  private replyAck(): boolean {
    return (this.protocolFeatures & (1n << BigInt(ProtocolFeature.REPLY_ACK))) !== 0n;
  }

  private dropQueue(v: Vring): void {
    if (v.queue !== undefined) v.base = v.queue.nextAvail;
    v.queue = undefined;
    v.broken = undefined;
  }

  private stopRing(v: Vring, forGood: boolean): void {
    v.kick?.close();
    v.kick = undefined;
    v.started = false;
    if (forGood) {
      closeQuietly(v.call);
      closeQuietly(v.err);
      v.call = undefined;
      v.err = undefined;
    }
  }

  private safeProcess(index: number): void {
    try {
      this.process(index);
    } catch (e) {
      this.close('internal error', e instanceof BufshareError ? e : new BufshareError('ERR_BUFSHARE_PROTOCOL', `vhost-user: ${(e as Error).message}`, { cause: e }));
    }
  }

  /** Runs a ring's available chains through the device, at most its size per call (then again on the next turn of the loop). */
  private process(index: number): void {
    const v = this.vrings[index];
    if (this.closed || !v.started || !v.enabled || v.broken !== undefined) return;
    if (v.queue === undefined) {
      if (this.memory === undefined || v.addr === undefined) return;
      try {
        v.queue = new SplitQueue(this.memory, v.num, v.addr, v.base, {
          indirect: (this.features & (1n << BigInt(Feature.VIRTIO_RING_F_INDIRECT_DESC))) !== 0n,
          eventIdx: (this.features & (1n << BigInt(Feature.VIRTIO_RING_F_EVENT_IDX))) !== 0n,
        });
      } catch (e) {
        return this.breakRing(v, index, e as VirtqueueError);
      }
    }
    const q = v.queue;
    let pushed = 0;
    try {
      for (let i = 0; i < q.size; i++) {
        const chain = q.pop();
        if (chain === undefined) break;
        const written = index === 0 ? this.device.control(chain) : this.device.cursor(chain);
        q.push(chain.head, written);
        pushed++;
      }
    } catch (e) {
      if (pushed > 0) this.notify(v, q);
      if (e instanceof VirtqueueError) return this.breakRing(v, index, e);
      throw e;
    }
    if (pushed > 0) this.notify(v, q);
    if (pushed === q.size && !this.scheduled) {
      // More may wait: let the socket and the other ring have a turn first.
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.safeProcess(index);
      });
    }
  }

  private notify(v: Vring, q: SplitQueue): void {
    if (!q.takeInterrupt()) v.irq.suppressed++;
    else if (v.call === undefined) v.irq.noFd++;
    else this.signal(v);
  }

  private signal(v: Vring): void {
    if (v.call === undefined) return;
    native.eventfdSignal(v.call);
    v.irq.signalled++;
  }

  private breakRing(v: Vring, index: number, e: VirtqueueError): void {
    v.broken = e;
    if (v.err !== undefined) native.eventfdSignal(v.err);
    this.emit('error', new BufshareError('ERR_BUFSHARE_PROTOCOL', `vhost-user ring ${index} stopped: ${e.message}`, { cause: e }));
  }
}
