/**
 * Resource: one protocol object of one client (a wl_surface, a wl_buffer...),
 * with its interface, the version the client bound, the code that handles its
 * requests and what it holds (`data`).
 *
 * Lifetime: a resource lives from the request that made it until a destructor
 * request, its client's disconnect, or the server destroying it (a wl_callback
 * after `done`); destroy() runs its onDestroy hooks once and, for client-made
 * ids, sends wl_display.delete_id so the client may reuse the id.
 */
import type { MessageSpec, InterfaceSpec } from './spec';
import { encodeMessage, type ArgValue } from './wire';
import type { WaylandClient } from './client';

/** A request handler: its decoded arguments, in signature order. fds among them are the handler's to keep or close. */
// Method syntax: handlers of any Resource<T> fit where Resource<unknown> is stored (bivariant parameters).
export type RequestHandler<T> = { handle(resource: Resource<T>, args: ArgValue[]): void }['handle'];

/** Handlers by request name. A request without a handler is accepted and ignored (destructors still destroy). */
export type Implementation<T> = Readonly<Record<string, RequestHandler<T>>>;

/** A request that breaks the protocol: answered with wl_display.error(object, code, message) and a disconnect. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  readonly objectId: number;
  readonly code: number;

  constructor(resource: { readonly id: number }, code: number, message: string) {
    super(message);
    this.objectId = resource.id;
    this.code = code;
  }
}

export class Resource<T = unknown> {
  readonly client: WaylandClient;
  readonly id: number;
  readonly spec: InterfaceSpec;
  readonly version: number;
  readonly implementation: Implementation<T>;
  data: T;
  private readonly destroyHooks: (() => void)[] = [];
  private isDestroyed = false;

  /** @internal Made by WaylandClient.create. */
  constructor(client: WaylandClient, id: number, spec: InterfaceSpec, version: number, implementation: Implementation<T>, data: T) {
    this.client = client;
    this.id = id;
    this.spec = spec;
    this.version = version;
    this.implementation = implementation;
    this.data = data;
  }

  get destroyed(): boolean {
    return this.isDestroyed;
  }

  /** Runs `hook` when the resource is destroyed (hooks run last-added first). */
  onDestroy(hook: () => void): void {
    this.destroyHooks.push(hook);
  }

  /** Sends event `name`; events newer than the bound version are not sent. A no-op once destroyed. */
  post(name: string, ...args: ArgValue[]): void {
    if (this.isDestroyed || this.client.closed) return;
    const opcode = this.spec.events.findIndex((e) => e.name === name);
    const spec: MessageSpec | undefined = this.spec.events[opcode];
    if (spec === undefined) throw new Error(`${this.spec.name} has no event ${name}`);
    if (spec.since > this.version) return;
    this.client.send(encodeMessage(this.id, opcode, spec, args));
  }

  /** True when the bound version has event `name`. */
  hasEvent(name: string): boolean {
    const spec = this.spec.events.find((e) => e.name === name);
    return spec !== undefined && spec.since <= this.version;
  }

  /** Destroys the resource (idempotent): hooks, then delete_id for a client-made id. */
  destroy(): void {
    if (this.isDestroyed) return;
    this.isDestroyed = true;
    for (let i = this.destroyHooks.length - 1; i >= 0; i--) this.destroyHooks[i]!();
    this.destroyHooks.length = 0;
    this.client.forget(this);
  }

  /** A ProtocolError on this object (throw it from a handler). */
  error(code: number, message: string): ProtocolError {
    return new ProtocolError(this, code, `${this.spec.name}@${this.id}: ${message}`);
  }
}
