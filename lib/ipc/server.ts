/**
 * BufferServer: the part a compositor embeds. It listens on a Unix socket,
 * allocates every buffer its clients draw into, and hands the compositor each
 * frame they submit.
 *
 * How am I supposed to use this?
 *
 *   const server = BufferServer.listen();                // $XDG_RUNTIME_DIR/bufshare-0
 *   server.on('frame', (frame) => {
 *     composite(frame.region, frame.damage);             // read what the client drew
 *     frame.release();                                   // the client may draw into it again
 *     frame.surface.frameDone();                         // and should draw its next frame
 *   });
 *   ...
 *   await server.close();                                // tells every client, frees everything
 *
 * Access: the socket file is 0600 and by default only the server's own uid may
 * connect (checked with SO_PEERCRED; `allowUids` widens it). Any client can be
 * hostile: see ServerClient for what is checked and what a violation costs it.
 *
 * Ownership: the server owns its socket, every client connection and every
 * buffer; close() releases all of them and removes the socket file. An
 * allocator passed in stays the caller's; the default one is closed with it.
 */
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { EventEmitter } from 'eventemitter3';
import { AutoAllocator } from '../probe/auto-allocator';
import type { Allocator } from '../allocator/types';
import { BufshareError } from '../errors';
import * as native from '../native';
import type { Frame } from './frame';
import { DEFAULT_LIMITS, encodeError, encodeGoodbye, type ClientLimits, type JsonValue } from './protocol';
import { DEFAULT_MAX_CLIENTS, ServerClient, type ServerClientHost } from './server-client';
import { guardShare } from '../mapping/guard-shares';
import type { ServerSurface } from './server-surface';
import { checkRuntimeDir, checkSocketDir, claimSocketPath, defaultSocketPath } from './socket-path';
import { Connection, Listener } from './transport';
import { dirname } from 'node:path';

export interface BufferServerOptions {
  /** Socket path; default `$XDG_RUNTIME_DIR/bufshare-0` (the runtime dir must then be 0700). */
  readonly path?: string;
  /** Where buffers come from; default an AutoAllocator. The caller keeps ownership of one passed in. */
  readonly allocator?: Allocator;
  /** Per-client limits; unset fields keep DEFAULT_LIMITS. */
  readonly limits?: Partial<ClientLimits>;
  /** uids allowed to connect; default only the server's own. */
  readonly allowUids?: readonly number[];
  /** Mode of the socket file; default 0o600. */
  readonly socketMode?: number;
  /**
   * How clients reach hardware buffers: 'auto' (default: the allocator maps
   * them directly where the driver can, through a shadow elsewhere) or
   * 'shadow' (forced: every hardware surface goes through a shm shadow whose
   * damage the server copies, to exercise that path or to avoid a driver's
   * broken direct mapping). Software buffers are always mapped directly.
   */
  readonly hardwareAccess?: 'auto' | 'shadow';
  /**
   * Milliseconds a submitted hardware buffer's implicit write fences (GPU work
   * still in flight) may take to signal before 'frame' is emitted; past it the
   * client is disconnected with ERR_BUFSHARE_TIMEOUT. Default 2000.
   */
  readonly fenceTimeoutMs?: number;
  /** Clients at once; default 64. Past it a connection is refused (ERR_BUFSHARE_ACCESS_DENIED). */
  readonly maxClients?: number;
  /**
   * Clients one uid may have at once; default 3/4 of maxClients (48 of 64), so
   * that one user's connections leave room for the others (where allowUids lets
   * several in). Past it a connection of that uid is refused.
   */
  readonly maxClientsPerUid?: number;
  /**
   * When a bound above refuses a connection, a client with no surface that has
   * sent nothing for this long (one that never said hello, too) is disconnected
   * to make room, the longest idle first. Default 500 ms, as WaylandServer's.
   */
  readonly idleEvictMs?: number;
}

export interface BufferServerEvents {
  client: [client: ServerClient];
  surface: [surface: ServerSurface];
  frame: [frame: Frame];
  surfaceDestroyed: [surface: ServerSurface];
  request: [surface: ServerSurface | undefined, client: ServerClient, payload: JsonValue];
  disconnect: [client: ServerClient, reason: string];
  /** A connection refused (uid) or a failure to accept; the server goes on. */
  error: [error: BufshareError];
}

