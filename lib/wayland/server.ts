/**
 * WaylandServer: the front door for unmodified Wayland applications. Their
 * surfaces and frames reach the compositor through the same model bufshare's
 * own clients use (lib/surface-model.ts).
 *
 * How am I supposed to use this?
 *
 *   const wayland = WaylandServer.listen({ name: 'wayland-bufshare' });  // $XDG_RUNTIME_DIR/wayland-bufshare
 *   // WAYLAND_DISPLAY=wayland-bufshare foot
 *   wayland.on('surface', (s) => ...);     // a window: s.width, s.height, s.format, s.title
 *   wayland.on('frame', (f) => ...);       // f.region, f.damage; f.release(); f.surface.frameDone()
 *   surface.keyboard({ action: 'key', key: 30, pressed: true });
 *   await wayland.close();
 *
 * Globals: wl_compositor 5, wl_subcompositor 1, wl_shm 1, wl_output 4,
 * wl_seat 7 (pointer, keyboard), xdg_wm_base 5, wl_data_device_manager 3, wp_viewporter 1,
 * zxdg_output_manager_v1 3, wp_presentation 1 (feedback from the compositor's
 * frameDone(presentation): a scene output's present), and zwp_linux_dmabuf_v1 4
 * where a DRM node exists (LINEAR buffers the CPU can map).
 *
 * Access: the socket is 0600 and by default only our own uid may connect;
 * at most maxClients (64) through the socket, of which one uid at most 3/4.
 * Every client is untrusted (see client.ts); one that breaks the protocol gets
 * wl_display.error and is disconnected, alone. The bounds that keep one client
 * from taking the compositor down are listed in docs/reliability.md ("Bounds").
 */
import { guardShare } from '../mapping/guard-shares';
import { EventEmitter } from 'eventemitter3';
import { debug } from '../debug';
import { BufshareError } from '../errors';
import type { SurfaceKeyboardInput, SurfacePointerInput } from '../surface-model';
import { DISPLAY_ERROR, WaylandClient, type WaylandClientHost } from './client';
import { WaylandConnection } from './connection';
import { OutboundBudget } from './outbound-budget';
import type { Global } from './global';
import { compositorGlobal } from './globals/compositor';
import { Clipboard, compositorSource, dataDeviceGlobal, type ReadSelectionOptions } from './globals/data-device';
import { linuxDmabufGlobal, type DmabufGlobal } from './globals/linux-dmabuf';
import { listDrmNodes } from '../drm/nodes';
import { outputGlobal, type OutputGlobal, type OutputInfo } from './globals/output';
import { presentationGlobal } from './globals/presentation';
import { Seat } from './globals/seat';
import { shmGlobal } from './globals/shm';
import { subcompositorGlobal } from './globals/subcompositor';
import { xdgOutputGlobal } from './globals/xdg-output';
import { viewporterGlobal } from './globals/viewporter';
import { decorationGlobal } from './globals/xdg-decoration';
import * as decorationProtocol from './protocol/xdg-decoration';
import * as primarySelectionProtocol from './protocol/primary-selection';
import { primarySelectionGlobal } from './globals/primary-selection';
import * as singlePixelProtocol from './protocol/single-pixel-buffer';
import * as fractionalScaleProtocol from './protocol/fractional-scale';
import * as activationProtocol from './protocol/xdg-activation';
import * as idleInhibitProtocol from './protocol/idle-inhibit';
import { singlePixelBufferGlobal } from './globals/single-pixel-buffer';
import { fractionalScaleGlobal } from './globals/fractional-scale';
import { activationGlobal } from './globals/xdg-activation';
import { IdleInhibitors } from './globals/idle-inhibit';
import * as relativePointerProtocol from './protocol/relative-pointer';
import * as pointerConstraintsProtocol from './protocol/pointer-constraints';
import { relativePointerGlobal } from './globals/relative-pointer';
import { pointerConstraintsGlobal } from './globals/pointer-constraints';
import * as textInputProtocol from './protocol/text-input';
import * as textInputV1Protocol from './protocol/text-input-v1';
import { TextInputs } from './globals/text-input';
import { DragAndDrop } from './globals/drag-and-drop';
import * as cursorShapeProtocol from './protocol/cursor-shape';
import { cursorShapeGlobal } from './globals/cursor-shape';
import { xdgShellGlobal } from './globals/xdg-shell';
import { createKeymap, type Keymap } from './keymap';
import { WaylandListener } from './listener';
import * as protocols from './protocol/wayland';
import * as xdg from './protocol/xdg-shell';
import * as dmabufProtocol from './protocol/linux-dmabuf';
import * as syncobjProtocol from './protocol/linux-drm-syncobj';
import { linuxDrmSyncobjGlobal, probeExplicitSync, type SyncobjGlobal } from './globals/linux-drm-syncobj';
import * as presentationProtocol from './protocol/presentation-time';
import * as xdgOutputProtocol from './protocol/xdg-output';
import { wl_callback, wl_registry } from './protocol/wayland';
import { ProtocolError, type Implementation, type Resource } from './resource';
import type { InterfaceSpec } from './spec';
import type { SurfaceHost, WaylandFrame, WaylandSurface } from './surface';
import type { DynamicNewId } from './wire';
import * as native from '../native';
import { DEFAULT_FENCE_TIMEOUT_MS } from '../sync/implicit-fences';

