/**
 * KmsOutput: a compositor's display. It owns a small ring of scanout buffers
 * (dumb, mode-sized), commits one per frame with an atomic commit (TEST_ONLY the
 * first time a configuration is used, then NONBLOCK | PAGE_FLIP_EVENT, with
 * FB_DAMAGE_CLIPS where the plane takes them), and reports each completed flip
 * as a typed 'flip' event carrying the kernel's timestamp and vblank sequence,
 * read from the DRM fd on the libuv loop. Drivers without atomic get SETCRTC +
 * PAGE_FLIP behind the same API (`api: 'legacy'` forces it).
 *
 * How am I supposed to use this?
 *
 *   const output = KmsOutput.open({ device: '/dev/dri/card0' });
 *   output.on('flip', (e) => drawNext());
 *   function drawNext() {
 *     const frame = output.acquire();               // a free buffer and its age
 *     const repaint = output.repaintRegion(frame, damage);  // buffer age
 *     ...write `repaint` into frame.region...
 *     output.commit(frame, damage);
 *   }
 *
 * One commit at a time: commit() while the previous flip is pending throws
 * ERR_BUFSHARE_COMMIT_PENDING (nothing is lost: commit again after 'flip').
 *
 * Several heads of one card: open a KmsDevice and pass it to each output (each
 * takes the first connected connector, CRTC and primary plane no other output
 * on that device has, or the connector named). The device reads the fd's events
 * once and hands each output the flips of its own CRTC.
 *
 * Device ownership: a path (or none: pickDisplayCard()) is opened keeping DRM
 * master (a display needs it), in a KmsDevice of this output's own, closed with it;
 * a DrmDevice is borrowed (never closed by the output) and must be master when
 * committing: outputs given DrmDevices on one fd share its KmsDevice; a KmsDevice
 * is shared (the output holds a reference until close()). The KmsDevice watches
 * the fd on the loop while outputs are open, which keeps the process alive like a
 * listening socket. Do not also poll a borrowed fd on the same libuv loop (libuv
 * watches an fd once).
 */
import type { ScanoutSource } from '../surface-model';
import EventEmitter from 'eventemitter3';
import { debug } from '../debug';
import { DrmDevice } from '../drm/device';
import { BufshareError, isErrno } from '../errors';
import { resolveFormat, type FormatInfo, type FormatSpec } from '../format';
import type { GraphicsRegion } from '../mapping/graphics-region';
import * as native from '../native';
import { Region, type Rect } from '../region';
import type { OutputInfo } from '../output-info';
import { AtomicRequest } from './atomic';
import { ClientFramebuffers } from './client-framebuffers';
import { DamageHistory } from './damage-history';
import { KmsDevice } from './device';
import { discoverKms, refreshMilliHz, type KmsInfo, type KmsWritebackConnector } from './discovery';
import type { DrmEventRaw, KmsModeInfo } from './native-types';
import { addPlane, choosePipe, modeName, type KmsPipe, type PipeChoice } from './pipe';
import { ScanoutBuffer } from './scanout-buffer';
import { WritebackCapture } from './writeback';

export interface KmsOutputOptions extends PipeChoice {
  /**
   * A card node to open (keeping DRM master), a DrmDevice to use (borrowed), or a
   * KmsDevice shared with the card's other outputs. Default: pickDisplayCard() (a
   * card with a connected screen, real display hardware before vkms).
   */
  readonly device?: string | DrmDevice | KmsDevice;
  /** The scanout buffers' format (default XRGB8888, which every KMS driver scans out). */
  readonly format?: FormatSpec | string;
  /** Scanout buffers in the ring: 2 (default) or 3 (draw the next frame while a flip is pending). */
  readonly buffers?: 2 | 3;
  /** 'auto': atomic where the driver has it, else legacy; 'legacy': SETCRTC + PAGE_FLIP. */
  readonly api?: 'auto' | 'legacy';
  /** Attach the card's writeback connector at the modeset, so capture() works (atomic only). */
  readonly writeback?: boolean;
}

