/**
 * DBusVmDisplay: a running qemu's screens through its D-Bus display
 * (`-display dbus,p2p=yes`), as a SurfaceSource: each graphic console is a
 * VmSurface, so followSource(scene, vm, tree) shows the guest like any window
 * and the scene's seat types and clicks into it.
 *
 * How it attaches (qemu 7.2, ui/dbus.c, ui/dbus-console.c, ui/dbus-listener.c):
 * 1. QMP `getfd` with one end of a socketpair, then `add_client
 *    protocol=@dbus-display fdname=...`: qemu serves org.qemu.Display1 on it,
 *    authenticating us (we are the SASL client).
 * 2. The VM's ConsoleIDs; per graphic console, `RegisterListener(h)` with one
 *    end of a second socketpair, on which qemu again authenticates us and then
 *    calls our org.qemu.Display1.Listener at /org/qemu/Display1/Listener:
 *    Scanout (the whole surface), Update (one damaged rectangle, its pixels in
 *    the message: the only copy is ours into the surface's buffer),
 *    CursorDefine, MouseSet, Disable; ScanoutDMABUF/UpdateDMABUF only with GL,
 *    which we do not ask for (answered NotSupported, the fd closed).
 * 3. Input goes back on the first connection: Keyboard.Press/Release (qnums,
 *    keymap.ts) and Mouse.SetAbsPosition (or RelMotion while the guest's mouse
 *    is relative, IsAbsolute false) / Press / Release on the console; a
 *    surface's configure(w, h) is Console.SetUIInfo (a size hint the guest's
 *    virtio-gpu driver turns into its preferred mode; bochs has none: qemu
 *    answers an error, reported as 'inputError').
 *
 * A listener's bad Scanout/Update (unknown format, a rectangle outside the
 * surface, too few bytes) gets an InvalidArgs error reply and changes nothing.
 */
import { EventEmitter } from 'eventemitter3';
import { DBusConnection, DBusErrorReply, Variant, type DBusInterfaceImpl, type DBusMessage } from '../dbus';
import { BufshareError } from '../errors';
import * as native from '../native';
import type { SurfaceOwner, SurfaceSourceEvents } from '../surface-model';
import { evdevToQnum } from './keymap';
import { formatFromPixman } from './pixman-format';
import { QmpClient } from './qmp';
import { MAX_VM_SURFACE_SIDE, VmSurface, type VmButton, type VmInput } from './vm-surface';

const VM_PATH = '/org/qemu/Display1/VM';
const LISTENER_PATH = '/org/qemu/Display1/Listener';
const PROPS = 'org.freedesktop.DBus.Properties';

/** qemu's InputButton numbers (the D-Bus Mouse interface's button values). */
const BUTTON_CODES: Record<VmButton, number> = { left: 0, middle: 1, right: 2, 'wheel-up': 3, 'wheel-down': 4, side: 5, extra: 6 };

export interface VmDisplayOptions {
  /** The qemu QMP monitor's timeout to greet us. Default 10 s. */
  readonly timeoutMs?: number;
  /** Bound on one D-Bus message from qemu (a Scanout holds the whole screen). Default 64 MiB. */
  readonly maxMessageBytes?: number;
}

export interface VmDisplayEvents extends SurfaceSourceEvents {
  /** qemu went away or the display connection broke; every surface is gone. */
  close: [reason: string];
  /** An input call qemu refused (the console lost its mouse, ...); input goes on. */
  inputError: [error: Error];
}

/** What the listener connection's counters say: for tests and the bench. */
export interface VmDisplayStats {
  scanouts: number;
  updates: number;
  /** Pixel bytes copied into the surfaces' buffers (the D-Bus route's one copy). */
  bytesCopied: number;
}

function invalidArgs(message: string): DBusErrorReply {
  return new DBusErrorReply('org.freedesktop.DBus.Error.InvalidArgs', message);
}

class Console implements VmInput {
  readonly path: string;
  surface: VmSurface;
  listener: DBusConnection | undefined;
  absolute = true;
  shown = false;
  private lastX = 0;
  private lastY = 0;

  constructor(readonly display: DBusVmDisplay, readonly id: number, label: string, owner: SurfaceOwner) {
    this.path = `/org/qemu/Display1/Console_${id}`;
    this.surface = new VmSurface(owner, label, this);
  }