/** How long a connection without a wl_surface must have said nothing before a full server lets it go for a new one. */
export const DEFAULT_IDLE_EVICT_MS = 500;

export interface WaylandServerOptions {
  /** Socket name in $XDG_RUNTIME_DIR, or an absolute path. Default 'wayland-bufshare'. */
  readonly name?: string;
  /** What wl_output describes. Default 1280x720 at 60 Hz. */
  readonly output?: Partial<OutputInfo>;
  /** uids allowed to connect; default only ours. */
  readonly allowUids?: readonly number[];
  /** Bytes queued for one client that does not read before it is disconnected. Default 4 MiB. */
  readonly maxOutboundBytes?: number;
  /**
   * Bytes queued for all clients together. Default 32 MiB (64 clients at 4 MiB
   * each would be 256 MiB). Past it, the client with the most queued is
   * disconnected first (outbound-budget.ts).
   */
  readonly maxOutboundBytesTotal?: number;
  /** Resources one client may hold. Default 10000. */
  readonly maxObjects?: number;
  /** Clients at once. Default 64. */
  readonly maxClients?: number;
  /**
   * Who draws windows' title bars and borders (zxdg_decoration_manager_v1):
   * 'server' when the compositor draws them (read CompositorSurface.decoration),
   * 'client' (default) when every window draws its own.
   */
  readonly decorations?: 'server' | 'client';
  /**
   * Clients one uid may have at once. Default 3/4 of maxClients (48 of 64): the
   * rest is kept for other uids, so one user's connection flood cannot lock the
   * others out. Clients the compositor hands in itself (accept() of one end of
   * its own streamPair()) count toward neither bound: they always get in.
   */
  readonly maxClientsPerUid?: number;
  /**
   * When a bound above refuses a connection, a client with no wl_surface that
   * has sent nothing for this long is disconnected to make room (the longest
   * idle first). Default DEFAULT_IDLE_EVICT_MS (500 ms). A client of the same uid that
   * keeps its connections talking, or gives each a surface, still fills its share:
   * processes of one uid are one user (docs/reliability.md).
   */
  readonly idleEvictMs?: number;
  /**
   * zwp_linux_dmabuf_v1: the DRM node whose dev_t is the main device, or false for
   * none. Default: the first render node (else card node) found; none without /dev/dri.
   */
  readonly dmabufDevice?: string | false;
  /**
   * wp_linux_drm_syncobj_manager_v1 (explicit sync) on the dmabufDevice: default
   * true, offered only where that device has timeline syncobjs and the kernel the
   * syncobj eventfd (6.6+); `explicitSyncUnavailable` says why not.
   */
  readonly explicitSync?: boolean;
  /**
   * How long a committed linux-dmabuf buffer's write fences may take to signal
   * before its client is ended (wl_display.error, 'clientError' with
   * ERR_BUFSHARE_TIMEOUT). Default DEFAULT_FENCE_TIMEOUT_MS, as the bufshare server's.
   */
  readonly fenceTimeoutMs?: number;
  /**
   * Advertise at most this version of a global, by interface name ({ xdg_wm_base: 3 }):
   * for clients that bind whatever version is advertised without handling its newer
   * events (weston 10's weston-presentation-shm aborts on xdg_toplevel.configure_bounds).
   */
  readonly maxGlobalVersions?: Readonly<Record<string, number>>;
}

