import { expect } from 'chai';
import { blendRect, fillRect } from '../../demos/compositor/blend';

/** The reference: per channel, src + round(dst * (255 - a) / 255), in floating point. */
function reference(src: number, dst: number): number {
  const a = src >>> 24;
  let out = 0xff000000;
  for (const shift of [0, 8, 16]) {
    const s = (src >>> shift) & 0xff;
    const d = (dst >>> shift) & 0xff;
    out |= Math.min(255, s + Math.round((d * (255 - a)) / 255)) << shift;
  }
  return out >>> 0;
}

function premultiplied(a: number, r: number, g: number, b: number): number {
  const m = (c: number): number => Math.round((c * a) / 255);
  return ((a << 24) | (m(r) << 16) | (m(g) << 8) | m(b)) >>> 0;
}

describe('compositor blend', () => {
  it('source-over of premultiplied ARGB matches the exact formula for every alpha', () => {
    const dstColors = [0x00000000, 0x00ffffff, 0x00123456, 0xff80ff01];
    for (let a = 0; a <= 255; a++) {
      for (const dc of dstColors) {
        const src = premultiplied(a, 200, 17, 255);
        const s = { pixels32: new Uint32Array([src]), stride32: 1 };
        const d = { pixels32: new Uint32Array([dc]), stride32: 1 };
        blendRect(s, 0, 0, d, { x: 0, y: 0, width: 1, height: 1 });
        // alpha 0 leaves dst as it was (X byte included); every other alpha writes an opaque pixel.
        const want = a === 0 ? dc : reference(src, dc);
        const got = d.pixels32[0]!;
        for (const shift of [0, 8, 16]) {
          expect(Math.abs(((got >>> shift) & 0xff) - ((want >>> shift) & 0xff)), `a=${a} dst=${dc.toString(16)}`).to.be.at.most(1);
        }
      }
    }
  });

  it('blends only inside the rectangle, with the source offset applied', () => {
    // src 4x3 at dst (2, 1); blend dst rect (3, 2, 2, 1) -> src (1..2, 1)
    const src = { pixels32: new Uint32Array(4 * 3), stride32: 4 };
    for (let i = 0; i < src.pixels32.length; i++) src.pixels32[i] = (0xff000000 | i) >>> 0;
    const dst = { pixels32: new Uint32Array(8 * 5).fill(0xff777777), stride32: 8 };
    const n = blendRect(src, 2, 1, dst, { x: 3, y: 2, width: 2, height: 1 });
    expect(n).to.equal(2);
    const changed: [number, number, number][] = [];
    dst.pixels32.forEach((p, i) => { if (p !== 0xff777777) changed.push([i % 8, Math.floor(i / 8), p & 0xff]); });
    expect(changed).to.deep.equal([[3, 2, 5], [4, 2, 6]]);
  });

  it('fills rectangles row by row and nowhere else', () => {
    const dst = { pixels32: new Uint32Array(6 * 4), stride32: 6 };
    expect(fillRect(dst, { x: 1, y: 1, width: 3, height: 2 }, 0xff0000ff)).to.equal(6);
    const filled = [...dst.pixels32].map((p, i) => (p ? i : -1)).filter((i) => i >= 0);
    expect(filled).to.deep.equal([7, 8, 9, 13, 14, 15]);
  });
});
