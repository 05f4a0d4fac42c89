/**
 * The demo compositor on a KMS output by itself (vkms, 6.12, with writeback): a
 * client process's fullscreen surface is scanned out directly through
 * KmsSceneOutput, chosen by the scene (the plane shows the client's buffer, no pixel copied, each
 * buffer back to the client only after the flip replacing it); moved off the
 * origin it no longer covers the output and composition takes over; moved back,
 * direct scanout resumes. Every third commit is read back by writeback and must
 * equal a full repaint of the scene at that moment, pixel for pixel.
 */
import { expect } from 'chai';
import { DumbAllocator, drmUnavailableReason } from '../../lib';
import { KmsOutput } from '../../lib/kms';
import { KmsSceneOutput, pixelRegion, type SceneBuffer } from '../../lib/scene';
import { Compositor } from '../../demos/compositor/compositor';
import { tempSocketDir } from '../helpers/ipc';
import { firstDifference, vkmsCard, waitCapture } from '../helpers/kms-scene';
import { runTs } from '../helpers/spawn';

describe('KmsSceneOutput (the demo compositor on KMS)', function () {
  this.timeout(180000);
  const why = drmUnavailableReason();
  if (why) {
    it.skip(`no DRM here (${why})`, () => {});
    return;
  }

  it('vkms: a fullscreen client is scanned out directly, composition takes over when it stops covering the output and gives way again when it covers it; writeback pixel-exact throughout', async function () {
    const card = vkmsCard();
    if (!card) {
      console.log('      skipped: no vkms with writeback on this kernel (the harness builds it for 6.12)');
      this.skip();
    }
    const output = KmsOutput.open({ device: card!, mode: '640x480', writeback: true });
    const capture = output.createCapture();
    const allocator = new DumbAllocator({ device: card! });
    const sock = tempSocketDir();
    const compositor = await Compositor.start({ socketPath: sock.path, allocator, width: output.width, height: output.height });
    const presenter = new KmsSceneOutput(compositor.scene, output);
    const errors: string[] = [];
    const verified = { direct: 0, composed: 0 };
    let phase: 'fullscreen' | 'moved' | 'back' | 'done' = 'fullscreen';
    let phaseCommits = 0;
    let armed = false;
    // The modeset commit (the whole output, composed) was made by the constructor, before any listener.
    let lastCopied = presenter.copied;
    let copiedWhileMoved = 0;
    /** The buffers of the last direct commits in a row, oldest first. */
    let directRun: SceneBuffer[] = [];
    const surfaceId = (): number => compositor.surfaceInfo()[0]!.id;
    const reference = pixelRegion(output.width, output.height);
    presenter.on('presented', (_frame, path, refusal) => {
      try {
        if (path === 'direct') {
          const shown = presenter.output.scanoutBuffer()!;
          // The previous direct frame is on screen until this commit flips: still the client's to wait for.
          const onScreen = directRun[directRun.length - 1];
          if (onScreen && onScreen !== shown && onScreen.released) throw new Error('a scanned-out frame was released while still on screen');
          // The one before it was replaced by a completed flip: back with its client.
          const replaced = directRun[directRun.length - 2];
          if (replaced && replaced !== onScreen && replaced !== shown && !replaced.released) throw new Error('a scanned-out frame was not released after the flip replacing it');
          if (shown.lockCount < 2) throw new Error('a buffer on the plane holds no lock of the output\'s');
          directRun = [...directRun.slice(-1), shown];
          if (presenter.copied !== lastCopied) throw new Error('a direct commit copied pixels');
        } else {
          directRun = [];
          if (refusal !== undefined) throw new Error(`a fullscreen candidate was refused: ${refusal}`);
        }
        if (armed) {
          armed = false;
          waitCapture(capture, card!);
          if (path === 'direct' && output.ownFramebuffers.includes(output.planeFramebuffer)) throw new Error('direct commit, but the plane shows one of the output\'s own buffers');
          presenter.output.renderFull(reference);
          const diff = firstDifference(capture.region, reference);
          if (diff) throw new Error(`${phase}, ${path} commit: pixel (${diff.x}, ${diff.y}) is 0x${diff.actual.toString(16)}, expected 0x${diff.expected.toString(16)}`);
          verified[path]++;
        }
        if (phase === 'moved' && path === 'direct') throw new Error('direct scanout of a surface that does not cover the output');
        if (phase === 'moved') copiedWhileMoved += presenter.copied - lastCopied;
        lastCopied = presenter.copied;
        phaseCommits++;
        if (phase === 'fullscreen' && path === 'direct' && verified.direct >= 2 && phaseCommits >= 6) {
          compositor.move(surfaceId(), 40, 30);
          phase = 'moved';
          phaseCommits = 0;
        } else if (phase === 'moved' && phaseCommits >= 6 && verified.composed >= 2) {
          compositor.move(surfaceId(), 0, 0);
          phase = 'back';
          phaseCommits = 0;
        } else if (phase === 'back' && path === 'direct' && phaseCommits >= 4) {
          phase = 'done';
        }
        if (phase !== 'done' && presenter.commits % 3 === 0) {
          output.capture(capture);
          armed = true;
        }
      } catch (e) {
        errors.push((e as Error).message);
      }
    });
    try {
      const FRAMES = 60;
      const child = await runTs('test/drivers/kms-client-child.ts', [sock.path, String(output.width), String(output.height), String(FRAMES)]);
      expect(child.stdout.trim(), child.stderr).to.equal(`done ${FRAMES}`);
      expect(errors).to.deep.equal([]);
      expect(phase, `direct ${presenter.directCommits} of ${presenter.commits} commits`).to.equal('done');
      expect(verified.direct).to.be.at.least(3);
      expect(verified.composed).to.be.at.least(2);
      // Composition while moved copied at least the newly exposed background.
      expect(copiedWhileMoved).to.be.at.least(output.width * output.height - (output.width - 40) * (output.height - 30));
    } finally {
      await compositor.close();
      output.close();
      capture.destroy();
      allocator.close();
      sock.cleanup();
    }
  });
});