  private send(iface: string, member: string, signature: string, body: unknown[]): void {
    this.display.connection.call({ path: this.path, interface: iface, member, signature, body })
      .catch((e: Error) => this.display.emit('inputError', e));
  }

  key(code: number, pressed: boolean): void {
    const qnum = evdevToQnum(code);
    if (qnum === undefined) return;
    this.send('org.qemu.Display1.Keyboard', pressed ? 'Press' : 'Release', 'u', [qnum]);
  }

  motion(x: number, y: number): void {
    if (this.absolute) {
      this.send('org.qemu.Display1.Mouse', 'SetAbsPosition', 'uu', [x, y]);
    } else if (x !== this.lastX || y !== this.lastY) {
      this.send('org.qemu.Display1.Mouse', 'RelMotion', 'ii', [x - this.lastX, y - this.lastY]);
    }
    this.lastX = x;
    this.lastY = y;
  }

  button(button: VmButton, pressed: boolean): void {
    this.send('org.qemu.Display1.Mouse', pressed ? 'Press' : 'Release', 'u', [BUTTON_CODES[button]]);
  }

  configure(width: number, height: number): void {
    // The physical size at 96 dpi: the guest derives its DPI from it (virtio-gpu passes it on as the EDID's).
    const mm = (px: number): number => Math.min(0xffff, Math.round((px * 25.4) / 96));
    this.send('org.qemu.Display1.Console', 'SetUIInfo', 'qqiiuu', [mm(width), mm(height), 0, 0, width, height]);
  }
}

export class DBusVmDisplay extends EventEmitter<VmDisplayEvents> {
  readonly stats: VmDisplayStats = { scanouts: 0, updates: 0, bytesCopied: 0 };
  private readonly consoles = new Map<number, Console>();
  private isClosed = false;
  /** 'surface' is emitted from the turn after attach() resolved: a console's first Scanout may come while the next one registers. */
  private announcing = false;

  /**
   * Attaches to the qemu whose QMP monitor listens at `qmpPath` (started with
   * `-display dbus,p2p=yes`). Resolves once every graphic console's listener is
   * registered; surfaces come with their first Scanout ('surface').
   */
  static async attach(qmpPath: string, options: VmDisplayOptions = {}): Promise<DBusVmDisplay> {
    const qmp = await QmpClient.connect(qmpPath, { timeoutMs: options.timeoutMs });
    let connection: DBusConnection | undefined;
    try {
      const [ours, theirs] = native.streamPair();
      const fdname = `bufshare-dbus-${process.pid}-${Date.now()}`;
      try {
        connection = DBusConnection.open(ours, { maxMessageBytes: 1024 * 1024 });
        await qmp.execute('getfd', { fdname }, [theirs]);
      } finally {
        native.closeFd(theirs);
      }
      await qmp.execute('add_client', { protocol: '@dbus-display', fdname });
      await connection.ready;
      const display = new DBusVmDisplay(qmp, connection, options);
      await display.start();
      // After the caller's continuation (a microtask) subscribed: the surfaces that came meanwhile, then the others as they come.
      setImmediate(() => display.announce());
      return display;
    } catch (e) {
      connection?.close('attach failed');
      qmp.close('attach failed');
      throw e;
    }
  }

