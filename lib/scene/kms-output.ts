/**
 * KmsSceneOutput: the scene on a display, through a KmsOutput (one CRTC, its
 * primary plane), paced by page flips: a frame is committed when the scene
 * changed and no flip is pending, and surfaces on it get their frame callbacks
 * when the flip that shows their pixels completes.
 *
 * Direct scanout, chosen by the scene for any source: when the topmost node
 * covering the output is an opaque client buffer with a dma-buf (a bufshare
 * hardware buffer, a Wayland linux-dmabuf buffer) that the plane accepts
 * (KmsOutput.commitDirect: TEST_ONLY decides), the buffer goes on the plane as
 * it is and nothing is composed or copied that frame. The output locks the
 * buffer until the flip that takes it off screen, so its client never draws
 * into a buffer on screen. Refused, or no longer covering: composition again.
 *
 * Composition goes into a shadow in RAM, then only the damage is copied into
 * the scanout buffer (by its age): blends read what is below them, and reading
 * a dumb buffer's write-combined memory runs about 40x slower than memcpy.
 *
 * Session: while the KmsOutput is paused (KmsDevice.pause, another session
 * has the card) nothing is committed; at its 'resume' the whole output is
 * damaged, so the first frame back is a full modeset showing everything.
 * 'lost' says the connector went (hotplug). KmsSceneHeads (below) makes and
 * removes these for every connected head of one or several cards.
 *
 * Ownership: the KmsOutput stays the caller's (close it after destroy()).
 */
import { EventEmitter } from 'eventemitter3';
import { copyRects } from '../copy';
import { debug } from '../debug';
import type { HotplugEvent, KmsDevice } from '../kms/device';
import { discoverKms, type KmsConnector } from '../kms/discovery';
import { KmsOutput, type DirectScanoutRefusal, type FlipEvent, type KmsOutputOptions } from '../kms/output';
import type { GraphicsRegion } from '../mapping/graphics-region';
import type { SceneOutput } from './output';
import { pixelRegion } from './render';
import type { SceneNode, SceneTree } from './node';
import type { Scene } from './scene';

export interface KmsSceneOutputOptions {
  /** Top-left corner in the scene's layout. Default (0, 0). */
  readonly x?: number;
  readonly y?: number;
  /** Pixels per layout unit (SceneOutputOptions.scale). Default 1. */
  readonly scale?: number;
}

export interface KmsSceneOutputEvents {
  /**
   * A commit was made (`frame`, KmsOutput's number): 'direct' put a client's
   * buffer on the plane, 'composed' one of the output's own buffers, with
   * `refusal` saying why a fullscreen candidate was composed instead.
   */
  presented: [frame: number, path: 'direct' | 'composed', refusal: DirectScanoutRefusal | undefined];
  /** A commit failed (DRM master lost, a device error); the next damage or flip tries again. Thrown when nobody listens. */
  error: [error: Error];
  /** The connector is no longer connected (the KmsOutput's 'lost'). */
  lost: [];
}

