/**
 * Swapchain: a client surface's buffers, which of them it may draw into, and
 * what each one is missing since it was last drawn.
 *
 * How am I supposed to use this? (Surface does it for you.) `acquire()` resolves
 * with a free buffer, its persistent graphics region, its age and its damage;
 * `submitted(slot, damage)` when it goes to the server; `released(id)` when the
 * server gives it back.
 *
 * Age, as EGL_EXT_buffer_age: 0 means the contents are undefined (a new buffer:
 * draw everything); n means the buffer holds the frame submitted n frames ago,
 * so redrawing `damage` (the union of everything submitted since) brings it up
 * to date.
 *
 * Steady state allocates no buffer, fd or mapping: each buffer is mapped once,
 * when the swapchain is made, and unmapped when it is destroyed.
 */
import { BufshareError } from '../errors';
import type { ImportedBuffer } from '../imported-buffer';
import type { GraphicsRegion } from '../mapping/graphics-region';
import * as native from '../native';
import { implicitFencesSignalled, waitForImplicitFences } from '../sync/implicit-fences';
import { Region } from '../region';

export interface AcquiredBuffer {
  readonly buffer: ImportedBuffer;
  /** The buffer mapped for drawing; owned by the surface (do not unmap it). */
  readonly region: GraphicsRegion;
  /** 0: contents undefined; n: holds the frame submitted n frames ago. */
  readonly age: number;
  /** What changed since this buffer was last drawn (everything when age is 0). */
  readonly damage: Region;
}

interface Slot {
  readonly id: number;
  readonly buffer: ImportedBuffer;
  readonly region: GraphicsRegion;
  /** A dma-buf mapped directly: CPU access is bracketed per frame (see cpuAccess). */
  readonly dmabufFd: number | undefined;
  /** Inside a DMA_BUF_IOCTL_SYNC START/END bracket. */
  cpuAccess: boolean;
  /** fenced: released by the server, but its dma-buf still has fences (the compositor's GPU reads) pending. */
  state: 'free' | 'acquired' | 'submitted' | 'fenced';
  /** Frame number of its last submit; 0 if never submitted. */
  lastSubmitted: number;
  damageSince: Region;
}

/**
 * dma-bufs mapped directly are coherent only inside DMA_BUF_IOCTL_SYNC START/END
 * brackets on drivers with non-coherent caches: the mapping is persistent, the
 * bracket is per frame (START when the buffer is handed out for drawing, END when
 * it is submitted). Cheap where caches are coherent; shm needs none.
 */
function setCpuAccess(slot: Slot, on: boolean): void {
  if (slot.dmabufFd === undefined || slot.cpuAccess === on) return;
  const c = native.constants;
  native.dmabufSync(slot.dmabufFd, (on ? c.DMA_BUF_SYNC_START : c.DMA_BUF_SYNC_END) | c.DMA_BUF_SYNC_RW);
  slot.cpuAccess = on;
}

export interface Waiter {
  resolve(b: AcquiredBuffer): void;
  reject(e: Error): void;
}

/** A released buffer's fences are waited for in rounds of this long (the buffer stays unusable until they signal). */
const FENCE_ROUND_MS = 10000;

/** Accumulated damage per buffer is kept to this many rectangles (a superset, merged). */
const MAX_ACCUMULATED_RECTS = 64;

export class Swapchain {
  readonly width: number;
  readonly height: number;
  private readonly slots: Slot[];
  private readonly waiters: Waiter[] = [];
  private frame = 0;
  private destroyedWith: Error | undefined;
  /** Aborts the fence waits of released buffers when the swapchain goes. */
  private readonly fenceWaits = new AbortController();

  /**
   * Takes ownership of the buffers: maps each one for drawing, destroys each one
   * with the swapchain. The buffers were imported `forDrawing`: never read-only.
   */
  constructor(buffers: readonly ImportedBuffer[], width: number, height: number) {
    this.width = width;
    this.height = height;
    this.slots = [];
    try {
      for (const buffer of buffers) {
        const region = buffer.map({ mode: 'readwrite' });
        // Mapping opened the CPU access bracket (mapFd); it stays open until the first submit.
        const dmabufFd = region.strategy === 'dmabuf-sync' ? buffer.bufferFd : undefined;
        this.slots.push({ id: buffer.id, buffer, region, dmabufFd, cpuAccess: true, state: 'free', lastSubmitted: 0, damageSince: Region.empty });
      }
    } catch (e) {
      for (const b of buffers) b.destroy();
      throw e;
    }
  }

  get size(): number {
    return this.slots.length;
  }

  get buffers(): readonly ImportedBuffer[] {
    return this.slots.map((s) => s.buffer);
  }