function checkCount(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', `${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

function checkLimits(limits: Partial<ClientLimits> | undefined): ClientLimits {
  const out = { ...DEFAULT_LIMITS, ...limits };
  for (const [key, value] of Object.entries(out)) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', `limits.${key} must be a positive integer, got ${String(value)}`);
    }
  }
  return Object.freeze(out);
}

export class BufferServer extends EventEmitter<BufferServerEvents> {
  readonly path: string;
  readonly allocator: Allocator;
  readonly limits: ClientLimits;
  private readonly ownsAllocator: boolean;
  private readonly allowUids: ReadonlySet<number>;
  private readonly listener: Listener;
  private readonly socketIno: number;
  private readonly clientSet = new Set<ServerClient>();
  /** Destroyed surfaces whose buffers the compositor still holds (frames not yet released). */
  private readonly lingering = new Set<ServerSurface>();
  private readonly host: ServerClientHost;
  private nextClientId = 1;
  private readonly maxClients: number;
  private readonly maxClientsPerUid: number;
  private readonly idleEvictMs: number;
  private closing: Promise<void> | undefined;

  /**
   * Checks the runtime dir, claims the path (refusing a live server, removing a
   * stale socket) and listens. Throws ERR_BUFSHARE_RUNTIME_DIR or
   * ERR_BUFSHARE_ADDRESS_IN_USE with the reason. Synchronous, like
   * WaylandServer.listen: everything it does is a system call that does not
   * block, and a compositor opens its sockets before its loop runs.
   */
  static listen(options: BufferServerOptions = {}): BufferServer {
    return new BufferServer(options);
  }

  private constructor(options: BufferServerOptions) {
    super();
    this.limits = checkLimits(options.limits);
    this.maxClients = checkCount('maxClients', options.maxClients ?? DEFAULT_MAX_CLIENTS);
    this.maxClientsPerUid = checkCount('maxClientsPerUid', options.maxClientsPerUid ?? Math.max(1, Math.floor((this.maxClients * 3) / 4)));
    this.idleEvictMs = options.idleEvictMs ?? 500;
    const path = options.path ?? defaultSocketPath();
    if (options.path === undefined) checkRuntimeDir(dirname(path));
    else checkSocketDir(path);
    claimSocketPath(path);
    let listener: Listener;
    try {
      listener = new Listener(path);
    } catch (e) {
      if (e instanceof BufshareError && e.errno === 'EADDRINUSE') {
        throw new BufshareError('ERR_BUFSHARE_ADDRESS_IN_USE', `another server took ${path} first`, { cause: e });
      }
      throw e;
    }
    this.listener = listener;
    try {
      chmodSync(path, options.socketMode ?? 0o600);
      this.socketIno = lstatSync(path).ino;
    } catch (e) {
      listener.close();
      try {
        unlinkSync(path);
      } catch {
        // Never made it to the file system.
      }
      throw e;
    }
    this.path = path;
    this.ownsAllocator = options.allocator === undefined;
    // Software requests get shm; hardware requests the best backend the probe finds
    // (BUFSHARE_ALLOCATOR / BUFSHARE_ACCESS override), shm where there is none.
    this.allocator = options.allocator ?? new AutoAllocator();
    this.allowUids = new Set(options.allowUids ?? [process.getuid?.() ?? 0]);
    const server = this;
    this.host = {
      get closing(): boolean {
        return server.closing !== undefined;
      },
      allocator: this.allocator,
      limits: this.limits,
      guardShare: guardShare(this.maxClients),
      hardwareAccess: options.hardwareAccess ?? 'auto',
      ...(options.fenceTimeoutMs === undefined ? {} : { fenceTimeoutMs: options.fenceTimeoutMs }),
      surfaceCreated: (s) => this.emit('surface', s),
      frame: (f) => this.emit('frame', f),
      surfaceDestroyed: (s) => {
        if (s.heldBuffers > 0) this.lingering.add(s);
        this.emit('surfaceDestroyed', s);
      },
      surfaceDrained: (s) => this.lingering.delete(s),
      request: (s, c, p) => this.emit('request', s, c, p),
      disconnected: (c, reason) => {
        this.clientSet.delete(c);
        this.emit('disconnect', c, reason);
      },
    };
    listener.on('connection', (fd) => this.accept(fd));
    listener.on('error', (e) => this.emit('error', e));
  }

  get clients(): ReadonlySet<ServerClient> {
    return this.clientSet;
  }

