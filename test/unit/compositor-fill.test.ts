import { expect } from 'chai';
import { fillRect } from '../../demos/compositor/fill';

// The compositor's source-over blend is bufshare's blendRects (test/unit/blend.test.ts);
// compositor-scene.test.ts checks the composer uses it where ARGB surfaces are shown.
describe('compositor fill', () => {
  it('fills rectangles row by row and nowhere else', () => {
    const dst = { pixels32: new Uint32Array(6 * 4), stride32: 6 };
    expect(fillRect(dst, { x: 1, y: 1, width: 3, height: 2 }, 0xff0000ff)).to.equal(6);
    const filled = [...dst.pixels32].map((p, i) => (p ? i : -1)).filter((i) => i >= 0);
    expect(filled).to.deep.equal([7, 8, 9, 13, 14, 15]);
  });
});
