import { expect } from 'chai';
import { intersectRects, rect, subtractRect, type Rect } from '../../lib';
import { RectList } from '../../lib/scene/rect-list';
import { randInt, rng, SEED } from '../helpers/random';

function toRects(list: RectList): Rect[] {
  return Array.from({ length: list.count }, (_, i) => list.rect(i));
}

describe('compositor rect list', () => {
  it(`clips and subtracts like lib's intersectRects and subtractRect (seed ${SEED})`, () => {
    const r = rng(SEED + 5);
    const a = new RectList();
    const out = new RectList();
    for (let iter = 0; iter < 200; iter++) {
      // More rectangles than the initial capacity, so the list grows.
      const rects = Array.from({ length: randInt(r, 0, 40) }, () => rect(randInt(r, -50, 200), randInt(r, -50, 200), randInt(r, 1, 120), randInt(r, 1, 120)));
      const box = rect(randInt(r, -50, 200), randInt(r, -50, 200), randInt(r, 0, 150), randInt(r, 0, 150));
      a.setRects(rects);
      expect(toRects(out.setClipped(a, box.x, box.y, box.width, box.height)), `clip ${iter}`).to.deep.equal(
        rects.map((x) => intersectRects(x, box)).filter((x): x is Rect => x !== undefined));
      expect(toRects(out.setSubtracted(a, box.x, box.y, box.width, box.height)), `subtract ${iter}`).to.deep.equal(
        rects.flatMap((x) => subtractRect(x, box)));
    }
  });

  it('hands native code exactly its quadruples, moved in place', () => {
    const list = new RectList().setRects([rect(1, 2, 3, 4), rect(10, 20, 30, 40)]);
    expect([...list.translate(-1, -2).quads()]).to.deep.equal([0, 0, 3, 4, 9, 18, 30, 40]);
    expect(list.clear().quads().length).to.equal(0);
  });
});