/** The clipboard (wl_data_device) or the primary selection (zwp_primary_selection_v1). */
export type SelectionName = 'clipboard' | 'primary';

export interface WaylandServerEvents {
  client: [client: WaylandClient];
  disconnect: [client: WaylandClient, reason: string];
  surface: [surface: WaylandSurface];
  frame: [frame: WaylandFrame];
  surfaceDestroyed: [surface: WaylandSurface];
  /** A refused connection or a failed accept; the server goes on. */
  error: [error: BufshareError];
  /** Whether some client asks that the screen stay on (zwp_idle_inhibit_manager_v1) changed: read `idleInhibited`. */
  idleInhibit: [inhibited: boolean];
  /** The server ended a client for a reason outside the protocol's error codes (a dma-buf whose fences never signalled: ERR_BUFSHARE_TIMEOUT); 'disconnect' follows. */
  clientError: [client: WaylandClient, error: BufshareError];
}

export class WaylandServer extends EventEmitter<WaylandServerEvents> {
  /** What clients put in WAYLAND_DISPLAY. */
  readonly name: string;
  readonly path: string;
  readonly keymap: Keymap;
  private readonly listener: WaylandListener;
  private readonly globals: Global[] = [];
  /** The version each global is advertised at (its own, unless maxGlobalVersions caps it). */
  private readonly advertised = new Map<Global, number>();
  private readonly interfaces = new Map<string, InterfaceSpec>();
  private readonly clientSet = new Set<WaylandClient>();
  /** Clients the compositor handed in through accept(): outside the connection bounds. */
  private readonly unbounded = new Set<WaylandClient>();
  private readonly seat: Seat;
  private readonly clipboard = new Clipboard();
  private readonly primary = new Clipboard(primarySelectionProtocol.zwp_primary_selection_offer_v1);
  private readonly idle = new IdleInhibitors((inhibited) => this.emit('idleInhibit', inhibited));
  private readonly textInputs = new TextInputs();
  private readonly dnd: DragAndDrop;
  private readonly allowUids: ReadonlySet<number>;
  private readonly maxClients: number;
  private readonly maxClientsPerUid: number;
  private readonly idleEvictMs: number;
  private readonly host: WaylandClientHost;
  private readonly budget: OutboundBudget;
  private readonly maxOutboundBytes: number | undefined;
  private readonly epoch = performance.now();
  private serial = 0;
  private nextClientId = 1;
  private isClosed = false;
  private dmabuf: DmabufGlobal | undefined;
  private syncobj: SyncobjGlobal | undefined;
  /** Why wp_linux_drm_syncobj_manager_v1 is not offered, or undefined when it is. */
  readonly explicitSyncUnavailable: string | undefined;

  static listen(options: WaylandServerOptions = {}): WaylandServer {
    return new WaylandServer(options);
  }

