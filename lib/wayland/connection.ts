/**
 * WaylandConnection: one Wayland byte stream with its fds, on the libuv loop.
 *
 * How am I supposed to use this? Wrap a connected SOCK_STREAM fd, set
 * `onMessage`, and `queue(encoded)` what you send: the queue is flushed once
 * per turn of the loop, as libwayland flushes a client once per dispatch.
 *
 * Inbound: bytes accumulate until a whole message (its header says its size)
 * is there; fds go to a queue in arrival order and the decoder takes them as
 * the messages that carry them are dispatched (fds may arrive with an earlier
 * chunk of the stream than their message, never later). Bounds, as libwayland:
 * 4096 bytes per message, 28 fds per recvmsg, and at most `maxQueuedFds` fds
 * waiting for their message: a peer past them is disconnected. Outbound, a
 * peer that does not read may have at most `maxOutboundBytes` bytes and
 * `maxOutboundFds` fds waiting for it: each queued fd is a dup in our own fd
 * table, and a client asking for keymaps without reading filled that table
 * until accept() failed for everyone.
 *
 * Ownership: the connection owns its socket, every fd in its inbound queue
 * (closed with it) and dups of every fd queued for sending (closed once sent).
 */
import { BufshareError } from '../errors';
import * as native from '../native';
import { Fifo } from '../fifo';
import type { OutboundBudget } from './outbound-budget';
import { MAX_MESSAGE_BYTES, readHeader, WireError, type Encoded, type FdSource, type Header } from './wire';

/**
 * Where every connection receives, and whole messages are dispatched from: no
 * connection keeps a receive buffer of its own while it has no partial message
 * (one per connection was 8 KiB of each client's ~30, measured by the
 * wayland.memory bench). Only read() writes it, from a libuv callback, never
 * nested in a dispatch; draining a closing peer uses its own.
 */
const recvChunk = new Uint8Array(MAX_MESSAGE_BYTES);
const drainChunk = new Uint8Array(MAX_MESSAGE_BYTES);
const NO_BYTES = new Uint8Array(0);
const recvFds = new Int32Array(native.MAX_FDS_PER_STREAM_SEND);
const recvMeta = new Int32Array(2);

/** Reads (of 4096 bytes) spent draining a failed peer before closing: bounds the work one client can cause. */
const MAX_DRAIN_READS = 64;

function closeQuietly(fd: number): void {
  try {
    native.closeFd(fd);
  } catch {
    // Already closed.
  }
}

export interface WaylandConnectionOptions {
  /** fds received and not yet consumed by a message. Default 128 (a surface commit needs none; a pool, one). */
  readonly maxQueuedFds?: number;
  /** Bytes waiting to be sent before the peer counts as not reading. Default 4 MiB. */
  readonly maxOutboundBytes?: number;
  /** fds (our dups) waiting to be sent before the peer counts as not reading. Default 256, as the bufshare transport's. */
  readonly maxOutboundFds?: number;
  /** A bound on the bytes queued by this and other connections together (a server's); none by default. */
  readonly budget?: OutboundBudget;
  /**
   * Requests dispatched per turn of the event loop before the connection yields
   * to the others (default 64). Every client gets one turn per loop iteration, so
   * a client's latency is the sum of the other clients' turns: with 4 KiB turns
   * (341 wl_display.sync each), 45 flooding clients made a loop iteration so long
   * that weston-simple-shm beside them drew 3-9 frames a second (issue 23's
   * held-out rerun).
   */
  readonly maxRequestsPerTurn?: number;
}

interface Outgoing {
  bytes: Uint8Array;
  /** dups owned by the queue */
  fds: number[];
  /**
   * The chunk `bytes` lies in, when later fd-less messages may be appended to it.
   * Small messages are copied into shared chunks rather than queued one object
   * each: a message of 12 bytes costs some 200 bytes of JS heap as its own
   * Uint8Array, so a client that does not read cost about 24 times its queued
   * bytes (45 such clients at the 32 MiB budget: 1.4 GB of RSS, issue 23's
   * held-out rerun); in chunks, about its queued bytes.
   */
  chunk?: Uint8Array;
}

/** Bytes of a send-queue chunk: one sendmsg's worth (flush batches up to 4 x MAX_MESSAGE_BYTES). */
const CHUNK_BYTES = 4 * MAX_MESSAGE_BYTES;

