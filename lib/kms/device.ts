/**
 * KmsDevice: one per DRM card fd, shared by every KmsOutput on that card.
 *
 * - Events: the kernel queues every DRM event of an open file on that file, and
 *   libuv watches an fd once; so one reader per fd, here, and each page-flip
 *   event goes to the output driving its CRTC (drm_event_vblank.crtc_id). Two
 *   outputs that each read the fd steal each other's flips.
 * - Scanout imports: a client's dma-buf imported for direct scanout becomes a GEM
 *   handle on this fd. Importing the same dma-buf again on the same file returns
 *   the same handle, so handles are counted per handle, by the framebuffers made
 *   from them, and closed (GEM_CLOSE) when the last such framebuffer is removed.
 *   Until then the handle pins the client's memory. An import of a dma-buf that
 *   was exported from this same open file returns the exporter's handle: bufshare's
 *   allocators claim theirs on the DrmDevice and those are never closed here; a
 *   compositor that exports its own buffers from a fd it lends must claim them too
 *   (DrmDevice.claimGemHandle).
 * - Pipes: the CRTCs and connectors its outputs drive, so a second output takes
 *   another head.
 *
 * How am I supposed to use this?
 *
 *   const card = KmsDevice.open();                  // or open('/dev/dri/card1'), or forDrm(drmDevice)
 *   const left = KmsOutput.open({ device: card });  // the first connected connector
 *   const right = KmsOutput.open({ device: card }); // the next one, on another CRTC
 *   ...
 *   left.close(); right.close(); card.unref();
 *
 * Ownership: open(path) opens the node keeping DRM master and closes it when the
 * last reference goes (the creator's and one per output). forDrm(drm) uses the
 * DrmDevice's fd under the DrmDevice's own rules (a fromFd() one is never closed)
 * and holds a DrmDevice reference meanwhile. There is one live KmsDevice per open
 * fd: forDrm() on a fd that has one returns it, with a new reference. Do not also
 * poll the fd on the same libuv loop yourself: the device reads it from the first
 * output's attach to the last one's detach (and that keeps the process alive, like
 * a listening socket).
 */
import { debug } from '../debug';
import { DrmDevice } from '../drm/device';
import { BufshareError } from '../errors';
import * as native from '../native';
import { addFramebuffer, type FramebufferLayout } from './framebuffer';
import type { DrmEventRaw, DrmEventWatcherNative } from './native-types';
import { pickDisplayCard } from './pick-card';
import type { KmsPipe, PipesInUse } from './pipe';

/** What an output registers to receive its CRTC's events. */
export interface CrtcListener {
  flip(event: DrmEventRaw): void;
  /** Reading the fd failed; no more events will come. */
  error(err: BufshareError): void;
}

/** Live devices by fd number: an fd number names one open file while it is open, and a KmsDevice keeps it open. */
const byFd = new Map<number, KmsDevice>();

export class KmsDevice {
  readonly drm: DrmDevice;
  private refs = 1;
  private watcher: DrmEventWatcherNative | undefined;
  /** CRTC id -> the output driving it. */
  private readonly listeners = new Map<number, CrtcListener>();
  private readonly connectorsInUse = new Set<number>();
  private readonly planesInUse = new Set<number>();
  /** Framebuffer id -> the imported handle it was made from (undefined: a handle someone else owns). */
  private readonly importedFbs = new Map<number, number | undefined>();
  /** Imported handle -> framebuffers made from it. */
  private readonly handleRefs = new Map<number, number>();
  private readonly fdNumber: number;

  private constructor(drm: DrmDevice) {
    if (drm.type === 'render') {
      throw new BufshareError('ERR_BUFSHARE_RENDER_NODE', `${drm.path} is a render node: it cannot drive a display; use a card node (/dev/dri/card*)`);
    }
    this.drm = drm.ref();
    this.fdNumber = drm.fd;
    byFd.set(this.fdNumber, this);
  }

  /** Opens `path` (default: pickDisplayCard()) keeping DRM master. The caller holds one reference. */
  static open(path?: string): KmsDevice {
    const drm = DrmDevice.open(path ?? pickDisplayCard(), { master: true });
    try {
      return new KmsDevice(drm);
    } finally {
      drm.unref(); // the KmsDevice holds its own reference: the fd closes with it
    }
  }

  /** The KmsDevice of `drm`'s fd: the live one with a new reference, else a new one. The caller holds one reference. */
  static forDrm(drm: DrmDevice): KmsDevice {
    const live = byFd.get(drm.fd);
    return live ? live.ref() : new KmsDevice(drm);
  }

  get fd(): number {
    return this.drm.fd;
  }

  get closed(): boolean {
    return this.refs <= 0;
  }

  ref(): this {
    if (this.refs <= 0) throw new BufshareError('ERR_BUFSHARE_DESTROYED', `KMS device ${this.drm} was closed`);
    this.refs++;
    return this;
  }

  /** Drops one reference; the last one stops reading events, closes leftover imported handles and drops the DrmDevice reference. */
  unref(): void {
    if (this.refs <= 0) return;
    if (--this.refs > 0) return;
    this.stopWatching();
    for (const fbId of [...this.importedFbs.keys()]) this.removeFramebuffer(fbId);
    if (byFd.get(this.fdNumber) === this) byFd.delete(this.fdNumber);
    this.drm.unref();
  }

