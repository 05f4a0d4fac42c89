/**
 * Explicit modifier lists on real kernels (gbm_bo_create_with_modifiers), and
 * the access each buffer gets. What Mesa 22.3's kms_swrast does here: default
 * buffers report DRM_FORMAT_MOD_INVALID (their layout is linear: no tiling on
 * these drivers) and every explicit list, LINEAR and INVALID included, is
 * refused. A real GPU that honours a tiled modifier gets a shadow (unit tests:
 * test/unit/layout-access.test.ts).
 */
import { expect } from 'chai';
import { GbmAllocator, MODIFIER_INVALID, MODIFIER_LINEAR, describeNode, drmUnavailableReason, listDrmNodes, modifierToString, type BufshareError } from '../../lib';
import { layoutProblem } from '../../lib/capabilities/layout-access';
import { openFdCount } from '../helpers/fds';

const I915_X_TILED = 0x0100000000000001n;

describe('Explicit modifiers and the access they get (gbm)', function () {
  this.timeout(60000);
  const why = drmUnavailableReason();
  const nodes = why ? [] : listDrmNodes().filter((n) => n.type === 'card');
  if (why) it.skip(`no DRM here (${why})`, () => {});

  for (const node of nodes) {
    const driver = describeNode(node).driver.name;
    it(`${node.name} ${driver}: LINEAR, INVALID and a tiled modifier; the access follows the layout`, function () {
      let allocator: GbmAllocator;
      try {
        allocator = new GbmAllocator({ device: node.path });
      } catch (e) {
        console.log(`      skipped: ${(e as Error).message}`);
        this.skip();
      }
      const fds = openFdCount();
      try {
        const plain = allocator.allocate({ width: 64, height: 64, format: 'XRGB8888', usage: 'hardware' });
        const expected = layoutProblem('gbm', driver, plain.modifier, 1) === undefined ? plain.access : 'shadow';
        expect(plain.access, `default buffer, modifier ${modifierToString(plain.modifier)}`).to.equal(expected);
        plain.destroy();
        for (const modifier of [MODIFIER_LINEAR, MODIFIER_INVALID, I915_X_TILED]) {
          let b;
          try {
            b = allocator.allocate({ width: 64, height: 64, format: 'XRGB8888', usage: 'hardware', modifiers: [modifier] });
          } catch (e) {
            expect((e as BufshareError).code, String(e)).to.equal('ERR_BUFSHARE_UNSUPPORTED_MODIFIER');
            continue;
          }
          // Honoured: the buffer is direct only if linear.
          expect(b.access).to.equal(layoutProblem('gbm', driver, b.modifier, 1) === undefined ? 'direct' : 'shadow');
          b.destroy();
        }
      } finally {
        allocator.close();
      }
      expect(openFdCount()).to.be.at.most(fds);
    });
  }
});
