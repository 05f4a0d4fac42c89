/**
 * A virtual machine's screen (one qemu console / scanout) as a CompositorSurface,
 * whatever route its pixels take: the VM display sources (the D-Bus route,
 * dbus-display.ts; the vhost-user route) feed it and give it a VmInput to send
 * the compositor's input to the guest.
 *
 * Pixels: the surface owns one buffer of the scanout's size; a route writes the
 * guest's pixels into it (writeRect: the D-Bus route's copy of each damaged
 * rectangle) and commits damage; each commit is a frame whose region is that
 * buffer (so a held frame sees later writes; the frame that carries them
 * follows in the same turn). A new scanout size is a new buffer and a 'resize'.
 * A zero-copy route passes its own memory to scanout() instead (a mapping of
 * the guest's framebuffer): frames then read it in place and writeRect is not
 * needed; commit() still carries the damage.
 * Commits in one turn of the loop are one frame (their damage joined): qemu
 * sends an Update per dirty rectangle.
 */
import { EventEmitter } from 'eventemitter3';
import type { BufferKind, ClientAccess } from '../descriptor';
import { BufshareError } from '../errors';
import { resolveFormat, type FormatInfo } from '../format';
import { GraphicsRegion } from '../mapping/graphics-region';
import { Region, type Rect } from '../region';
import { VmInputForwarder } from './input-forwarder';
import type {
  CompositorFrame, CompositorSurface, CompositorSurfaceEvents, SurfaceKeyboardInput, SurfaceOwner, SurfacePointerInput,
} from '../surface-model';

/** Guest pointer buttons, by qemu's InputButton names. */
export type VmButton = 'left' | 'middle' | 'right' | 'wheel-up' | 'wheel-down' | 'side' | 'extra';

/** Where a VM surface's input goes (each route has its own wire: D-Bus Keyboard/Mouse, virtio-input). */
export interface VmInput {
  /** An evdev key code (KEY_A = 30), pressed or released. */
  key(code: number, pressed: boolean): void;
  /** The pointer at (x, y) in the console's pixels. */
  motion(x: number, y: number): void;
  button(button: VmButton, pressed: boolean): void;
  /** The compositor suggests a screen size (the window's): the route asks the guest (D-Bus SetUIInfo, a display-changed event). */
  configure?(width: number, height: number): void;
}

/** The largest scanout side we take (qemu's own displays stay far below). */
export const MAX_VM_SURFACE_SIDE = 16384;

let nextSurfaceId = 1;
const XRGB8888 = resolveFormat('XRGB8888');

export class VmFrame implements CompositorFrame {
  private isReleased = false;
  constructor(readonly surface: VmSurface, readonly region: GraphicsRegion, readonly damage: Region) {}

  get released(): boolean {
    return this.isReleased;
  }

  release(): void {
    this.isReleased = true;
  }
}

export class VmSurface extends EventEmitter<CompositorSurfaceEvents> implements CompositorSurface {
  readonly id = nextSurfaceId++;
  readonly kind: BufferKind = 'shm';
  /** The compositor reads a copy the route made ('direct' where it maps guest memory). */
  readonly access: ClientAccess;
  readonly appId: string | undefined = undefined;
  cursor: { readonly surface: CompositorSurface | null; readonly hotspotX: number; readonly hotspotY: number } | undefined;
  private w = 0;
  private h = 0;
  private fmt: FormatInfo | undefined;
  private memory: ArrayBuffer = new ArrayBuffer(0);
  private memoryOffset = 0;
  private rowBytes = 0;
  private pending: Region | undefined;
  /** The last frame, when nobody listened for it (a cursor image the seat shows later). */
  private unclaimed: VmFrame | undefined;
  private isDestroyed = false;
  private readonly forwarder: VmInputForwarder | undefined;

  /** @internal Sees every frame, before the surface's listeners (the source's own 'frame'); not a listener, so claimFrame still works. */
  onFrame: ((frame: VmFrame) => void) | undefined;

  /** @internal */
  constructor(readonly client: SurfaceOwner, private label: string | undefined, private readonly input: VmInput | undefined, access: ClientAccess = 'shadow') {
    super();
    this.forwarder = input === undefined ? undefined : new VmInputForwarder(input);
    this.access = access;
  }

  get width(): number {
    return this.w;
  }

  get height(): number {
    return this.h;
  }

  /** The scanout's format (XRGB8888 before the first scanout and while the display is off). */
  get format(): FormatInfo {
    return this.fmt ?? XRGB8888;
  }

  get stride(): number {
    return this.rowBytes;
  }

  get destroyed(): boolean {
    return this.isDestroyed;
  }

  get title(): string | undefined {
    return this.label;
  }

  /** The buffer's bytes (rows of `stride`), for the route to write into. */
  get pixels(): Uint8Array {
    return new Uint8Array(this.memory, this.memoryOffset, this.rowBytes * this.h);
  }

