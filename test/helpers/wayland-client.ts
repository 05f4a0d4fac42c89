// A raw Wayland client made with the codec's client side: it sends exactly the
// bytes and fds a test asks for (well-formed or not) and decodes what comes back.
import * as native from '../../lib/native';
import { WaylandConnection } from '../../lib/wayland/connection';
import * as core from '../../lib/wayland/protocol/wayland';
import * as xdg from '../../lib/wayland/protocol/xdg-shell';
import type { InterfaceSpec } from '../../lib/wayland/spec';
import { decodeArgs, encodeMessage, type ArgValue } from '../../lib/wayland/wire';

const INTERFACES = new Map<string, InterfaceSpec>([...Object.values(core), ...Object.values(xdg)].map((i) => [i.name, i]));

export interface WaylandEvent {
  readonly objectId: number;
  readonly interface: string;
  readonly name: string;
  readonly args: ArgValue[];
}

export class RawWaylandClient {
  readonly connection: WaylandConnection;
  readonly events: WaylandEvent[] = [];
  /** fds received with events (keymaps), closed by close(). */
  readonly receivedFds: number[] = [];
  closed = false;
  private readonly objects = new Map<number, InterfaceSpec>([[1, core.wl_display]]);
  private nextId = 2;
  /** Globals the registry announced: interface -> [name, version]. */
  readonly globals = new Map<string, [number, number]>();

  /** A dup of the socket, for sendRaw (the connection keeps its own). */
  private rawFd: number;

  /** Connects to `path`, or takes `fd`, a connected stream socket (one end of streamPair(): an in-process client). */
  constructor(path: string | { fd: number }) {
    const fd = typeof path === 'string' ? native.streamConnect(path) : path.fd;
    this.rawFd = native.dupFd(fd);
    this.connection = new WaylandConnection(fd);
    this.connection.onMessage = (h, body) => {
      const spec = this.objects.get(h.objectId);
      const msg = spec?.events[h.opcode];
      if (!spec || !msg) {
        // An object sendRaw made (the codec never saw its id): keep the event, undecoded.
        this.events.push({ objectId: h.objectId, interface: '?', name: `opcode ${h.opcode}`, args: [] });
        return;
      }
      const args = decodeArgs(msg, body, this.connection, this.receivedFds);
      // Objects the server makes (wl_data_device.data_offer): their events decode too.
      msg.args.forEach((a, i) => {
        const iface = a.type === 'new_id' && a.interface !== undefined ? INTERFACES.get(a.interface) : undefined;
        if (iface !== undefined && typeof args[i] === 'number') this.objects.set(args[i] as number, iface);
      });
      const e = { objectId: h.objectId, interface: spec.name, name: msg.name, args };
      if (spec.name === 'wl_registry' && msg.name === 'global') this.globals.set(args[1] as string, [args[0] as number, args[2] as number]);
      if (spec.name === 'wl_display' && msg.name === 'delete_id') this.objects.delete(args[0] as number);
      this.events.push(e);
    };
    this.connection.onClose = () => {
      this.closed = true;
    };
  }

  /** A new id for an object of `iface` (tracked, so its events decode). */
  newId(iface: InterfaceSpec): number {
    const id = this.nextId++;
    this.objects.set(id, iface);
    return id;
  }

  /** The id newId() will give next. */
  get nextObjectId(): number {
    return this.nextId;
  }

  /** Moves this client's next id past `id` (after raw messages that may have made objects below it). */
  skipIdsTo(id: number): void {
    this.nextId = Math.max(this.nextId, id);
  }

  /** Tracks an object the server made (its id from a new_id event), so its events decode. */
  track(id: number, iface: InterfaceSpec): number {
    this.objects.set(id, iface);
    return id;
  }

  /** Sends request `name` of object `id` (whose interface is `iface`). */
  request(id: number, iface: InterfaceSpec, name: string, args: ArgValue[]): void {
    const opcode = iface.requests.findIndex((r) => r.name === name);
    if (opcode < 0) throw new Error(`${iface.name} has no request ${name}`);
    this.connection.queue(encodeMessage(id, opcode, iface.requests[opcode]!, args));
  }