  private constructor(options: WaylandServerOptions) {
    super();
    for (const spec of [
      ...Object.values(protocols), ...Object.values(xdg), ...Object.values(dmabufProtocol), ...Object.values(syncobjProtocol), ...Object.values(presentationProtocol), ...Object.values(xdgOutputProtocol), ...Object.values(decorationProtocol),
      ...Object.values(primarySelectionProtocol), ...Object.values(singlePixelProtocol), ...Object.values(fractionalScaleProtocol),
      ...Object.values(activationProtocol), ...Object.values(idleInhibitProtocol), ...Object.values(relativePointerProtocol), ...Object.values(pointerConstraintsProtocol),
      ...Object.values(textInputProtocol), ...Object.values(textInputV1Protocol), ...Object.values(cursorShapeProtocol),
    ]) this.interfaces.set(spec.name, spec);
    this.allowUids = new Set(options.allowUids ?? [process.getuid?.() ?? 0]);
    this.maxClients = options.maxClients ?? 64;
    this.budget = new OutboundBudget(options.maxOutboundBytesTotal ?? 32 * 1024 * 1024);
    this.maxOutboundBytes = options.maxOutboundBytes;
    this.maxClientsPerUid = options.maxClientsPerUid ?? Math.max(1, Math.floor((this.maxClients * 3) / 4));
    this.idleEvictMs = options.idleEvictMs ?? DEFAULT_IDLE_EVICT_MS;
    const fenceTimeoutMs = options.fenceTimeoutMs ?? DEFAULT_FENCE_TIMEOUT_MS;
    if (!Number.isFinite(fenceTimeoutMs) || fenceTimeoutMs < 0) {
      throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', `fenceTimeoutMs must be a non-negative number, got ${String(fenceTimeoutMs)}`);
    }
    this.keymap = createKeymap();
    const serials = { nextSerial: () => this.nextSerial() };
    const now = (): number => performance.now() - this.epoch;
    const output: OutputGlobal = outputGlobal({ width: 1280, height: 720, refreshMilliHz: 60000, name: 'BUFSHARE-1', ...options.output });
    this.seat = new Seat(this.keymap, serials, now, (client) => {
      this.clipboard.focusChanged(client);
      this.primary.focusChanged(client);
    });
    this.seat.onKeyboardSurface = (surface) => this.textInputs.keyboardFocus(surface);
    this.dnd = new DragAndDrop({ devicesOf: (c) => this.clipboard.devicesOf(c), nextSerial: () => this.nextSerial(), now });
    const surfaceHost: SurfaceHost = {
      announce: (s) => {
        this.emit('surface', s);
        this.idle.update();
      },
      frame: (f) => this.emit('frame', f),
      withdraw: (s) => {
        this.seat.forget(s);
        this.textInputs.surfaceGone(s);
        this.emit('surfaceDestroyed', s);
        this.idle.update();
      },
      pointer: (s, e: SurfacePointerInput) => this.seat.pointer(s, e),
      keyboard: (s, e: SurfaceKeyboardInput) => this.seat.keyboard(s, e),
      touch: (s, e) => this.seat.touch(s, e),
      cursorOf: (s) => this.seat.cursorOf(s.client),
      textInputs: this.textInputs,
      drag: this.dnd,
      outputsOf: (client) => output.resourcesOf(client),
      now,
      fenceTimeoutMs,
      fenceFailed: (s, error) => {
        const client = s.client;
        if (client.closed) return;
        this.emit('clientError', client, error);
        // No interface has an error code for this; wl_display's implementation error is what libwayland offers a compositor.
        client.fail(new ProtocolError(client.display, DISPLAY_ERROR.implementation, `${error.code}: wl_surface ${s.id}: ${error.message}`));
      },
    };
    this.globals.push(
      compositorGlobal(surfaceHost), subcompositorGlobal(), shmGlobal(), output, this.seat.global(),
      // Window sizes are in layout units: the mode's over the output's scale.
      xdgShellGlobal(serials, { width: Math.ceil(output.info.width / (output.info.scale ?? 1)), height: Math.ceil(output.info.height / (output.info.scale ?? 1)) }),
      dataDeviceGlobal(this.clipboard, this.dnd), primarySelectionGlobal(this.primary), viewporterGlobal(), decorationGlobal(options.decorations ?? 'client'),
      singlePixelBufferGlobal(), fractionalScaleGlobal(() => output.info.scale ?? 1), activationGlobal(), this.idle.global(),
      relativePointerGlobal({ add: (c, r) => this.seat.addRelativePointer(c, r) }), pointerConstraintsGlobal((s) => this.seat.hasPointer(s)),
      ...this.textInputs.globals(), cursorShapeGlobal(this.seat),
      xdgOutputGlobal(output), presentationGlobal(),
    );
    const nodes = listDrmNodes();
    const device = options.dmabufDevice ?? (nodes.find((n) => n.type === 'render') ?? nodes[0])?.path;
    if (device) {
      this.dmabuf = linuxDmabufGlobal({ device });
      this.globals.push(this.dmabuf);
    }
    this.explicitSyncUnavailable = this.offerExplicitSync(options.explicitSync === false ? undefined : device || undefined);
    for (const g of this.globals) {
      const cap = options.maxGlobalVersions?.[g.spec.name];
      if (cap !== undefined && (!Number.isInteger(cap) || cap < 1)) {
        throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', `maxGlobalVersions.${g.spec.name} must be an integer of at least 1, got ${String(cap)}`);
      }
      this.advertised.set(g, Math.min(g.version, cap ?? g.version));
    }
    this.host = {
      interfaces: this.interfaces,
      maxObjects: options.maxObjects ?? 10000,
      guardShare: guardShare(this.maxClients),
      displayImplementation: this.displayImplementation(),
      disconnected: (c, reason) => {
        this.clientSet.delete(c);
        this.unbounded.delete(c);
        this.seat.dropClient(c);
        this.clipboard.clientGone(c);
        this.primary.clientGone(c);
        this.emit('disconnect', c, reason);
      },
    };
    try {
      this.listener = new WaylandListener(options.name ?? 'wayland-bufshare');
    } catch (e) {
      this.keymap.close();
      this.dmabuf?.close();
      this.syncobj?.close();
      throw e;
    }
    this.name = this.listener.name;
    this.path = this.listener.path;
    this.listener.onConnection = (fd) => this.admit(fd, true);
    this.listener.onError = (e) => this.emit('error', e);
  }