  /**
   * @internal A scanout of this size and format: a new buffer (zeroed) when
   * either changed, or `memory` (the route's own: rows `stride` apart from
   * `offset`, e.g. a mapping of guest memory, read in place) whenever given;
   * 'resize' when the size changed. Returns true when the buffer is new.
   */
  scanout(width: number, height: number, format: FormatInfo, memory?: { readonly buffer: ArrayBuffer; readonly stride: number; readonly offset?: number }): boolean {
    if (memory === undefined && width === this.w && height === this.h && format === this.fmt && this.memoryOffset === 0) return false;
    const resized = width !== this.w || height !== this.h;
    const hadContent = this.fmt !== undefined;
    if (memory !== undefined) {
      const offset = memory.offset ?? 0;
      if (memory.stride < width * format.bpp || offset < 0 || offset + memory.stride * height > memory.buffer.byteLength) {
        throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', `a ${width}x${height} scanout at stride ${memory.stride} does not fit its ${memory.buffer.byteLength}-byte memory at ${offset}`);
      }
    }
    this.w = width;
    this.h = height;
    this.fmt = format;
    this.rowBytes = memory?.stride ?? width * format.bpp;
    this.memory = memory?.buffer ?? new ArrayBuffer(this.rowBytes * height);
    this.memoryOffset = memory?.offset ?? 0;
    this.pending = undefined;
    this.unclaimed = undefined;
    if (resized && hadContent) this.emit('resize', width, height);
    return true;
  }

  /**
   * @internal Copies a rectangle of pixels (rows `srcStride` apart in `src`)
   * into the buffer. The caller checked that it fits both.
   */
  writeRect(x: number, y: number, width: number, height: number, src: Uint8Array, srcStride: number): void {
    const bpp = this.fmt!.bpp;
    const dst = new Uint8Array(this.memory, this.memoryOffset);
    const rowLength = width * bpp;
    if (x === 0 && width === this.w && srcStride === this.rowBytes) {
      dst.set(src.subarray(0, rowLength * height), y * this.rowBytes);
      return;
    }
    for (let row = 0; row < height; row++) {
      dst.set(src.subarray(row * srcStride, row * srcStride + rowLength), (y + row) * this.rowBytes + x * bpp);
    }
  }

  /** @internal Damage to show in the next frame (emitted at the end of this turn). */
  commit(damage: Rect): void {
    if (this.isDestroyed || this.fmt === undefined) return;
    const scheduled = this.pending !== undefined;
    this.pending = (this.pending ?? Region.empty).union(damage);
    if (!scheduled) setImmediate(() => this.emitFrame());
  }

  /** @internal The display went off (qemu's Disable): nothing shows until the next scanout. */
  disable(): void {
    if (this.isDestroyed) return;
    this.pending = undefined;
    this.fmt = undefined;
    this.w = 0;
    this.h = 0;
    this.emit('unmap');
  }

  /** @internal The guest's cursor changed (a cursor surface, null: hidden). */
  setCursor(cursor: VmSurface['cursor']): void {
    this.cursor = cursor;
    this.emit('cursor');
  }

  /** @internal */
  setLabel(label: string): void {
    this.label = label;
    this.emit('title', label);
  }

  /** @internal The console went away. */
  destroy(reason: string): void {
    if (this.isDestroyed) return;
    this.isDestroyed = true;
    this.pending = undefined;
    this.emit('destroy', reason);
  }

  private emitFrame(): void {
    const damage = this.pending;
    this.pending = undefined;
    if (damage === undefined || this.isDestroyed || this.fmt === undefined) return;
    const region = new GraphicsRegion(this.memory, { width: this.w, height: this.h, stride: this.rowBytes, format: this.fmt, offset: this.memoryOffset }, 'read',
      this.access === 'direct' ? 'direct' : 'shadow', () => {});
    const frame = new VmFrame(this, region, damage.clip(this.w, this.h));
    this.onFrame?.(frame);
    if (this.listenerCount('frame') === 0) {
      // Whoever shows it later needs all of it, not this frame's damage.
      this.unclaimed = new VmFrame(this, region, Region.full(this.w, this.h));
      return;
    }
    this.unclaimed = undefined;
    this.emit('frame', frame);
  }

  /** The last frame no one listened for (a cursor image committed before the seat showed it), once. */
  claimFrame(): VmFrame | undefined {
    const frame = this.unclaimed;
    this.unclaimed = undefined;
    return frame;
  }

  /**
   * Suggests a screen size to the guest (the window's size): the route passes
   * it on and a guest that follows sets that mode, which arrives as a new
   * scanout ('resize'). Whether it follows is the guest's (and its display
   * device's: qemu's bochs takes no hint, virtio-gpu does). 0 x 0: no hint.
   */
  configure(width: number, height: number): void {
    if (this.isDestroyed || width < 1 || height < 1 || width > MAX_VM_SURFACE_SIDE || height > MAX_VM_SURFACE_SIDE) return;
    this.input?.configure?.(Math.round(width), Math.round(height));
  }

  frameDone(): void {
    // qemu does not wait for us: it sends the next Update when the guest draws.
  }

  pointer(event: SurfacePointerInput): void {
    if (this.isDestroyed || this.forwarder === undefined) return;
    this.forwarder.pointer(event, this.w, this.h);
  }

  keyboard(event: SurfaceKeyboardInput): void {
    if (this.isDestroyed || this.forwarder === undefined) return;
    this.forwarder.keyboard(event);
  }
}
