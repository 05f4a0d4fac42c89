import { expect } from 'chai';
import { placeSurface, DEFAULT_PLACEMENT } from '../../demos/compositor/placement';
import { intersectRects, type Rect } from '../../lib';

const OUT = { width: 1280, height: 720 };

describe('compositor placement', () => {
  it('tile puts surfaces side by side, title bar and gap clear of each other and of the edges', () => {
    const placed: Rect[] = [];
    for (const size of [{ width: 400, height: 300 }, { width: 560, height: 400 }, { width: 200, height: 150 }]) {
      const p = placeSurface('tile', OUT, placed, size);
      placed.push({ ...p, ...size });
    }
    const { gap, titleHeight } = DEFAULT_PLACEMENT;
    expect(placed[0]).to.include({ x: gap, y: gap + titleHeight });
    expect(placed[1]!.y, 'second surface on the same row').to.equal(placed[0]!.y);
    for (const r of placed) {
      expect(r.x).to.be.at.least(gap);
      expect(r.y - titleHeight).to.be.at.least(gap);
      expect(r.x + r.width).to.be.at.most(OUT.width - gap);
      expect(r.y + r.height).to.be.at.most(OUT.height - gap);
    }
    for (let i = 0; i < placed.length; i++) {
      for (let j = i + 1; j < placed.length; j++) {
        const a = placed[i]!;
        const b = placed[j]!;
        const grow = (r: Rect): Rect => ({ x: r.x - gap, y: r.y - titleHeight - gap, width: r.width + 2 * gap, height: r.height + titleHeight + 2 * gap });
        expect(intersectRects(grow(a), { ...b, y: b.y - titleHeight, height: b.height + titleHeight }), `${i} and ${j}`).to.equal(undefined);
      }
    }
  });

  it('tile falls back to cascade when the output is full', () => {
    const full: Rect[] = [{ x: 0, y: 0, width: 1280, height: 720 }];
    const p = placeSurface('tile', OUT, full, { width: 300, height: 200 });
    expect(p).to.deep.equal(placeSurface('cascade', OUT, full, { width: 300, height: 200 }));
  });

  it('cascade steps right and down and wraps before leaving the output', () => {
    const size = { width: 1000, height: 500 };
    const spots = Array.from({ length: 8 }, (_, i) => placeSurface('cascade', OUT, Array.from({ length: i }, () => ({ x: 0, y: 0, width: 1, height: 1 })), size));
    expect(spots[1]!.x - spots[0]!.x).to.equal(DEFAULT_PLACEMENT.step);
    expect(spots[1]!.y - spots[0]!.y).to.equal(DEFAULT_PLACEMENT.step);
    for (const s of spots) {
      expect(s.x + size.width).to.be.at.most(OUT.width);
      expect(s.y + size.height).to.be.at.most(OUT.height);
    }
    expect(spots.some((s, i) => i > 0 && s.x === spots[0]!.x), 'wrapped').to.equal(true);
  });

  it('an output-sized surface goes to the origin (fullscreen, so it can be scanned out), whatever the policy and the others', () => {
    const OUT_SIZE = { width: 640, height: 480 };
    for (const policy of ['tile', 'cascade'] as const) {
      expect(placeSurface(policy, OUT_SIZE, [], OUT_SIZE)).to.deep.equal({ x: 0, y: 0 });
      expect(placeSurface(policy, OUT_SIZE, [{ x: 24, y: 46, width: 100, height: 100 }], OUT_SIZE)).to.deep.equal({ x: 0, y: 0 });
      expect(placeSurface(policy, OUT_SIZE, [], { width: 639, height: 480 })).to.not.deep.equal({ x: 0, y: 0 });
    }
  });
});
