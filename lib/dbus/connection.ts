/**
 * DBusConnection: one D-Bus connection on a native SOCK_STREAM socket (the
 * one lib/wayland uses: libuv-polled, SCM_RIGHTS fds), peer to peer or to a bus.
 *
 * How am I supposed to use this?
 *
 *   const conn = DBusConnection.open(fd);               // we authenticate (SASL EXTERNAL + NEGOTIATE_UNIX_FD)
 *   await conn.ready;
 *   const reply = await conn.call({ path: '/org/qemu/Display1/VM', interface: 'org.freedesktop.DBus.Properties',
 *     member: 'Get', signature: 'ss', body: ['org.qemu.Display1.VM', 'ConsoleIDs'] });
 *   conn.exportObject('/org/qemu/Display1/Listener', 'org.qemu.Display1.Listener', { methods: { Update: (m) => ... } });
 *
 * `DBusConnection.open(fd, { role: 'server' })` is the authenticating side
 * (checks the peer's uid); `connectBus(path)` connects to a bus and says Hello
 * (peer-to-peer connections never do). No name ownership or match rules here.
 *
 * Bounds: a message may be at most `maxMessageBytes` (default 64 MiB, see
 * DEFAULT_MAX_MESSAGE_BYTES); fds waiting for their message at most
 * `maxQueuedFds`; bytes we queue for a peer that does not read at most
 * `maxOutboundBytes`. A malformed message, a broken bound or a broken auth
 * exchange closes the connection with a BufshareError (ERR_BUFSHARE_DBUS_MALFORMED,
 * ERR_BUFSHARE_LIMIT_EXCEEDED, ERR_BUFSHARE_DBUS_AUTH) on 'close'.
 *
 * Ownership: the connection owns its socket, the fds it received until a
 * handler takes them (closed after the handler otherwise) and dups of fds it
 * queued to send.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { EventEmitter } from 'eventemitter3';
import { BufshareError } from '../errors';
import * as native from '../native';
import { Fifo } from '../fifo';
import { MAX_AUTH_LINE, SaslClient, SaslServer, type AuthStep } from './auth';
import { Variant } from './marshal';
import { decodeMessage, encodeMessage, frameLength, MessageFlags, MessageType, type DBusMessage, type OutgoingMessage } from './message';
import { malformed } from './signature';

/**
 * The default bound on one message. D-Bus allows 128 MiB; the largest we
 * expect is a qemu Scanout carrying a whole framebuffer (stride x height: 33
 * MiB at 3840x2160 XRGB, 64 MiB at 4096x4096), and a peer should not make us
 * hold more than that for one message.
 */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/** What a method handler gets to take the fds that came with the call (untaken ones are closed after it). */
export interface ReceivedFds {
  /** The fd at index (an h value): now the caller's. Throws ERR_BUFSHARE_DBUS_MALFORMED when out of range or taken. */
  take(index: number): number;
}

export interface DBusReply {
  readonly signature: string;
  readonly body: readonly unknown[];
}

export type MethodHandler = (message: DBusMessage, fds: ReceivedFds) => DBusReply | void | Promise<DBusReply | void>;

export interface DBusInterfaceImpl {
  readonly methods: Readonly<Record<string, MethodHandler>>;
  /** Readable properties (org.freedesktop.DBus.Properties Get/GetAll). */
  readonly properties?: Readonly<Record<string, () => Variant>>;
}

/** Throw from a method handler to answer with this D-Bus error. */
export class DBusErrorReply extends Error {
  constructor(readonly errorName: string, message: string) {
    super(message);
  }
}

/** A method call answered with an error: ERR_BUFSHARE_DBUS_ERROR with the error's name. */
export class DBusCallError extends BufshareError {
  constructor(readonly dbusName: string, text: string, readonly member: string) {
    super('ERR_BUFSHARE_DBUS_ERROR', `${member}: ${dbusName}: ${text}`);
  }
}

