/**
 * ServerSurface: one client surface on the server, with the buffers the server
 * allocated for it and who holds each one.
 *
 * A buffer is either the client's (free, or being drawn) or the compositor's
 * (submitted, not yet released). A client may only submit a buffer it holds.
 * On resize the surface gets new buffers; an old one the compositor still holds
 * stays valid until its frame is released, then is destroyed.
 *
 * Ownership: the surface owns its buffers (their fds and mappings) and destroys
 * every one exactly once: when it is destroyed or its client goes away, except
 * those the compositor holds, which go when their frame is released (like a
 * locked wlr_buffer): a frame stays readable until release, whatever the client
 * does. Closing the server destroys everything.
 */
import { EventEmitter } from 'eventemitter3';
import type { SharedBuffer } from '../allocator/types';
import { HardwareBuffer } from '../allocator/hardware-buffer';
import type { BufferKind, ClientAccess } from '../descriptor';
import type { FormatInfo } from '../format';
import type { GraphicsRegion } from '../mapping/graphics-region';
import { Region } from '../region';
import { BufshareError } from '../errors';
import type { Frame } from './frame';
import { encodeEvent, encodeFrameDone, encodeRelease, type BufferUsageName, type JsonValue } from './protocol';
import type { ServerClient } from './server-client';
import type { CompositorSurface, SurfaceKeyboardInput, SurfacePointerInput } from '../surface-model';

/** @internal One buffer of a surface, with its per-client wire id. */
export interface BufferSlot {
  readonly id: number;
  readonly buffer: SharedBuffer;
  /** Submitted and not yet released: the compositor's. */
  held: boolean;
  /** Replaced by a resize; destroyed when released. */
  retired: boolean;
  /** The server's read mapping, made on first use (per frame when readRegionPerFrame). */
  readRegion: GraphicsRegion | undefined;
  /** readRegion is right for the current frame only: unmapped at release (HardwareBuffer.mapFrameSource). */
  readRegionPerFrame?: boolean;
  /**
   * Shadow access: what the hardware buffer misses of its shadow, i.e. the
   * surface damage of every frame since this buffer was last committed;
   * undefined until its first commit (then everything is missing).
   */
  staleShadow: Region | undefined;
  /** What this buffer takes of its client's shares of the process's fds and mappings (process-shares.ts). */
  readonly share: { readonly fds: number; readonly mappings: number };
}

/** Stale-shadow damage is kept to this many rectangles (a superset, merged). */
const MAX_STALE_RECTS = 64;

export interface ServerSurfaceEvents {
  /** The client submitted a buffer (also emitted by the server). */
  frame: [frame: Frame];
  /** The client resized the surface; `buffers` are the new ones. */
  resize: [width: number, height: number];
  /** The surface is gone (the client destroyed it, disconnected, or the server closed). */
  destroy: [reason: string];
  /** Part of the shared model (lib/surface-model.ts); bufshare surfaces have no title of their own. */
  title: [title: string | undefined];
}

export class ServerSurface extends EventEmitter<ServerSurfaceEvents> implements CompositorSurface {
  /** The client's id for it (ids are per client). */
  readonly id: number;
  readonly client: ServerClient;
  readonly format: FormatInfo;
  readonly usage: BufferUsageName;
  private currentWidth: number;
  private currentHeight: number;
  private slots: BufferSlot[];
  private readonly retired = new Set<BufferSlot>();
  private isDestroyed = false;

  /** @internal Made by ServerClient on create_surface. */
  constructor(client: ServerClient, id: number, width: number, height: number, format: FormatInfo, usage: BufferUsageName, slots: BufferSlot[]) {
    super();
    this.client = client;
    this.id = id;
    this.currentWidth = width;
    this.currentHeight = height;
    this.format = format;
    this.usage = usage;
    this.slots = slots;
  }

  get width(): number {
    return this.currentWidth;
  }

  get height(): number {
    return this.currentHeight;
  }

  /** The current buffers (after a resize, the new ones). */
  get buffers(): SharedBuffer[] {
    return this.slots.map((s) => s.buffer);
  }

  /** Where the buffers' memory comes from ('shm', 'dumb', 'gbm', 'udmabuf'). */
  get kind(): BufferKind {
    return this.slots[0]!.buffer.kind;
  }

  /** How the client draws: 'direct' (zero copy) or 'shadow' (the server copies the damage). */
  get access(): ClientAccess {
    return this.slots[0]!.buffer.access;
  }

  get destroyed(): boolean {
    return this.isDestroyed;
  }

  /** "Shown: draw the next one" (wl_surface.frame). A no-op once the surface is gone. */
  frameDone(): void {
    if (this.isDestroyed) return;
    this.client.sendMessage(encodeFrameDone(this.id));
  }

  /**
   * Sends an application event (pointer input, configure...) to the client's
   * surface. Throws ERR_BUFSHARE_INVALID_ARGUMENT for a payload that is not JSON
   * or does not fit a message; a no-op once the surface is gone.
   */
  sendEvent(payload: JsonValue): void {
    const message = encodeEvent(this.id, payload);
    if (this.isDestroyed) return;
    this.client.sendMessage(message);
  }

