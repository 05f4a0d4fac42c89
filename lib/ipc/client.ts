/**
 * BufferClient: the part a client program links. It connects to a compositor's
 * BufferServer and creates surfaces whose buffers the server allocates.
 *
 * How am I supposed to use this?
 *
 *   const client = await BufferClient.connect();         // $XDG_RUNTIME_DIR/bufshare-0
 *   const surface = await client.createSurface({ width: 640, height: 480, format: 'XRGB8888', usage: 'software' });
 *   const { buffer, region } = await surface.nextBuffer();
 *   region.pixels32.fill(0xff336699);
 *   surface.submit(buffer, [{ x: 0, y: 0, width: 640, height: 480 }]);
 *   client.on('close', (reason) => ...);                  // the server went away
 *
 * Trust: the client trusts the server with its pixels but still validates what
 * it sends (descriptors against their fds, message sizes), so a broken server
 * cannot make it map past the end of a file.
 *
 * Ownership: the client owns every buffer it imported (fds and mappings) and
 * frees them when a surface is destroyed or resized, and when the connection
 * closes for any reason.
 */
import { EventEmitter } from 'eventemitter3';
import { BufshareError, ErrorCodes, type ErrorCode } from '../errors';
import { lookupFormat, resolveFormat, type FormatInfo, type FormatSpec } from '../format';
import { fromDescriptor, type ImportedBuffer } from '../imported-buffer';
import * as native from '../native';
import {
  decodeServerMessage, encodeCreateSurface, encodeDestroySurface, encodeHello, encodeRequest, MAX_BUFFERS_PER_SURFACE, PROTOCOL_VERSION,
  type BufferUsageName, type ClientLimits, type JsonValue, type ServerMessage, type SurfaceBuffersMessage,
} from './protocol';
import { defaultSocketPath } from './socket-path';
import { Surface, type SurfaceHost } from './surface';
import { Swapchain } from './swapchain';
import { Connection } from './transport';

export interface BufferClientOptions {
  /** Socket path; default `$XDG_RUNTIME_DIR/bufshare-0`. */
  readonly path?: string;
  /** A name the server sees (logs). */
  readonly name?: string;
  /**
   * Milliseconds to wait for the server's welcome and for its answer to each
   * createSurface() and resize(); past it the call rejects with
   * ERR_BUFSHARE_TIMEOUT and the connection is closed (a server that does not
   * answer is broken or hostile). Default 10,000.
   */
  readonly replyTimeoutMs?: number;
}

export const DEFAULT_REPLY_TIMEOUT_MS = 10000;

export interface CreateSurfaceOptions {
  readonly width: number;
  readonly height: number;
  readonly format: FormatSpec;
  /** 'software' (shared memory) or 'hardware' (a GPU buffer where the server has one). Default 'software'. */
  readonly usage?: BufferUsageName;
  /** Buffers in the swapchain; default 2. */
  readonly bufferCount?: 1 | 2 | 3 | 4;
}

export interface BufferClientEvents {
  /** Once, when the connection ends: the server said goodbye, refused us, or went away. */
  close: [reason: string];
  /** The server reported a fatal error about this client (a 'close' follows), or sent something invalid. */
  error: [error: BufshareError];
}

interface PendingCreate {
  readonly options: Required<CreateSurfaceOptions>;
  resolve(s: Surface): void;
  reject(e: Error): void;
}

/**
 * Buffers (or an error) the server owes us for a create_surface or a resize,
 * in the order asked: the geometry its surface_buffers must have, and the
 * timer that gives up on it.
 */
interface ExpectedBuffers {
  readonly width: number;
  readonly height: number;
  readonly format: number;
  readonly timer: ReturnType<typeof setTimeout>;
}

/** Connect attempts when the server's accept backlog is full (EAGAIN), 10 ms apart. */
const CONNECT_ATTEMPTS = 50;

function toErrorCode(code: string): ErrorCode {
  return (ErrorCodes as readonly string[]).includes(code) ? (code as ErrorCode) : 'ERR_BUFSHARE_PROTOCOL';
}

