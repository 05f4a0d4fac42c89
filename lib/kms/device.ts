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
 * - Session: pause() and resume() (a SessionListener: session.listen(device)).
 *   Paused, its outputs commit nothing (another session is master). Resumed,
 *   it rescans the connectors, turns off what the other master left lit that is
 *   not ours (CRTCs, connectors, planes: one blocking ALLOW_MODESET commit, as
 *   Smithay's reset_state), and each output's next commit is a full modeset.
 * - Hotplug: watchHotplug() follows the kernel's uevents for this card and
 *   rescans; 'hotplug' says which connectors came and went, and the outputs of
 *   a connector that went get lost() ('lost' on KmsOutput).
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
import EventEmitter from 'eventemitter3';
import { debug } from '../debug';
import { DrmDevice } from '../drm/device';
import { BufshareError } from '../errors';
import * as native from '../native';
import type { Session } from '../session/session';
import { isDrmHotplug, watchUevents } from '../session/uevent';
import { AtomicRequest } from './atomic';
import { discoverKms, type KmsConnector, type KmsInfo } from './discovery';
import { addFramebuffer, type FramebufferLayout } from './framebuffer';
import type { DrmEventRaw, DrmEventWatcherNative } from './native-types';
import { pickDisplayCard } from './pick-card';
import type { KmsPipe, PipesInUse } from './pipe';
import type { KmsProperties } from './properties';

/** What an output registers to receive its CRTC's events. */
export interface CrtcListener {
  flip(event: DrmEventRaw): void;
  /** Reading the fd failed; no more events will come. */
  error(err: BufshareError): void;
  /** The session paused: commit nothing until resume(). */
  pause?(): void;
  /** The session is back: `kms` is the card rescanned; the next commit must be a full modeset. */
  resume?(kms: KmsInfo): void;
  /** Its connector is no longer connected (hotplug, or found so at a resume). */
  lost?(): void;
}

export interface HotplugEvent {
  /** Connectors connected now that were not at the previous scan. */
  readonly added: readonly KmsConnector[];
  /** Connectors connected at the previous scan that are not now. */
  readonly removed: readonly KmsConnector[];
  /** The card as scanned now. */
  readonly kms: KmsInfo;
}

interface KmsDeviceEvents {
  hotplug: [HotplugEvent];
}

/** A property's current value as a number (0 when the object lacks it). */
function propValue(props: KmsProperties, name: string): number {
  return Number(props.get(name)?.value ?? 0);
}

/** Live devices by fd number: an fd number names one open file while it is open, and a KmsDevice keeps it open. */
const byFd = new Map<number, KmsDevice>();

export class KmsDevice extends EventEmitter<KmsDeviceEvents> {
  readonly drm: DrmDevice;
  private refs = 1;
  private watcher: DrmEventWatcherNative | undefined;
  /** CRTC id -> the output driving it. */
  private readonly crtcListeners = new Map<number, { pipe: KmsPipe; listener: CrtcListener }>();
  private isActive = true;
  /** Connector ids connected (with modes) at the last scan. */
  private connected: Map<number, KmsConnector> | undefined;
  private stopHotplug: (() => void) | undefined;
  /** Gives a session's device fd back (openInSession). */
  private onLastUnref: (() => void) | undefined;
  private readonly connectorsInUse = new Set<number>();
  private readonly planesInUse = new Set<number>();
  /** Framebuffer id -> the imported handle it was made from (undefined: a handle someone else owns). */
  private readonly importedFbs = new Map<number, number | undefined>();
  private imports = 0;
  /** Imported handle -> framebuffers made from it. */
  private readonly handleRefs = new Map<number, number>();
  private readonly fdNumber: number;

  private constructor(drm: DrmDevice) {
    if (drm.type === 'render') {
      throw new BufshareError('ERR_BUFSHARE_RENDER_NODE', `${drm.path} is a render node: it cannot drive a display; use a card node (/dev/dri/card*)`);
    }
    super();
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

  /**
   * Opens `path` (default: pickDisplayCard(), which reads sysfs where the node
   * is not ours to open) through the session's seat manager, and follows the
   * session (pause/resume). The device fd goes back to the session with the last
   * unref(). The caller holds one reference.
   */
  static openInSession(session: Session, path?: string): KmsDevice {
    const dev = session.openDevice(path ?? pickDisplayCard());
    let device: KmsDevice;
    try {
      const drm = DrmDevice.fromFd(dev.fd);
      try {
        device = new KmsDevice(drm);
      } finally {
        drm.unref();
      }
    } catch (e) {
      dev.close();
      throw e;
    }
    const unlisten = session.listen(device);
    device.onLastUnref = () => {
      unlisten();
      dev.close();
    };
    if (!session.active) device.pause();
    return device;
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
    this.stopHotplug?.();
    this.stopHotplug = undefined;
    for (const fbId of [...this.importedFbs.keys()]) this.removeFramebuffer(fbId);
    if (byFd.get(this.fdNumber) === this) byFd.delete(this.fdNumber);
    this.drm.unref();
    this.onLastUnref?.();
    this.onLastUnref = undefined;
  }

  /** The CRTCs, connectors and planes its outputs drive (what choosePipe must leave alone). */
  get inUse(): PipesInUse {
    return { crtcs: new Set(this.crtcListeners.keys()), connectors: new Set(this.connectorsInUse), planes: new Set(this.planesInUse) };
  }

  /**
   * Routes the page-flip events of `pipe`'s CRTC to `listener`, and starts reading
   * the fd if nothing did. ERR_BUFSHARE_INVALID_ARGUMENT when another output has
   * that CRTC, connector or plane.
   */
  attach(pipe: KmsPipe, listener: CrtcListener): void {
    if (this.refs <= 0) throw new BufshareError('ERR_BUFSHARE_DESTROYED', `KMS device ${this.drm} was closed`);
    if (this.crtcListeners.has(pipe.crtc.id) || this.connectorsInUse.has(pipe.connector.id) || this.planesInUse.has(pipe.primary.id)) {
      throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', `${pipe.connector.name} / CRTC ${pipe.crtc.id} / plane ${pipe.primary.id} of ${this.drm}: another output drives one of them`);
    }
    if (!this.watcher) {
      const watcher = native.openDrmEventWatcher(this.drm.fd, (events, errno) => this.onEvents(events, errno));
      watcher.start();
      this.watcher = watcher;
    }
    this.crtcListeners.set(pipe.crtc.id, { pipe, listener });
    this.connectorsInUse.add(pipe.connector.id);
    this.planesInUse.add(pipe.primary.id);
  }

  /** Stops routing `pipe`'s events; the last detach stops reading the fd. */
  detach(pipe: KmsPipe): void {
    if (this.crtcListeners.get(pipe.crtc.id)?.pipe !== pipe) return;
    this.crtcListeners.delete(pipe.crtc.id);
    this.connectorsInUse.delete(pipe.connector.id);
    this.planesInUse.delete(pipe.primary.id);
    if (this.crtcListeners.size === 0) this.stopWatching();
  }

  private stopWatching(): void {
    this.watcher?.stop();
    this.watcher = undefined;
  }

  private onEvents(events: DrmEventRaw[] | null, errno?: string): void {
    if (events === null) {
      this.watcher = undefined; // the native watcher stopped itself
      const err = new BufshareError('ERR_BUFSHARE_SYSCALL', `reading DRM events from ${this.drm} failed: ${errno ?? 'unknown'}`, { syscall: 'read', ...(errno ? { errno } : {}) });
      for (const l of [...this.crtcListeners.values()]) l.listener.error(err);
      return;
    }
    for (const e of events) {
      if (e.type !== 'flip') continue;
      // Kernels before 4.12 leave crtc_id 0: then only a lone output can own the event.
      const listener = (this.crtcListeners.get(e.crtcId) ?? (e.crtcId === 0 && this.crtcListeners.size === 1 ? [...this.crtcListeners.values()][0] : undefined))?.listener;
      if (!listener) {
        debug('kms', `${this.drm}: flip event for CRTC ${e.crtcId}, which no output drives: ignored`);
        continue;
      }
      listener.flip(e);
    }
  }

  /** Whether the session has the card (not paused): outputs commit only then. */
  get active(): boolean {
    return this.isActive;
  }

  /** The session lost the seat: the outputs stop committing (SessionListener). */
  pause(): void {
    if (!this.isActive || this.refs <= 0) return;
    this.isActive = false;
    debug('kms', `${this.drm}: paused`);
    for (const { listener } of [...this.crtcListeners.values()]) listener.pause?.();
  }

  /**
   * The seat is back (SessionListener): rescan the connectors, clear what the
   * other master left lit, let each output modeset again at its next commit
   * (outputs whose connector went get lost()), then report the hotplug the
   * rescan found, if any.
   */
  resume(): void {
    if (this.isActive || this.refs <= 0) return;
    this.isActive = true;
    const kms = discoverKms(this.drm);
    this.resetForeignState(kms);
    debug('kms', `${this.drm}: resumed`);
    for (const { listener } of [...this.crtcListeners.values()]) listener.resume?.(kms);
    this.applyScan(kms);
  }

  /**
   * One blocking ALLOW_MODESET commit turning off what this device's outputs do
   * not drive: CRTCs, connectors, planes (a cursor the other master left on our
   * CRTC included). Without it, our modeset could fail against the other
   * master's state (a connector of ours still routed to its CRTC leaves that
   * CRTC enabled with no connector: EINVAL). Legacy drivers: SETCRTC at the
   * next commit is all there is.
   */
  private resetForeignState(kms: KmsInfo): void {
    if (!kms.caps.atomic) return;
    const req = new AtomicRequest();
    let n = 0;
    try {
      for (const c of kms.connectors) {
        if (this.connectorsInUse.has(c.id) || (c.crtcId === 0 && !propValue(c.properties, 'CRTC_ID'))) continue;
        req.set(c.properties, 'CRTC_ID', 0);
        n++;
      }
      for (const p of kms.planes) {
        if (this.planesInUse.has(p.id) || (p.crtcId === 0 && p.fbId === 0)) continue;
        req.set(p.properties, 'FB_ID', 0).set(p.properties, 'CRTC_ID', 0);
        n++;
      }
      for (const c of kms.crtcs) {
        if (this.crtcListeners.has(c.id) || (c.mode === null && !propValue(c.properties, 'ACTIVE'))) continue;
        req.set(c.properties, 'ACTIVE', 0).set(c.properties, 'MODE_ID', 0);
        n++;
      }
      if (n > 0) req.commit(this.drm.fd, { allowModeset: true });
      debug('kms', `${this.drm}: turned off ${n} objects another master left on`);
    } catch (e) {
      debug('kms', `${this.drm}: could not turn off the other master's state: ${(e as Error).message}`);
    }
  }

  /**
   * Rescans the connectors now (what a hotplug uevent triggers): outputs whose
   * connector is gone get lost(), then 'hotplug' reports the change, if any.
   * Paused: deferred to resume(). Returns the scan (undefined when deferred).
   */
  rescan(): KmsInfo | undefined {
    if (this.refs <= 0) throw new BufshareError('ERR_BUFSHARE_DESTROYED', `KMS device ${this.drm} was closed`);
    if (!this.isActive) return undefined; // resume() rescans anyway
    const kms = discoverKms(this.drm);
    this.applyScan(kms);
    return kms;
  }

  private applyScan(kms: KmsInfo): void {
    const now = new Map(kms.connectors.filter((c) => c.status === 'connected' && c.modes.length > 0).map((c) => [c.id, c]));
    const before = this.connected;
    this.connected = now;
    for (const { pipe, listener } of [...this.crtcListeners.values()]) {
      if (!now.has(pipe.connector.id)) listener.lost?.();
    }
    if (!before) return;
    const added = [...now.values()].filter((c) => !before.has(c.id));
    const removed = [...before.values()].filter((c) => !now.has(c.id));
    if (added.length === 0 && removed.length === 0) return;
    debug('kms', `${this.drm}: hotplug: ${added.map((c) => `+${c.name}`).concat(removed.map((c) => `-${c.name}`)).join(' ')}`);
    this.emit('hotplug', { added, removed, kms });
  }

  /**
   * Follows the kernel's hotplug uevents for this card (NETLINK_KOBJECT_UEVENT;
   * no udev needed) and rescans on each, and on lost messages. Idempotent; ends
   * with the last unref(). The socket keeps the process alive meanwhile.
   */
  watchHotplug(): void {
    if (this.stopHotplug) return;
    if (this.refs <= 0) throw new BufshareError('ERR_BUFSHARE_DESTROYED', `KMS device ${this.drm} was closed`);
    if (!this.connected) this.connected = new Map(discoverKms(this.drm).connectors.filter((c) => c.status === 'connected' && c.modes.length > 0).map((c) => [c.id, c]));
    const devname = this.devname();
    const rescan = (): void => {
      try {
        this.rescan();
      } catch (e) {
        debug('kms', `${this.drm}: rescan after a hotplug failed: ${(e as Error).message}`);
      }
    };
    this.stopHotplug = watchUevents((e) => {
      if (isDrmHotplug(e) && (devname === undefined || e.devname === devname)) rescan();
    }, rescan);
  }

  /** "dri/card0", as uevents name the node (undefined when the fd's path is unknown). */
  private devname(): string | undefined {
    const m = /\/dev\/(dri\/card\d+)$/.exec(this.drm.path);
    return m ? m[1] : undefined;
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
    this.imports++;
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

  /** Framebuffers importFramebuffer() made since the device was opened (a debug counter: direct scanout imports a buffer once, not every frame). */
  get framebufferImports(): number {
    return this.imports;
  }

  /** Framebuffers made by importFramebuffer() and not removed yet. */
  get importedFramebuffers(): number {
    return this.importedFbs.size;
  }

  override toString(): string {
    return `KMS ${this.drm}`;
  }
}
