/**
 * Message transport over a Unix SOCK_SEQPACKET socket: whole messages with their
 * fds, on the libuv loop, never blocking.
 *
 * How am I supposed to use this? `Connection.connect(path)` (client) or a
 * `Listener`'s 'connection' fd wrapped in `new Connection(fd)` (server); then
 * `send(bytes, fds)` and listen to 'message' and 'close'.
 *
 * Backpressure: send() writes at once when it can. When the kernel's queue is
 * full (EAGAIN) the message is copied into a queue, its fds are dup()ed (the
 * caller may close or reuse its own before the queue drains: sending a stale fd
 * number could hand the peer an unrelated file) and the socket waits for
 * writable. A peer that lets more than `maxQueuedBytes` pile up is disconnected.
 *
 * Ownership of received fds: a 'message' listener owns the fds it is given and
 * must close or keep each one. The data view is only valid during the call (it is
 * a view of one receive buffer shared by every connection).
 */
import { EventEmitter } from 'eventemitter3';
import { AcceptReserve, isFdExhaustion } from '../accept-reserve';
import { Fifo } from '../fifo';
import { BufshareError } from '../errors';
import * as native from '../native';
import { MAX_FDS_PER_MESSAGE, MAX_MESSAGE_BYTES } from './protocol';

export interface ConnectionEvents {
  /** One message and the fds that came with it (owned by the listener). `data` is valid during the call only. */
  message: [data: Uint8Array, fds: number[]];
  /** A message that arrived damaged (too long, or its fds lost in transit); its fds are already closed. */
  malformed: [reason: string];
  /** Once, when the connection ends for any reason. `error` is set when it broke rather than closed. */
  close: [reason: string, error: BufshareError | undefined];
}

export interface ConnectionOptions {
  /** Bytes allowed to wait in the send queue before the connection is dropped. Default 4 MiB. */
  readonly maxQueuedBytes?: number;
  /**
   * fds allowed to wait in the send queue (each a dup that keeps a buffer alive,
   * even one the peer has since destroyed). Default 256.
   */
  readonly maxQueuedFds?: number;
}

/**
 * Messages handled per readable event. One: the watcher is level-triggered, so
 * any further message wakes us again at once, and reading until EAGAIN costs a
 * recvmsg that finds nothing on every wakeup. Measured here (two processes,
 * submit -> frame -> release): p50 19.2 us with 1, 21.0 us with 64, with no loss
 * of submits per second. It also keeps the server fair between clients.
 */
const MESSAGES_PER_WAKEUP = 1;

// Read once: the facade's exports are getters, and these are read on every message.

// One receive buffer for every connection: messages are decoded synchronously
// in the 'message' listener, before the next recv.
const recvBuffer = new Uint8Array(MAX_MESSAGE_BYTES);
const recvFds = new Int32Array(MAX_FDS_PER_MESSAGE);
const recvMeta = new Int32Array(3);

interface Queued {
  readonly data: Uint8Array;
  /** dup()s owned by the queue, closed once sent or dropped. */
  readonly fds: Int32Array | undefined;
}

function closeQuietly(fd: number): void {
  try {
    native.closeFd(fd);
  } catch {
    // Already gone: nothing to leak.
  }
}

export class Connection extends EventEmitter<ConnectionEvents> {
  private readonly socket: native.SeqPacketSocket;
  private readonly maxQueuedBytes: number;
  private readonly queue = new Fifo<Queued>();
  private queuedBytes = 0;
  private readonly maxQueuedFds: number;
  /** dup()s held by the queue: each keeps a buffer alive (memory the client's limits no longer count). */
  private queuedFds = 0;
  private isClosed = false;
  private polling = 0;
  private peerReset = false;
  private failing = false;
  /** end() was called: only flushing the send queue, then closing. */
  private ending: { reason: string; timer: NodeJS.Timeout } | undefined;

  /** Takes ownership of `fd`, a connected SOCK_SEQPACKET socket, even when it throws. */
  constructor(fd: number, options: ConnectionOptions = {}) {
    super();
    this.maxQueuedBytes = options.maxQueuedBytes ?? 4 * 1024 * 1024;
    this.maxQueuedFds = options.maxQueuedFds ?? 256;
    this.socket = native.openSeqPacket(fd, (status, events) => this.onEvent(status, events));
    try {
      this.setPolling(native.constants.POLL_READABLE);
    } catch (e) {
      this.isClosed = true;
      this.socket.close();
      throw e;
    }
  }

