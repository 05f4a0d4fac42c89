/**
 * Shows the demo compositor's output on a KMS display: each composition's damage
 * is copied into the KmsOutput's next scanout buffer (with buffer age: a buffer
 * gets what changed since it was last on screen, not the whole frame) and
 * committed; compositions that land while a flip is pending are merged into the
 * next commit, made when the flip event arrives. The browser viewer can run at
 * the same time: both read the same composed output.
 */
import { copyRects } from '../../lib/copy';
import type { KmsOutput } from '../../lib/kms';
import { Region } from '../../lib/region';
import type { Compositor } from './compositor';

export class KmsPresenter {
  private readonly output: KmsOutput;
  private readonly compositor: Compositor;
  private owed: Region = Region.empty;
  /** Output frames committed and pixels copied, for the demo's log. */
  commits = 0;
  copied = 0;

  constructor(compositor: Compositor, output: KmsOutput) {
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
    const frame = this.output.acquire();
    this.copied += copyRects(this.compositor.output.region, frame.region, this.output.repaintRegion(frame, damage));
    this.output.commit(frame, damage);
    this.commits++;
  }
}
