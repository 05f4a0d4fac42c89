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
 * Ownership: the KmsOutput stays the caller's (close it after destroy()).
 */
import { EventEmitter } from 'eventemitter3';
import { copyRects } from '../copy';
import type { DirectScanoutRefusal, FlipEvent, KmsOutput } from '../kms/output';
import type { GraphicsRegion } from '../mapping/graphics-region';
import type { SceneOutput } from './output';
import { pixelRegion } from './render';
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
    if (this.closed || this.kms.pending || (!this.output.needsFrame && this.commits > 0)) return;
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
