import { expect } from 'chai';
import { MODIFIER_INVALID, MODIFIER_LINEAR, probe } from '../../lib';
import type { KindCapability } from '../../lib/capabilities/access';
import { layoutProblem } from '../../lib/capabilities/layout-access';

const OK = { ok: true } as const;
const capability: KindCapability = {
  allocate: OK, exportReadWrite: OK, exportReadOnly: { ok: false, skipped: 'rw worked' }, dmabufMmapRead: OK, dmabufMmapWrite: OK,
  serverMaps: { 'gbm-map': OK, 'dumb-map': OK, 'dmabuf-sync': OK },
};
const I915_X_TILED = 0x0100000000000001n;
const AMD_DCC = 0x0200000000000021n;

function access(kind: 'gbm' | 'dumb' | 'udmabuf', driver: string, modifier: bigint, planes = 1) {
  const v = probe.decideAccess({ kind, driver, capability, layout: { modifier, planes } });
  if (!v.usable) throw new Error(v.reason);
  return { access: v.clientAccess, server: v.serverMapping, reasons: v.reasons.join('; ') };
}

describe('Modifiers decide access', () => {
  it('LINEAR, one plane: direct', () => {
    expect(access('gbm', 'i915', MODIFIER_LINEAR).access).to.equal('direct');
    expect(layoutProblem('gbm', 'amdgpu', MODIFIER_LINEAR, 1)).to.equal(undefined);
  });

  it('a tiled or compressed modifier: shadow, with the server\'s gbm map (it detiles), saying why', () => {
    for (const m of [I915_X_TILED, AMD_DCC]) {
      const v = access('gbm', 'i915', m);
      expect(v.access).to.equal('shadow');
      expect(v.server).to.equal('gbm-map');
      expect(v.reasons).to.match(/not linear/);
    }
  });

  it('INVALID (an implicit layout): shadow on a GPU that tiles, direct on drivers that are linear-only', () => {
    expect(access('gbm', 'i915', MODIFIER_INVALID).access).to.equal('shadow');
    expect(access('gbm', 'amdgpu', MODIFIER_INVALID).reasons).to.match(/implicit modifier/);
    for (const d of ['vgem', 'virtio_gpu', 'bochs-drm', 'qxl', 'cirrus', 'vkms']) expect(access('gbm', d, MODIFIER_INVALID).access).to.equal('direct');
  });

  it('more than one plane: shadow, whatever the modifier', () => {
    expect(access('gbm', 'vgem', MODIFIER_LINEAR, 2).access).to.equal('shadow');
    expect(access('dumb', 'vgem', MODIFIER_LINEAR, 3).reasons).to.match(/3 planes/);
  });

  it('dumb buffers are linear by definition, udmabufs are memfd pages: direct', () => {
    expect(access('dumb', 'i915', MODIFIER_INVALID).access).to.equal('direct');
    expect(access('udmabuf', '', MODIFIER_INVALID).access).to.equal('direct');
  });

  it('without a buffer at hand (the probe), the layout is not judged', () => {
    const v = probe.decideAccess({ kind: 'gbm', driver: 'i915', capability });
    expect(v.usable && v.clientAccess).to.equal('direct');
  });
});