  /** Opens `device` for explicit sync and offers the global if it can; the reason when not. */
  private offerExplicitSync(device: string | undefined): string | undefined {
    if (device === undefined) return 'no DRM device (or explicitSync: false)';
    let fd: number;
    try {
      fd = native.drmOpen(device);
    } catch (e) {
      return `${device}: ${(e as Error).message}`;
    }
    const why = probeExplicitSync(fd);
    if (why !== undefined) {
      native.closeFd(fd);
      return `${device}: ${why}`;
    }
    this.syncobj = linuxDrmSyncobjGlobal(fd);
    this.globals.push(this.syncobj);
    return undefined;
  }

  get clients(): ReadonlySet<WaylandClient> {
    return this.clientSet;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Bytes queued for all clients together, not yet sent (bounded by maxOutboundBytesTotal). */
  get queuedBytes(): number {
    return this.budget.queuedBytes;
  }

  /**
   * Accepts a connected SOCK_STREAM fd as a client: one end of streamPair() for
   * an in-process client (outside maxClients and maxClientsPerUid, as the
   * compositor's own). Takes ownership of fd.
   */
  accept(fd: number): WaylandClient | undefined {
    return this.admit(fd, false);
  }

  private admit(fd: number, bounded: boolean): WaylandClient | undefined {
    if (this.isClosed) {
      native.closeFd(fd);
      return undefined;
    }
    let connection: WaylandConnection;
    try {
      connection = new WaylandConnection(fd, { budget: this.budget, ...(this.maxOutboundBytes === undefined ? {} : { maxOutboundBytes: this.maxOutboundBytes }) });
    } catch (e) {
      this.emit('error', e instanceof BufshareError ? e : new BufshareError('ERR_BUFSHARE_SYSCALL', String(e)));
      return undefined;
    }
    const cred = connection.peerCredentials();
    let refusal = this.refusal(cred, bounded);
    // Full: a connection that has shown nothing and said nothing for a while makes room.
    if (refusal !== undefined && this.allowUids.has(cred.uid) && this.evictIdle(cred.uid, refusal)) refusal = this.refusal(cred, bounded);
    if (refusal !== undefined) {
      connection.close('refused');
      this.emit('error', new BufshareError('ERR_BUFSHARE_ACCESS_DENIED', `refused pid ${cred.pid}: ${refusal}`));
      return undefined;
    }
    const client = new WaylandClient(this.host, this.nextClientId++, connection);
    this.clientSet.add(client);
    if (!bounded) this.unbounded.add(client);
    this.emit('client', client);
    return client;
  }

  /**
   * At a bound (the server's clients, or one uid's), disconnects the counted
   * client that has had no wl_surface and sent no request for the longest, if
   * that is over idleEvictMs: 48 connections that connected and said nothing
   * locked every later client of their uid out (issue 23's held-out campaign:
   * the kiosk's own uid). True if one went.
   */
  private evictIdle(uid: number, refusal: string): boolean {
    const sameUidOnly = !refusal.startsWith('over ');
    const now = performance.now();
    let victim: WaylandClient | undefined;
    let longest = this.idleEvictMs;
    for (const c of this.clientSet) {
      if (this.unbounded.has(c) || c.closed || (sameUidOnly && c.uid !== uid)) continue;
      const idle = c.idleWithoutSurfaceMs(now);
      if (idle !== undefined && idle >= longest) {
        longest = idle;
        victim = c;
      }
    }
    if (victim === undefined) return false;
    debug('wayland', `client ${victim.id} (pid ${victim.pid}) disconnected: idle without a surface for ${Math.round(longest)} ms while the server was full (${refusal})`);
    victim.disconnect(`idle without a surface for ${Math.round(longest)} ms while the server was full`);
    return true;
  }

  /** Why a peer may not connect now, or undefined if it may. */
  private refusal(cred: native.PeerCredentials, bounded: boolean): string | undefined {
    if (!this.allowUids.has(cred.uid)) return `uid ${cred.uid} may not connect`;
    if (!bounded) return undefined;
    let total = 0;
    let sameUid = 0;
    for (const c of this.clientSet) {
      if (this.unbounded.has(c)) continue;
      total++;
      if (c.uid === cred.uid) sameUid++;
    }
    if (total >= this.maxClients) return `over ${this.maxClients} clients`;
    if (sameUid >= this.maxClientsPerUid) return `uid ${cred.uid} has ${sameUid} of ${this.maxClients} clients, its most (the rest is kept for other uids)`;
    return undefined;
  }

  /** The clipboard's mime types (what a client copied, or the compositor set), or undefined when nothing is copied. */
  get selectionMimeTypes(): readonly string[] | undefined {
    return this.clipboard.mimeTypes;
  }

  /** A client asks that the screen not blank (an idle inhibitor on a mapped surface): a kiosk's blanking timer waits. */
  get idleInhibited(): boolean {
    return this.idle.inhibited;
  }

  /** The primary selection's mime types (what a client selected), or undefined. */
  get primarySelectionMimeTypes(): readonly string[] | undefined {
    return this.primary.mimeTypes;
  }

  /**
   * The clipboard's data as `mime` (`'primary'`: the primary selection's): the
   * copying client writes it to us, as it would to a client pasting. Bounded
   * (16 MiB and 5 s by default): past them ERR_BUFSHARE_LIMIT_EXCEEDED or
   * ERR_BUFSHARE_TIMEOUT, and nothing is kept.
   */
  readSelection(mime: string, options?: ReadSelectionOptions & { readonly which?: SelectionName }): Promise<Buffer> {
    return this.selection(options?.which ?? 'clipboard').read(mime, options);
  }

  /** Puts the compositor's own data on the clipboard (by mime type: 'text/plain;charset=utf-8', ...), or on the primary selection; undefined clears it. */
  setSelection(data: Readonly<Record<string, string | Uint8Array>> | undefined, which: SelectionName = 'clipboard'): void {
    this.selection(which).set(data === undefined ? undefined : compositorSource(data));
  }

  private selection(which: SelectionName): Clipboard {
    if (which === 'clipboard') return this.clipboard;
    if (which === 'primary') return this.primary;
    throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', `a selection is 'clipboard' or 'primary', not ${String(which)}`);
  }

  /** Stops listening, disconnects every client (which frees everything they held) and removes the socket. Idempotent. */
  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    this.listener.close();
    for (const c of [...this.clientSet]) c.disconnect('the server is shutting down');
    this.keymap.close();
    this.dmabuf?.close();
    this.syncobj?.close();
  }

