/**
 * ServerClient: one connected client on the server, and the protocol state
 * machine that checks everything it sends.
 *
 * Trust: none. Every message is decoded and validated (protocol.ts), then
 * checked against this client's state: hello first and once, surfaces and
 * buffers that are its own (ids are per client, so it cannot even name another
 * client's), buffers it holds, limits. Any violation is answered with an error
 * message and the disconnect of this client only. fds a client sends are closed
 * at once: clients never hand the server fds.
 *
 * Ownership: the client's surfaces and their buffers are destroyed (every fd
 * closed, every mapping unmapped) when it disconnects, however it goes.
 */
import { EventEmitter } from 'eventemitter3';
import type { Allocator, SharedBuffer } from '../allocator/types';
import { BufshareError, isErrno, type ErrorCode } from '../errors';
import { resolveFormat, type FormatInfo } from '../format';
import { computeLayout } from '../layout';
import type { GraphicsRegion } from '../mapping/graphics-region';
import { HardwareBuffer } from '../allocator/hardware-buffer';
import { DEFAULT_FENCE_TIMEOUT_MS, implicitFencesSignalled, waitForImplicitFences } from '../sync/implicit-fences';
import { LingeringExports } from './lingering-exports';
import { clientShares } from './process-shares';
import * as native from '../native';
import { damageFromQuads } from './damage';
import { Frame } from './frame';
import {
  decodeClientMessage, encodeError, encodeSurfaceBuffers, encodeWelcome, MAX_ID, PROTOCOL_VERSION,
  type ClientLimits, type ClientMessage, type JsonValue,
} from './protocol';
import { ServerSurface, type BufferSlot } from './server-surface';
import type { Connection } from './transport';

/** Clients a BufferServer takes at once by default (BufferServerOptions.maxClients). */
export const DEFAULT_MAX_CLIENTS = 64;


export { DEFAULT_FENCE_TIMEOUT_MS };

/** What a ServerClient needs from its server. */
export interface ServerClientHost {
  /**
   * Guarded mappings (of unsealed shm buffers) one client may make the server
   * hold: its share of the SIGBUS guard's process-wide table
   * (lib/mapping/guard-shares.ts: the server's half over its maxClients), so that
   * no client, nor many connections of one user, can leave the others without.
   * Past it the client's allocation is refused.
   */
  readonly guardShare: number;
  readonly allocator: Allocator;
  readonly limits: ClientLimits;
  /** The server is closing: held buffers are destroyed too, not left for their release. */
  readonly closing: boolean;
  /** Client access asked of the allocator for hardware surfaces. */
  readonly hardwareAccess: 'auto' | 'shadow';
  /** How long a submitted hardware buffer's write fences may take to signal; default DEFAULT_FENCE_TIMEOUT_MS. */
  readonly fenceTimeoutMs?: number;
  surfaceCreated(surface: ServerSurface): void;
  frame(frame: Frame): void;
  surfaceDestroyed(surface: ServerSurface): void;
  /** A destroyed surface's last held buffer was released. */
  surfaceDrained(surface: ServerSurface): void;
  request(surface: ServerSurface | undefined, client: ServerClient, payload: JsonValue): void;
  disconnected(client: ServerClient, reason: string): void;
}

export interface ServerClientEvents {
  surface: [surface: ServerSurface];
  request: [surface: ServerSurface | undefined, payload: JsonValue];
  disconnect: [reason: string];
}

/** A client's fault: answered with an error message and a disconnect. */
class ClientFault extends BufshareError {}

function fault(code: ErrorCode, message: string): never {
  throw new ClientFault(code, message);
}

/** Error codes a client may be told about its own request; anything else is reported as a server failure. */
const CLIENT_ERROR_CODES: ReadonlySet<string> = new Set<ErrorCode>([
  'ERR_BUFSHARE_PROTOCOL', 'ERR_BUFSHARE_VERSION_MISMATCH', 'ERR_BUFSHARE_LIMIT_EXCEEDED', 'ERR_BUFSHARE_ACCESS_DENIED',
]);