  private constructor(readonly qmp: QmpClient, readonly connection: DBusConnection, private readonly options: VmDisplayOptions) {
    super();
    connection.on('close', (reason) => this.close(`the display connection closed: ${reason}`));
    qmp.on('close', (reason) => this.close(`QMP closed: ${reason}`));
    connection.on('signal', (m) => this.onSignal(m));
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** The consoles' surfaces (shown or not yet), by console id. */
  get surfaces(): readonly VmSurface[] {
    return [...this.consoles.values()].map((c) => c.surface);
  }

  private async property(path: string, iface: string, name: string): Promise<unknown> {
    const reply = await this.connection.call({ path, interface: PROPS, member: 'Get', signature: 'ss', body: [iface, name] });
    return (reply.body[0] as Variant).value;
  }

  private async start(): Promise<void> {
    const ids = await this.property(VM_PATH, 'org.qemu.Display1.VM', 'ConsoleIDs');
    const name = await this.property(VM_PATH, 'org.qemu.Display1.VM', 'Name').catch(() => '');
    if (!Array.isArray(ids)) throw new BufshareError('ERR_BUFSHARE_PROTOCOL', 'qemu: ConsoleIDs is not an array');
    // The display sockets are our socketpairs (their peer credentials are ours): qemu's pid is the monitor's peer.
    const owner: SurfaceOwner = { id: 0, pid: this.qmp.peerPid, name: typeof name === 'string' && name !== '' ? name : 'qemu' };
    for (const id of ids as number[]) {
      const path = `/org/qemu/Display1/Console_${id}`;
      const reply = await this.connection.call({ path, interface: PROPS, member: 'GetAll', signature: 's', body: ['org.qemu.Display1.Console'] });
      const props = reply.body[0] as Map<string, Variant>;
      if (props.get('Type')?.value !== 'Graphic') continue;
      const console = new Console(this, id, String(props.get('Label')?.value ?? `Console ${id}`), owner);
      console.absolute = (await this.property(path, 'org.qemu.Display1.Mouse', 'IsAbsolute').catch(() => false)) === true;
      this.consoles.set(id, console);
      await this.register(console);
    }
  }

  /** RegisterListener with a new socketpair; the listener connection authenticates while qemu waits for it. */
  private async register(console: Console): Promise<void> {
    const [ours, theirs] = native.streamPair();
    let listener: DBusConnection;
    try {
      listener = DBusConnection.open(ours, { maxMessageBytes: this.options.maxMessageBytes });
    } catch (e) {
      native.closeFd(theirs);
      throw e;
    }
    console.listener = listener;
    listener.exportObject(LISTENER_PATH, 'org.qemu.Display1.Listener', this.listenerImpl(console));
    listener.on('close', (reason) => this.consoleGone(console, `its listener connection closed: ${reason}`));
    const call = this.connection.call({ path: console.path, interface: 'org.qemu.Display1.Console', member: 'RegisterListener', signature: 'h', body: [theirs] });
    native.closeFd(theirs); // queued as a dup
    await call;
    await listener.ready;
  }

  private listenerImpl(console: Console): DBusInterfaceImpl {
    const surface = (): VmSurface => console.surface;
    return {
      properties: { Interfaces: () => new Variant('as', []) },
      methods: {
        Scanout: (m) => {
          const [width, height, stride, pixman, data] = m.body as [number, number, number, number, Uint8Array];
          if (m.signature !== 'uuuuay') throw invalidArgs(`Scanout(${m.signature})`);
          const format = this.format(pixman);
          if (width < 1 || height < 1 || width > MAX_VM_SURFACE_SIDE || height > MAX_VM_SURFACE_SIDE) throw invalidArgs(`Scanout ${width}x${height}`);
          checkPixels(width, height, stride, format.bpp, data, 'Scanout');
          const s = surface();
          s.scanout(width, height, format);
          s.writeRect(0, 0, width, height, data, stride);
          this.stats.scanouts++;
          this.stats.bytesCopied += width * height * format.bpp;
          if (!console.shown) {
            console.shown = true;
            // A source emits its surfaces' frames too (the model's contract, as the servers do).
            s.onFrame = (f) => this.emit('frame', f);
            if (this.announcing) this.emit('surface', s);
          }
          s.commit({ x: 0, y: 0, width, height });
        },
        Update: (m) => {
          if (m.signature !== 'iiiiuuay') throw invalidArgs(`Update(${m.signature})`);
          const [x, y, width, height, stride, pixman, data] = m.body as [number, number, number, number, number, number, Uint8Array];
          const s = surface();
          const format = this.format(pixman);
          if (!console.shown || s.width === 0) throw invalidArgs('Update before Scanout');
          if (format !== s.format) throw invalidArgs(`Update in ${format.name}, the scanout is ${s.format.name}`);
          if (x < 0 || y < 0 || width < 1 || height < 1 || x + width > s.width || y + height > s.height) {
            throw invalidArgs(`Update ${width}x${height}+${x}+${y} outside the ${s.width}x${s.height} scanout`);
          }
          checkPixels(width, height, stride, format.bpp, data, 'Update');
          s.writeRect(x, y, width, height, data, stride);
          this.stats.updates++;
          this.stats.bytesCopied += width * height * format.bpp;
          s.commit({ x, y, width, height });
        },
        ScanoutDMABUF: () => {
          // Its fd is closed after this (not taken). qemu only sends it with GL, which we never ask for.
          throw new DBusErrorReply('org.freedesktop.DBus.Error.NotSupported', 'no dma-buf scanouts on this listener');
        },
        UpdateDMABUF: () => {
          throw new DBusErrorReply('org.freedesktop.DBus.Error.NotSupported', 'no dma-buf scanouts on this listener');
        },
        Disable: () => {
          surface().disable();
        },
        MouseSet: (m) => {
          if (m.signature !== 'iii') throw invalidArgs(`MouseSet(${m.signature})`);
          const [x, y, on] = m.body as [number, number, number];
          this.guestPointer.set(console.id, { x, y, visible: on !== 0 });
          const s = surface();
          const cursor = s.cursor;
          if (on === 0 && cursor?.surface !== null) s.setCursor({ surface: null, hotspotX: 0, hotspotY: 0 });
          else if (on !== 0 && cursor?.surface === null) s.setCursor(this.cursors.get(console.id));
        },
        CursorDefine: (m) => {
          if (m.signature !== 'iiiiay') throw invalidArgs(`CursorDefine(${m.signature})`);
          const [width, height, hotX, hotY, data] = m.body as [number, number, number, number, Uint8Array];
          if (width < 1 || height < 1 || width > 512 || height > 512) throw invalidArgs(`CursorDefine ${width}x${height}`);
          checkPixels(width, height, width * 4, 4, data, 'CursorDefine');
          const image = new VmSurface(surface().client, 'cursor', undefined);
          image.scanout(width, height, formatFromPixman(0x20028888)); // "ARGB, 32-bit per pixel": PIXMAN_a8r8g8b8
          image.writeRect(0, 0, width, height, data, width * 4);
          image.commit({ x: 0, y: 0, width, height });
          const cursor = { surface: image, hotspotX: hotX, hotspotY: hotY };
          this.cursors.get(console.id)?.surface?.destroy('replaced');
          this.cursors.set(console.id, cursor);
          if (this.guestPointer.get(console.id)?.visible !== false) surface().setCursor(cursor);
        },
      },
    };
  }

  /** Where the guest last put its pointer (MouseSet), per console id. */
  readonly guestPointer = new Map<number, { x: number; y: number; visible: boolean }>();
  private readonly cursors = new Map<number, { surface: VmSurface; hotspotX: number; hotspotY: number }>();

  private format(pixman: number): ReturnType<typeof formatFromPixman> {
    try {
      return formatFromPixman(pixman);
    } catch (e) {
      throw invalidArgs((e as Error).message);
    }
  }

  private onSignal(m: DBusMessage): void {
    // The guest switched its mouse between absolute and relative (IsAbsolute changed).
    if (m.interface !== PROPS || m.member !== 'PropertiesChanged' || m.signature !== 'sa{sv}as') return;
    if (m.body[0] !== 'org.qemu.Display1.Mouse') return;
    const changed = m.body[1] as Map<string, Variant>;
    const abs = changed.get('IsAbsolute');
    if (abs === undefined) return;
    for (const c of this.consoles.values()) if (c.path === m.path) c.absolute = abs.value === true;
  }

  private announce(): void {
    if (this.isClosed) return;
    this.announcing = true;
    for (const c of this.consoles.values()) if (c.shown && !c.surface.destroyed) this.emit('surface', c.surface);
  }

  private consoleGone(console: Console, reason: string): void {
    if (!this.consoles.has(console.id)) return;
    this.consoles.delete(console.id);
    const announced = console.shown && this.announcing;
    console.surface.destroy(reason);
    this.cursors.get(console.id)?.surface.destroy(reason);
    if (announced) this.emit('surfaceDestroyed', console.surface);
  }

  /** Detaches: closes the listeners, the display connection and QMP; every surface is destroyed. Idempotent. */
  close(reason = 'closed'): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const c of [...this.consoles.values()]) {
      c.listener?.close(reason);
      this.consoleGone(c, reason);
    }
    this.connection.close(reason);
    this.qmp.close(reason);
    this.emit('close', reason);
  }
}

function checkPixels(width: number, height: number, stride: number, bpp: number, data: Uint8Array, what: string): void {
  if (stride < width * bpp) throw invalidArgs(`${what}: stride ${stride} is less than ${width} pixels of ${bpp} bytes`);
  const need = stride * (height - 1) + width * bpp;
  if (data.byteLength < need) throw invalidArgs(`${what}: ${data.byteLength} bytes for ${width}x${height} at stride ${stride} (needs ${need})`);
}
