import { expect } from 'chai';
import { Brush, Stroke, type Canvas } from '../../demos/fingerpaint/brush';
import type { Region } from '../../lib';

const PAPER = 0xfff4f1ea;
const INK = 0xff2a6fdb;

function canvas(width: number, height: number): Canvas {
  return { width, height, stride32: width, pixels32: new Uint32Array(width * height).fill(PAPER) };
}

/** Pixels that differ between two canvases. */
function changed(a: Uint32Array, b: Uint32Array, width: number): { x: number; y: number }[] {
  const out: { x: number; y: number }[] = [];
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) out.push({ x: i % width, y: Math.floor(i / width) });
  return out;
}

describe('fingerpaint brush and strokes', () => {
  it('a stamp is a round disc: full ink inside the radius, paper outside, blended at the edge', () => {
    const c = canvas(40, 40);
    const r = new Brush(6, INK).stamp(c, 20, 20)!;
    expect(r).to.deep.equal({ x: 13, y: 13, width: 14, height: 14 });
    const at = (x: number, y: number): number => c.pixels32[y * 40 + x]!;
    expect(at(20, 20)).to.equal(INK);
    expect(at(24, 20)).to.equal(INK); // 4.5 px from the centre
    expect(at(20, 28)).to.equal(PAPER); // 8.5 px
    expect(at(25, 25)).to.equal(PAPER); // corner of the box: 7.8 px
    const edge = at(24, 24); // 6.36 px from the centre: partly covered
    expect(edge).to.not.equal(INK);
    expect(edge).to.not.equal(PAPER);
  });

  it('a stamp at the border is clipped, never written outside the canvas', () => {
    const c = canvas(10, 10);
    expect(new Brush(6, INK).stamp(c, -3, 5)).to.deep.equal({ x: 0, y: 0, width: 4, height: 10 });
    expect(new Brush(6, INK).stamp(c, -30, 5)).to.equal(undefined);
    expect(c.pixels32.length).to.equal(100);
  });

  it('strokes are continuous between samples far apart, and the damage holds every changed pixel', () => {
    const c = canvas(300, 200);
    const before = c.pixels32.slice();
    const stroke = new Stroke(c, new Brush(4, INK));
    let damage: Region | undefined;
    for (const p of [{ x: 20, y: 100 }, { x: 90, y: 40 }, { x: 160, y: 160 }, { x: 280, y: 100 }]) {
      const d = stroke.add(p);
      damage = damage ? damage.union(d) : d;
    }
    damage = damage!.union(stroke.finish());
    // Walk from the first to the last sample: at every column the stroke has ink somewhere.
    for (let x = 22; x < 278; x++) {
      let inked = false;
      for (let y = 0; y < 200 && !inked; y++) inked = c.pixels32[y * 300 + x] === INK;
      expect(inked, `ink in column ${x}`).to.equal(true);
    }
    // The curve ends at the samples themselves.
    expect(c.pixels32[100 * 300 + 20]).to.equal(INK);
    expect(c.pixels32[100 * 300 + 280]).to.equal(INK);
    const diff = changed(before, c.pixels32, 300);
    expect(diff.length).to.be.above(1000);
    for (const p of diff) expect(damage.contains(p.x, p.y), `(${p.x}, ${p.y}) in the damage`).to.equal(true);
    // And the damage is the stroke's neighbourhood, not the canvas.
    expect(damage.area).to.be.below(300 * 200);
  });
});