export class KmsSceneOutput extends EventEmitter<KmsSceneOutputEvents> {
  readonly output: SceneOutput;
  readonly kms: KmsOutput;
  /** Commits, those scanned out directly, and pixels copied into scanout buffers. */
  commits = 0;
  directCommits = 0;
  copied = 0;
  private readonly shadow: GraphicsRegion;
  /** Frames out (composed or direct), and the frame that last painted the shadow (0: never). */
  private frames = 0;
  private shadowPaintedAt = 0;
  private closed = false;
  private scheduled = false;
  /**
   * Damage arrives in the middle of scene changes (a move damages the old place,
   * then the new one): commit once they are done, not between them.
   */
  private readonly onDamage = (): void => {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.presentOrReport();
    });
  };
  private readonly onResume = (): void => {
    // The other master's pixels are on screen until our modeset: all of ours goes again.
    this.shadowPaintedAt = 0;
    this.output.damageAll();
  };
  private readonly onLost = (): void => {
    this.emit('lost');
  };
  private readonly onFlip = (e: FlipEvent): void => {
    this.output.present(performance.now(), { timeNs: e.timeNs, sequence: e.sequence, vsync: true, hardware: true });
    this.presentOrReport();
  };

  constructor(scene: Scene, kms: KmsOutput, options: KmsSceneOutputOptions = {}) {
    super();
    this.kms = kms;
    const milliHz = kms.describe().refreshMilliHz;
    const refreshNs = milliHz > 0 ? Math.round(1e12 / milliHz) : 0;
    this.output = scene.addOutput({ name: kms.pipe.connector.name, x: options.x ?? 0, y: options.y ?? 0, width: kms.width, height: kms.height, refreshNs, scale: options.scale ?? 1 });
    this.shadow = pixelRegion(kms.width, kms.height);
    this.output.on('damage', this.onDamage);
    kms.on('flip', this.onFlip);
    kms.on('resume', this.onResume);
    kms.on('lost', this.onLost);
    // The first commit (the modeset) shows the whole output as it is now.
    this.present();
  }

  /** What the plane will show next, or shows now: a composed frame's pixels (for checks: compare with a writeback capture). */
  get composed(): GraphicsRegion {
    return this.shadow;
  }

  /** Stops committing and leaves the layout; a buffer on the plane stays locked until KmsOutput.close(). */
  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.kms.off('flip', this.onFlip);
    this.kms.off('resume', this.onResume);
    this.kms.off('lost', this.onLost);
    this.output.destroy();
  }

  private presentOrReport(): void {
    try {
      this.present();
    } catch (e) {
      if (this.listenerCount('error') === 0) throw e;
      this.emit('error', e as Error);
    }
  }

  private present(): void {
    if (this.closed || this.kms.paused || this.kms.lost || this.kms.pending || (!this.output.needsFrame && this.commits > 0)) return;
    const damage = this.output.pendingDamage;
    let refusal: DirectScanoutRefusal | undefined;
    const candidate = this.output.scanoutBuffer();
    if (candidate?.scanout) {
      candidate.lock();
      let result: number | DirectScanoutRefusal;
      try {
        result = this.kms.commitDirect(candidate.scanout, () => candidate.unlock(), { damage });
      } catch (e) {
        candidate.unlock();
        throw e;
      }
      if (typeof result === 'number') {
        this.output.skipRender();
        this.frames++;
        this.commits++;
        this.directCommits++;
        this.emit('presented', result, 'direct', undefined);
        return;
      }
      candidate.unlock();
      refusal = result;
    }
    const age = this.shadowPaintedAt === 0 ? 0 : this.frames - this.shadowPaintedAt + 1;
    const painted = this.output.render(this.shadow, age).damage;
    this.frames++;
    this.shadowPaintedAt = this.frames;
    const frame = this.kms.acquire();
    this.copied += copyRects(this.shadow, frame.region, this.kms.repaintRegion(frame, painted));
    const id = this.kms.commit(frame, painted);
    this.commits++;
    this.emit('presented', id, 'composed', refusal);
  }
}

export interface KmsSceneHeadsOptions {
  /** Where the compositor keeps its windows: when a head goes, the windows on it move to a remaining one. */
  readonly windows?: SceneTree;
  /** Follow connector hotplug (KmsDevice.watchHotplug). Default true. */
  readonly hotplug?: boolean;
  /** Per head, before it is made: false leaves that connector dark. */
  readonly accept?: (device: KmsDevice, connector: KmsConnector) => boolean;
  /** What each KmsOutput is opened with (format, buffers, api). */
  readonly output?: Omit<KmsOutputOptions, 'device' | 'connector' | 'mode'>;
}

interface KmsSceneHeadsEvents {
  /** A head came (at start or by hotplug), placed in the layout. */
  added: [head: KmsSceneOutput];
  /** A head went (its connector was unplugged); its KmsOutput is closed. */
  removed: [head: KmsSceneOutput];
  /** A head could not be opened or a commit failed. */
  error: [error: Error];
}

/**
 * Every connected head of one or several cards as outputs of one scene: laid
 * out left to right (card order, then connector id), each paced by its own
 * page flips (its KmsDevice routes them by CRTC). Heads come and go with
 * connector hotplug; the row closes up when one goes, the windows on it move
 * to the first remaining head (same offset, kept inside it), the windows on
 * the others move with their head.
 *
 *   const heads = new KmsSceneHeads(scene, [KmsDevice.open()], { windows });
 *   session.listen(heads.devices[0]);            // pause/resume follow the session
 *   ...
 *   heads.close();                               // the devices stay the caller's
 */
export class KmsSceneHeads extends EventEmitter<KmsSceneHeadsEvents> {
  readonly devices: readonly KmsDevice[];
  private readonly scene: Scene;
  private readonly options: KmsSceneHeadsOptions;
  private readonly list: { device: KmsDevice; head: KmsSceneOutput }[] = [];
  private readonly onHotplug: ((e: HotplugEvent) => void)[] = [];
  private closed = false;

