/**
 * Surface: a client's window onto the compositor, with the buffers the server
 * allocated for it.
 *
 * How am I supposed to use this?
 *
 *   const surface = await client.createSurface({ width: 640, height: 480, format: 'XRGB8888', usage: 'software' });
 *   surface.on('frame', draw);                   // the compositor showed the last one: draw the next
 *   async function draw() {
 *     const { buffer, region, age, damage } = await surface.nextBuffer();
 *     paint(region, age === 0 ? everything : damage.union(myChanges));
 *     surface.submit(buffer, myChanges);
 *   }
 *
 * The client code is the same whatever the server gave (`kind`: shm, dumb, gbm,
 * udmabuf; `access`: direct, or shadow where the server copies the damage you
 * submit into the hardware buffer): draw inside `region`, submit what you drew.
 */
import { EventEmitter } from 'eventemitter3';
import type { BufferKind, ClientAccess } from '../descriptor';
import { BufshareError } from '../errors';
import type { FormatInfo } from '../format';
import type { ImportedBuffer } from '../imported-buffer';
import { checkRect, Region, type Rect } from '../region';
import { boundedRegion } from './damage';
import { encodeDestroySurface, encodeRequest, encodeResize, encodeSubmit, type BufferUsageName, type JsonValue } from './protocol';
import { Swapchain, type AcquiredBuffer } from './swapchain';

/** What a Surface needs from its client. */
export interface SurfaceHost {
  readonly maxRectsPerSubmit: number;
  send(data: Uint8Array): void;
  forget(surface: Surface): void;
  /** A resize was sent: wait (bounded) for buffers of this size, or reject it with resizeFailed(). */
  expectBuffers(surface: Surface, width: number, height: number): void;
}

export interface SurfaceEvents {
  /** frame_done: the compositor showed the last frame; draw the next one. */
  frame: [];
  /** An application event from the compositor (pointer input...). */
  event: [payload: JsonValue];
  /** The surface has new buffers of this size. */
  resize: [width: number, height: number];
  /** The surface is gone (destroyed, or the connection closed). */
  destroy: [reason: string];
}

interface PendingResize {
  resolve(): void;
  reject(e: Error): void;
}

export class Surface extends EventEmitter<SurfaceEvents> {
  /** Chosen by the client; unique in its connection. */
  readonly id: number;
  readonly format: FormatInfo;
  readonly usage: BufferUsageName;
  private readonly host: SurfaceHost;
  private swapchain: Swapchain;
  /** A swapchain a resize made stale: its buffers can no longer be submitted. */
  private resizing: PendingResize[] = [];
  private stale = false;
  private afterResize: (() => void)[] = [];
  private early: { name: 'frame' | 'event'; payload: JsonValue }[] | undefined = [];
  private destroyedWith: Error | undefined;

  /** @internal Made by BufferClient.createSurface. */
  constructor(host: SurfaceHost, id: number, format: FormatInfo, usage: BufferUsageName, swapchain: Swapchain) {
    super();
    this.host = host;
    this.id = id;
    this.format = format;
    this.usage = usage;
    this.swapchain = swapchain;
    // createSurface() resolves in a microtask after this message; events the
    // compositor sent right behind it (a first frame_done, a configure event)
    // would reach no listener. They wait until the caller had a turn.
    setImmediate(() => {
      const early = this.early;
      this.early = undefined;
      for (const e of early ?? []) {
        if (this.destroyedWith) return;
        if (e.name === 'frame') this.emit('frame');
        else this.emit('event', e.payload);
      }
    });
  }

  /** @internal A frame_done or event from the server; held back until the creator can listen. */
  deliver(name: 'frame' | 'event', payload?: JsonValue): void {
    if (this.destroyedWith) return;
    if (this.early) this.early.push({ name, payload: payload ?? null });
    else if (name === 'frame') this.emit('frame');
    else this.emit('event', payload ?? null);
  }

  get width(): number {
    return this.swapchain.width;
  }

  get height(): number {
    return this.swapchain.height;
  }

  /** Buffers in the swapchain. */
  get bufferCount(): number {
    return this.swapchain.size;
  }

  /** Where the memory comes from: 'shm', 'dumb', 'gbm', 'udmabuf'. */
  get kind(): BufferKind {
    return this.swapchain.buffers[0]!.kind;
  }

  /** 'direct' (you draw into the buffer) or 'shadow' (into a shm copy the server commits). */
  get access(): ClientAccess {
    return this.swapchain.buffers[0]!.access;
  }

  get destroyed(): boolean {
    return this.destroyedWith !== undefined;
  }

  /**
   * A buffer to draw into, its mapping, its age and its damage. Waits for the
   * compositor to release one when all are busy.
   */
  nextBuffer(): Promise<AcquiredBuffer> {
    if (this.destroyedWith) return Promise.reject(this.destroyedWith);
    if (this.stale) {
      // The current buffers are on their way out: wait for the resize to settle.
      return new Promise((resolve, reject) => this.afterResize.push(() => this.nextBuffer().then(resolve, reject)));
    }
    return this.swapchain.acquire();
  }

