import { expect } from 'chai';
import { Region } from '../../lib';
import { decodeFrame, encodeFrame } from '../../demos/compositor/frame-wire';
import { Framebuffer } from '../../demos/compositor/framebuffer';
import { FramePacer, type PacerClock } from '../../lib/scene/pacer';
import { RateMeter } from '../../demos/compositor/rate-meter';
import { parseViewerMessage } from '../../demos/compositor/viewer-protocol';

describe('compositor viewer wire, pacing and rates', () => {
  it('a frame message holds exactly the damaged rectangles and their pixels', () => {
    const fb = new Framebuffer(16, 8);
    fb.pixels32.forEach((_, i) => (fb.pixels32[i] = 0xff000000 | i));
    const msg = encodeFrame(fb, Region.of({ x: 2, y: 1, width: 3, height: 2 }, { x: 14, y: 6, width: 10, height: 10 }), 42);
    const { sequence, rects } = decodeFrame(msg);
    expect(sequence).to.equal(42);
    expect(rects.map(({ x, y, width, height }) => [x, y, width, height])).to.deep.equal([[2, 1, 3, 2], [14, 6, 2, 2]]);
    expect([...rects[0]!.pixels].map((p) => p & 0xffff)).to.deep.equal([18, 19, 20, 34, 35, 36]);
    expect(msg.byteLength).to.equal(4 * (3 + 4 + 6 + 4 + 4));
  });

  it('accepts only well-formed messages from the page', () => {
    expect(parseViewerMessage('{"type":"pointer","action":"move","x":3.7,"y":4,"buttons":1}')).to.deep.equal({ type: 'pointer', input: { action: 'move', x: 3, y: 4, buttons: 1 } });
    expect(parseViewerMessage('{"type":"ack","sequence":7}')).to.deep.equal({ type: 'ack', sequence: 7 });
    expect(parseViewerMessage('{"type":"move","surface":2,"x":10,"y":-5}')).to.deep.equal({ type: 'move', surface: 2, x: 10, y: -5 });
    expect(parseViewerMessage('{"type":"key","code":"KeyA","pressed":true}')).to.deep.equal({ type: 'key', key: 30, pressed: true });
    expect(parseViewerMessage('{"type":"key","code":"Digit0","pressed":false}')).to.deep.equal({ type: 'key', key: 11, pressed: false });
    expect(parseViewerMessage('{"type":"key","code":"Enter","pressed":true}')).to.deep.equal({ type: 'key', key: 28, pressed: true });
    for (const bad of ['', 'null', '[]', '{"type":"pointer","action":"fly","x":1,"y":1,"buttons":0}',
      '{"type":"pointer","action":"move","x":1e300,"y":1,"buttons":0}', '{"type":"pointer","action":"move","x":"1","y":1,"buttons":0}',
      '{"type":"pointer","action":"down","x":1,"y":1,"buttons":0,"button":9}', '{"type":"ack","sequence":-1}',
      '{"type":"raise","surface":1.5}', '{"type":"eval"}', '{"type":"key","code":"toString","pressed":true}',
      '{"type":"key","code":"KeyA","pressed":1}', '{"type":"key","code":"MediaPlay","pressed":true}']) {
      expect(parseViewerMessage(bad), bad).to.equal(undefined);
    }
  });

  it('the pacer ticks on a fixed grid and skips the deadlines it missed', () => {
    let now = 0;
    const timers: { at: number; fn: () => void }[] = [];
    const clock: PacerClock = { now: () => now, setTimeout: (fn, ms) => timers.push({ at: now + ms, fn }), clearTimeout: () => {} };
    const ticks: number[] = [];
    const pacer = new FramePacer(50, () => ticks.push(now), clock); // 20 ms
    pacer.start();
    const runNext = (lateBy = 0): void => {
      const t = timers.shift()!;
      now = t.at + lateBy;
      t.fn();
    };
    runNext();
    runNext(3); // 3 ms late: the next deadline stays on the grid (60), not 63 + 20
    expect(timers[0]!.at).to.equal(60);
    runNext(45); // fired at 105: deadlines 80 and 100 are gone
    expect(pacer.skipped).to.equal(2);
    expect(timers[0]!.at).to.equal(120);
    expect(ticks).to.deep.equal([20, 43, 105]);
    pacer.stop();
  });

  it('the rate meter counts the events of the last second', () => {
    const m = new RateMeter();
    for (let t = 0; t < 2000; t += 1000 / 60) m.record(t);
    expect(m.rate(2000)).to.be.within(59, 61);
    expect(m.rate(3500)).to.equal(0);
  });
});