  /**
   * Connects to a listening socket. Throws ERR_BUFSHARE_NO_SERVER when nobody
   * listens there, ERR_BUFSHARE_SYSCALL (errno EAGAIN) when its backlog is full.
   */
  static connect(path: string, options: ConnectionOptions = {}): Connection {
    let fd: number;
    try {
      fd = native.seqpacketConnect(path);
    } catch (e) {
      if (e instanceof BufshareError && (e.errno === 'ENOENT' || e.errno === 'ECONNREFUSED')) {
        throw new BufshareError('ERR_BUFSHARE_NO_SERVER', `no bufshare server at ${path} (${e.errno})`, { cause: e, syscall: 'connect', errno: e.errno });
      }
      throw e;
    }
    return new Connection(fd, options);
  }

  /** True once close() or end() was called: nothing more is sent or delivered. */
  get closed(): boolean {
    return this.isClosed || this.ending !== undefined;
  }

  /** Bytes waiting in the send queue (0 when the kernel took everything). */
  get pendingBytes(): number {
    return this.queuedBytes;
  }

  /** pid, uid and gid of the peer when it connected (SO_PEERCRED). */
  peerCredentials(): native.PeerCredentials {
    return this.socket.peerCred();
  }

  /**
   * Sends one message with `fds` (which stay the caller's). Throws
   * ERR_BUFSHARE_CONNECTION_CLOSED once closed. Returns false when the message
   * was dropped because the peer stopped reading (the connection closes).
   */
  send(data: Uint8Array, fds?: readonly number[]): boolean {
    if (this.isClosed) throw new BufshareError('ERR_BUFSHARE_CONNECTION_CLOSED', 'the connection is closed');
    if (this.failing) return false; // the peer is gone; the close comes on the next turn
    const fdArray = fds !== undefined && fds.length > 0 ? Int32Array.from(fds) : undefined;
    if (this.queue.length === 0) {
      try {
        if (this.socket.send(data, fdArray)) return true;
      } catch (e) {
        this.sendFailed(e);
        return false;
      }
    }
    return this.enqueue(data, fdArray);
  }

  /** Closes the socket (idempotent); 'close' fires once with `reason`. Queued messages are dropped. */
  close(reason = 'closed'): void {
    if (this.ending) clearTimeout(this.ending.timer);
    this.closeWith(reason, undefined);
  }

  /**
   * Closes once the send queue is flushed, so that a last message (an error)
   * reaches a peer whose receive queue was full when it was sent (a seqpacket
   * peer holds at most net.unix.max_dgram_qlen unread messages). Stops reading
   * at once; gives up after `lingerMs`. 'close' fires when the socket closes.
   */
  end(reason = 'closed', lingerMs = 1000): void {
    if (this.closed) return;
    if (this.queue.length === 0) {
      this.closeWith(reason, undefined);
      return;
    }
    const timer = setTimeout(() => this.closeWith(reason, undefined), lingerMs);
    timer.unref();
    this.ending = { reason, timer };
    this.discardInbound();
    this.setPolling(native.constants.POLL_WRITABLE);
  }

  private enqueue(data: Uint8Array, fds: Int32Array | undefined): boolean {
    if (this.ending) return false;
    if (this.queuedBytes + data.length > this.maxQueuedBytes || this.queuedFds + (fds?.length ?? 0) > this.maxQueuedFds) {
      this.closeWith(`the peer stopped reading: over ${this.maxQueuedBytes} bytes or ${this.maxQueuedFds} fds queued`,
        new BufshareError('ERR_BUFSHARE_LIMIT_EXCEEDED', `send queue over ${this.maxQueuedBytes} bytes or ${this.maxQueuedFds} fds`));
      return false;
    }
    let owned: Int32Array | undefined;
    if (fds) {
      owned = new Int32Array(fds.length);
      try {
        for (let i = 0; i < fds.length; i++) owned[i] = native.dupFd(fds[i]!);
      } catch (e) {
        for (const fd of owned) if (fd > 0) closeQuietly(fd);
        throw e;
      }
    }
    this.queue.push({ data: data.slice(), fds: owned });
    this.queuedBytes += data.length;
    this.queuedFds += owned?.length ?? 0;
    this.setPolling(native.constants.POLL_READABLE | native.constants.POLL_WRITABLE);
    return true;
  }