  constructor(scene: Scene, devices: readonly KmsDevice[], options: KmsSceneHeadsOptions = {}) {
    super();
    this.scene = scene;
    this.devices = [...devices];
    this.options = options;
    for (const device of this.devices) {
      const onHotplug = (e: HotplugEvent): void => {
        for (const c of e.added) this.tryOpen(device, c);
      };
      this.onHotplug.push(onHotplug);
      device.on('hotplug', onHotplug);
      if (options.hotplug ?? true) {
        try {
          device.watchHotplug();
        } catch (e) {
          // No uevent socket (a kernel without it, a sandbox): the heads there now still work.
          debug('kms', `${device}: no hotplug: ${(e as Error).message}`);
        }
      }
    }
    for (const device of this.devices) {
      for (const c of discoverKms(device.drm).connectors) {
        if (c.status === 'connected' && c.modes.length > 0) this.tryOpen(device, c);
      }
    }
  }

  /** The heads now, in layout order. */
  get heads(): KmsSceneOutput[] {
    return this.list.map((h) => h.head);
  }

  private tryOpen(device: KmsDevice, connector: KmsConnector): void {
    if (this.closed || device.inUse.connectors.has(connector.id)) return;
    if (this.options.accept && !this.options.accept(device, connector)) return;
    let kms: KmsOutput;
    try {
      kms = KmsOutput.open({ ...this.options.output, device, connector: connector.id });
    } catch (e) {
      debug('kms', `${device}: no head on ${connector.name}: ${(e as Error).message}`);
      this.emit('error', e as Error);
      return;
    }
    const entry = { device, head: undefined as unknown as KmsSceneOutput };
    const at = this.insertionIndex(device, connector.id);
    const x = this.list.slice(0, at).reduce((sum, h) => sum + h.head.output.width, 0);
    // Heads to the right make room first, their windows with them.
    this.shiftFrom(at, kms.width);
    const head = new KmsSceneOutput(this.scene, kms, { x, y: 0 });
    entry.head = head;
    head.on('error', (e) => this.emit('error', e));
    head.on('lost', () => this.remove(entry));
    this.list.splice(at, 0, entry);
    this.emit('added', head);
  }

  private insertionIndex(device: KmsDevice, connectorId: number): number {
    const d = this.devices.indexOf(device);
    const i = this.list.findIndex((h) => {
      const hd = this.devices.indexOf(h.device);
      return hd > d || (hd === d && h.head.kms.pipe.connector.id > connectorId);
    });
    return i < 0 ? this.list.length : i;
  }

  /** Moves the heads from index `at` on (and the windows on them) by dx. */
  private shiftFrom(at: number, dx: number): void {
    if (dx === 0) return;
    // Which windows go with which head is decided before anything moves (a window moved onto the next head is not moved twice).
    const moves = this.list.slice(at).map(({ head }) => ({ o: head.output, windows: this.windowsIn(head.output.x, head.output.y, head.output.width, head.output.height) }));
    for (const { o, windows } of moves) {
      for (const w of windows) w.setPosition(w.layoutX - this.windowsX() + dx, w.layoutY - this.windowsY());
      o.setPosition(o.x + dx, o.y);
    }
  }

  private windowsX(): number {
    return this.options.windows ? this.options.windows.layoutX : 0;
  }

  private windowsY(): number {
    return this.options.windows ? this.options.windows.layoutY : 0;
  }

  /** The windows whose top-left corner lies in the rectangle (layout coordinates). */
  private windowsIn(x: number, y: number, width: number, height: number): SceneNode[] {
    const tree = this.options.windows;
    if (!tree) return [];
    return tree.children.filter((w) => w.layoutX >= x && w.layoutX < x + width && w.layoutY >= y && w.layoutY < y + height);
  }

  private remove(entry: { device: KmsDevice; head: KmsSceneOutput }): void {
    const at = this.list.indexOf(entry);
    if (at < 0) return;
    const o = entry.head.output;
    const gone = { x: o.x, y: o.y, width: o.width, height: o.height };
    const orphans = this.windowsIn(gone.x, gone.y, gone.width, gone.height);
    this.list.splice(at, 1);
    entry.head.destroy();
    entry.head.kms.close();
    this.shiftFrom(at, -gone.width);
    const target = this.list[0]?.head.output;
    if (target) {
      for (const w of orphans) {
        const rx = Math.min(w.layoutX - gone.x, Math.max(0, target.width - 1));
        const ry = Math.min(w.layoutY - gone.y, Math.max(0, target.height - 1));
        w.setPosition(target.x + rx - this.windowsX(), target.y + ry - this.windowsY());
      }
    }
    this.emit('removed', entry.head);
  }

  /** Destroys every head and closes its KmsOutput; the devices stay open (the caller's). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.devices.forEach((d, i) => d.off('hotplug', this.onHotplug[i]));
    for (const { head } of this.list.splice(0)) {
      head.destroy();
      head.kms.close();
    }
  }
}