export interface FlipEvent {
  /** The number commit() returned for the frame now on screen. */
  readonly frame: number;
  /** The kernel's vblank counter at the flip. */
  readonly sequence: number;
  /** When the flip happened (CLOCK_MONOTONIC, as process.hrtime), seconds and microseconds. */
  readonly sec: number;
  readonly usec: number;
  /** The same instant in nanoseconds, comparable with process.hrtime.bigint(). */
  readonly timeNs: bigint;
  readonly crtcId: number;
}

export interface OutputFrame {
  readonly buffer: ScanoutBuffer;
  /** The buffer's pixels, to write the frame into. */
  readonly region: GraphicsRegion;
  /** Frames since this buffer was last on screen; 0: never (its contents are undefined). */
  readonly age: number;
}

interface OutputEvents {
  flip: [FlipEvent];
  /** Reading the DRM fd failed; the output stops delivering flips. */
  error: [BufshareError];
  /** The session paused (KmsDevice.pause): commits throw ERR_BUFSHARE_NOT_MASTER until 'resume'. */
  pause: [];
  /** The session is back: the next commit is a full modeset; repaint everything (every buffer's age is 0). */
  resume: [];
  /** The connector is no longer connected (hotplug): close the output. */
  lost: [];
}

type BufferState = 'free' | 'queued' | 'front';

interface DirectFrame {
  readonly fbId: number;
  readonly onReplaced: () => void;
}

/** What direct scanout needs of a client's buffer: the surface model's ScanoutSource (a SharedBuffer has all of it; so do Wayland dma-bufs). */
export type DirectScanoutBuffer = ScanoutSource;

/** Why a buffer was not scanned out directly (the caller composites it instead). */
export type DirectScanoutRefusal = 'size' | 'format' | 'no-dmabuf' | 'import' | 'test-only' | 'legacy' | 'modeset';

interface Slot {
  readonly buffer: ScanoutBuffer;
  state: BufferState;
  /** The frame number it was last committed with (0: never). */
  shownAt: number;
}

function sameMode(a: KmsModeInfo, b: KmsModeInfo): boolean {
  return a.hdisplay === b.hdisplay && a.vdisplay === b.vdisplay && a.clock === b.clock && a.htotal === b.htotal && a.vtotal === b.vtotal && a.flags === b.flags;
}

/** drm_mode_rect: x1, y1, x2, y2 as int32, what FB_DAMAGE_CLIPS holds. */
function damageBlob(rects: readonly Rect[]): Uint8Array {
  const a = new Int32Array(rects.length * 4);
  rects.forEach((r, i) => a.set([r.x, r.y, r.x + r.width, r.y + r.height], i * 4));
  return new Uint8Array(a.buffer);
}

/** FB_DAMAGE_CLIPS beyond this many rectangles is sent as their bounds (drivers walk the list per flip). */
const MAX_DAMAGE_CLIPS = 64;

export class KmsOutput extends EventEmitter<OutputEvents> {
  /** The card's KMS device: its event reader and scanout imports, shared with the card's other outputs. */
  readonly kmsDevice: KmsDevice;
  /** The card's DRM device (kmsDevice.drm). */
  readonly device: DrmDevice;
  readonly pipe: KmsPipe;
  readonly mode: KmsModeInfo;
  readonly width: number;
  readonly height: number;
  readonly format: FormatInfo;
  /** Which commit path is in use. */
  readonly api: 'atomic' | 'legacy';
  readonly kms: KmsInfo;
  private readonly slots: Slot[];
  private readonly history: DamageHistory;
  private readonly writebackConnector: KmsWritebackConnector | undefined;
  private readonly modeBlob: number;
  private readonly tested = new Set<number>();
  private readonly clientFbs: ClientFramebuffers;
  private modesetDone = false;
  /** The writeback connector drives the CRTC without the display connector (see commitAtomic). */
  private writebackOnly = false;
  private frameCounter = 0;
  private pendingFrame: { frame: number; slot?: Slot; direct?: DirectFrame } | undefined;
  /** The client buffer on screen, when the last completed flip was a direct scanout. */
  private frontDirect: DirectFrame | undefined;
  private nextCapture: WritebackCapture | undefined;
  private closed = false;
  private isPaused = false;
  private isLost = false;