export interface DBusConnectionOptions {
  /** 'client' (default): we authenticate; 'server': the peer authenticates to us. */
  readonly role?: 'client' | 'server';
  /** Ask for (client) or allow (server) unix fd passing. Default true. */
  readonly unixFds?: boolean;
  /** Server: which peer uids may connect (default: our own). */
  readonly allowUid?: (uid: number) => boolean;
  readonly maxMessageBytes?: number;
  /** Default 16. */
  readonly maxQueuedFds?: number;
  /** Default 16 MiB. */
  readonly maxOutboundBytes?: number;
  /** A call without an answer in this time rejects with ERR_BUFSHARE_TIMEOUT. Default 25 s (libdbus's). */
  readonly callTimeoutMs?: number;
  /** A peer that has not finished authenticating in this time is closed (ERR_BUFSHARE_TIMEOUT). Default 10 s. */
  readonly authTimeoutMs?: number;
}

export interface DBusConnectionEvents {
  /** A signal (its fds are closed after the listeners ran). */
  signal: [message: DBusMessage];
  /** The connection ended (once); `error` says which rule the peer broke, if any. */
  close: [reason: string, error: BufshareError | undefined];
}

interface Pending {
  resolve: (m: DBusMessage) => void;
  reject: (e: Error) => void;
  member: string;
  timer: NodeJS.Timeout;
}

interface Outgoing {
  bytes: Uint8Array;
  fds: number[];
}

const CHUNK = 64 * 1024;

function closeQuietly(fd: number): void {
  try {
    native.closeFd(fd);
  } catch {
    // Already closed.
  }
}

export class DBusConnection extends EventEmitter<DBusConnectionEvents> {
  /** Resolves once authenticated; rejects when the connection closes first. */
  readonly ready: Promise<void>;
  /** The server's guid (client) or ours (server). */
  guid: string | undefined;
  /** Our unique name on a bus (after connectBus); undefined peer to peer. */
  uniqueName: string | undefined;

  private readonly socket: native.StreamSocket;
  private readonly role: 'client' | 'server';
  private readonly maxMessageBytes: number;
  private readonly maxQueuedFds: number;
  private readonly maxOutboundBytes: number;
  private readonly callTimeoutMs: number;
  private client: SaslClient | undefined;
  private server: SaslServer | undefined;
  private authenticated = false;
  private sawCredentialsByte = false;
  private fdsAgreed = false;
  private inbuf = new Uint8Array(CHUNK);
  private inLength = 0;
  /** A message bigger than inbuf, received straight into its own buffer. */
  private big: Uint8Array | undefined;
  private bigFill = 0;
  private readonly fdQueue: number[] = [];
  private readonly recvFds = new Int32Array(native.MAX_FDS_PER_STREAM_SEND);
  private readonly recvMeta = new Int32Array(2);
  private readonly outgoing = new Fifo<Outgoing>();
  private outboundBytes = 0;
  private flushScheduled = false;
  private waitingWritable = false;
  private nextSerial = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly objects = new Map<string, Map<string, DBusInterfaceImpl>>();
  private isClosed = false;
  private authTimer: NodeJS.Timeout | undefined;
  private resolveReady!: () => void;
  private rejectReady!: (e: Error) => void;

  /** Takes ownership of `fd` (a connected SOCK_STREAM socket), even when it throws. Authentication starts at once. */
  static open(fd: number, options: DBusConnectionOptions = {}): DBusConnection {
    return new DBusConnection(fd, options);
  }

  /** Connects to a bus at `path` (a unix socket), authenticates and says Hello. */
  static async connectBus(path: string, options: Omit<DBusConnectionOptions, 'role'> = {}): Promise<DBusConnection> {
    const conn = new DBusConnection(native.streamConnect(path), { ...options, role: 'client' });
    try {
      await conn.ready;
      const reply = await conn.call({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'Hello' });
      conn.uniqueName = reply.body[0] as string;
      return conn;
    } catch (e) {
      conn.close('Hello failed');
      throw e;
    }
  }