  private flush(): void {
    while (this.queue.length > 0 && !this.isClosed) {
      const head = this.queue.at(0)!;
      let sent: boolean;
      try {
        sent = this.socket.send(head.data, head.fds);
      } catch (e) {
        this.sendFailed(e);
        return;
      }
      if (!sent) return;
      this.queue.shift();
      this.queuedBytes -= head.data.length;
      this.queuedFds -= head.fds?.length ?? 0;
      if (head.fds) for (const fd of head.fds) closeQuietly(fd);
    }
    if (this.ending) {
      if (this.queue.length === 0) {
        clearTimeout(this.ending.timer);
        this.closeWith(this.ending.reason, undefined);
      }
      return;
    }
    if (!this.isClosed) this.setPolling(native.constants.POLL_READABLE);
  }

  private setPolling(events: number): void {
    if (this.polling === events || this.isClosed) return;
    this.polling = events;
    this.socket.poll(events);
  }

  private onEvent(status: number, events: number): void {
    if (this.isClosed) return;
    if (status < 0) {
      // EPOLLERR, typically ECONNRESET: the peer closed with our messages
      // unread. libuv has stopped the watcher, but what the peer sent before it
      // went (an error, a goodbye) is still queued: read it all, then close.
      this.polling = 0;
      for (let i = 0; i < 1024 && !this.isClosed && !this.ending && this.readMessages() > 0; i++);
      this.closeWith(`socket error (libuv status ${status})`, new BufshareError('ERR_BUFSHARE_CONNECTION_CLOSED', `socket error ${status}`));
      return;
    }
    if (events & native.constants.POLL_WRITABLE) this.flush();
    if (events & native.constants.POLL_READABLE && !this.ending) this.readMessages();
  }

  /** Handles up to MESSAGES_PER_WAKEUP messages; returns how many arrived (0: none queued, or closed). */
  private readMessages(): number {
    let i = 0;
    for (; i < MESSAGES_PER_WAKEUP && !this.isClosed; i++) {
      let r: number;
      try {
        r = this.socket.recv(recvBuffer, recvFds, recvMeta);
      } catch (e) {
        const err = e instanceof BufshareError ? e : undefined;
        if (err?.errno === 'ECONNRESET' && !this.peerReset) {
          // The peer closed with our messages unread. The kernel reports that
          // before the messages the peer sent us (its last words, often an
          // error): read those before closing.
          this.peerReset = true;
          continue;
        }
        this.closeWith(`receive failed: ${(e as Error).message}`, err);
        return i;
      }
      if (r === 0) {
        if (this.peerReset) this.closeWith('the peer reset the connection', undefined);
        return i;
      }
      if (r < 0) {
        this.closeWith('the peer closed the connection', undefined);
        return i;
      }
      const length = recvMeta[0]!;
      const nfds = recvMeta[1]!;
      const flags = recvMeta[2]!;
      const fds: number[] = [];
      for (let k = 0; k < nfds; k++) fds.push(recvFds[k]!);
      if (flags & native.constants.RECV_TRUNCATED) {
        for (const fd of fds) closeQuietly(fd);
        this.emit('malformed', `message of ${length} bytes is over the ${MAX_MESSAGE_BYTES}-byte limit`);
        continue;
      }
      if (flags & native.constants.RECV_CONTROL_TRUNCATED) {
        this.emit('malformed', `message carried more than ${MAX_FDS_PER_MESSAGE} fds (all closed)`);
        continue;
      }
      if (this.listenerCount('message') === 0) {
        for (const fd of fds) closeQuietly(fd); // nobody owns them (a refused peer's last words)
        continue;
      }
      this.emit('message', recvBuffer.subarray(0, length), fds);
    }
    return i;
  }

  /**
   * EPIPE and the like: the peer is gone, but what it sent before going (an
   * error, a goodbye) is still readable. Handled on the next turn, never inside
   * send(): the caller is in the middle of something (the server creating a
   * surface) and must not see the peer's last messages and the close first.
   */
  private sendFailed(e: unknown): void {
    if (this.failing) return;
    this.failing = true;
    this.setPolling(0);
    setImmediate(() => {
      if (!this.isClosed) this.drainAndClose(e);
    });
  }