/** Errors of an allocation the client asked for: reported to it without a disconnect (it may try something else). */
const ALLOCATION_ERROR_CODES: ReadonlySet<string> = new Set<ErrorCode>([
  'ERR_BUFSHARE_UNSUPPORTED_FORMAT', 'ERR_BUFSHARE_UNSUPPORTED_MODIFIER', 'ERR_BUFSHARE_INVALID_DIMENSIONS',
  'ERR_BUFSHARE_SIZE_OVERFLOW', 'ERR_BUFSHARE_NOT_AVAILABLE', 'ERR_BUFSHARE_UNSUPPORTED', 'ERR_BUFSHARE_SYSCALL',
]);

export class ServerClient extends EventEmitter<ServerClientEvents> {
  /** Unique in this server. */
  readonly id: number;
  /** Of the connecting process, from SO_PEERCRED. */
  readonly pid: number;
  readonly uid: number;
  readonly gid: number;
  private clientName: string | undefined;
  private readonly connection: Connection;
  private readonly host: ServerClientHost;
  private readonly byId = new Map<number, ServerSurface>();
  private readonly surfaceSet = new Set<ServerSurface>();
  private greeted = false;
  private nextBufferId = 1;
  private bufferCount = 0;
  private bufferBytes = 0;
  /** Dma-bufs of destroyed buffers the client may still hold: charged to its byte limit until it lets go. */
  private readonly lingering = new LingeringExports();
  /** Per surface, the last frame waiting for its buffer's fences (later frames wait behind it). */
  private readonly fenceWaits = new Map<ServerSurface, Promise<void>>();
  /** Read mappings of this client's buffers that hold a SIGBUS guard slot (see ServerClientHost.guardShare). */
  private guardedMappings = 0;
  /** Fds the server holds for this client's buffers, and their read mappings (see process-shares.ts). */
  private heldFds = 0;
  private readMappings = 0;
  private listenerThrew = false;
  private disconnectReason: string | undefined;
  private helloTimer: NodeJS.Timeout | undefined;
  /** performance.now() of its last message (its connection, before any). */
  private lastMessageAt = performance.now();

  /** @internal Made by BufferServer for each accepted connection. */
  constructor(host: ServerClientHost, id: number, connection: Connection, credentials: native.PeerCredentials) {
    super();
    this.host = host;
    this.id = id;
    this.connection = connection;
    this.pid = credentials.pid;
    this.uid = credentials.uid;
    this.gid = credentials.gid;
    connection.on('message', (data, fds) => {
      this.lastMessageAt = performance.now();
      this.onMessage(data, fds);
    });
    connection.on('malformed', (reason) => this.fail(new ClientFault('ERR_BUFSHARE_PROTOCOL', reason)));
    connection.on('close', (reason) => this.onClose(reason));
    this.helloTimer = setTimeout(() => {
      this.helloTimer = undefined;
      this.fail(new ClientFault('ERR_BUFSHARE_PROTOCOL', `no hello within ${host.limits.helloTimeoutMs} ms`));
    }, host.limits.helloTimeoutMs);
    this.helloTimer.unref();
  }

  /**
   * Milliseconds since its last message, when it has no surface (a connection
   * that shows nothing and says nothing: one that never said hello, too);
   * undefined otherwise. A full server may let it go for a new one.
   */
  idleWithoutSurfaceMs(now = performance.now()): number | undefined {
    return this.surfaceSet.size > 0 ? undefined : now - this.lastMessageAt;
  }

  /** The name the client gave in its hello, if any. */
  get name(): string | undefined {
    return this.clientName;
  }

  get surfaces(): ReadonlySet<ServerSurface> {
    return this.surfaceSet;
  }

  get connected(): boolean {
    return !this.connection.closed;
  }

  /** Why it went away, once it has. */
  get reason(): string | undefined {
    return this.disconnectReason;
  }

  /** Disconnects the client; with `error`, it is told why first. */
  disconnect(reason = 'disconnected by the server', error?: { code: ErrorCode; message: string }): void {
    if (this.connection.closed) return;
    if (!error) {
      this.connection.close(reason);
      return;
    }
    this.sendMessage(encodeError(error.code, error.message, true));
    this.connection.end(reason); // after the error is out, however full the client's queue was
  }

  /** @internal Sends a message; dropped (the connection closes) if the client stopped reading. */
  sendMessage(data: Uint8Array, fds?: readonly number[]): void {
    if (this.connection.closed) return;
    this.connection.send(data, fds);
  }