  get closed(): boolean {
    return this.closing !== undefined;
  }

  private accept(fd: number): void {
    if (this.closing) {
      native.closeFd(fd);
      return;
    }
    let connection: Connection;
    try {
      connection = new Connection(fd, { maxQueuedBytes: this.limits.maxQueuedBytes });
    } catch (e) {
      // The connection owned the fd and closed it.
      this.emit('error', e instanceof BufshareError ? e : new BufshareError('ERR_BUFSHARE_SYSCALL', String(e)));
      return;
    }
    let credentials: native.PeerCredentials;
    try {
      credentials = connection.peerCredentials();
    } catch (e) {
      connection.close('no peer credentials');
      this.emit('error', e instanceof BufshareError ? e : new BufshareError('ERR_BUFSHARE_SYSCALL', String(e)));
      return;
    }
    if (!this.allowUids.has(credentials.uid)) {
      const message = `uid ${credentials.uid} may not connect to this server`;
      connection.send(encodeError('ERR_BUFSHARE_ACCESS_DENIED', message, true));
      connection.close(message);
      this.emit('error', new BufshareError('ERR_BUFSHARE_ACCESS_DENIED', `refused pid ${credentials.pid}: ${message}`));
      return;
    }
    let refusal = this.refusal(credentials.uid);
    // Full: a connection that has shown nothing and said nothing for a while makes room.
    if (refusal !== undefined && this.evictIdle(credentials.uid, refusal)) refusal = this.refusal(credentials.uid);
    if (refusal !== undefined) {
      connection.send(encodeError('ERR_BUFSHARE_ACCESS_DENIED', refusal, true));
      connection.close(refusal);
      this.emit('error', new BufshareError('ERR_BUFSHARE_ACCESS_DENIED', `refused pid ${credentials.pid}: ${refusal}`));
      return;
    }
    const client = new ServerClient(this.host, this.nextClientId++, connection, credentials);
    this.clientSet.add(client);
    this.emit('client', client);
  }

  /**
   * At a bound (the server's clients, or one uid's), disconnects the client that
   * has had no surface and sent nothing for the longest, if that is over
   * idleEvictMs: 60 connections that never said hello locked every later client
   * of their uid out (issue 23's held-out campaign). True if one went.
   */
  private evictIdle(uid: number, refusal: string): boolean {
    const sameUidOnly = refusal.startsWith('uid ');
    const now = performance.now();
    let victim: ServerClient | undefined;
    let longest = this.idleEvictMs;
    for (const c of this.clientSet) {
      if (sameUidOnly && c.uid !== uid) continue;
      const idle = c.idleWithoutSurfaceMs(now);
      if (idle !== undefined && idle >= longest) {
        longest = idle;
        victim = c;
      }
    }
    if (victim === undefined) return false;
    victim.disconnect(`idle without a surface for ${Math.round(longest)} ms while the server was full`);
    return true;
  }

  /** Why a client of `uid` may not connect now (the client caps), or undefined. */
  private refusal(uid: number): string | undefined {
    if (this.clientSet.size >= this.maxClients) return `the server has ${this.maxClients} clients, its most`;
    let sameUid = 0;
    for (const c of this.clientSet) if (c.uid === uid) sameUid++;
    if (sameUid >= this.maxClientsPerUid) return `uid ${uid} has ${sameUid} of ${this.maxClients} clients, its most (the rest is kept for other uids)`;
    return undefined;
  }

  /**
   * Stops listening, tells every client (`goodbye` with `reason`), disconnects
   * them, destroys every buffer and removes the socket file. Idempotent.
   */
  close(reason = 'the server is shutting down'): Promise<void> {
    this.closing ??= this.shutdown(reason);
    return this.closing;
  }

  private async shutdown(reason: string): Promise<void> {
    this.listener.close();
    const errors: unknown[] = [];
    for (const client of [...this.clientSet]) {
      try {
        client.sendMessage(encodeGoodbye(reason));
        client.disconnect(reason);
      } catch (e) {
        errors.push(e);
      }
    }
    for (const surface of this.lingering) surface.markDestroyed(true);
    this.lingering.clear();
    try {
      // Only our own socket: never a file another server put there since.
      if (lstatSync(this.path).ino === this.socketIno) unlinkSync(this.path);
    } catch {
      // Already gone.
    }
    if (this.ownsAllocator) this.allocator.close();
    if (errors.length > 0) throw errors[0];
  }
}