  private drainAndClose(e: unknown): void {
    // Everything it sent, not one wakeup's worth: readMessages() stops after
    // MESSAGES_PER_WAKEUP, and an ECONNRESET retry uses up one of those (the live
    // fuzzer lost about 1 error in 10,000 that way).
    for (let i = 0; i < 1024 && !this.isClosed && this.readMessages() > 0; i++);
    this.closeWith(`send failed: ${(e as Error).message}`, e instanceof BufshareError ? e : undefined);
  }

  /**
   * Reads and drops what the peer sent and we will never handle, closing its
   * fds. Closing a Unix socket with unread messages makes the peer's next read
   * fail with ECONNRESET instead of returning our last message (an error, a
   * goodbye), so the queue is emptied first, after shutdown(SHUT_RD) has made
   * the peer's further sends fail: nothing can arrive between the drain and the
   * close (the live fuzzer lost about 1 error in 5,000 to that race before).
   */
  private discardInbound(): void {
    this.socket.shutdownRead();
    for (let i = 0; i < 1024; i++) {
      let r: number;
      try {
        r = this.socket.recv(recvBuffer, recvFds, recvMeta);
      } catch {
        return;
      }
      if (r <= 0) return;
      for (let k = 0; k < recvMeta[1]!; k++) closeQuietly(recvFds[k]!);
    }
  }

  private closeWith(reason: string, error: BufshareError | undefined): void {
    if (this.isClosed) return;
    this.isClosed = true;
    if (this.ending) clearTimeout(this.ending.timer);
    this.discardInbound();
    for (const q of this.queue.clear()) if (q.fds) for (const fd of q.fds) closeQuietly(fd);
    this.queuedBytes = 0;
    this.queuedFds = 0;
    try {
      this.socket.close();
    } finally {
      this.emit('close', reason, error);
    }
  }
}

export interface ListenerEvents {
  /** A new connection's fd; the listener owns it and must wrap or close it. */
  connection: [fd: number];
  /**
   * A connection refused for lack of fds (EMFILE/ENFILE: accepted on the reserve
   * fd and closed at once), or accept() failed otherwise (the listener pauses
   * briefly); either way it goes on.
   */
  error: [error: BufshareError];
}

/** Pause after accept() fails for lack of fds, so a level-triggered socket does not spin. */
const ACCEPT_RETRY_MS = 100;

/** A listening SOCK_SEQPACKET socket on the loop. */
export class Listener extends EventEmitter<ListenerEvents> {
  private readonly socket: native.SeqPacketSocket;
  private isClosed = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly reserve = new AcceptReserve();

  /** Binds and listens at `path` (which must not exist). */
  constructor(path: string, backlog = 128) {
    super();
    try {
      // openSeqPacket owns the fd even when it throws.
      this.socket = native.openSeqPacket(native.seqpacketListen(path, backlog), (status) => this.onReadable(status));
    } catch (e) {
      this.reserve.close();
      throw e;
    }
    try {
      this.socket.poll(native.constants.POLL_READABLE);
    } catch (e) {
      this.close();
      throw e;
    }
  }

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.socket.close();
    this.reserve.close();
  }

  private onReadable(status: number): void {
    if (this.isClosed || status < 0) return;
    for (let i = 0; i < MESSAGES_PER_WAKEUP; i++) {
      let fd: number;
      try {
        fd = this.socket.accept();
      } catch (e) {
        const error = e instanceof BufshareError ? e : new BufshareError('ERR_BUFSHARE_SYSCALL', String(e));
        const outcome = isFdExhaustion(e) ? this.reserve.refuse(() => this.socket.accept()) : 'failed';
        if (outcome === 'none') return;
        if (outcome === 'refused') {
          // The peer sees its connection end at once, rather than wait in the backlog.
          this.emit('error', new BufshareError('ERR_BUFSHARE_SYSCALL', `refused a connection: out of fds (${error.errno})`, { syscall: 'accept4', errno: error.errno!, cause: e }));
          continue;
        }
        this.emit('error', error);
        this.socket.poll(0);
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          if (!this.isClosed) this.socket.poll(native.constants.POLL_READABLE);
        }, ACCEPT_RETRY_MS);
        this.retryTimer.unref();
        return;
      }
      if (fd < 0) return;
      this.emit('connection', fd);
      if (this.isClosed) return;
    }
  }
}