  static open(options: KmsOutputOptions = {}): KmsOutput {
    const given = options.device;
    const kmsDevice = given instanceof KmsDevice ? given.ref()
      : given instanceof DrmDevice ? KmsDevice.forDrm(given)
        : KmsDevice.open(given);
    try {
      return new KmsOutput(kmsDevice, options);
    } finally {
      kmsDevice.unref(); // the output holds its own reference
    }
  }

  private constructor(kmsDevice: KmsDevice, options: KmsOutputOptions) {
    super();
    const device = kmsDevice.drm;
    this.kms = discoverKms(device);
    this.pipe = choosePipe(this.kms, options, kmsDevice.inUse);
    this.mode = this.pipe.mode;
    this.width = this.mode.hdisplay;
    this.height = this.mode.vdisplay;
    this.format = resolveFormat(options.format ?? 'XRGB8888');
    if (!this.pipe.primary.formats.includes(this.format.fourcc)) {
      throw new BufshareError('ERR_BUFSHARE_UNSUPPORTED_FORMAT', `the primary plane of ${this.pipe.connector.name} does not scan out ${this.format.name}`);
    }
    this.api = options.api === 'legacy' || !this.kms.caps.atomic ? 'legacy' : 'atomic';
    if (options.writeback) {
      if (this.api !== 'atomic') throw new BufshareError('ERR_BUFSHARE_UNSUPPORTED', 'writeback needs atomic modesetting');
      this.writebackConnector = this.kms.writeback.find((w) => (w.possibleCrtcs & (1 << this.pipe.crtc.index)) !== 0);
      if (!this.writebackConnector) throw new BufshareError('ERR_BUFSHARE_NOT_AVAILABLE', `${device} has no writeback connector for CRTC ${this.pipe.crtc.id}`);
    }
    this.kmsDevice = kmsDevice.ref();
    this.device = device;
    this.clientFbs = new ClientFramebuffers(kmsDevice);
    const made: ScanoutBuffer[] = [];
    let modeBlob = 0;
    try {
      for (let i = 0; i < (options.buffers ?? 2); i++) made.push(new ScanoutBuffer(device, this.width, this.height, this.format));
      modeBlob = this.api === 'atomic' ? native.kmsCreateBlob(device.fd, this.mode.raw) : 0;
      kmsDevice.attach(this.pipe, {
        flip: (e) => this.onFlip(e), error: (err) => this.emit('error', err),
        pause: () => this.onPause(), resume: (kms) => this.onResume(kms), lost: () => this.onLost(),
      });
    } catch (e) {
      for (const b of made) b.destroy();
      if (modeBlob) native.kmsDestroyBlob(device.fd, modeBlob);
      this.kmsDevice.unref();
      throw e;
    }
    this.modeBlob = modeBlob;
    this.slots = made.map((buffer) => ({ buffer, state: 'free' as BufferState, shownAt: 0 }));
    this.history = new DamageHistory(this.width, this.height, 4);
    this.isPaused = !kmsDevice.active;
    debug('kms', `output on ${device}: ${this.pipe.connector.name} ${modeName(this.mode)}, CRTC ${this.pipe.crtc.id}, plane ${this.pipe.primary.id}, ${this.api}`);
  }

  /**
   * What a wl_output (WaylandServer's `output` option) says of this display: the
   * mode's size and exact rate, the connector's name, the monitor's make, model and
   * physical size (EDID, as the kernel reports them; absent without one).
   */
  describe(): OutputInfo {
    const c = this.pipe.connector;
    return {
      width: this.width, height: this.height, refreshMilliHz: refreshMilliHz(this.mode), name: c.name,
      ...(c.edid.make ? { make: c.edid.make } : {}), ...(c.edid.model ? { model: c.edid.model } : {}),
      ...(c.mmWidth > 0 && c.mmHeight > 0 ? { physicalWidth: c.mmWidth, physicalHeight: c.mmHeight } : {}),
    };
  }

  /** A commit's page flip has not completed yet. */
  get pending(): boolean {
    return this.pendingFrame !== undefined;
  }