  /** @internal See ServerClientHost.surfaceDrained. */
  surfaceDrained(surface: ServerSurface): void {
    this.host.surfaceDrained(surface);
  }

  /** @internal Destroys one buffer and gives back its share of the limits. */
  destroySlot(slot: BufferSlot): void {
    if (slot.buffer.destroyed) return;
    this.bufferCount--;
    this.bufferBytes -= slot.buffer.size;
    const exported = slot.buffer instanceof HardwareBuffer && slot.buffer.verdict.exportsBuffer ? slot.buffer.dmabufFd : undefined;
    if (exported !== undefined && !this.connection.closed) {
      try {
        this.lingering.hold(exported, slot.buffer.size);
      } catch {
        // No fd left for a dup: the bytes go uncharged rather than the destroy failing.
      }
    }
    if (slot.readRegion?.guarded) this.guardedMappings--;
    this.readMappings -= slot.share.mappings;
    this.heldFds -= slot.share.fds;
    slot.readRegion = undefined;
    try {
      // Unmaps the read region too (the buffer tracks every region it handed out).
      slot.buffer.destroy();
    } catch {
      // A close that failed is still closed (Linux closes on EINTR too); nothing more to free.
    }
  }

  private onMessage(data: Uint8Array, fds: number[]): void {
    if (this.connection.closed) {
      for (const fd of fds) closeQuietly(fd);
      return;
    }
    try {
      if (fds.length > 0) {
        for (const fd of fds) closeQuietly(fd);
        fault('ERR_BUFSHARE_PROTOCOL', `clients may not send fds (${fds.length} received and closed)`);
      }
      this.dispatch(decodeClientMessage(data));
    } catch (e) {
      if (this.listenerThrew) {
        // The compositor's own listener threw: its bug, not the client's.
        this.listenerThrew = false;
        throw e;
      }
      this.fail(e);
    }
  }

