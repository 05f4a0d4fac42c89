/**
 * Two live CPU maps of one GBM buffer (the server's persistent read region and a
 * shadow commit's write map, for instance). Mesa may hand both the same address:
 * unmapping one must release that one, and leave the other readable.
 */
import { expect } from 'chai';
import { GbmAllocator, describeNode, drmUnavailableReason, listDrmNodes } from '../../lib';

describe('GBM: two live maps of one buffer', function () {
  this.timeout(120000);
  const why = drmUnavailableReason();
  const nodes = why ? [] : listDrmNodes().filter((n) => n.type === 'card');
  if (why) it.skip(`no DRM here (${why})`, () => {});

  for (const node of nodes) {
    it(`${node.name} ${describeNode(node).driver.name}: unmapping one leaves the other intact, in either order`, function () {
      let allocator: GbmAllocator;
      try {
        allocator = new GbmAllocator({ device: node.path });
      } catch (e) {
        console.log(`      skipped: ${(e as Error).message}`);
        this.skip();
      }
      try {
        for (const first of [0, 1]) {
          const buffer = allocator.allocate({ width: 64, height: 32, format: 'XRGB8888', usage: 'hardware' });
          const regions = [buffer.map({ mode: 'read' }), buffer.map({ mode: 'readwrite' })];
          regions[1]!.pixels32[5] = 0x00abcdef;
          regions[first]!.unmap();
          const other = regions[1 - first]!;
          expect(regions[first]!.pixels.length).to.equal(0);
          expect(other.mapped).to.equal(true);
          expect(other.pixels.length).to.be.greaterThan(0);
          expect(other.pixels32[5]! & 0xffffff).to.equal(0xabcdef);
          other.unmap();
          expect(other.pixels.length).to.equal(0);
          buffer.destroy();
        }
      } finally {
        allocator.close();
      }
    });
  }
});