  /** A buffer not on screen and not queued, with its age. ERR_BUFSHARE_COMMIT_PENDING when every buffer is in use. */
  acquire(): OutputFrame {
    this.checkOpen();
    const free = this.slots.filter((s) => s.state === 'free');
    if (free.length === 0) throw new BufshareError('ERR_BUFSHARE_COMMIT_PENDING', 'every scanout buffer is on screen or queued: wait for the flip event');
    // The most recently shown free buffer has the smallest age: the least to repaint.
    const slot = free.reduce((a, b) => (b.shownAt > a.shownAt ? b : a));
    const age = slot.shownAt === 0 ? 0 : this.frameCounter + 1 - slot.shownAt;
    return { buffer: slot.buffer, region: slot.buffer.region, age };
  }

  /** What to repaint in `frame` for a new frame whose own damage is `damage` (buffer age). */
  repaintRegion(frame: OutputFrame, damage: Region): Region {
    return this.history.repaint(frame.age, damage);
  }

  /** A writeback buffer for capture() (mode-sized, the output's format). */
  createCapture(): WritebackCapture {
    this.checkOpen();
    if (!this.writebackConnector) throw new BufshareError('ERR_BUFSHARE_UNSUPPORTED', 'open the output with writeback: true to capture');
    return new WritebackCapture(this.device, this.width, this.height, this.format);
  }

  /** Attaches `capture` to the next commit: wait() on it after that commit returns. */
  capture(capture: WritebackCapture): void {
    if (!this.writebackConnector) throw new BufshareError('ERR_BUFSHARE_UNSUPPORTED', 'open the output with writeback: true to capture');
    this.nextCapture = capture;
  }

