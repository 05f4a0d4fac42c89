/**
 * WaylandClient: one connected Wayland client: its object map, the dispatch of
 * its requests, and its end.
 *
 * Trust: none. Every request is checked before a handler sees it: the object
 * exists, the opcode exists at the version the client bound, the arguments
 * decode (wire.ts), object arguments name live objects of the right interface,
 * new ids are free, in the client's range and at most one past the highest
 * used (libwayland's rule). Any violation, and any
 * ProtocolError a handler throws, is answered with wl_display.error and the
 * disconnect of this client only.
 *
 * Ownership: destroying the client destroys every resource it has (last made
 * first), whose hooks close the fds and drop the mappings they hold; the
 * connection closes the fds still queued.
 */
import { GuardAccount } from '../mapping/guard-shares';
import { readFileSync } from 'node:fs';
import type { SurfaceOwner } from '../surface-model';
import * as native from '../native';
import { WaylandConnection } from './connection';
import { wl_display } from './protocol/wayland';
import { ProtocolError, Resource, type Implementation } from './resource';
import type { InterfaceSpec } from './spec';
import { decodeArgs, WireError, type ArgValue, type Encoded, type Header } from './wire';

/** Client-made ids are below this; the server's own start here (libwayland's split). */
export const SERVER_ID_START = 0xff000000;

export const DISPLAY_ERROR = wl_display.enums.error as { invalid_object: number; invalid_method: number; no_memory: number; implementation: number };

/** What a client needs from its server. */
export interface WaylandClientHost {
  /** Interface specs by name, for object arguments' checks. */
  readonly interfaces: ReadonlyMap<string, InterfaceSpec>;
  /** Sets up wl_display (object 1) on a new client. */
  displayImplementation: Implementation<undefined>;
  disconnected(client: WaylandClient, reason: string): void;
  /** Resources a client may hold at once. */
  readonly maxObjects: number;
  /** Guarded mappings (SIGBUS guard slots) a client may make the server hold (lib/mapping/guard-shares.ts). */
  readonly guardShare: number;
}

function closeQuietly(fd: number): void {
  try {
    native.closeFd(fd);
  } catch {
    // Already closed.
  }
}

export class WaylandClient implements SurfaceOwner {
  readonly id: number;
  readonly pid: number;
  readonly uid: number;
  /** The process's name (/proc/<pid>/comm), for titles. */
  readonly name: string | undefined;
  readonly display: Resource<undefined>;
  /** This client's SIGBUS guard slots: its wl_shm pools' and linux-dmabuf buffers' mappings. */
  readonly guards: GuardAccount;
  private readonly connection: WaylandConnection;
  private readonly host: WaylandClientHost;
  private readonly objects = new Map<number, Resource<unknown>>();
  private nextServerId = SERVER_ID_START;
  /** The highest client-made id so far (wl_display is 1): a new id may be at most one past it. */
  private clientIdTop = 1;
  private isClosed = false;
  private closeReason = '';
  /** performance.now() of its last whole request (its connection, before any). */
  private lastRequestAt = performance.now();

