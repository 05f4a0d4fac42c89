/**
 * A SceneOutput's present tells its buffer nodes when and how the frame was
 * shown (FramePresentation, for wp_presentation): a backend's kernel timestamp,
 * counter and vsync as given (a KMS flip); otherwise process.hrtime's
 * CLOCK_MONOTONIC at the present, this output's presents counted, its refresh.
 */
import { expect } from 'chai';
import { pixelRegion, Scene, SceneBuffer, type PresentDetail } from '../../lib/scene';
import type { FramePresentation } from '../../lib/surface-model';

describe('scene: present carries the presentation', () => {
  function setUp(refreshNs?: number): { scene: Scene; seen: [number, FramePresentation][]; present: (t?: number, d?: PresentDetail) => void } {
    const scene = new Scene();
    const output = scene.addOutput({ width: 16, height: 16, ...(refreshNs === undefined ? {} : { refreshNs }) });
    const node = scene.createBuffer(scene.root, new SceneBuffer(pixelRegion(8, 8), () => {}));
    const seen: [number, FramePresentation][] = [];
    node.on('present', (t, p) => seen.push([t, p]));
    return { scene, seen, present: (t, d) => output.present(t, d) };
  }

  it('by default: now on CLOCK_MONOTONIC (process.hrtime), the output\'s refresh, a counter of its presents, no vsync', () => {
    const { seen, present } = setUp(16666667);
    const before = process.hrtime.bigint();
    present();
    present();
    const after = process.hrtime.bigint();
    expect(seen.length).to.equal(2);
    const [[, a], [, b]] = seen as [[number, FramePresentation], [number, FramePresentation]];
    expect(a.timeNs >= before && b.timeNs <= after && a.timeNs <= b.timeNs).to.equal(true);
    expect([a.refreshNs, a.sequence, a.vsync, a.hardware]).to.deep.equal([16666667, 1, false, false]);
    expect(b.sequence).to.equal(2);
  });

  it('a time in the past (performance.now()) is moved back as far on CLOCK_MONOTONIC; refresh 0 when the output does not know it', () => {
    const { seen, present } = setUp();
    const now = process.hrtime.bigint();
    present(performance.now() - 50);
    const p = seen[0]![1];
    const msBefore = Number(now - p.timeNs) / 1e6;
    // 50 ms, less the moment between our clock read and the present's.
    expect(msBefore).to.be.within(40, 50.5);
    expect(p.refreshNs).to.equal(0);
  });

  it('a backend\'s flip: its kernel timestamp, vblank counter, vsync and hardware as given', () => {
    const { seen, present } = setUp(16000000);
    present(performance.now(), { timeNs: 123_456_789_012n, sequence: 9000, vsync: true, hardware: true });
    expect(seen[0]![1]).to.deep.equal({ timeNs: 123_456_789_012n, refreshNs: 16000000, sequence: 9000, vsync: true, hardware: true });
  });
});
