/**
 * Shows the demo compositor's output on a KMS display. Each composition's damage
 * is copied into the KmsOutput's next scanout buffer (with buffer age: a buffer
 * gets what changed since it was last on screen, not the whole frame) and
 * committed; compositions that land while a flip is pending are merged into the
 * next commit, made when the flip event arrives. The browser viewer can run at
 * the same time: both read the same composed output.
 *
 * Direct scanout: when one opaque bufshare surface covers the output exactly
 * (nothing else visible), its client's buffer itself goes on the primary plane,
 * zero bytes copied, if the display accepts it (KmsOutput.commitDirect decides
 * with TEST_ONLY). The presenter holds that frame (Compositor.hold) until the
 * flip replacing it has completed, so the client never draws into a buffer on
 * screen. Refused, or the surface no longer covers the output: composition
 * again, from the compositor's output; the output's buffer ages count the
 * direct frames' damage, so it repaints what changed meanwhile.
 * Wayland surfaces are always composed (their dma-bufs are not offered here).
 */
import { EventEmitter } from 'eventemitter3';
import { copyRects } from '../../lib/copy';
import { Frame } from '../../lib/ipc/frame';
import type { DirectScanoutRefusal, KmsOutput } from '../../lib/kms';
import { Region } from '../../lib/region';
import type { Compositor } from './compositor';

export interface PresenterEvents {
  /**
   * A commit was made (output frame number `frame`): 'direct' put a client's
   * buffer on the plane, 'composed' one of the output's own buffers, with
   * `refusal` saying why a fullscreen candidate was composed instead.
   */
  presented: [frame: number, path: 'direct' | 'composed', refusal: DirectScanoutRefusal | undefined];
}

export class KmsPresenter extends EventEmitter<PresenterEvents> {
  private readonly output: KmsOutput;
  private readonly compositor: Compositor;
  private owed: Region = Region.empty;
  /** Output frames committed, those scanned out directly, and pixels copied, for the demo's log. */
  commits = 0;
  directCommits = 0;
  copied = 0;

  constructor(compositor: Compositor, output: KmsOutput) {
    super();
    this.compositor = compositor;
    this.output = output;
    // The first commit (the modeset) shows the whole output as it is now.
    this.owed = Region.full(output.width, output.height);
    compositor.on('composed', (damage) => {
      this.owed = this.owed.union(damage);
      this.present();
    });
    output.on('flip', () => this.present());
    this.present();
  }

  private present(): void {
    if (this.owed.isEmpty || this.output.pending) return;
    const damage = this.owed.clip(this.output.width, this.output.height);
    this.owed = Region.empty;
    const refusal = this.tryDirect(damage);
    if (typeof refusal === 'number') {
      this.commits++;
      this.directCommits++;
      this.emit('presented', refusal, 'direct', undefined);
      return;
    }
    const frame = this.output.acquire();
    this.copied += copyRects(this.compositor.output.region, frame.region, this.output.repaintRegion(frame, damage));
    const id = this.output.commit(frame, damage);
    this.commits++;
    this.emit('presented', id, 'composed', refusal);
  }

  /** The frame number when the fullscreen surface's buffer went on the plane; else why not (undefined: no candidate). */
  private tryDirect(damage: Region): number | DirectScanoutRefusal | undefined {
    const candidate = this.compositor.fullscreenFrame();
    if (!(candidate instanceof Frame) || candidate.released) return undefined;
    const endHold = this.compositor.hold(candidate);
    try {
      const r = this.output.commitDirect(candidate.buffer, endHold, { damage });
      if (typeof r !== 'number') endHold();
      return r;
    } catch (e) {
      endHold();
      throw e;
    }
  }
}