  /** Whether `buffer` belongs to this swapchain and was acquired and not yet submitted. */
  isAcquired(buffer: ImportedBuffer): boolean {
    return this.slots.some((s) => s.buffer === buffer && s.state === 'acquired');
  }

  owns(buffer: ImportedBuffer): boolean {
    return this.slots.some((s) => s.buffer === buffer);
  }

  /** A free buffer now, or undefined when the server holds them all. */
  tryAcquire(): AcquiredBuffer | undefined {
    if (this.destroyedWith) throw this.destroyedWith;
    // The youngest free contents: the least to redraw.
    let best: Slot | undefined;
    for (const s of this.slots) if (s.state === 'free' && (!best || s.lastSubmitted > best.lastSubmitted)) best = s;
    return best ? this.hand(best) : undefined;
  }

  /** A free buffer, waiting for a release when all are busy. */
  acquire(): Promise<AcquiredBuffer> {
    try {
      const b = this.tryAcquire();
      if (b) return Promise.resolve(b);
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Records a submit of `buffer` (which must be acquired) with its damage, clipped to the buffer. */
  submitted(buffer: ImportedBuffer, damage: Region): number {
    const slot = this.slots.find((s) => s.buffer === buffer);
    if (!slot || slot.state !== 'acquired') {
      throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', 'submit needs a buffer from nextBuffer() that was not submitted since');
    }
    this.frame++;
    for (const s of this.slots) {
      if (s === slot || s.lastSubmitted === 0) continue;
      let d = s.damageSince.union(damage);
      if (d.rects.length > MAX_ACCUMULATED_RECTS) d = d.simplify(MAX_ACCUMULATED_RECTS);
      s.damageSince = d;
    }
    // Drawing is done: flush CPU caches toward the device before the compositor reads.
    setCpuAccess(slot, false);
    slot.state = 'submitted';
    slot.lastSubmitted = this.frame;
    slot.damageSince = Region.empty;
    return slot.id;
  }

  /** The server gave buffer `id` back. Unknown or not-submitted ids are ignored (a stale release). */
  released(id: number): void {
    const slot = this.slots.find((s) => s.id === id);
    if (!slot || slot.state !== 'submitted') return;
    // A compositor that reads with its GPU leaves fences on the buffer; drawing
    // before they signal would change pixels it is still reading, and START
    // (hand) would block this whole process on them. Wait on the loop instead.
    if (slot.dmabufFd !== undefined && !implicitFencesSignalled(slot.dmabufFd, 'write')) {
      slot.state = 'fenced';
      this.whenUnfenced(slot, slot.dmabufFd);
      return;
    }
    this.makeFree(slot);
  }

  private makeFree(slot: Slot): void {
    slot.state = 'free';
    const waiter = this.waiters.shift();
    if (waiter) waiter.resolve(this.hand(slot));
  }

  /** Frees `slot` once every fence on its dma-buf signalled; waits on, in rounds, for a fence that takes long. */
  private whenUnfenced(slot: Slot, fd: number): void {
    waitForImplicitFences(fd, { access: 'write', timeoutMs: FENCE_ROUND_MS, signal: this.fenceWaits.signal }).then(
      () => {
        if (!this.destroyedWith && slot.state === 'fenced') this.makeFree(slot);
      },
      () => {
        if (!this.destroyedWith && slot.state === 'fenced') this.whenUnfenced(slot, fd);
      },
    );
  }

  /** Removes and returns the pending acquires (a resize takes them over). */
  takeWaiters(): Waiter[] {
    return this.waiters.splice(0);
  }

  /** Unmaps and destroys every buffer; pending and future acquires fail with `error`. Idempotent. */
  destroy(error: Error): void {
    if (this.destroyedWith) return;
    this.destroyedWith = error;
    this.fenceWaits.abort(error);
    for (const w of this.waiters.splice(0)) w.reject(error);
    for (const s of this.slots) {
      try {
        // Unmapping ends the bracket: open it so START/END stay balanced. But
        // START waits, uninterruptibly for us, for every fence on the buffer: a
        // fence that never signals (a hung GPU job) would hang the teardown, so
        // a buffer with fences pending is destroyed without it.
        if (s.dmabufFd === undefined || implicitFencesSignalled(s.dmabufFd, 'write')) setCpuAccess(s, true);
      } catch {
        // Destroying anyway.
      }
      try {
        s.buffer.destroy();
      } catch {
        // Closed anyway.
      }
    }
  }

  private hand(slot: Slot): AcquiredBuffer {
    setCpuAccess(slot, true);
    slot.state = 'acquired';
    const age = slot.lastSubmitted === 0 ? 0 : this.frame - slot.lastSubmitted + 1;
    const damage = age === 0 ? Region.full(this.width, this.height) : slot.damageSince;
    return { buffer: slot.buffer, region: slot.region, age, damage };
  }
}