  /** The CRTCs, connectors and planes its outputs drive (what choosePipe must leave alone). */
  get inUse(): PipesInUse {
    return { crtcs: new Set(this.listeners.keys()), connectors: new Set(this.connectorsInUse), planes: new Set(this.planesInUse) };
  }

  /**
   * Routes the page-flip events of `pipe`'s CRTC to `listener`, and starts reading
   * the fd if nothing did. ERR_BUFSHARE_INVALID_ARGUMENT when another output has
   * that CRTC, connector or plane.
   */
  attach(pipe: KmsPipe, listener: CrtcListener): void {
    if (this.refs <= 0) throw new BufshareError('ERR_BUFSHARE_DESTROYED', `KMS device ${this.drm} was closed`);
    if (this.listeners.has(pipe.crtc.id) || this.connectorsInUse.has(pipe.connector.id) || this.planesInUse.has(pipe.primary.id)) {
      throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', `${pipe.connector.name} / CRTC ${pipe.crtc.id} / plane ${pipe.primary.id} of ${this.drm}: another output drives one of them`);
    }
    if (!this.watcher) {
      const watcher = native.openDrmEventWatcher(this.drm.fd, (events, errno) => this.onEvents(events, errno));
      watcher.start();
      this.watcher = watcher;
    }
    this.listeners.set(pipe.crtc.id, listener);
    this.connectorsInUse.add(pipe.connector.id);
    this.planesInUse.add(pipe.primary.id);
  }

  /** Stops routing `pipe`'s events; the last detach stops reading the fd. */
  detach(pipe: KmsPipe): void {
    this.listeners.delete(pipe.crtc.id);
    this.connectorsInUse.delete(pipe.connector.id);
    this.planesInUse.delete(pipe.primary.id);
    if (this.listeners.size === 0) this.stopWatching();
  }

  private stopWatching(): void {
    this.watcher?.stop();
    this.watcher = undefined;
  }

  private onEvents(events: DrmEventRaw[] | null, errno?: string): void {
    if (events === null) {
      this.watcher = undefined; // the native watcher stopped itself
      const err = new BufshareError('ERR_BUFSHARE_SYSCALL', `reading DRM events from ${this.drm} failed: ${errno ?? 'unknown'}`, { syscall: 'read', ...(errno ? { errno } : {}) });
      for (const l of [...this.listeners.values()]) l.error(err);
      return;
    }
    for (const e of events) {
      if (e.type !== 'flip') continue;
      // Kernels before 4.12 leave crtc_id 0: then only a lone output can own the event.
      const listener = this.listeners.get(e.crtcId) ?? (e.crtcId === 0 && this.listeners.size === 1 ? [...this.listeners.values()][0] : undefined);
      if (!listener) {
        debug('kms', `${this.drm}: flip event for CRTC ${e.crtcId}, which no output drives: ignored`);
        continue;
      }
      listener.flip(e);
    }
  }

  /**
   * A framebuffer of a dma-buf: PRIME import on this fd, then ADDFB2. Remove it
   * with removeFramebuffer(), which closes the imported handle with its last
   * framebuffer. A handle that an allocator made on this same fd (the import of its
   * own export returns it) is the allocator's: it is never closed here.
   */
  importFramebuffer(dmabufFd: number, layout: Omit<FramebufferLayout, 'handle'>): number {
    const fd = this.drm.fd;
    const handle = native.drmPrimeFdToHandle(fd, dmabufFd);
    const ours = this.handleRefs.has(handle) || !this.drm.isClaimedGemHandle(handle);
    if (ours) this.handleRefs.set(handle, (this.handleRefs.get(handle) ?? 0) + 1);
    let fbId: number;
    try {
      fbId = addFramebuffer(this.drm, { ...layout, handle });
    } catch (e) {
      if (ours) this.dropHandle(handle);
      throw e;
    }
    this.importedFbs.set(fbId, ours ? handle : undefined);
    return fbId;
  }

  /** RMFB of a framebuffer from importFramebuffer(), and GEM_CLOSE of its handle if no other framebuffer uses it. */
  removeFramebuffer(fbId: number): void {
    if (!this.importedFbs.has(fbId)) throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', `framebuffer ${fbId} was not made by importFramebuffer() on ${this.drm}`);
    const handle = this.importedFbs.get(fbId);
    this.importedFbs.delete(fbId);
    try {
      native.kmsRmFb(this.drm.fd, fbId);
    } finally {
      if (handle !== undefined) this.dropHandle(handle);
    }
  }

  private dropHandle(handle: number): void {
    const n = (this.handleRefs.get(handle) ?? 0) - 1;
    if (n > 0) {
      this.handleRefs.set(handle, n);
      return;
    }
    this.handleRefs.delete(handle);
    native.drmGemClose(this.drm.fd, handle);
  }

  /** GEM handles this device imported and has not closed yet (a debug counter: framebuffers still use them). */
  get importedHandles(): number {
    return this.handleRefs.size;
  }

  /** Framebuffers made by importFramebuffer() and not removed yet. */
  get importedFramebuffers(): number {
    return this.importedFbs.size;
  }

  toString(): string {
    return `KMS ${this.drm}`;
  }
}