  private constructor(fd: number, options: DBusConnectionOptions) {
    super();
    this.role = options.role ?? 'client';
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.maxQueuedFds = options.maxQueuedFds ?? 16;
    this.maxOutboundBytes = options.maxOutboundBytes ?? 16 * 1024 * 1024;
    this.callTimeoutMs = options.callTimeoutMs ?? 25_000;
    this.ready = new Promise((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    // Nobody may have to handle a rejection they never asked for.
    this.ready.catch(() => {});
    this.socket = native.openStream(fd, (status, events) => this.onEvent(status, events));
    const unixFds = options.unixFds ?? true;
    if (this.role === 'client') {
      this.client = new SaslClient(process.getuid!(), unixFds);
      this.queueRaw(Buffer.from(this.client.start(), 'latin1'));
    } else {
      this.guid = randomBytes(16).toString('hex');
      this.server = new SaslServer(this.guid, this.socket.peerCred().uid, unixFds, options.allowUid);
    }
    this.socket.poll(native.constants.POLL_READABLE);
    const authTimeoutMs = options.authTimeoutMs ?? 10_000;
    this.authTimer = setTimeout(() => {
      const e = new BufshareError('ERR_BUFSHARE_TIMEOUT', `the D-Bus peer did not finish authenticating in ${authTimeoutMs} ms`);
      this.close(e.message, e);
    }, authTimeoutMs);
    // A connection being set up keeps no process alive by itself.
    this.authTimer.unref();
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Unix fds may be passed (negotiated during authentication). */
  get unixFds(): boolean {
    return this.fdsAgreed;
  }

  /** The peer's pid (SO_PEERCRED); 0 when unknown. */
  get peerPid(): number {
    try {
      return this.socket.peerCred().pid;
    } catch {
      return 0;
    }
  }

  /** fds received and not yet claimed by their message. */
  get queuedFds(): number {
    return this.fdQueue.length;
  }

  /**
   * Serves `impl` as `iface` on the object at `path` (replacing an earlier one).
   * org.freedesktop.DBus.Peer and .Properties (from `impl.properties`) are answered for every object.
   */
  exportObject(path: string, iface: string, impl: DBusInterfaceImpl): void {
    let object = this.objects.get(path);
    if (object === undefined) this.objects.set(path, (object = new Map()));
    object.set(iface, impl);
  }

  /** Sends a method call and waits for its answer; an error reply rejects with DBusCallError (ERR_BUFSHARE_DBUS_ERROR). fds in h values are dup'ed while queued. */
  call(message: Omit<OutgoingMessage, 'type'>): Promise<DBusMessage> {
    if (this.isClosed) return Promise.reject(new BufshareError('ERR_BUFSHARE_CONNECTION_CLOSED', `${message.member}: the D-Bus connection is closed`));
    const serial = this.send({ ...message, type: MessageType.METHOD_CALL });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(serial);
        reject(new BufshareError('ERR_BUFSHARE_TIMEOUT', `${message.member}: no answer in ${this.callTimeoutMs} ms`));
      }, this.callTimeoutMs);
      this.pending.set(serial, { resolve, reject, member: message.member ?? '', timer });
    });
  }

  /** Queues any message (a signal, a call without reply); returns its serial. */
  send(message: OutgoingMessage): number {
    const serial = this.nextSerial;
    this.nextSerial = this.nextSerial >= 0xffffffff ? 1 : this.nextSerial + 1;
    const encoded = encodeMessage({ ...message, serial });
    if (encoded.fds.length > 0 && !this.fdsAgreed) {
      throw new BufshareError('ERR_BUFSHARE_UNSUPPORTED', `${message.member ?? 'message'}: the peer did not agree to unix fd passing`);
    }
    this.queue(encoded.bytes, encoded.fds);
    return serial;
  }

  /** Closes the socket and every fd it owns; pending calls reject with ERR_BUFSHARE_CONNECTION_CLOSED. Idempotent. */
  close(reason = 'closed', error?: BufshareError): void {
    if (this.isClosed) return;
    this.isClosed = true;
    clearTimeout(this.authTimer);
    this.socket.close();
    for (const fd of this.fdQueue.splice(0)) closeQuietly(fd);
    for (const o of this.outgoing.clear()) for (const fd of o.fds) closeQuietly(fd);
    this.outboundBytes = 0;
    this.big = undefined;
    const closedError = error ?? new BufshareError('ERR_BUFSHARE_CONNECTION_CLOSED', `the D-Bus connection closed: ${reason}`);
    this.rejectReady(closedError);
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new BufshareError('ERR_BUFSHARE_CONNECTION_CLOSED', `${p.member}: the D-Bus connection closed: ${reason}`, { cause: error }));
    }
    this.pending.clear();
    this.emit('close', reason, error);
  }

  private fail(error: unknown): void {
    if (error instanceof BufshareError) {
      this.close(error.message, error);
      return;
    }
    throw error;
  }

  // --- sending ---------------------------------------------------------------

  private queueRaw(bytes: Uint8Array): void {
    this.queue(bytes, []);
  }

  private queue(bytes: Uint8Array, fds: readonly number[]): void {
    if (this.isClosed) return;
    const dups: number[] = [];
    try {
      for (const fd of fds) dups.push(native.dupFd(fd));
    } catch (e) {
      for (const fd of dups) closeQuietly(fd);
      throw e;
    }
    this.outgoing.push({ bytes, fds: dups });
    this.outboundBytes += bytes.byteLength;
    if (this.outboundBytes > this.maxOutboundBytes) {
      this.close(`the peer stopped reading: over ${this.maxOutboundBytes} bytes queued`,
        new BufshareError('ERR_BUFSHARE_LIMIT_EXCEEDED', `the D-Bus peer stopped reading: over ${this.maxOutboundBytes} bytes queued`));
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

  private flush(): void {
    while (!this.isClosed && this.outgoing.length > 0) {
      const head = this.outgoing.at(0)!;
      let sent: number;
      try {
        sent = this.socket.sendStream(head.bytes, head.fds.length > 0 ? Int32Array.from(head.fds) : undefined);
      } catch (e) {
        this.close(`send failed: ${(e as Error).message}`);
        return;
      }
      if (sent === 0) {
        this.waitWritable(true);
        return;
      }
      // The fds went with the first byte.
      for (const fd of head.fds) closeQuietly(fd);
      head.fds = [];
      this.outboundBytes -= sent;
      if (sent === head.bytes.byteLength) this.outgoing.shift();
      else head.bytes = head.bytes.subarray(sent);
    }
    this.waitWritable(false);
  }

  private waitWritable(on: boolean): void {
    if (this.isClosed || on === this.waitingWritable) return;
    this.waitingWritable = on;
    this.socket.poll(native.constants.POLL_READABLE | (on ? native.constants.POLL_WRITABLE : 0));
  }

  // --- receiving -------------------------------------------------------------

  private onEvent(status: number, events: number): void {
    if (this.isClosed) return;
    if (status < 0) {
      this.close(`the connection broke (libuv status ${status})`);
      return;
    }
    if (events & native.constants.POLL_WRITABLE) this.flush();
    if (events & native.constants.POLL_READABLE) {
      try {
        this.read();
      } catch (e) {
        this.fail(e);
      }
    }
  }

  private read(): void {
    const into = this.big !== undefined ? this.big.subarray(this.bigFill) : this.inbuf.subarray(this.inLength);
    let n: number;
    try {
      n = this.socket.recvStream(into, this.recvFds, this.recvMeta);
    } catch (e) {
      this.close(`recv failed: ${(e as Error).message}`);
      return;
    }
    if (n === 0) return;
    if (n < 0) {
      this.close('the peer closed the connection');
      return;
    }
    for (let i = 0; i < this.recvMeta[0]!; i++) this.fdQueue.push(this.recvFds[i]!);
    if ((this.recvMeta[1]! & native.constants.RECV_CONTROL_TRUNCATED) !== 0) throw malformed(`more than ${native.MAX_FDS_PER_STREAM_SEND} fds in one sendmsg: fds were lost`);
    if (this.fdQueue.length > this.maxQueuedFds) {
      throw new BufshareError('ERR_BUFSHARE_LIMIT_EXCEEDED', `the D-Bus peer sent more than ${this.maxQueuedFds} fds ahead of their messages`);
    }
    if (this.big !== undefined) {
      this.bigFill += n;
      if (this.bigFill === this.big.byteLength) {
        const message = this.big;
        this.big = undefined;
        this.deliver(message);
      }
      return;
    }
    this.inLength += n;
    this.process();
    if (!this.fdsAgreed && this.fdQueue.length > 0) throw malformed('the peer sent fds without NEGOTIATE_UNIX_FD');
  }

  /** Consumes inbuf: auth lines first, then whole messages; a message larger than inbuf moves to its own buffer. */
  private process(): void {
    let p = 0;
    if (!this.authenticated) {
      p = this.authLines();
      if (!this.authenticated || this.isClosed) {
        this.compact(p);
        return;
      }
    }
    while (!this.isClosed) {
      const total = frameLength(this.inbuf, p, this.inLength - p, this.maxMessageBytes);
      if (total === undefined) break;
      if (this.inLength - p >= total) {
        this.deliver(this.inbuf.slice(p, p + total));
        p += total;
        continue;
      }
      if (total > this.inbuf.byteLength) {
        // Straight into the message's own buffer from now on: no second copy of a large Scanout.
        this.big = new Uint8Array(total);
        this.big.set(this.inbuf.subarray(p, this.inLength));
        this.bigFill = this.inLength - p;
        p = this.inLength;
      }
      break;
    }
    this.compact(p);
  }

  private compact(p: number): void {
    if (p === 0) return;
    this.inbuf.copyWithin(0, p, this.inLength);
    this.inLength -= p;
  }

  /** Handles the whole auth lines in inbuf; returns the offset after the last one consumed. */
  private authLines(): number {
    let p = 0;
    if (this.role === 'server' && !this.sawCredentialsByte) {
      if (this.inLength === 0) return 0;
      if (this.inbuf[0] !== 0) throw new BufshareError('ERR_BUFSHARE_DBUS_AUTH', 'the client did not start with the credentials byte (NUL)');
      this.sawCredentialsByte = true;
      p = 1;
    }
    while (!this.authenticated && !this.isClosed) {
      const end = this.inbuf.subarray(p, this.inLength).indexOf(0x0a);
      if (end < 0) {
        if (this.inLength - p > MAX_AUTH_LINE) throw new BufshareError('ERR_BUFSHARE_DBUS_AUTH', `an auth line longer than ${MAX_AUTH_LINE} bytes`);
        break;
      }
      const raw = this.inbuf.subarray(p, p + end);
      p += end + 1;
      if (raw.byteLength === 0 || raw[raw.byteLength - 1] !== 0x0d) throw new BufshareError('ERR_BUFSHARE_DBUS_AUTH', 'an auth line not ending in \\r\\n');
      const line = Buffer.from(raw.subarray(0, raw.byteLength - 1)).toString('latin1');
      if (!/^[\x20-\x7e]*$/.test(line)) throw new BufshareError('ERR_BUFSHARE_DBUS_AUTH', 'an auth line with bytes outside printable ASCII');
      const step: AuthStep = this.client !== undefined ? this.client.onLine(line) : this.server!.onLine(line);
      if (step.send !== '') this.queueRaw(Buffer.from(step.send, 'latin1'));
      if (step.done) {
        this.authenticated = true;
        clearTimeout(this.authTimer);
        this.fdsAgreed = step.unixFds;
        if (this.client !== undefined) this.guid = this.client.guid;
        this.resolveReady();
      }
    }
    return p;
  }

  private deliver(bytes: Uint8Array): void {
    let taken: readonly number[] = [];
    let message: DBusMessage;
    try {
      message = decodeMessage(bytes, (count) => {
        if (!this.fdsAgreed) throw malformed('a message with fds, without NEGOTIATE_UNIX_FD');
        if (count > this.fdQueue.length) throw malformed(`UNIX_FDS says ${count} fds, ${this.fdQueue.length} came`);
        taken = this.fdQueue.splice(0, count);
        return taken;
      });
    } catch (e) {
      for (const fd of taken) closeQuietly(fd);
      throw e;
    }
    const owned = new Set(message.fds);
    const fds: ReceivedFds = {
      take: (index) => {
        const fd = message.fds[index];
        if (fd === undefined || !owned.has(fd)) throw malformed(`fd index ${index} is not in the message or was taken`);
        owned.delete(fd);
        return fd;
      },
    };
    try {
      switch (message.type) {
        case MessageType.METHOD_CALL: this.dispatchCall(message, fds); break;
        case MessageType.METHOD_RETURN: case MessageType.ERROR: this.dispatchReply(message, owned); break;
        case MessageType.SIGNAL: this.emit('signal', message); break;
      }
    } finally {
      for (const fd of owned) closeQuietly(fd);
    }
  }

  private dispatchReply(message: DBusMessage, owned: Set<number>): void {
    const pending = this.pending.get(message.replySerial!);
    if (pending === undefined) return; // an answer to a call that timed out, or to nothing: ignored, as libdbus does
    this.pending.delete(message.replySerial!);
    clearTimeout(pending.timer);
    if (message.type === MessageType.ERROR) {
      const text = typeof message.body[0] === 'string' ? message.body[0] : '';
      pending.reject(new DBusCallError(message.errorName!, text, pending.member));
      return;
    }
    // A reply's fds are the caller's.
    owned.clear();
    pending.resolve(message);
  }

  private dispatchCall(message: DBusMessage, fds: ReceivedFds): void {
    const noReply = (message.flags & MessageFlags.NO_REPLY_EXPECTED) !== 0;
    const answer = (reply: DBusReply | void): void => {
      if (noReply || this.isClosed) return;
      this.send({ type: MessageType.METHOD_RETURN, replySerial: message.serial, destination: message.sender, signature: reply?.signature ?? '', body: reply?.body ?? [] });
    };
    const answerError = (name: string, text: string): void => {
      if (noReply || this.isClosed) return;
      this.send({ type: MessageType.ERROR, replySerial: message.serial, destination: message.sender, errorName: name, signature: 's', body: [text] });
    };
    const handled = (e: unknown): void => {
      if (e instanceof DBusErrorReply) answerError(e.errorName, e.message);
      else if (e instanceof BufshareError && e.code === 'ERR_BUFSHARE_DBUS_MALFORMED') throw e;
      else answerError('org.freedesktop.DBus.Error.Failed', e instanceof Error ? e.message : String(e));
    };
    let result: ReturnType<MethodHandler>;
    try {
      result = this.invoke(message, fds);
    } catch (e) {
      handled(e);
      return;
    }
    if (result instanceof Promise) {
      result.then(answer, (e: unknown) => {
        try {
          handled(e);
        } catch (fatal) {
          this.fail(fatal);
        }
      });
    } else {
      answer(result);
    }
  }

  private invoke(message: DBusMessage, fds: ReceivedFds): ReturnType<MethodHandler> {
    const object = this.objects.get(message.path!);
    const iface = message.interface;
    const member = message.member!;
    if (iface === 'org.freedesktop.DBus.Peer') {
      if (member === 'Ping') return undefined;
      if (member === 'GetMachineId') return { signature: 's', body: [machineId()] };
    }
    if (object === undefined) throw new DBusErrorReply('org.freedesktop.DBus.Error.UnknownObject', `no object at ${message.path}`);
    if (iface === 'org.freedesktop.DBus.Properties') return this.properties(object, message);
    const impl = iface !== undefined ? object.get(iface) : [...object.values()].find((i) => member in i.methods);
    if (impl === undefined) throw new DBusErrorReply('org.freedesktop.DBus.Error.UnknownInterface', `no interface ${iface} at ${message.path}`);
    const handler = Object.hasOwn(impl.methods, member) ? impl.methods[member] : undefined;
    if (handler === undefined) throw new DBusErrorReply('org.freedesktop.DBus.Error.UnknownMethod', `no method ${member} in ${iface}`);
    return handler(message, fds);
  }

  private properties(object: Map<string, DBusInterfaceImpl>, message: DBusMessage): DBusReply {
    const { member, signature, body } = message;
    if (member === 'GetAll' && signature === 's') {
      const props = object.get(body[0] as string)?.properties ?? {};
      return { signature: 'a{sv}', body: [new Map(Object.entries(props).map(([k, get]) => [k, get()]))] };
    }
    if (member === 'Get' && signature === 'ss') {
      const get = object.get(body[0] as string)?.properties?.[body[1] as string];
      if (get === undefined) throw new DBusErrorReply('org.freedesktop.DBus.Error.UnknownProperty', `no property ${body[0]}.${body[1]}`);
      return { signature: 'v', body: [get()] };
    }
    if (member === 'Set') throw new DBusErrorReply('org.freedesktop.DBus.Error.PropertyReadOnly', 'properties here are read-only');
    throw new DBusErrorReply('org.freedesktop.DBus.Error.InvalidArgs', `Properties.${member}(${signature})`);
  }
}

let cachedMachineId: string | undefined;
function machineId(): string {
  if (cachedMachineId === undefined) {
    try {
      cachedMachineId = readFileSync('/etc/machine-id', 'latin1').trim();
    } catch {
      cachedMachineId = '0'.repeat(32);
    }
  }
  return cachedMachineId;
}