function closeQuietly(fds: readonly number[]): void {
  for (const fd of fds) {
    try {
      native.closeFd(fd);
    } catch {
      // Not ours any more.
    }
  }
}

export class BufferClient extends EventEmitter<BufferClientEvents> {
  /** The server's id for this client. */
  readonly id: number;
  /** What the server allows this client. */
  readonly limits: ClientLimits;
  private readonly connection: Connection;
  private readonly surfaces = new Map<number, Surface>();
  private readonly pending = new Map<number, PendingCreate>();
  private readonly expected = new Map<number, ExpectedBuffers[]>();
  private readonly replyTimeoutMs: number;
  private readonly surfaceHost: SurfaceHost;
  private nextSurfaceId = 1;
  private closeReason: string | undefined;
  /** The server's invalid message that closed the connection, if one did. */
  private failure: BufshareError | undefined;

  /**
   * Connects and says hello. Rejects with ERR_BUFSHARE_NO_SERVER when nobody
   * listens, ERR_BUFSHARE_ACCESS_DENIED or ERR_BUFSHARE_VERSION_MISMATCH when the
   * server refuses us.
   */
  static async connect(options: BufferClientOptions = {}): Promise<BufferClient> {
    const path = options.path ?? defaultSocketPath();
    const replyTimeoutMs = options.replyTimeoutMs ?? DEFAULT_REPLY_TIMEOUT_MS;
    if (!Number.isFinite(replyTimeoutMs) || replyTimeoutMs <= 0) {
      throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', `replyTimeoutMs must be a positive number, got ${String(replyTimeoutMs)}`);
    }
    let connection: Connection | undefined;
    for (let attempt = 1; !connection; attempt++) {
      try {
        connection = Connection.connect(path);
      } catch (e) {
        if (!(e instanceof BufshareError && e.errno === 'EAGAIN') || attempt >= CONNECT_ATTEMPTS) throw e;
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    const conn = connection;
    const welcome = await new Promise<Extract<ServerMessage, { op: 'welcome' }>>((resolve, reject) => {
      let failure: BufshareError | undefined;
      const onMessage = (data: Uint8Array, fds: number[]): void => {
        closeQuietly(fds);
        let m: ServerMessage;
        try {
          m = decodeServerMessage(data);
        } catch (e) {
          failure = e as BufshareError;
          conn.close('invalid message from the server');
          return;
        }
        if (m.op === 'welcome') {
          if (m.version !== PROTOCOL_VERSION) {
            failure = new BufshareError('ERR_BUFSHARE_VERSION_MISMATCH', `the server speaks protocol version ${m.version}, we speak ${PROTOCOL_VERSION}`);
            conn.close(failure.message);
            return;
          }
          clearTimeout(timer);
          conn.off('message', onMessage);
          conn.off('malformed', onMalformed);
          conn.off('close', onClose);
          resolve(m);
        } else if (m.op === 'error') {
          failure = new BufshareError(toErrorCode(m.code), m.message);
        } else if (m.op === 'goodbye') {
          failure = new BufshareError('ERR_BUFSHARE_CONNECTION_CLOSED', `the server closed: ${m.reason}`);
        } else {
          failure = new BufshareError('ERR_BUFSHARE_PROTOCOL', `expected welcome, got ${m.op}`);
          conn.close(failure.message);
        }
      };
      const onClose = (reason: string): void => {
        clearTimeout(timer);
        reject(failure ?? new BufshareError('ERR_BUFSHARE_CONNECTION_CLOSED', `the server closed the connection before welcoming us: ${reason}`));
      };
      // A reply too long for the protocol never arrives as a message: it is one.
      const onMalformed = (reason: string): void => {
        failure = new BufshareError('ERR_BUFSHARE_PROTOCOL', `invalid message from the server: ${reason}`);
        conn.close(failure.message);
      };
      const timer = setTimeout(() => {
        failure = new BufshareError('ERR_BUFSHARE_TIMEOUT', `the server did not welcome us within ${replyTimeoutMs} ms`);
        conn.close(failure.message);
      }, replyTimeoutMs);
      conn.on('message', onMessage);
      conn.on('malformed', onMalformed);
      conn.on('close', onClose);
      conn.send(encodeHello(options.name));
    });
    return new BufferClient(conn, welcome.client, welcome.limits, replyTimeoutMs);
  }

  private constructor(connection: Connection, id: number, limits: ClientLimits, replyTimeoutMs: number) {
    super();
    this.connection = connection;
    this.id = id;
    this.limits = limits;
    this.replyTimeoutMs = replyTimeoutMs;
    this.surfaceHost = {
      maxRectsPerSubmit: limits.maxRectsPerSubmit,
      send: (data) => this.send(data),
      forget: (surface) => {
        this.surfaces.delete(surface.id);
        for (const e of this.expected.get(surface.id) ?? []) clearTimeout(e.timer);
        this.expected.delete(surface.id);
      },
      expectBuffers: (surface, width, height) => this.expectBuffers(surface.id, width, height, surface.format.fourcc, (error) => surface.resizeFailed(error)),
    };
    connection.on('message', (data, fds) => this.onMessage(data, fds));
    connection.on('malformed', (reason) => this.protocolFailure(new BufshareError('ERR_BUFSHARE_PROTOCOL', reason)));
    connection.on('close', (reason) => this.onClose(reason));
  }

  get closed(): boolean {
    return this.connection.closed;
  }

  /** Creates a surface; resolves once the server has allocated its buffers and they are mapped here. */
  createSurface(options: CreateSurfaceOptions): Promise<Surface> {
    let full: Required<CreateSurfaceOptions>;
    try {
      this.checkOpen();
      const format = resolveFormat(options.format);
      const bufferCount = options.bufferCount ?? 2;
      if (!Number.isInteger(bufferCount) || bufferCount < 1 || bufferCount > MAX_BUFFERS_PER_SURFACE) {
        throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', `bufferCount must be 1..${MAX_BUFFERS_PER_SURFACE}, got ${String(bufferCount)}`);
      }
      const usage = options.usage ?? 'software';
      if (usage !== 'software' && usage !== 'hardware') throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', `usage must be 'software' or 'hardware'`);
      for (const [name, v] of [['width', options.width], ['height', options.height]] as const) {
        if (!Number.isInteger(v) || v < 1) throw new BufshareError('ERR_BUFSHARE_INVALID_DIMENSIONS', `${name} must be a positive integer, got ${String(v)}`);
      }
      full = { width: options.width, height: options.height, format: format.name, usage, bufferCount };
    } catch (e) {
      return Promise.reject(e);
    }
    const id = this.nextSurfaceId++;
    this.send(encodeCreateSurface({ surface: id, width: full.width, height: full.height, format: full.format, usage: full.usage, bufferCount: full.bufferCount }));
    const fourcc = resolveFormat(full.format).fourcc;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { options: full, resolve, reject });
      this.expectBuffers(id, full.width, full.height, fourcc, (error) => {
        this.pending.delete(id);
        reject(error);
      });
    });
  }

  /** Starts waiting for the buffers of a create_surface or resize just sent; `giveUp` rejects its caller. */
  private expectBuffers(surface: number, width: number, height: number, format: number, giveUp: (error: BufshareError) => void): void {
    const queue = this.expected.get(surface) ?? [];
    const timer = setTimeout(() => {
      const error = new BufshareError('ERR_BUFSHARE_TIMEOUT', `the server did not answer for surface ${surface} within ${this.replyTimeoutMs} ms`);
      this.expected.delete(surface);
      giveUp(error);
      // Its answer may still come, to a request we gave up on: start over instead.
      this.connection.close(error.message);
    }, this.replyTimeoutMs);
    queue.push({ width, height, format, timer });
    this.expected.set(surface, queue);
  }

  /** The oldest answer `surface` is owed, now received (buffers or an error). */
  private takeExpected(surface: number): ExpectedBuffers | undefined {
    const queue = this.expected.get(surface);
    const head = queue?.shift();
    if (head) clearTimeout(head.timer);
    if (queue?.length === 0) this.expected.delete(surface);
    return head;
  }

  /** Sends an application request to the compositor (not about a surface). */
  request(payload: JsonValue): void {
    this.send(encodeRequest(undefined, payload));
  }

  /** Closes the connection; every surface is destroyed. Idempotent. */
  close(): void {
    this.connection.close('closed by the client');
  }

  private checkOpen(): void {
    if (this.connection.closed) {
      throw new BufshareError('ERR_BUFSHARE_CONNECTION_CLOSED', `the connection is closed${this.closeReason ? `: ${this.closeReason}` : ''}`);
    }
  }

  private send(data: Uint8Array): void {
    this.checkOpen();
    this.connection.send(data);
  }

  private trySend(data: Uint8Array): void {
    if (!this.connection.closed) this.connection.send(data);
  }

  private onMessage(data: Uint8Array, fds: number[]): void {
    let m: ServerMessage;
    try {
      m = decodeServerMessage(data);
    } catch (e) {
      closeQuietly(fds);
      this.protocolFailure(e as BufshareError);
      return;
    }
    if (m.op === 'surface_buffers') {
      this.onBuffers(m, fds);
      return;
    }
    if (fds.length > 0) {
      closeQuietly(fds);
      this.protocolFailure(new BufshareError('ERR_BUFSHARE_PROTOCOL', `the server sent fds with ${m.op}`));
      return;
    }
    switch (m.op) {
      case 'release':
        this.surfaces.get(m.surface)?.released(m.buffer);
        return;
      case 'frame_done':
        this.surfaces.get(m.surface)?.deliver('frame');
        return;
      case 'event':
        this.surfaces.get(m.surface)?.deliver('event', m.payload);
        return;
      case 'error': {
        const error = new BufshareError(toErrorCode(m.code), m.message);
        if (!m.fatal && m.surface !== undefined) {
          this.takeExpected(m.surface);
          const create = this.pending.get(m.surface);
          if (create) {
            this.pending.delete(m.surface);
            create.reject(error);
          } else {
            this.surfaces.get(m.surface)?.resizeFailed(error);
          }
          return;
        }
        this.emit('error', error);
        if (m.fatal) this.closeReason = `${m.code}: ${m.message}`;
        return;
      }
      case 'goodbye':
        this.closeReason = m.reason;
        this.connection.close(m.reason);
        return;
      case 'welcome':
        this.protocolFailure(new BufshareError('ERR_BUFSHARE_PROTOCOL', 'welcome sent twice'));
        return;
    }
  }

  /** Imports a surface's buffers; fds go to their descriptors in order, all closed if anything is wrong. */
  private onBuffers(m: SurfaceBuffersMessage, fds: number[]): void {
    const create = this.pending.get(m.surface);
    const surface = this.surfaces.get(m.surface);
    if (!create && !surface) {
      closeQuietly(fds); // Destroyed here while the server was allocating.
      return;
    }
    // Buffers of exactly the geometry asked for, or none: a server that answers
    // 64x64 with 16384x16384 would have us map a GiB per buffer.
    const expected = this.takeExpected(m.surface);
    const wrong = expected === undefined ? `surface_buffers for surface ${m.surface}, which asked for none`
      // (A format we do not know at all is refused below, like a bad descriptor.)
      : m.width !== expected.width || m.height !== expected.height || (m.format !== expected.format && lookupFormat(m.format) !== undefined)
        ? `surface_buffers of ${m.width}x${m.height} format 0x${m.format.toString(16)} for a request of ${expected.width}x${expected.height} format 0x${expected.format.toString(16)}`
        : undefined;
    if (wrong !== undefined) {
      closeQuietly(fds);
      this.refuseBuffers(m.surface, new BufshareError('ERR_BUFSHARE_PROTOCOL', wrong));
      return;
    }
    let swapchain: Swapchain;
    let format: FormatInfo | undefined;
    try {
      // The surface's format first: a server that names an unknown one is refused
      // like a bad descriptor, before any fd is imported (and never crashes us).
      format = resolveFormat(m.format);
      swapchain = new Swapchain(this.importBuffers(m, fds), m.width, m.height);
    } catch (e) {
      if (format === undefined) closeQuietly(fds); // importBuffers closes them itself on its own failures
      const error = e instanceof BufshareError ? e : new BufshareError('ERR_BUFSHARE_PROTOCOL', String(e));
      // The server made the buffers we could not take: drop the surface on both
      // sides, or its ids would no longer agree with ours.
      if (create) {
        this.pending.delete(m.surface);
        this.trySend(encodeDestroySurface(m.surface));
        create.reject(error);
      } else {
        surface!.resizeFailed(error);
        surface!.destroy();
      }
      if (error.code === 'ERR_BUFSHARE_PROTOCOL') this.protocolFailure(error);
      return;
    }
    if (create) {
      this.pending.delete(m.surface);
      const s = new Surface(this.surfaceHost, m.surface, format!, create.options.usage, swapchain);
      this.surfaces.set(m.surface, s);
      create.resolve(s);
    } else {
      surface!.replaceSwapchain(swapchain);
    }
  }

  /** A reply that breaks the protocol: its caller is rejected with `error`, and the connection closed. */
  private refuseBuffers(surface: number, error: BufshareError): void {
    const create = this.pending.get(surface);
    if (create) {
      this.pending.delete(surface);
      create.reject(error);
    } else {
      this.surfaces.get(surface)?.resizeFailed(error);
    }
    this.protocolFailure(error);
  }

  private importBuffers(m: SurfaceBuffersMessage, fds: number[]): ImportedBuffer[] {
    const counts = m.buffers.map((d) => {
      const roles = (typeof d === 'object' && d !== null ? (d as { fds?: unknown }).fds : undefined);
      return Array.isArray(roles) ? roles.length : -1;
    });
    if (counts.some((c) => c < 1) || counts.reduce((a, b) => a + b, 0) !== fds.length) {
      closeQuietly(fds);
      throw new BufshareError('ERR_BUFSHARE_INVALID_DESCRIPTOR', `surface_buffers: ${fds.length} fds do not match the descriptors`);
    }
    const buffers: ImportedBuffer[] = [];
    let next = 0;
    try {
      m.buffers.forEach((descriptor, i) => {
        const own = fds.slice(next, next + counts[i]!);
        next += counts[i]!;
        buffers.push(fromDescriptor(descriptor, own, { forDrawing: true })); // takes ownership of `own`, even when it throws
      });
      const odd = buffers.find((b) => b.width !== m.width || b.height !== m.height || b.format.fourcc !== m.format);
      if (odd) {
        throw new BufshareError('ERR_BUFSHARE_PROTOCOL',
          `surface_buffers of ${m.width}x${m.height} format 0x${m.format.toString(16)} holds buffer ${odd.id} of ${odd.width}x${odd.height} format 0x${odd.format.fourcc.toString(16)}`);
      }
    } catch (e) {
      closeQuietly(fds.slice(next));
      for (const b of buffers) b.destroy();
      throw e;
    }
    return buffers;
  }

  private protocolFailure(error: BufshareError): void {
    this.failure ??= error;
    this.emit('error', error);
    this.connection.close(`invalid message from the server: ${error.message}`);
  }

  private onClose(reason: string): void {
    const final = this.closeReason ?? reason;
    this.closeReason = final;
    const error = new BufshareError('ERR_BUFSHARE_CONNECTION_CLOSED', `the connection closed: ${final}`);
    // A createSurface still waiting learns why: the server's invalid message, when that was it.
    for (const p of this.pending.values()) p.reject(this.failure ?? error);
    this.pending.clear();
    for (const queue of this.expected.values()) for (const e of queue) clearTimeout(e.timer);
    this.expected.clear();
    for (const s of [...this.surfaces.values()]) s.markDestroyed(error, final);
    this.surfaces.clear();
    this.emit('close', final);
  }
}
