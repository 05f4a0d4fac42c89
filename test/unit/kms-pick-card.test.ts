/**
 * rankDisplayCards: the default display card. The measured bug: on the 6.12 VM
 * vkms is card1 and virtio-gpu card2, and "the first card with a connected
 * connector" put the demo's output on vkms, which nothing shows.
 */
import { expect } from 'chai';
import { rankDisplayCards, type DisplayCard } from '../../lib/kms';

function card(index: number, driver: string, extra: Partial<DisplayCard> = {}): DisplayCard {
  return { path: `/dev/dri/card${index}`, driver, index, connected: ['Virtual-1'], software: driver === 'vkms', bootVga: false, ...extra };
}

function permutations<T>(xs: readonly T[]): T[][] {
  if (xs.length <= 1) return [xs.slice()];
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]));
}

describe('rankDisplayCards', () => {
  it('hardware before vkms, whatever the card numbering and the listing order', () => {
    for (const [vkmsIndex, virtioIndex, bochsIndex] of permutations([1, 2, 3])) {
      const cards = [card(vkmsIndex!, 'vkms'), card(virtioIndex!, 'virtio_gpu'), card(bochsIndex!, 'bochs-drm')];
      for (const order of permutations(cards)) {
        const ranked = rankDisplayCards(order);
        expect(ranked.map((c) => c.driver)).to.have.length(3);
        expect(ranked[0]!.driver).to.not.equal('vkms');
        expect(ranked[2]!.driver, 'vkms last').to.equal('vkms');
        expect(ranked[0]!.index, 'then by card number').to.equal(Math.min(virtioIndex!, bochsIndex!));
      }
    }
  });

  it('vkms when it is the only card with a screen', () => {
    expect(rankDisplayCards([card(0, 'vkms')]).map((c) => c.driver)).to.deep.equal(['vkms']);
    expect(rankDisplayCards([card(0, 'vkms'), card(1, 'bochs-drm', { connected: [] })]).map((c) => c.driver)).to.deep.equal(['vkms']);
  });

  it('a card without a connected screen is never a candidate', () => {
    expect(rankDisplayCards([card(1, 'virtio_gpu', { connected: [] }), card(2, 'bochs-drm', { connected: [] })])).to.deep.equal([]);
  });

  it('the boot display before other hardware, whatever its number', () => {
    const ranked = rankDisplayCards([card(1, 'vkms'), card(2, 'virtio_gpu'), card(5, 'cirrus', { bootVga: true }), card(3, 'bochs-drm')]);
    expect(ranked.map((c) => c.driver)).to.deep.equal(['cirrus', 'virtio_gpu', 'bochs-drm', 'vkms']);
    // A software output never wins by being the boot display.
    expect(rankDisplayCards([card(1, 'vkms', { bootVga: true }), card(2, 'qxl')])[0]!.driver).to.equal('qxl');
  });
});
