/** xdg_positioner's placement rules: anchor, gravity, offset, then flip, slide and resize per axis. */
import { expect } from 'chai';
import { Adjust, Edge, placePopup, type PositionerRules } from '../../lib/wayland/positioner';

const base: PositionerRules = { width: 100, height: 50, anchorRect: { x: 10, y: 20, width: 40, height: 10 }, anchor: Edge.BottomLeft, gravity: Edge.BottomRight, adjust: 0, offsetX: 0, offsetY: 0 };
const place = (over: Partial<PositionerRules>, bounds = { x: 0, y: 0, width: 1000, height: 1000 }): number[] => {
  const r = placePopup({ ...base, ...over }, bounds);
  return [r.x, r.y, r.width, r.height];
};

describe('xdg_positioner placement', () => {
  it('anchors a menu below its button, growing right and down, with the offset', () => {
    expect(place({})).to.deep.equal([10, 30, 100, 50]);
    expect(place({ offsetX: 3, offsetY: -2 })).to.deep.equal([13, 28, 100, 50]);
    // Centred anchor and gravity (none): the box's centre on the rectangle's.
    expect(place({ anchor: Edge.None, gravity: Edge.None })).to.deep.equal([30 - 50, 25 - 25, 100, 50]);
    expect(place({ anchor: Edge.TopRight, gravity: Edge.TopLeft })).to.deep.equal([50 - 100, 20 - 50, 100, 50]);
  });

  it('flips on an axis only when that removes the constraint there', () => {
    // Near the bottom: flipped above the button.
    const low = { anchorRect: { x: 10, y: 60, width: 40, height: 10 } };
    expect(place({ ...low, adjust: Adjust.FlipY }, { x: 0, y: 0, width: 1000, height: 100 })).to.deep.equal([10, 60 - 50, 100, 50]);
    // No room above either: the flip is not kept.
    expect(place({ adjust: Adjust.FlipY }, { x: 0, y: 0, width: 1000, height: 60 })).to.deep.equal([10, 30, 100, 50]);
    // Near the right edge: mirrored, growing left from the rectangle's right edge.
    const right = { anchorRect: { x: 150, y: 20, width: 40, height: 10 } };
    expect(place({ ...right, adjust: Adjust.FlipX }, { x: 0, y: 0, width: 200, height: 1000 })).to.deep.equal([190 - 100, 30, 100, 50]);
    // Only the anchor and gravity are inverted, not the offset.
    expect(place({ ...right, offsetX: 5, adjust: Adjust.FlipX }, { x: 0, y: 0, width: 200, height: 1000 })[0]).to.equal(190 - 100 + 5);
  });

  it('slides inside the bounds, the left or top edge winning when the box is larger', () => {
    expect(place({ adjust: Adjust.SlideX }, { x: 0, y: 0, width: 80, height: 1000 })).to.deep.equal([0, 30, 100, 50]);
    expect(place({ adjust: Adjust.SlideX | Adjust.SlideY }, { x: 0, y: 0, width: 200, height: 70 })).to.deep.equal([10, 20, 100, 50]);
    expect(place({ anchorRect: { x: 180, y: 20, width: 10, height: 10 }, adjust: Adjust.SlideX }, { x: 0, y: 0, width: 200, height: 1000 })).to.deep.equal([100, 30, 100, 50]);
  });

  it('resizes what still lies outside, never below 1 pixel', () => {
    expect(place({ adjust: Adjust.ResizeX | Adjust.ResizeY }, { x: 0, y: 0, width: 60, height: 40 })).to.deep.equal([10, 30, 50, 10]);
    expect(place({ anchorRect: { x: 500, y: 20, width: 1, height: 1 }, adjust: Adjust.ResizeX }, { x: 0, y: 0, width: 100, height: 1000 })[2]).to.equal(1);
  });

  it('with no bounds, places by the rules alone', () => {
    expect(placePopup({ ...base, adjust: 63 }, undefined)).to.deep.equal({ x: 10, y: 30, width: 100, height: 50 });
  });
});
