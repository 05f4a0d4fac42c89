/**
 * Buffer age for an output's own buffers: a buffer last shown `age` frames ago
 * must get the damage of the age - 1 frames committed since plus the new frame's;
 * a new buffer, or one older than the history, gets everything.
 */
import { expect } from 'chai';
import { DamageHistory } from '../../lib/kms/damage-history';
import { Region } from '../../lib/region';

const r = (x: number, y: number, width: number, height: number): Region => Region.of({ x, y, width, height });

describe('KMS DamageHistory', () => {
  it('age 0 and ages past the history repaint everything', () => {
    const h = new DamageHistory(100, 50, 2);
    expect(h.repaint(0, r(1, 1, 2, 2)).area).to.equal(5000);
    h.push(r(0, 0, 1, 1));
    h.push(r(10, 0, 1, 1));
    h.push(r(20, 0, 1, 1)); // the first one falls out (depth 2)
    expect(h.repaint(3, Region.empty).area).to.equal(2);
    expect(h.repaint(4, Region.empty).area).to.equal(5000);
  });

  it('age n: the new damage plus the n - 1 frames before it', () => {
    const h = new DamageHistory(100, 50);
    h.push(r(0, 0, 10, 10));
    h.push(r(50, 0, 10, 10));
    const now = r(90, 40, 10, 10);
    expect(h.repaint(1, now).rects).to.deep.equal(now.rects);
    expect(h.repaint(2, now).area).to.equal(200);
    expect(h.repaint(2, now).contains(55, 5)).to.equal(true);
    expect(h.repaint(2, now).contains(5, 5)).to.equal(false);
    expect(h.repaint(3, now).area).to.equal(300);
  });

  it('clips to the output', () => {
    const h = new DamageHistory(100, 50);
    expect(h.repaint(1, r(90, 40, 50, 50)).area).to.equal(100);
  });
});