  private nextSerial(): number {
    this.serial = (this.serial + 1) >>> 0;
    return this.serial;
  }

  private displayImplementation(): Implementation<undefined> {
    return {
      sync: (r, [id]) => {
        const cb = r.client.create(id as number, wl_callback, 1, {}, undefined);
        cb.post('done', this.serial);
        cb.destroy();
      },
      get_registry: (r, [id]) => {
        const registry = r.client.create(id as number, wl_registry, 1, { bind: (reg, args) => this.bind(reg, args[0] as number, args[1] as DynamicNewId) }, undefined);
        this.globals.forEach((g, i) => registry.post('global', i + 1, g.spec.name, this.advertised.get(g)!));
      },
    };
  }

  private bind(registry: Resource<undefined>, name: number, id: DynamicNewId): void {
    const g = this.globals[name - 1];
    const display = registry.client.display;
    if (g === undefined) throw display.error(DISPLAY_ERROR.invalid_object, `invalid global ${name}`);
    if (id.interface !== g.spec.name) throw display.error(DISPLAY_ERROR.invalid_object, `invalid interface for global ${name}: ${id.interface}, not ${g.spec.name}`);
    const version = this.advertised.get(g)!;
    if (id.version < 1 || id.version > version) throw display.error(DISPLAY_ERROR.invalid_object, `invalid version for global ${g.spec.name} (${name}): have ${version}, wanted ${id.version}`);
    g.bind(registry.client, id.id, id.version);
  }
}
