/**
 * A virtual machine's screen as surfaces: the compositor is the guest's GPU
 * (qemu `-device vhost-user-gpu-pci,chardev=...`), and each scanout the guest
 * sets is a CompositorSurface whose frames are the guest's own pages, mapped
 * zero copy. A SurfaceSource like BufferServer and WaylandServer, so
 * `followSource(scene, server, tree)` shows the guest with no special casing.
 *
 * How am I supposed to use this?
 *
 *   const vm = VhostGpuServer.listen('/run/user/1000/vm-gpu.sock', { width: 1024, height: 768 });
 *   followSource(scene, vm, scene.root);            // or vm.on('surface' | 'frame' | 'surfaceDestroyed')
 *   // qemu-system-x86_64 ... -object memory-backend-memfd,id=mem,size=1G,share=on -machine memory-backend=mem
 *   //   -chardev socket,id=gpu,path=/run/user/1000/vm-gpu.sock -device vhost-user-gpu-pci,chardev=gpu
 *   vm.setDisplaySize(1280, 800);                   // what the guest is offered from now on
 *   vm.stats.lastFrameBytesCopied                   // 0 on the zero-copy path
 *
 * qemu connects to our socket (its chardev is the client) and waits for us at
 * start-up. One front-end at a time: a second connection is refused while one
 * is there; when qemu goes (or restarts) its surfaces are destroyed, every fd
 * and mapping released, and the next connection starts afresh.
 *
 * Display size: GET_DISPLAY_INFO answers the size set here. qemu 7.2 keeps the
 * virtio-gpu config's events_read itself and drops a back-end's config-change
 * message ("unhandled backend config change"), so only qemu can tell the guest
 * to re-read it: its UI does so when its console is resized. setDisplaySize()
 * therefore stores the size and calls the optional `notifyDisplayChange` hook
 * (the VNC resize in lib/vm/vhost-display-event.ts, or a D-Bus console's
 * SetUIInfo), which makes qemu raise VIRTIO_GPU_EVENT_DISPLAY; the guest then
 * asks us and gets the new size.
 */
import { lstatSync, unlinkSync } from 'node:fs';
import { EventEmitter } from 'eventemitter3';
import { BufshareError } from '../errors';
import { GraphicsRegion } from '../mapping/graphics-region';
import * as native from '../native';
import { Region } from '../region';
import type { BufferKind, ClientAccess } from '../descriptor';
import type { FormatInfo } from '../format';
import type {
  CompositorFrame, CompositorSurface, CompositorSurfaceEvents, SurfaceKeyboardInput, SurfaceOwner, SurfacePointerInput, SurfaceSourceEvents, SurfaceSource,
} from '../surface-model';
import { VmInputForwarder } from './input-forwarder';
import type { VmInput } from './vm-surface';
import type { ViewPreference } from './guest-memory-view';
import { VhostUserBackend } from './vhost-user-backend';
import { QemuDisplayMirror } from './vhost-gpu-display';
import { VirtioGpuDevice, type CursorUpdate, type ScanoutFlush } from './virtio-gpu-device';

export interface VhostGpuServerOptions {
  /** The display size offered to the guest's first scanout (default 1024x768). */
  readonly width?: number;
  readonly height?: number;
  /** Scanouts (qemu's max_outputs must agree; default 1). */
  readonly numScanouts?: number;
  /** How backing pages become one view: 'auto' (udmabuf where /dev/udmabuf exists, else mmap), 'mmap' or 'udmabuf'. */
  readonly view?: ViewPreference;
  /**
   * Also show the guest on qemu's own display (its console, VNC, screendump) by
   * sending it each scanout and damaged rectangle on the GPU socket: a copy, off
   * by default, counted in `stats.bytesSentToQemu` (lib/vm/vhost-gpu-display.ts).
   */
  readonly mirrorToQemu?: boolean;
  /** Called by setDisplaySize() to make the front-end raise VIRTIO_GPU_EVENT_DISPLAY (see the module comment). */
  readonly notifyDisplayChange?: (scanout: number, width: number, height: number) => void | Promise<void>;
  /**
   * Where each screen's keys and pointer go: qemu owns the guest's input devices
   * on this route, so `qmpInput(qmp)` (lib/vm/qmp-input.ts) sends them through
   * its monitor. Without it the surfaces take no input.
   */
  readonly input?: (screen: { readonly width: number; readonly height: number }) => VmInput | undefined;
}