export class WaylandConnection implements FdSource {
  /** A whole message: header and body (valid during the call only). Throw WireError to fail the peer. */
  onMessage: (header: Header, body: Uint8Array) => void = () => {};
  /**
   * The peer broke a wire rule (bad size, too many fds): by default the
   * connection closes; a server queues its wl_display.error first, then calls
   * flushAndClose.
   */
  onWireError: (error: WireError) => void = (error) => this.flushAndClose(error.message, error);
  /** The connection ended (called once). */
  onClose: (reason: string, protocolError: WireError | undefined) => void = () => {};

  private readonly socket: native.StreamSocket;
  private readonly maxQueuedFds: number;
  private readonly maxOutboundBytes: number;
  private readonly maxOutboundFds: number;
  private readonly budget: OutboundBudget | undefined;
  private readonly maxRequestsPerTurn: number;
  /**
   * Whole messages wait in `partial` for the next turn (the last turn used up
   * maxRequestsPerTurn): the socket is not read until they are dispatched, so
   * `partial` never holds more than one read beyond a message's start.
   */
  private backlogged = false;
  /** Unread bytes, or the start of a message whose end has not arrived, or whole messages waiting for their turn (backlogged). */
  private partial = NO_BYTES;
  private partialLength = 0;
  private readonly fdQueue: number[] = [];
  private readonly outgoing = new Fifo<Outgoing>();
  private outboundBytes = 0;
  private outboundFds = 0;
  private flushScheduled = false;
  private waitingWritable = false;
  private isClosed = false;
  /** The peer shut its read side (EPIPE): nothing more is sent; reading goes on until its end. */
  private sendBroken = false;

  /** Takes ownership of `fd` (a connected SOCK_STREAM socket), even when it throws. */
  constructor(fd: number, options: WaylandConnectionOptions = {}) {
    this.maxQueuedFds = options.maxQueuedFds ?? 128;
    this.maxOutboundBytes = options.maxOutboundBytes ?? 4 * 1024 * 1024;
    this.maxOutboundFds = options.maxOutboundFds ?? 256;
    this.budget = options.budget;
    this.maxRequestsPerTurn = options.maxRequestsPerTurn ?? 64;
    if (!Number.isInteger(this.maxRequestsPerTurn) || this.maxRequestsPerTurn < 1) {
      closeQuietly(fd);
      throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', `maxRequestsPerTurn must be a positive integer, not ${this.maxRequestsPerTurn}`);
    }
    this.socket = native.openStream(fd, (status, events) => this.onEvent(status, events));
    this.socket.poll(native.constants.POLL_READABLE);
  }