  constructor(host: WaylandClientHost, id: number, connection: WaylandConnection) {
    this.host = host;
    this.id = id;
    this.guards = new GuardAccount(host.guardShare);
    this.connection = connection;
    const cred = connection.peerCredentials();
    this.pid = cred.pid;
    this.uid = cred.uid;
    let name: string | undefined;
    try {
      name = readFileSync(`/proc/${cred.pid}/comm`, 'utf8').trim() || undefined;
    } catch {
      name = undefined;
    }
    this.name = name;
    this.display = this.create(1, wl_display, 1, host.displayImplementation, undefined);
    connection.onMessage = (h, body) => {
      this.lastRequestAt = performance.now();
      this.dispatch(h, body);
    };
    connection.onWireError = (e) => this.fail(new ProtocolError(this.display, DISPLAY_ERROR.invalid_method, e.message));
    connection.onClose = (reason) => this.destroyAll(reason);
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Why it ended ('' while connected). */
  get reason(): string {
    return this.closeReason;
  }

  /**
   * What is queued for the client and not yet read by it: events the server
   * should hold back (the latest state later) rather than pile onto a client
   * that is slow to read, or have another client pile onto it.
   */
  get backlog(): { readonly bytes: number; readonly fds: number } {
    return { bytes: this.connection.queuedBytes, fds: this.connection.queuedOutboundFds };
  }

  /**
   * Milliseconds since its last whole request, when it has no wl_surface: a
   * connection that shows nothing and says nothing (undefined otherwise). A full
   * server may let such a connection go to take a new one (evictIdle).
   */
  idleWithoutSurfaceMs(now = performance.now()): number | undefined {
    for (const r of this.objects.values()) if (r.spec.name === 'wl_surface') return undefined;
    return now - this.lastRequestAt;
  }

  /** Live resources (wl_display included). */
  get objectCount(): number {
    return this.objects.size;
  }

  /** The live resource with this id, if any. */
  lookup(id: number): Resource<unknown> | undefined {
    return this.objects.get(id);
  }

  /** Makes a resource with a client-made id (checked by dispatch) or, with id 0, a server-made one. */
  create<T>(id: number, spec: InterfaceSpec, version: number, implementation: Implementation<T>, data: T): Resource<T> {
    const realId = id === 0 ? this.nextServerId++ : id;
    const resource = new Resource<T>(this, realId, spec, version, implementation, data);
    this.objects.set(realId, resource as Resource<unknown>);
    return resource;
  }

  /** @internal Called by Resource.destroy. */
  forget(resource: Resource<unknown>): void {
    if (this.objects.get(resource.id) !== resource) return;
    this.objects.delete(resource.id);
    if (resource.id < SERVER_ID_START && resource.id !== 1 && !this.isClosed) this.display.post('delete_id', resource.id);
  }

  /** @internal Queues an encoded event. */
  send(message: Encoded): void {
    if (!this.isClosed) this.connection.queue(message);
  }

  /** Sends wl_display.error for `error` and disconnects this client. */
  fail(error: ProtocolError): void {
    if (this.isClosed) return;
    this.display.post('error', error.objectId, error.code, error.message.slice(0, 3000));
    this.connection.flushAndClose(`protocol error: ${error.message}`);
  }

  /** Disconnects without an error (the server closing). */
  disconnect(reason: string): void {
    if (this.isClosed) return;
    this.connection.flushAndClose(reason);
  }

  private dispatch(header: Header, body: Uint8Array): void {
    if (this.isClosed) return;
    const resource = this.objects.get(header.objectId);
    if (resource === undefined) {
      this.fail(new ProtocolError(this.display, DISPLAY_ERROR.invalid_object, `invalid object ${header.objectId}`));
      return;
    }
    const spec = resource.spec.requests[header.opcode];
    if (spec === undefined || spec.since > resource.version) {
      this.fail(new ProtocolError(resource, DISPLAY_ERROR.invalid_method,
        `invalid method ${header.opcode} (since ${spec?.since ?? '-'}), object ${resource.spec.name}@${resource.id} version ${resource.version}`));
      return;
    }
    const taken: number[] = [];
    let args: ArgValue[];
    try {
      args = decodeArgs(spec, body, this.connection, taken);
      this.checkObjects(resource, spec.name, spec.args, args);
    } catch (e) {
      for (const fd of taken) closeQuietly(fd);
      if (e instanceof WireError) {
        this.fail(new ProtocolError(resource, DISPLAY_ERROR.invalid_method, `${resource.spec.name}.${e.message}`));
        return;
      }
      if (e instanceof ProtocolError) {
        this.fail(e);
        return;
      }
      throw e;
    }
    const handler = resource.implementation[spec.name];
    try {
      if (handler !== undefined) handler(resource, args);
      else for (const fd of taken) closeQuietly(fd);
      if (spec.destructor) resource.destroy();
    } catch (e) {
      if (e instanceof ProtocolError) {
        this.fail(e);
        return;
      }
      this.fail(new ProtocolError(this.display, DISPLAY_ERROR.implementation, `internal error in ${resource.spec.name}.${spec.name}: ${(e as Error).message}`));
    }
    if (this.objects.size > this.host.maxObjects && !this.isClosed) {
      this.fail(new ProtocolError(this.display, DISPLAY_ERROR.no_memory, `over ${this.host.maxObjects} objects`));
    }
  }

  private checkObjects(resource: Resource<unknown>, request: string, argSpecs: InterfaceSpec['requests'][number]['args'], args: ArgValue[]): void {
    argSpecs.forEach((a, i) => {
      const v = args[i];
      if (a.type === 'object' && typeof v === 'number' && v !== 0) {
        const target = this.objects.get(v);
        if (target === undefined || (a.interface !== undefined && target.spec.name !== a.interface)) {
          throw new ProtocolError(resource, DISPLAY_ERROR.invalid_object, `${resource.spec.name}.${request}: invalid object ${v} for ${a.name}`);
        }
      } else if (a.type === 'new_id') {
        const id = typeof v === 'number' ? v : (v as { id: number }).id;
        // libwayland's rule (wl_map_reserve_new): a free id at most one past the highest
        // used, so ids stay dense and an id far ahead cannot make the client's table sparse.
        if (id === 0 || id >= SERVER_ID_START || id > this.clientIdTop + 1 || this.objects.has(id)) {
          throw new ProtocolError(resource, DISPLAY_ERROR.invalid_object, `${resource.spec.name}.${request}: invalid new id ${id}`);
        }
        if (id > this.clientIdTop) this.clientIdTop = id;
      }
    });
  }

  private destroyAll(reason: string): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.closeReason = reason;
    const all = [...this.objects.values()].reverse();
    for (const r of all) {
      try {
        r.destroy();
      } catch {
        // A hook failed: the others must still run, so nothing leaks.
      }
    }
    this.objects.clear();
    this.host.disconnected(this, reason);
  }
}