export interface VhostGpuStats {
  /** Frames emitted since the server started. */
  frames: number;
  /** Bytes copied to make frames, in all (0 while every resource is zero copy). */
  bytesCopied: number;
  /** Bytes copied for the last frame. */
  lastFrameBytesCopied: number;
  /** Resources whose backing became a zero-copy view, and those copied instead. */
  zeroCopyResources: number;
  copiedResources: number;
  /** Descriptor chains refused as malformed; commands answered with an error. */
  badChains: number;
  commandErrors: number;
  /** Pixel bytes copied to qemu's own display (mirrorToQemu only; never part of a frame). */
  bytesSentToQemu: number;
  /** Front-ends that connected; connections refused while one was there. */
  connections: number;
  refused: number;
}

export interface VhostGpuServerEvents extends SurfaceSourceEvents {
  /** A front-end connected (its pid from SO_PEERCRED). */
  connect: [pid: number];
  /** It went; `error` when we ended it for a protocol error. */
  disconnect: [reason: string, error: BufshareError | undefined];
  /** A ring stopped on a guest's or front-end's error; the connection goes on. */
  error: [error: BufshareError];
}

let nextOwnerId = 1;

class VmSurface extends EventEmitter<CompositorSurfaceEvents> implements CompositorSurface {
  readonly id: number;
  readonly client: SurfaceOwner;
  readonly kind: BufferKind = 'shm';
  readonly access: ClientAccess = 'direct';
  readonly title: string | undefined;
  readonly appId = 'qemu-vhost-user-gpu';
  width: number;
  height: number;
  format: FormatInfo;
  destroyed = false;
  cursor: { readonly surface: CompositorSurface | null; readonly hotspotX: number; readonly hotspotY: number } | undefined;
  /** Where the guest last put its pointer (MOVE_CURSOR/UPDATE_CURSOR), scanout coordinates. */
  guestPointer: { x: number; y: number } | undefined;
  /** Every frame after a new scanout or size is whole. */
  needsFull = true;

  constructor(id: number, client: SurfaceOwner, width: number, height: number, format: FormatInfo, title: string) {
    super();
    this.id = id;
    this.client = client;
    this.width = width;
    this.height = height;
    this.format = format;
    this.title = title;
  }

  frameDone(): void {
    // The guest is not paced by our presents: its flush was answered when done.
  }

  /** Set by the server from its `input` option. */
  forwarder: VmInputForwarder | undefined;

  pointer(event: SurfacePointerInput): void {
    if (!this.destroyed) this.forwarder?.pointer(event, this.width, this.height);
  }

  keyboard(event: SurfaceKeyboardInput): void {
    if (!this.destroyed) this.forwarder?.keyboard(event);
  }

  destroy(reason: string): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.emit('destroy', reason);
  }
}

class VmFrame implements CompositorFrame {
  readonly surface: CompositorSurface;
  readonly damage: Region;
  readonly region: GraphicsRegion;
  /** Bytes copied to make this frame (0: the guest's pages themselves). */
  readonly bytesCopied: number;
  private done = false;
  private readonly onRelease: () => void;

  constructor(surface: CompositorSurface, damage: Region, region: GraphicsRegion, bytesCopied: number, onRelease: () => void) {
    this.surface = surface;
    this.damage = damage;
    this.region = region;
    this.bytesCopied = bytesCopied;
    this.onRelease = onRelease;
  }

  get released(): boolean {
    return this.done;
  }

  release(): void {
    if (this.done) return;
    this.done = true;
    this.onRelease();
  }
}

export class VhostGpuServer extends EventEmitter<VhostGpuServerEvents> implements SurfaceSource {
  readonly path: string;
  readonly stats: VhostGpuStats = {
    frames: 0, bytesCopied: 0, lastFrameBytesCopied: 0, zeroCopyResources: 0, copiedResources: 0, badChains: 0, commandErrors: 0, bytesSentToQemu: 0, connections: 0, refused: 0,
  };
  private mirror: QemuDisplayMirror | undefined;
  private mirroredBytes = 0;
  private readonly listening: native.StreamSocket;
  private readonly options: VhostGpuServerOptions;
  private readonly sizes: ({ width: number; height: number } | undefined)[];
  private backend: VhostUserBackend | undefined;
  private surfaces: (VmSurface | undefined)[] = [];
  private cursorSurfaces: (VmSurface | undefined)[] = [];
  private closed = false;