  /**
   * Puts `frame` on screen at the next vblank; 'flip' follows when it is there.
   * `damage` (default: everything) is what changed since the previous frame:
   * recorded for buffer age, and passed to the plane as FB_DAMAGE_CLIPS.
   * Returns the frame number the 'flip' event will carry.
   */
  commit(frame: OutputFrame, damage?: Region | readonly Rect[]): number {
    this.checkOpen();
    this.checkActive();
    if (this.pendingFrame) {
      throw new BufshareError('ERR_BUFSHARE_COMMIT_PENDING', `frame ${this.pendingFrame.frame} is still waiting for its page flip; commit after the 'flip' event`);
    }
    const slot = this.slots.find((s) => s.buffer === frame.buffer);
    if (!slot || slot.state !== 'free') throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', 'commit() takes a frame from this output\'s acquire(), once');
    const region = damage === undefined ? Region.full(this.width, this.height)
      : (damage instanceof Region ? damage : Region.from(damage)).clip(this.width, this.height);
    const id = this.frameCounter + 1;
    try {
      if (this.api === 'atomic') this.commitAtomic(slot.buffer, region, id);
      else this.commitLegacy(slot.buffer, id);
    } catch (e) {
      if (isErrno(e, 'EACCES') || isErrno(e, 'EPERM')) {
        throw new BufshareError('ERR_BUFSHARE_NOT_MASTER', `${this.device} is not DRM master: another process (a compositor, a logind session) owns the display`, { cause: e });
      }
      throw e;
    }
    this.frameCounter = id;
    this.modesetDone = true;
    slot.state = 'queued';
    slot.shownAt = id;
    this.pendingFrame = { frame: id, slot };
    this.history.push(region);
    return id;
  }

  /** The plane (and, for the first commit, the modeset) for `buffer`. */
  private request(buffer: ScanoutBuffer, first: boolean): AtomicRequest {
    const req = new AtomicRequest();
    if (first) {
      req.set(this.pipe.crtc.properties, 'MODE_ID', this.modeBlob).set(this.pipe.crtc.properties, 'ACTIVE', 1);
      req.set(this.pipe.connector.properties, 'CRTC_ID', this.writebackOnly ? 0 : this.pipe.crtc.id);
      if (this.writebackConnector) req.set(this.writebackConnector.properties, 'CRTC_ID', this.pipe.crtc.id);
    }
    return addPlane(req, this.pipe.primary, this.pipe.crtc.id, buffer.fbId, this.width, this.height);
  }

  private testOnly(req: AtomicRequest, first: boolean): void {
    req.commit(this.device.fd, { testOnly: true, allowModeset: first });
  }

  private commitAtomic(buffer: ScanoutBuffer, damage: Region, id: number): void {
    const fd = this.device.fd;
    const first = !this.modesetDone;
    let req = this.request(buffer, first);
    if (!this.tested.has(buffer.fbId) || first) {
      try {
        try {
          this.testOnly(req, first);
        } catch (e) {
          // Some drivers cannot clone the writeback connector with the display's
          // (vkms on 6.12: its encoders' possible_clones): capture the CRTC alone.
          if (!first || !this.writebackConnector || isErrno(e, 'EACCES', 'EPERM')) throw e;
          this.writebackOnly = true;
          req = this.request(buffer, first);
          this.testOnly(req, first);
          debug('kms', `${this.device}: writeback cannot share CRTC ${this.pipe.crtc.id} with ${this.pipe.connector.name}; driving the writeback connector alone`);
        }
      } catch (e) {
        if (isErrno(e, 'EACCES', 'EPERM')) throw e;
        throw new BufshareError('ERR_BUFSHARE_UNSUPPORTED',
          `${this.device} refused ${this.format.name} ${this.width}x${this.height} on plane ${this.pipe.primary.id} (TEST_ONLY: ${(e as Error).message})`, { cause: e });
      }
      this.tested.add(buffer.fbId);
    }
    let blob = 0;
    const capture = this.nextCapture;
    this.nextCapture = undefined;
    try {
      if (!first && this.pipe.primary.damageClips && !damage.isEmpty) {
        const rects = damage.rects.length > MAX_DAMAGE_CLIPS ? [damage.bounds!] : damage.rects;
        blob = native.kmsCreateBlob(fd, damageBlob(rects));
        req.set(this.pipe.primary.properties, 'FB_DAMAGE_CLIPS', blob);
      }
      if (capture) {
        req.set(this.writebackConnector!.properties, 'WRITEBACK_FB_ID', capture.fbId);
        req.outFence(this.writebackConnector!.properties, 'WRITEBACK_OUT_FENCE_PTR');
      }
      // The modeset blocks (it may take frames on real hardware, once); every later commit is NONBLOCK.
      const fences = req.commit(fd, { nonblock: !first, pageFlipEvent: true, allowModeset: first, userData: id });
      if (capture) capture.setFence(fences[0] ?? -1);
    } finally {
      // The committed state holds its own reference to the blob.
      if (blob) native.kmsDestroyBlob(fd, blob);
    }
  }

  private commitLegacy(buffer: ScanoutBuffer, id: number): void {
    const fd = this.device.fd;
    if (!this.modesetDone) {
      native.kmsSetCrtc(fd, this.pipe.crtc.id, buffer.fbId, 0, 0, Uint32Array.of(this.pipe.connector.id), this.mode.raw);
    }
    // After the SETCRTC too, so that every commit ends with a real flip event from the kernel.
    native.kmsPageFlip(fd, this.pipe.crtc.id, buffer.fbId, id);
  }

  /**
   * Direct scanout: puts a client's buffer itself on the primary plane, zero
   * copies, when it covers the output exactly, is opaque (no alpha, or
   * `opaque` says its alpha is all ones), can be imported (its dma-buf) and the
   * display accepts it (an atomic TEST_ONLY decides, never a guess from caps).
   * Returns the frame number, or a refusal reason: then composite it instead.
   *
   * `onReplaced` runs once, when the flip that takes the buffer off screen has
   * completed (or at close()): release the buffer to its client only then.
   * `damage` is recorded for the output's own buffers' age, as in commit().
   */
  commitDirect(buffer: DirectScanoutBuffer, onReplaced: () => void, options: { damage?: Region | readonly Rect[]; opaque?: boolean } = {}): number | DirectScanoutRefusal {
    this.checkOpen();
    this.checkActive();
    if (this.pendingFrame) {
      throw new BufshareError('ERR_BUFSHARE_COMMIT_PENDING', `frame ${this.pendingFrame.frame} is still waiting for its page flip; commit after the 'flip' event`);
    }
    if (this.api !== 'atomic') return 'legacy'; // TEST_ONLY decides, and legacy has none
    if (!this.modesetDone) return 'modeset'; // the first frame is the output's own modeset
    if (buffer.width !== this.width || buffer.height !== this.height) return 'size';
    if ((buffer.format.hasAlpha && !options.opaque) || buffer.planes.length !== 1) return 'format';
    if (!this.pipe.primary.formats.includes(buffer.format.fourcc) && !this.pipe.primary.formats.includes(resolveFormat(buffer.format.opaque).fourcc)) return 'format';
    const fd = this.device.fd;
    let fbId: number;
    let tested = false;
    const kept = this.clientFbs.lookup(buffer);
    if (kept) {
      ({ fbId, tested } = kept);
    } else {
      const exported = buffer.export();
      const at = exported.descriptor.fds.indexOf('buffer');
      if (at < 0) return 'no-dmabuf';
      try {
        // An opaque view of an alpha format where the plane lacks the alpha one.
        const fourcc = this.pipe.primary.formats.includes(buffer.format.fourcc) && !buffer.format.hasAlpha ? buffer.format.fourcc : resolveFormat(buffer.format.opaque).fourcc;
        // The KmsDevice counts the imported handle and closes it with its last framebuffer
        // (when the buffer is gone: clientFbs; at the replacing flip for a source that cannot say: dropDirect).
        fbId = this.kmsDevice.importFramebuffer(exported.fds[at]!, { width: buffer.width, height: buffer.height, fourcc, pitch: buffer.planes[0]!.stride, offset: buffer.planes[0]!.offset, modifier: buffer.modifier });
      } catch (e) {
        debug('kms', `direct scanout: cannot import the buffer: ${(e as Error).message}`);
        return 'import';
      }
      this.clientFbs.keep(buffer, fbId);
    }
    const dropRefused = (): void => {
      if (this.clientFbs.has(fbId)) this.clientFbs.forget(fbId);
      else this.kmsDevice.removeFramebuffer(fbId);
    };
    const req = addPlane(new AtomicRequest(), this.pipe.primary, this.pipe.crtc.id, fbId, this.width, this.height);
    if (!tested) {
      try {
        req.commit(fd, { testOnly: true });
      } catch (e) {
        dropRefused();
        if (isErrno(e, 'EACCES', 'EPERM')) throw new BufshareError('ERR_BUFSHARE_NOT_MASTER', `${this.device} is not DRM master`, { cause: e });
        debug('kms', `direct scanout refused by TEST_ONLY: ${(e as Error).message}`);
        return 'test-only';
      }
      this.clientFbs.markTested(fbId);
    }
    const capture = this.nextCapture;
    this.nextCapture = undefined;
    const id = this.frameCounter + 1;
    try {
      if (capture) {
        req.set(this.writebackConnector!.properties, 'WRITEBACK_FB_ID', capture.fbId);
        req.outFence(this.writebackConnector!.properties, 'WRITEBACK_OUT_FENCE_PTR');
      }
      const fences = req.commit(fd, { nonblock: true, pageFlipEvent: true, userData: id });
      if (capture) capture.setFence(fences[0] ?? -1);
    } catch (e) {
      dropRefused();
      throw e;
    }
    this.clientFbs.onPlane(fbId);
    const region = options.damage === undefined ? Region.full(this.width, this.height)
      : (options.damage instanceof Region ? options.damage : Region.from(options.damage)).clip(this.width, this.height);
    this.frameCounter = id;
    this.pendingFrame = { frame: id, direct: { fbId, onReplaced } };
    this.history.push(region);
    return id;
  }

  /** The framebuffers of the output's own (composition) buffers. */
  get ownFramebuffers(): number[] {
    return this.slots.map((s) => s.buffer.fbId);
  }

  /** The framebuffer on the primary plane now, as the kernel reports it. */
  get planeFramebuffer(): number {
    return native.kmsGetPlane(this.device.fd, this.pipe.primary.id).fbId;
  }

  private dropDirect(direct: DirectFrame): void {
    try {
      if (this.clientFbs.has(direct.fbId)) this.clientFbs.offPlane(direct.fbId);
      else this.kmsDevice.removeFramebuffer(direct.fbId);
    } finally {
      direct.onReplaced();
    }
  }

  /** Framebuffers kept for client buffers (direct scanout), each until its buffer is gone. */
  get clientFramebuffers(): number {
    return this.clientFbs.size;
  }

  /** A page flip of this output's CRTC (the KmsDevice routes it here). */
  private onFlip(e: DrmEventRaw): void {
    const pending = this.pendingFrame;
    if (!pending || e.userData !== pending.frame) {
      debug('kms', `flip event for frame ${e.userData}, none pending with that number: ignored`);
      return;
    }
    for (const s of this.slots) if (s.state === 'front') s.state = 'free';
    // The flip that replaced a scanned-out client buffer has completed: only now
    // is it off screen, so only now may its client draw into it again.
    const replaced = this.frontDirect;
    this.frontDirect = pending.direct;
    if (pending.slot) pending.slot.state = 'front';
    this.pendingFrame = undefined;
    if (replaced) this.dropDirect(replaced);
    this.emit('flip', {
      frame: pending.frame, sequence: e.sequence, sec: e.sec, usec: e.usec,
      timeNs: BigInt(e.sec) * 1_000_000_000n + BigInt(e.usec) * 1000n, crtcId: e.crtcId,
    });
  }

  private checkOpen(): void {
    if (this.closed) throw new BufshareError('ERR_BUFSHARE_DESTROYED', 'the KMS output was closed');
  }

  private checkActive(): void {
    if (this.isPaused) throw new BufshareError('ERR_BUFSHARE_NOT_MASTER', `the session is paused: another session has ${this.device}; commit after 'resume'`);
    if (this.isLost) throw new BufshareError('ERR_BUFSHARE_NOT_AVAILABLE', `${this.pipe.connector.name} is no longer connected`);
  }

  /** The session paused: no commits until it resumes (the KMS device says so). */
  get paused(): boolean {
    return this.isPaused;
  }

  /** The connector went away (hotplug): nothing more will show; close the output. */
  get lost(): boolean {
    return this.isLost;
  }

  private onPause(): void {
    if (this.isPaused || this.closed) return;
    this.isPaused = true;
    this.emit('pause');
  }

  /**
   * The other master replaced everything on screen: what we had queued or shown
   * is gone. Client buffers are handed back now; our own buffers start over
   * (age 0: repaint all); the next commit modesets from scratch (ALLOW_MODESET,
   * TEST_ONLY again), never a plane-only commit against the other master's state.
   */
  private onResume(kms: KmsInfo): void {
    if (!this.isPaused || this.closed) return;
    const pending = this.pendingFrame;
    const front = this.frontDirect;
    this.pendingFrame = undefined;
    this.frontDirect = undefined;
    for (const d of [pending?.direct, front]) if (d) this.dropDirect(d);
    for (const s of this.slots) {
      s.state = 'free';
      s.shownAt = 0;
    }
    this.modesetDone = false;
    this.tested.clear();
    this.clientFbs.untest();
    this.isPaused = false;
    const c = kms.connectors.find((x) => x.id === this.pipe.connector.id);
    const stillThere = c !== undefined && c.status === 'connected' && c.modes.some((m) => sameMode(m, this.mode));
    debug('kms', `${this.pipe.connector.name}: resumed${stillThere ? '' : ', but its connector or mode is gone'}`);
    if (!stillThere) {
      this.onLost();
      return;
    }
    this.emit('resume');
  }

  private onLost(): void {
    if (this.isLost || this.closed) return;
    this.isLost = true;
    debug('kms', `${this.pipe.connector.name}: lost (disconnected)`);
    this.emit('lost');
  }

  /**
   * Detaches from the KmsDevice (the last output stops its reading the fd), frees
   * the buffers (removing their framebuffers turns the plane off) and drops the
   * KmsDevice reference (an opened node is closed with its last one, which also
   * gives up DRM master). Idempotent.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.kmsDevice.detach(this.pipe);
    this.nextCapture = undefined;
    // Removing the framebuffers turns the plane off: nothing of the client's stays on screen.
    for (const d of [this.pendingFrame?.direct, this.frontDirect]) if (d) this.dropDirect(d);
    this.pendingFrame = undefined;
    this.frontDirect = undefined;
    this.clientFbs.close();
    for (const s of this.slots) s.buffer.destroy();
    if (this.modeBlob) native.kmsDestroyBlob(this.device.fd, this.modeBlob);
    this.kmsDevice.unref();
    this.removeAllListeners();
  }
}