  /**
   * Sends `buffer` (from nextBuffer()) to the compositor with the rectangles you
   * changed. Damage is clipped to the buffer and merged down to the server's
   * rectangle limit. The buffer is the compositor's until it releases it.
   */
  submit(buffer: ImportedBuffer, damage: Region | readonly Rect[]): void {
    if (this.destroyedWith) throw this.destroyedWith;
    if (this.stale && this.swapchain.owns(buffer)) {
      throw new BufshareError('ERR_BUFSHARE_DESTROYED', `surface ${this.id} is being resized: its old buffers can no longer be submitted`);
    }
    if (!this.swapchain.isAcquired(buffer)) {
      throw new BufshareError(buffer.destroyed ? 'ERR_BUFSHARE_DESTROYED' : 'ERR_BUFSHARE_INVALID_ARGUMENT',
        `submit needs a buffer of surface ${this.id} from nextBuffer() that was not submitted since`);
    }
    const region = this.clipDamage(damage);
    const id = this.swapchain.submitted(buffer, region);
    this.host.send(encodeSubmit(this.id, id, region.toInt32Array()));
  }

  /** Sends an application request about this surface to the compositor. */
  request(payload: JsonValue): void {
    if (this.destroyedWith) throw this.destroyedWith;
    this.host.send(encodeRequest(this.id, payload));
  }

  /**
   * Asks for buffers of a new size. From this call on the old buffers cannot be
   * submitted; nextBuffer() waits for the new ones. Rejects (and keeps the old
   * buffers) when the server cannot allocate them.
   */
  resize(width: number, height: number): Promise<void> {
    if (this.destroyedWith) return Promise.reject(this.destroyedWith);
    for (const [name, v] of [['width', width], ['height', height]] as const) {
      if (!Number.isInteger(v) || v < 1) {
        return Promise.reject(new BufshareError('ERR_BUFSHARE_INVALID_DIMENSIONS', `${name} must be a positive integer, got ${v}`));
      }
    }
    this.host.send(encodeResize(this.id, width, height));
    this.host.expectBuffers(this, width, height);
    this.stale = true;
    // Those already waiting for a buffer want one they can submit: a new one.
    for (const w of this.swapchain.takeWaiters()) this.afterResize.push(() => this.nextBuffer().then(w.resolve, w.reject));
    return new Promise((resolve, reject) => this.resizing.push({ resolve, reject }));
  }

  /** Destroys the surface here and on the server; its buffers are unmapped and closed. Idempotent. */
  destroy(): void {
    if (this.destroyedWith) return;
    try {
      this.host.send(encodeDestroySurface(this.id));
    } catch {
      // The connection is gone: the server already dropped the surface.
    }
    this.markDestroyed(new BufshareError('ERR_BUFSHARE_DESTROYED', `surface ${this.id} was destroyed`), 'destroyed');
  }

  /** @internal The server sent buffers for a resize. Takes ownership of the swapchain. */
  replaceSwapchain(next: Swapchain): void {
    if (this.destroyedWith) {
      next.destroy(this.destroyedWith);
      return;
    }
    const old = this.swapchain;
    this.swapchain = next;
    const pending = this.resizing.shift();
    this.stale = this.resizing.length > 0;
    old.destroy(new BufshareError('ERR_BUFSHARE_DESTROYED', `surface ${this.id} was resized: this buffer is gone`));
    this.emit('resize', next.width, next.height);
    pending?.resolve();
    this.settleResize();
  }

  private settleResize(): void {
    if (this.stale) return;
    for (const go of this.afterResize.splice(0)) go();
  }

  /** @internal A resize the server could not do. */
  resizeFailed(error: BufshareError): void {
    const pending = this.resizing.shift();
    if (this.resizing.length === 0) this.stale = false;
    pending?.reject(error);
    this.settleResize();
  }

  /** @internal */
  released(bufferId: number): void {
    if (!this.destroyedWith) this.swapchain.released(bufferId);
  }

  /** @internal The surface is gone (destroyed, or the connection closed). */
  markDestroyed(error: Error, reason: string): void {
    if (this.destroyedWith) return;
    this.destroyedWith = error;
    this.swapchain.destroy(error);
    for (const r of this.resizing.splice(0)) r.reject(error);
    for (const go of this.afterResize.splice(0)) go();
    this.host.forget(this);
    this.emit('destroy', reason);
  }

  private clipDamage(damage: Region | readonly Rect[]): Region {
    const max = this.host.maxRectsPerSubmit;
    if (damage instanceof Region) {
      const clipped = damage.clip(this.width, this.height);
      return clipped.rects.length > max ? clipped.simplify(max) : clipped;
    }
    if (!Array.isArray(damage)) throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', 'damage must be a Region or an array of rectangles');
    const boxes: Rect[] = [];
    const box = { x: 0, y: 0, width: this.width, height: this.height };
    for (const r of damage) {
      checkRect(r);
      const x0 = Math.max(r.x, box.x);
      const y0 = Math.max(r.y, box.y);
      const x1 = Math.min(r.x + r.width, box.width);
      const y1 = Math.min(r.y + r.height, box.height);
      if (x1 > x0 && y1 > y0) boxes.push({ x: x0, y: y0, width: x1 - x0, height: y1 - y0 });
    }
    return boundedRegion(boxes, max);
  }
}