  private constructor(path: string, fd: number, options: VhostGpuServerOptions) {
    super();
    this.path = path;
    this.options = options;
    const n = Math.max(1, Math.min(16, options.numScanouts ?? 1));
    this.sizes = Array.from({ length: n }, (_, i) => (i === 0 ? { width: options.width ?? 1024, height: options.height ?? 768 } : undefined));
    this.listening = native.openStream(fd, () => this.onAcceptable());
    this.listening.poll(native.constants.POLL_READABLE);
  }

  /** Listens at `path` (a stale socket file there is replaced; anything else is refused). */
  static listen(path: string, options: VhostGpuServerOptions = {}): VhostGpuServer {
    for (const [k, v] of [['width', options.width], ['height', options.height]] as const) {
      if (v !== undefined && (!Number.isInteger(v) || v < 1 || v > 16384)) throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', `${k} must be 1..16384, got ${v}`);
    }
    try {
      if (lstatSync(path).isSocket()) unlinkSync(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    const fd = native.streamListen(path, 4);
    return new VhostGpuServer(path, fd, options);
  }

  /** The front-end is connected. */
  get connected(): boolean {
    return this.backend !== undefined && !this.backend.isClosed;
  }

  /** The live backend (tests: its negotiated features, request counts and guest memory). */
  get connection(): VhostUserBackend | undefined {
    return this.backend;
  }

  /** Surfaces showing now, by scanout. */
  get scanoutSurfaces(): readonly (CompositorSurface | undefined)[] {
    return this.surfaces;
  }

  /**
   * The size offered to the guest for `scanout` (GET_DISPLAY_INFO) from now on,
   * and, through `notifyDisplayChange`, the event that makes the guest ask.
   * Returns the hook's promise (resolved at once without one).
   */
  setDisplaySize(width: number, height: number, scanout = 0): Promise<void> {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || width > 16384 || height > 16384) {
      throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', `display size must be 1..16384 a side, got ${width}x${height}`);
    }
    if (!Number.isInteger(scanout) || scanout < 0 || scanout >= this.sizes.length) throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', `no scanout ${scanout}`);
    this.sizes[scanout] = { width, height };
    this.backend?.device.setDisplaySize(scanout, { width, height });
    return Promise.resolve(this.options.notifyDisplayChange?.(scanout, width, height));
  }

  displaySize(scanout = 0): { width: number; height: number } | undefined {
    return this.sizes[scanout];
  }

  /** Stops listening, ends the connection, destroys every surface; unlinks the socket. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.listening.close();
    this.backend?.close('server closed');
    try {
      unlinkSync(this.path);
    } catch {
      // gone already
    }
  }

  private onAcceptable(): void {
    for (;;) {
      let fd: number;
      try {
        fd = this.listening.accept();
      } catch {
        return;
      }
      if (fd < 0) return;
      if (this.connected || this.closed) {
        this.stats.refused++;
        native.closeFd(fd);
        continue;
      }
      this.attach(fd);
    }
  }

  private attach(fd: number): void {
    const device = new VirtioGpuDevice(() => backend.guestMemory, { numScanouts: this.sizes.length, displaySizes: this.sizes, view: this.options.view });
    const backend: VhostUserBackend = new VhostUserBackend(fd, device);
    this.backend = backend;
    this.stats.connections++;
    const owner: SurfaceOwner = { id: nextOwnerId++, pid: backend.peerPid, name: 'qemu (vhost-user-gpu)' };
    device.on('scanout', (i, state) => {
      const had = this.surfaces[i];
      if (state === undefined) {
        if (had !== undefined) had.emit('unmap');
        return;
      }
      if (had === undefined || had.destroyed) {
        const s = new VmSurface(i + 1, owner, state.rect.width, state.rect.height, state.format, `virtual machine, scanout ${i}`);
        const input = this.options.input?.(s);
        if (input !== undefined) s.forwarder = new VmInputForwarder(input);
        this.surfaces[i] = s;
        this.emit('surface', s);
      } else if (had.width !== state.rect.width || had.height !== state.rect.height || had.format !== state.format) {
        had.width = state.rect.width;
        had.height = state.rect.height;
        had.format = state.format;
        had.needsFull = true;
        had.emit('resize', had.width, had.height);
      } else {
        had.needsFull = true;
      }
    });
    device.on('flush', (f) => {
      if (this.mirror !== undefined && !this.mirror.isClosed) {
        this.mirror.update(f.scanout, f.damage, f);
        this.stats.bytesSentToQemu = this.mirroredBytes + this.mirror.bytesSent;
      }
      this.onFlush(f);
    });
    if (this.options.mirrorToQemu) {
      backend.on('gpuSocket', (fd) => {
        this.closeMirror();
        this.mirror = new QemuDisplayMirror(native.dupFd(fd));
        for (let i = 0; i < this.sizes.length; i++) {
          const st = device.scanoutState(i);
          if (st !== undefined) this.mirror.scanout(i, st.rect.width, st.rect.height);
        }
      });
      device.on('scanout', (i, state) => this.mirror?.scanout(i, state?.rect.width ?? 0, state?.rect.height ?? 0));
    }
    device.on('cursor', (c) => this.onCursor(owner, c));
    backend.on('error', (e) => this.emit('error', e));
    backend.once('close', (reason, error) => {
      this.closeMirror();
      const s = device.stats;
      this.stats.zeroCopyResources += s.zeroCopyResources;
      this.stats.copiedResources += s.copiedResources;
      this.stats.badChains += s.badChains;
      this.stats.commandErrors += s.errors;
      for (const surface of [...this.surfaces, ...this.cursorSurfaces]) {
        if (surface === undefined) continue;
        surface.destroy(reason);
        if (this.surfaces.includes(surface)) this.emit('surfaceDestroyed', surface);
      }
      this.surfaces = [];
      this.cursorSurfaces = [];
      if (this.backend === backend) this.backend = undefined;
      this.emit('disconnect', reason, error);
    });
    this.emit('connect', owner.pid);
  }

  private closeMirror(): void {
    if (this.mirror === undefined) return;
    this.mirroredBytes += this.mirror.bytesSent;
    this.stats.bytesSentToQemu = this.mirroredBytes;
    this.mirror.close();
    this.mirror = undefined;
  }

  /** Live device counters folded into the totals (read through `liveStats`). */
  get liveStats(): VhostGpuStats {
    const d = this.backend?.device.stats;
    if (d === undefined) return { ...this.stats };
    return {
      ...this.stats,
      zeroCopyResources: this.stats.zeroCopyResources + d.zeroCopyResources,
      copiedResources: this.stats.copiedResources + d.copiedResources,
      badChains: this.stats.badChains + d.badChains,
      commandErrors: this.stats.commandErrors + d.errors,
    };
  }

  private onFlush(f: ScanoutFlush): void {
    const surface = this.surfaces[f.scanout];
    if (surface === undefined || surface.destroyed) {
      f.view?.unref();
      return;
    }
    const region = new GraphicsRegion(f.memory, { width: f.width, height: f.height, stride: f.stride, format: f.format, offset: f.offset }, 'read', 'direct', () => {});
    const damage = surface.needsFull ? Region.full(f.width, f.height) : Region.of(f.damage);
    surface.needsFull = false;
    const frame = new VmFrame(surface, damage, region, f.bytesCopied, () => f.view?.unref());
    this.stats.frames++;
    this.stats.bytesCopied += f.bytesCopied;
    this.stats.lastFrameBytesCopied = f.bytesCopied;
    surface.emit('frame', frame);
    this.emit('frame', frame);
    if (surface.listenerCount('frame') === 0 && this.listenerCount('frame') === 0) frame.release();
  }

  private onCursor(owner: SurfaceOwner, c: CursorUpdate): void {
    const surface = this.surfaces[c.scanout];
    if (surface === undefined) return;
    surface.guestPointer = { x: c.x, y: c.y };
    if (c.image === undefined) return;
    if (c.image === null) {
      surface.cursor = { surface: null, hotspotX: 0, hotspotY: 0 };
      surface.emit('cursor');
      return;
    }
    const img = c.image;
    let cs = this.cursorSurfaces[c.scanout];
    if (cs === undefined || cs.width !== img.width || cs.height !== img.height) {
      cs?.destroy('replaced');
      cs = new VmSurface(1000 + c.scanout, owner, img.width, img.height, img.format, `virtual machine cursor ${c.scanout}`);
      this.cursorSurfaces[c.scanout] = cs;
    }
    surface.cursor = { surface: cs, hotspotX: img.hotX, hotspotY: img.hotY };
    surface.emit('cursor');
    const region = new GraphicsRegion(img.pixels.buffer as ArrayBuffer, { width: img.width, height: img.height, stride: img.stride, format: img.format, offset: 0 }, 'read', 'direct', () => {});
    cs.emit('frame', new VmFrame(cs, Region.full(img.width, img.height), region, 0, () => {}));
  }
}