  static connect(path: string, options?: WaylandConnectionOptions): WaylandConnection {
    return new WaylandConnection(native.streamConnect(path), options);
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** fds received and not yet taken by a message. */
  get queuedFds(): number {
    return this.fdQueue.length;
  }

  peerCredentials(): native.PeerCredentials {
    return this.socket.peerCred();
  }

  /** FdSource: the next received fd, now the caller's. */
  shift(): number | undefined {
    return this.fdQueue.shift();
  }

  /** Bytes waiting to be sent. */
  get queuedBytes(): number {
    return this.outboundBytes;
  }

  /** fds (our dups) waiting to be sent with them. */
  get queuedOutboundFds(): number {
    return this.outboundFds;
  }

  /**
   * Queues a message; its fds are dup'ed (they stay the caller's). Sent at the
   * end of this turn. Past a bound, or when the dups cannot be made (no fd
   * left), the connection closes instead: the message could never be delivered.
   */
  queue(message: Encoded): void {
    if (this.isClosed || this.sendBroken) return;
    if (this.outboundFds + message.fds.length > this.maxOutboundFds) {
      this.close(`the peer stopped reading: over ${this.maxOutboundFds} fds queued`);
      return;
    }
    const fds: number[] = [];
    try {
      for (const fd of message.fds) fds.push(native.dupFd(fd));
    } catch (e) {
      for (const fd of fds) closeQuietly(fd);
      this.close(`could not queue an fd: ${(e as Error).message}`);
      return;
    }
    this.append(message.bytes, fds);
    this.outboundBytes += message.bytes.byteLength;
    this.outboundFds += fds.length;
    // Charged before any close, which refunds the whole queue.
    this.budget?.charge(this, message.bytes.byteLength);
    if (this.isClosed) return;
    if (this.outboundBytes > this.maxOutboundBytes) {
      this.close(`the peer stopped reading: over ${this.maxOutboundBytes} bytes queued`);
      return;
    }
    if (!this.flushScheduled && !this.waitingWritable) {
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
  }

  /** Queues `bytes` (copied) with `fds`: fd-less messages go into the tail chunk while it has room. */
  private append(bytes: Uint8Array, fds: number[]): void {
    const tail = this.outgoing.at(this.outgoing.length - 1);
    const size = bytes.byteLength;
    if (fds.length === 0 && tail !== undefined && tail.chunk !== undefined && tail.fds.length === 0) {
      const end = tail.bytes.byteOffset - tail.chunk.byteOffset + tail.bytes.byteLength;
      if (end + size <= tail.chunk.byteLength) {
        tail.chunk.set(bytes, end);
        tail.bytes = tail.chunk.subarray(tail.bytes.byteOffset - tail.chunk.byteOffset, end + size);
        return;
      }
    }
    if (fds.length > 0 || size >= CHUNK_BYTES) {
      this.outgoing.push({ bytes: bytes.slice(), fds });
      return;
    }
    // Most turns queue a few small events: a small first chunk; a burst gets full ones.
    const chunk = new Uint8Array(tail?.chunk !== undefined ? CHUNK_BYTES : Math.max(size, 512));
    chunk.set(bytes, 0);
    this.outgoing.push({ bytes: chunk.subarray(0, size), fds, chunk });
  }

  /** Sends what the kernel takes now; the rest waits for writable. */
  flush(): void {
    while (!this.isClosed && this.outgoing.length > 0) {
      // Batch whole messages into one sendmsg, at most 28 fds (libwayland's bound) and 16 KiB.
      let bytes = 0;
      let fdCount = 0;
      let n = 0;
      for (let o = this.outgoing.at(0); o !== undefined; o = this.outgoing.at(n)) {
        if (n > 0 && (bytes + o.bytes.byteLength > 4 * MAX_MESSAGE_BYTES || fdCount + o.fds.length > native.MAX_FDS_PER_STREAM_SEND)) break;
        bytes += o.bytes.byteLength;
        fdCount += o.fds.length;
        n++;
      }
      const data = new Uint8Array(bytes);
      const fds: number[] = [];
      let p = 0;
      for (let i = 0; i < n; i++) {
        const o = this.outgoing.at(i)!;
        data.set(o.bytes, p);
        p += o.bytes.byteLength;
        fds.push(...o.fds);
      }
      let sent: number;
      try {
        sent = this.socket.sendStream(data, fds.length > 0 ? Int32Array.from(fds) : undefined);
      } catch (e) {
        if (e instanceof BufshareError && (e.errno === 'EPIPE' || e.errno === 'ECONNRESET')) {
          // The peer stopped reading (a server that sent us its error shut its read side):
          // what it sent is still to be read, and the end of the stream closes us.
          for (const o of this.outgoing.clear()) for (const fd of o.fds) closeQuietly(fd);
          this.dropQueued();
          this.sendBroken = true;
          this.waitWritable(false);
          return;
        }
        this.close(`send failed: ${(e as Error).message}`);
        return;
      }
      if (sent === 0) {
        this.waitWritable(true);
        return;
      }
      // The fds went with the first byte: they are the peer's now; close our dups.
      for (let i = 0; i < n; i++) {
        const o = this.outgoing.at(i)!;
        for (const fd of o.fds) closeQuietly(fd);
        this.outboundFds -= o.fds.length;
        o.fds = [];
      }
      this.budget?.refund(this, sent);
      let left = sent;
      while (left > 0) {
        const head = this.outgoing.at(0)!;
        if (head.bytes.byteLength <= left) {
          left -= head.bytes.byteLength;
          this.outboundBytes -= head.bytes.byteLength;
          this.outgoing.shift();
        } else {
          head.bytes = head.bytes.subarray(left);
          this.outboundBytes -= left;
          left = 0;
        }
      }
    }
    this.waitWritable(false);
  }

  /** Closes the socket and every fd it still owns. Idempotent. */
  close(reason = 'closed', protocolError?: WireError): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.socket.close();
    for (const fd of this.fdQueue.splice(0)) closeQuietly(fd);
    for (const o of this.outgoing.clear()) for (const fd of o.fds) closeQuietly(fd);
    this.dropQueued();
    this.onClose(reason, protocolError);
  }

  /**
   * Sends what is queued (best effort, now), then closes: how a protocol error
   * reaches the peer. The socket stops reading (shutdown SHUT_RD) and what the
   * peer already sent is drained before the close: closing with unread bytes
   * makes the kernel report ECONNRESET to the peer ahead of our last message
   * (unix_release_sock), and the client would never see its wl_display.error
   * (found by the live fuzzer).
   */
  flushAndClose(reason: string, protocolError?: WireError): void {
    if (this.isClosed) return;
    this.flush();
    try {
      this.socket.shutdownRead();
      for (let i = 0; i < MAX_DRAIN_READS; i++) {
        const n = this.socket.recvStream(drainChunk, recvFds, recvMeta);
        for (let k = 0; k < recvMeta[0]!; k++) closeQuietly(recvFds[k]!);
        if (n <= 0) break;
      }
    } catch {
      // The peer is gone already: nothing left to drain.
    }
    this.close(reason, protocolError);
  }

  /** The queue was emptied without sending: the budget gets its bytes back. */
  private dropQueued(): void {
    const bytes = this.outboundBytes;
    this.outboundBytes = 0;
    this.outboundFds = 0;
    this.budget?.refund(this, bytes);
  }

  private waitWritable(on: boolean): void {
    if (this.isClosed || on === this.waitingWritable) return;
    this.waitingWritable = on;
    this.updatePoll();
  }

  private updatePoll(): void {
    this.socket.poll((this.backlogged ? 0 : native.constants.POLL_READABLE) | (this.waitingWritable ? native.constants.POLL_WRITABLE : 0));
  }

  /** The next turn of a backlogged connection: the waiting messages, then reading again once they are through. */
  private readonly nextTurn = (): void => {
    if (this.isClosed) return;
    this.backlogged = false;
    const length = this.partialLength;
    this.partialLength = 0;
    this.dispatch(this.partial, length);
    if (!this.backlogged && !this.isClosed) this.updatePoll();
  };

  private onEvent(status: number, events: number): void {
    if (this.isClosed) return;
    if (status < 0) {
      // libuv reports POLLERR (the peer reset the connection) as UV_EBADF.
      this.close(`the connection broke (libuv status ${status})`);
      return;
    }
    if (events & native.constants.POLL_WRITABLE) this.flush();
    if (events & native.constants.POLL_READABLE) this.read();
  }

  private read(): void {
    if (this.backlogged) return;
    let n: number;
    try {
      n = this.socket.recvStream(recvChunk, recvFds, recvMeta);
    } catch (e) {
      this.close(`recv failed: ${(e as Error).message}`);
      return;
    }
    if (n === 0) return;
    if (n < 0) {
      this.close('the peer closed the connection');
      return;
    }
    for (let i = 0; i < recvMeta[0]!; i++) this.fdQueue.push(recvFds[i]!);
    if ((recvMeta[1]! & native.constants.RECV_CONTROL_TRUNCATED) !== 0) {
      this.onWireError(new WireError('more than 28 fds in one sendmsg: the fds were lost'));
      return;
    }
    if (this.fdQueue.length > this.maxQueuedFds) {
      this.onWireError(new WireError(`more than ${this.maxQueuedFds} fds sent ahead of their messages`));
      return;
    }
    if (this.partialLength === 0) {
      this.dispatch(recvChunk, n);
      return;
    }
    // partial holds less than one message (< 4096 bytes) and n <= 4096.
    if (this.partialLength + n > this.partial.byteLength) {
      const bigger = new Uint8Array(2 * MAX_MESSAGE_BYTES);
      bigger.set(this.partial.subarray(0, this.partialLength));
      this.partial = bigger;
    }
    this.partial.set(recvChunk.subarray(0, n), this.partialLength);
    const length = this.partialLength + n;
    this.partialLength = 0;
    this.dispatch(this.partial, length);
  }

  /** Dispatches the whole messages of bytes[0, length); keeps the start of a message whose end is still to come. */
  private dispatch(bytes: Uint8Array, length: number): void {
    let p = 0;
    let dispatched = 0;
    let yielded = false;
    try {
      while (!this.isClosed) {
        const header = readHeader(bytes, p, length - p);
        if (header === undefined || length - p < header.size) break;
        if (dispatched++ === this.maxRequestsPerTurn) {
          yielded = true;
          break;
        }
        const body = bytes.subarray(p + 8, p + header.size);
        p += header.size;
        this.onMessage(header, body);
      }
    } catch (e) {
      if (e instanceof WireError) {
        this.onWireError(e);
        return;
      }
      throw e;
    }
    if (this.isClosed) return;
    if (yielded) {
      this.backlogged = true;
      this.updatePoll();
      setImmediate(this.nextTurn);
    }
    const left = length - p;
    if (left === 0) {
      this.partial = NO_BYTES;
      return;
    }
    if (bytes !== this.partial) {
      if (this.partial.byteLength < left) this.partial = new Uint8Array(2 * MAX_MESSAGE_BYTES);
      this.partial.set(bytes.subarray(p, length));
    } else {
      this.partial.copyWithin(0, p, length);
    }
    this.partialLength = left;
  }
}