  /** Sends bytes as they are, with fds, in one sendmsg (through the seqpacket wrapper, which allows 64). */
  sendRaw(bytes: Uint8Array, fds: readonly number[] = []): void {
    this.connection.flush(); // what request() queued goes first
    const raw = native.openSeqPacket(native.dupFd(this.rawFd), () => {});
    try {
      raw.send(bytes, fds.length > 0 ? Int32Array.from(fds) : undefined);
    } finally {
      raw.close();
    }
  }

  /** wl_display.sync, and waits for its done (true) or the connection's end (false). Throws after timeoutMs. */
  async roundtrip(timeoutMs = 3000): Promise<boolean> {
    const cb = this.newId(core.wl_callback);
    this.request(1, core.wl_display, 'sync', [cb]);
    const done = (): boolean => this.events.some((e) => e.objectId === cb && e.name === 'done');
    await this.until(() => this.closed || done(), timeoutMs);
    return done();
  }

  async until(predicate: () => boolean, timeoutMs = 3000): Promise<void> {
    const start = Date.now();
    while (!predicate()) {
      if (Date.now() - start > timeoutMs) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 1));
    }
  }

  /** get_registry + roundtrip: fills `globals`. */
  async registry(): Promise<number> {
    const reg = this.newId(core.wl_registry);
    this.request(1, core.wl_display, 'get_registry', [reg]);
    await this.roundtrip();
    return reg;
  }

  /** Binds a global at `version` (default: the advertised one). */
  bind(registry: number, iface: InterfaceSpec, version?: number): number {
    const [name, advertised] = this.globals.get(iface.name) ?? [0, 0];
    const id = this.newId(iface);
    this.request(registry, core.wl_registry, 'bind', [name, { interface: iface.name, version: version ?? advertised, id }]);
    return id;
  }

  /**
   * A window as a client makes one: binds wl_compositor and xdg_wm_base, creates a
   * surface with an xdg_toplevel, commits it bare and acks the configure that comes back.
   */
  async configuredToplevel(registry: number): Promise<{ surface: number; xdgSurface: number; toplevel: number; compositor: number; wm: number }> {
    const compositor = this.bind(registry, core.wl_compositor);
    const wm = this.bind(registry, xdg.xdg_wm_base);
    const surface = this.newId(core.wl_surface);
    this.request(compositor, core.wl_compositor, 'create_surface', [surface]);
    const xdgSurface = this.newId(xdg.xdg_surface);
    this.request(wm, xdg.xdg_wm_base, 'get_xdg_surface', [xdgSurface, surface]);
    const toplevel = this.newId(xdg.xdg_toplevel);
    this.request(xdgSurface, xdg.xdg_surface, 'get_toplevel', [toplevel]);
    this.request(surface, core.wl_surface, 'commit', []);
    const configure = (): WaylandEvent | undefined => this.events.find((e) => e.objectId === xdgSurface && e.name === 'configure');
    await this.until(() => configure() !== undefined);
    this.request(xdgSurface, xdg.xdg_surface, 'ack_configure', [configure()!.args[0] as number]);
    return { surface, xdgSurface, toplevel, compositor, wm };
  }

  /** The wl_display.error the server sent, if any. */
  get error(): { objectId: number; code: number; message: string } | undefined {
    const e = this.events.find((x) => x.objectId === 1 && x.name === 'error');
    return e && { objectId: e.args[0] as number, code: e.args[1] as number, message: e.args[2] as string };
  }

  static interface(name: string): InterfaceSpec {
    return INTERFACES.get(name)!;
  }

  close(): void {
    this.connection.close();
    if (this.rawFd >= 0) native.closeFd(this.rawFd);
    this.rawFd = -1;
    for (const fd of this.receivedFds.splice(0)) native.closeFd(fd);
  }
}