  /** Calls into the compositor, marking any exception as its own. */
  private toCompositor(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.listenerThrew = true;
      throw e;
    }
  }

  private fail(e: unknown): void {
    if (this.connection.closed) return;
    let code: ErrorCode = 'ERR_BUFSHARE_PROTOCOL';
    let message = e instanceof Error ? e.message : String(e);
    if (e instanceof BufshareError && CLIENT_ERROR_CODES.has(e.code)) code = e.code;
    else if (!(e instanceof ClientFault)) message = `the server could not handle a message: ${message}`;
    this.disconnect(`${code}: ${message}`, { code, message });
  }

  private dispatch(m: ClientMessage): void {
    if (!this.greeted) {
      if (m.op !== 'hello') fault('ERR_BUFSHARE_PROTOCOL', `expected hello first, got ${m.op}`);
      if (m.version !== PROTOCOL_VERSION) {
        fault('ERR_BUFSHARE_VERSION_MISMATCH', `the server speaks protocol version ${PROTOCOL_VERSION}, the client ${m.version}`);
      }
      this.greeted = true;
      clearTimeout(this.helloTimer);
      this.helloTimer = undefined;
      this.clientName = m.name;
      this.sendMessage(encodeWelcome(this.id, this.host.limits));
      return;
    }
    switch (m.op) {
      case 'hello':
        return fault('ERR_BUFSHARE_PROTOCOL', 'hello sent twice');
      case 'create_surface':
        return this.createSurface(m);
      case 'submit':
        return this.submit(m);
      case 'resize':
        return this.resize(m);
      case 'destroy_surface':
        return this.destroySurface(this.surface(m.surface, 'destroy_surface'), 'destroyed by the client');
      case 'request': {
        const surface = m.surface === undefined ? undefined : this.surface(m.surface, 'request');
        this.toCompositor(() => {
          this.emit('request', surface, m.payload);
          this.host.request(surface, this, m.payload);
        });
        return;
      }
    }
  }

  private surface(id: number, what: string): ServerSurface {
    const s = this.byId.get(id);
    if (!s) fault('ERR_BUFSHARE_PROTOCOL', `${what}: no surface ${id}`);
    return s;
  }

  /** Allocates `count` buffers within the limits, or none (a failure destroys what was made). */
  private allocate(width: number, height: number, format: FormatInfo, usage: 'software' | 'hardware', count: number, freed: { count: number; bytes: number }): BufferSlot[] | BufshareError {
    const limits = this.host.limits;
    if (this.bufferCount - freed.count + count > limits.maxBuffers) {
      fault('ERR_BUFSHARE_LIMIT_EXCEEDED', `over the limit of ${limits.maxBuffers} buffers per client`);
    }
    // Refuse before allocating what the layout alone shows to be over the limit (allocators may pad more: checked again below).
    let estimate: number;
    try {
      estimate = computeLayout(width, height, format).size * count;
    } catch (e) {
      if (e instanceof BufshareError) return e; // SIZE_OVERFLOW: refused like any allocation failure
      throw e;
    }
    this.lingering.sweep();
    if (this.bufferBytes + this.lingering.bytes - freed.bytes + estimate > limits.maxBytes) {
      fault('ERR_BUFSHARE_LIMIT_EXCEEDED', `over the limit of ${limits.maxBytes} buffer bytes per client`);
    }
    const made: SharedBuffer[] = [];
    const destroyMade = (): void => {
      for (const b of made) {
        try {
          b.destroy();
        } catch {
          // Closed anyway.
        }
      }
    };
    try {
      // Software buffers are shared memory, always mapped directly: forcing a shadow applies to hardware ones.
      const access = usage === 'hardware' ? this.host.hardwareAccess : 'auto';
      for (let i = 0; i < count; i++) made.push(this.host.allocator.allocate({ width, height, format: format.name, usage, access }));
    } catch (e) {
      destroyMade();
      if (e instanceof BufshareError && ALLOCATION_ERROR_CODES.has(e.code)) return e;
      throw e;
    }
    const bytes = made.reduce((n, b) => n + b.size, 0);
    if (this.bufferBytes + this.lingering.bytes - freed.bytes + bytes > limits.maxBytes) {
      destroyMade();
      fault('ERR_BUFSHARE_LIMIT_EXCEEDED', `over the limit of ${limits.maxBytes} buffer bytes per client`);
    }
    if (this.nextBufferId + count > MAX_ID) {
      destroyMade();
      fault('ERR_BUFSHARE_LIMIT_EXCEEDED', 'out of buffer ids');
    }
    const fdsOf = made.map((b) => b.export().fds.length);
    const fds = fdsOf.reduce((n, f) => n + f, 0);
    const shares = clientShares();
    // Dups of kept exports are fds too: the client's share counts them.
    if (this.heldFds + this.lingering.count + fds > shares.fds) {
      destroyMade();
      return new BufshareError('ERR_BUFSHARE_LIMIT_EXCEEDED',
        `over this client's share of ${shares.fds} fds in the server (1/8 of its open-file limit)`);
    }
    const regions = this.mapForReading(made);
    if (regions instanceof BufshareError) {
      destroyMade();
      return regions;
    }
    const mapped = regions.filter((r) => r !== undefined).length;
    if (this.readMappings + mapped > shares.mappings) {
      for (const r of regions) r?.unmap();
      destroyMade();
      return new BufshareError('ERR_BUFSHARE_LIMIT_EXCEEDED',
        `over this client's share of ${shares.mappings} mappings in the server (1/8 of vm.max_map_count)`);
    }
    this.bufferCount += count;
    this.bufferBytes += bytes;
    this.guardedMappings += regions.filter((r) => r?.guarded).length;
    this.readMappings += mapped;
    this.heldFds += fds;
    return made.map((buffer, i) => ({ id: this.nextBufferId++, buffer, held: false, retired: false, readRegion: regions[i], staleShadow: undefined, share: { fds: fdsOf[i]!, mappings: regions[i] ? 1 : 0 } }));
  }

  /**
   * The compositor's read mappings of shm buffers, made now rather than at the
   * first frame.region: a mapping of an unsealed file (the shm fallback) takes a
   * slot of the SIGBUS guard's process-wide table, and when no slot is left (or
   * this client used its share) it is this client's allocation that fails, with
   * a clear error, never a later frame.region in a compositor that did nothing
   * wrong. Hardware buffers are mapped per use (a dma-buf mapping, the fallback,
   * takes a slot for the frame's life: bounded by the client's buffer count).
   */
  private mapForReading(buffers: readonly SharedBuffer[]): (GraphicsRegion | undefined)[] | BufshareError {
    const regions: (GraphicsRegion | undefined)[] = [];
    try {
      for (const b of buffers) regions.push(b.kind === 'shm' ? b.map({ mode: 'read' }) : undefined);
    } catch (e) {
      for (const r of regions) r?.unmap();
      if (isErrno(e, 'ENOSPC')) return new BufshareError('ERR_BUFSHARE_LIMIT_EXCEEDED', 'the server\'s SIGBUS guard table is full (too many unsealed shm buffers mapped)');
      throw e;
    }
    const guarded = regions.filter((r) => r?.guarded).length;
    if (this.guardedMappings + guarded > this.host.guardShare) {
      for (const r of regions) r?.unmap();
      return new BufshareError('ERR_BUFSHARE_LIMIT_EXCEEDED',
        `over this client's share of ${this.host.guardShare} guarded mappings (unsealed shm buffers, which the SIGBUS guard must watch)`);
    }
    return regions;
  }

  /** Sends the descriptors and fds of a surface's buffers (on creation and after a resize). */
  private sendBuffers(surface: ServerSurface, slots: readonly BufferSlot[]): void {
    const descriptors: unknown[] = [];
    const fds: number[] = [];
    for (const slot of slots) {
      const exported = slot.buffer.export();
      descriptors.push({ ...exported.descriptor, id: slot.id });
      fds.push(...exported.fds);
    }
    this.sendMessage(encodeSurfaceBuffers({ surface: surface.id, width: surface.width, height: surface.height, format: surface.format.fourcc, buffers: descriptors }), fds);
  }

  private createSurface(m: Extract<ClientMessage, { op: 'create_surface' }>): void {
    if (this.byId.has(m.surface)) fault('ERR_BUFSHARE_PROTOCOL', `create_surface: surface ${m.surface} already exists`);
    if (this.byId.size >= this.host.limits.maxSurfaces) {
      fault('ERR_BUFSHARE_LIMIT_EXCEEDED', `over the limit of ${this.host.limits.maxSurfaces} surfaces per client`);
    }
    let format: FormatInfo;
    try {
      format = resolveFormat(m.format);
    } catch (e) {
      this.sendMessage(encodeError('ERR_BUFSHARE_UNSUPPORTED_FORMAT', (e as Error).message, false, m.surface));
      return;
    }
    const slots = this.allocate(m.width, m.height, format, m.usage, m.bufferCount, { count: 0, bytes: 0 });
    if (slots instanceof BufshareError) {
      this.sendMessage(encodeError(slots.code, slots.message, false, m.surface));
      return;
    }
    const surface = new ServerSurface(this, m.surface, m.width, m.height, format, m.usage, slots);
    this.byId.set(m.surface, surface);
    this.surfaceSet.add(surface);
    this.sendBuffers(surface, slots);
    this.toCompositor(() => {
      this.emit('surface', surface);
      this.host.surfaceCreated(surface);
    });
  }

  private submit(m: Extract<ClientMessage, { op: 'submit' }>): void {
    const surface = this.surface(m.surface, 'submit');
    const slot = surface.slot(m.buffer);
    if (!slot) fault('ERR_BUFSHARE_PROTOCOL', `submit: surface ${m.surface} has no buffer ${m.buffer}`);
    if (slot.held) fault('ERR_BUFSHARE_PROTOCOL', `submit: buffer ${m.buffer} was submitted and not yet released: the client does not hold it`);
    // A buffer's memory went away under the server's mapping and the SIGBUS guard
    // turned it into zeros: an unsealed (fallback) shm file the client truncated,
    // or a hardware buffer whose dma-buf the client had its driver purge (or a
    // device unplugged). Like wl_shm's "error accessing SHM buffer", that ends
    // this client.
    const faulted = surface.allSlots.find((s) => s.buffer.faulted);
    if (faulted) fault('ERR_BUFSHARE_PROTOCOL', `submit: the memory of buffer ${faulted.id} was truncated or faulted under the server's mapping`);
    const damage = damageFromQuads(m.damage, surface.width, surface.height, this.host.limits.maxRectsPerSubmit);
    if (slot.buffer.access === 'shadow') surface.commitShadow(slot, damage);
    slot.held = true;
    const frame = new Frame(surface, slot, damage);
    // A buffer the client renders into directly may still be written by its GPU
    // (implicit sync): the compositor must not see the frame before the
    // dma-buf's write fences signal. Frames of a surface stay in order.
    const fenced = slot.buffer.access === 'direct' && slot.buffer instanceof HardwareBuffer ? slot.buffer.dmabufFd : undefined;
    const before = this.fenceWaits.get(surface);
    if (before === undefined && (fenced === undefined || implicitFencesSignalled(fenced, 'read'))) {
      this.deliverFrame(frame);
      return;
    }
    const timeoutMs = this.host.fenceTimeoutMs ?? DEFAULT_FENCE_TIMEOUT_MS;
    const ready = (before ?? Promise.resolve()).then(() => (fenced === undefined ? undefined : waitForImplicitFences(fenced, { access: 'read', timeoutMs })));
    const delivered: Promise<void> = ready.then(() => this.deliverFrame(frame), (e: unknown) => this.fenceFailed(frame, e)).finally(() => {
      if (this.fenceWaits.get(surface) === delivered) this.fenceWaits.delete(surface);
    });
    this.fenceWaits.set(surface, delivered);
  }

  /** Hands a frame to the compositor, or returns its buffer when nobody is left to show it to. */
  private deliverFrame(frame: Frame): void {
    if (this.connection.closed || frame.surface.destroyed) {
      frame.release();
      return;
    }
    try {
      this.toCompositor(() => {
        frame.surface.emit('frame', frame);
        this.host.frame(frame);
      });
    } catch (e) {
      if (this.fenceWaits.size === 0) throw e;
      process.nextTick(() => {
        throw e; // a compositor listener threw after a fence wait: as uncaught as when it throws synchronously
      });
    }
  }

  /** A submitted buffer's fences never signalled (or could not be waited for): that client's fault, never the compositor's hang. */
  private fenceFailed(frame: Frame, e: unknown): void {
    frame.release();
    const error = e instanceof BufshareError ? e : new BufshareError('ERR_BUFSHARE_TIMEOUT', String(e));
    this.disconnect(`${error.code}: ${error.message}`, { code: error.code, message: `buffer of surface ${frame.surface.id}: ${error.message}` });
  }

  private resize(m: Extract<ClientMessage, { op: 'resize' }>): void {
    const surface = this.surface(m.surface, 'resize');
    // The old buffers the compositor does not hold are freed by the resize; count them out.
    const freedSlots = surface.allSlots.filter((s) => !s.held);
    const freed = { count: freedSlots.length, bytes: freedSlots.reduce((n, s) => n + s.buffer.size, 0) };
    const slots = this.allocate(m.width, m.height, surface.format, surface.usage, surface.buffers.length, freed);
    if (slots instanceof BufshareError) {
      this.sendMessage(encodeError(slots.code, slots.message, false, m.surface));
      return;
    }
    surface.replaceSlots(m.width, m.height, slots);
    this.sendBuffers(surface, slots);
    this.toCompositor(() => surface.emit('resize', m.width, m.height));
  }

  private destroySurface(surface: ServerSurface, reason: string): void {
    this.byId.delete(surface.id);
    this.surfaceSet.delete(surface);
    if (!surface.markDestroyed(this.host.closing)) return;
    this.toCompositor(() => {
      surface.emit('destroy', reason);
      this.host.surfaceDestroyed(surface);
    });
  }

  private onClose(reason: string): void {
    this.disconnectReason = reason;
    clearTimeout(this.helloTimer);
    const errors: unknown[] = [];
    for (const surface of [...this.surfaceSet]) {
      try {
        this.destroySurface(surface, `client disconnected: ${reason}`);
      } catch (e) {
        errors.push(e);
      }
    }
    this.lingering.close(); // the client is gone: nobody left to charge
    this.emit('disconnect', reason);
    this.host.disconnected(this, reason);
    if (errors.length > 0) throw errors[0];
  }
}

function closeQuietly(fd: number): void {
  try {
    native.closeFd(fd);
  } catch {
    // Not ours any more.
  }
}