  /** The shared model's title: the name the client gave in its hello. */
  get title(): string | undefined {
    return this.client.name;
  }

  get appId(): string | undefined {
    return undefined;
  }

  /** Pointer input, sent on the event channel as `{ type: 'pointer', ...event }`. */
  pointer(event: SurfacePointerInput): void {
    this.sendEvent({ type: 'pointer', ...event });
  }

  /** Keyboard input, sent on the event channel as `{ type: 'keyboard', ...event }`. */
  keyboard(event: SurfaceKeyboardInput): void {
    this.sendEvent({ type: 'keyboard', ...event });
  }

  /** @internal The slot with this wire id among the current buffers. */
  slot(bufferId: number): BufferSlot | undefined {
    for (const s of this.slots) if (s.id === bufferId) return s;
    return undefined;
  }

  /** @internal */
  get allSlots(): readonly BufferSlot[] {
    return [...this.slots, ...this.retired];
  }

  /**
   * @internal Shadow access: copies into the hardware buffer everything its
   * shadow holds that it does not. Submitted damage is relative to the previous
   * frame (whichever buffer showed it), but this buffer was last committed
   * `age` frames ago: the copy must cover the damage of every frame since, or
   * the compositor would read stale pixels. Then every other buffer of the
   * surface misses this frame's damage.
   */
  commitShadow(slot: BufferSlot, damage: Region): void {
    const missing = slot.staleShadow === undefined ? Region.full(this.currentWidth, this.currentHeight) : slot.staleShadow.union(damage);
    if (!missing.isEmpty) slot.buffer.commitShadow(missing);
    slot.staleShadow = Region.empty;
    if (damage.isEmpty) return;
    for (const other of this.slots) {
      if (other === slot || other.staleShadow === undefined) continue;
      const stale = other.staleShadow.union(damage);
      other.staleShadow = stale.rects.length > MAX_STALE_RECTS ? stale.simplify(MAX_STALE_RECTS) : stale;
    }
  }

  /** @internal See Frame.region. */
  readRegion(slot: BufferSlot): GraphicsRegion {
    if (slot.buffer.destroyed) throw new BufshareError('ERR_BUFSHARE_DESTROYED', `buffer ${slot.id} of surface ${this.id} was destroyed (its frame was released after its surface went away, or the server closed)`);
    if (!slot.readRegion) {
      if (slot.buffer instanceof HardwareBuffer) {
        const source = slot.buffer.mapFrameSource();
        slot.readRegion = source.region;
        slot.readRegionPerFrame = source.perFrame;
      } else {
        slot.readRegion = slot.buffer.map({ mode: 'read' });
      }
    }
    return slot.readRegion;
  }

  /** @internal See Frame.release. */
  releaseSlot(slot: BufferSlot): void {
    if (!slot.held) return;
    slot.held = false;
    if (slot.readRegionPerFrame && slot.readRegion) {
      // Ends the frame's CPU access (gbm unmap, DMA_BUF_SYNC END) before the client may draw again.
      const region = slot.readRegion;
      slot.readRegion = undefined;
      region.unmap();
    }
    if (slot.retired) {
      this.retired.delete(slot);
      this.client.destroySlot(slot);
      if (this.isDestroyed && this.retired.size === 0) this.client.surfaceDrained(this);
      return;
    }
    if (!this.isDestroyed) this.client.sendMessage(encodeRelease(this.id, slot.id));
  }

  /**
   * @internal Swaps in the buffers of a resize. Old buffers the compositor holds
   * are retired (destroyed on release); the others are destroyed now.
   */
  replaceSlots(width: number, height: number, slots: BufferSlot[]): void {
    for (const old of this.slots) {
      if (old.held) {
        old.retired = true;
        this.retired.add(old);
      } else {
        this.client.destroySlot(old);
      }
    }
    this.slots = slots;
    this.currentWidth = width;
    this.currentHeight = height;
  }

  /**
   * @internal Marks the surface gone and destroys its buffers. A buffer the
   * compositor holds (a frame not yet released) stays valid until its release,
   * unless `force` (the server is closing): a frame's region is valid until
   * release, whatever the client does. Returns false if it already was gone.
   */
  markDestroyed(force: boolean): boolean {
    if (this.isDestroyed) {
      if (force) this.destroyRetired();
      return false;
    }
    this.isDestroyed = true;
    for (const s of this.slots) {
      if (s.held && !force) {
        s.retired = true;
        this.retired.add(s);
      } else {
        this.client.destroySlot(s);
      }
    }
    if (force) this.destroyRetired();
    return true;
  }

  /** @internal Buffers still waiting for their frame's release. */
  get heldBuffers(): number {
    return this.retired.size;
  }

  private destroyRetired(): void {
    for (const s of this.retired) this.client.destroySlot(s);
    this.retired.clear();
  }
}
