/**
 * Every plane of a gbm bo, from libgbm to the client, on real kernels. The
 * emulated drivers (vgem, kms_swrast under Mesa 22.3) only make single-plane
 * bos (no multi-plane format in the table, every explicit modifier refused):
 * a bo of several planes is tested with memfds on the host
 * (test/unit/multi-plane-descriptor.test.ts); here, that the per-plane query
 * agrees with libgbm's plane 0, and that a real buffer's descriptor carries
 * every plane and survives the client's validation with its fds.
 */
import { expect } from 'chai';
import { GbmAllocator, describeNode, drmUnavailableReason, fromDescriptor, listDrmNodes, resolveFormat } from '../../lib';
import { layoutProblem } from '../../lib/capabilities/layout-access';
import * as native from '../../lib/native';
import { openFdCount } from '../helpers/fds';

const GBM_BO_USE_LINEAR = 1 << 4;

describe('Every plane of a gbm buffer reaches the client', function () {
  this.timeout(60000);
  const why = drmUnavailableReason();
  const nodes = why ? [] : listDrmNodes().filter((n) => n.type === 'card');
  if (why) it.skip(`no DRM here (${why})`, () => {});

  for (const node of nodes) {
    const driver = describeNode(node).driver.name;
    it(`${node.name} ${driver}: gbmBoInfo lists planeCount planes, the descriptor carries them, the client imports them`, function () {
      const fds = openFdCount();
      const drmFd = native.drmOpen(node.path);
      let device: number;
      try {
        native.gbmLoad();
        device = native.gbmCreateDevice(drmFd);
      } catch (e) {
        native.closeFd(drmFd);
        console.log(`      skipped: ${(e as Error).message}`);
        this.skip();
      }
      try {
        const bo = native.gbmBoCreate(device, 64, 48, resolveFormat('XRGB8888').fourcc, GBM_BO_USE_LINEAR);
        const info = native.gbmBoInfo(bo);
        expect(info.planes).to.have.length(Math.min(info.planeCount, 4));
        expect(info.planes[0]).to.deep.equal({ offset: info.offset, stride: info.stride });
        native.gbmBoDestroy(bo);
      } finally {
        native.gbmDeviceDestroy(device);
        native.closeFd(drmFd);
      }

      let allocator: GbmAllocator;
      try {
        allocator = new GbmAllocator({ device: node.path });
      } catch (e) {
        console.log(`      skipped: ${(e as Error).message}`);
        this.skip();
      }
      try {
        const b = allocator.allocate({ width: 64, height: 48, format: 'XRGB8888', usage: 'hardware' });
        const { descriptor, fds: sent } = b.export();
        expect(descriptor.planes).to.deep.equal(b.planes);
        expect(b.access).to.equal(layoutProblem('gbm', driver, b.modifier, b.planes.length) === undefined ? b.access : 'shadow');
        const imported = fromDescriptor(JSON.parse(JSON.stringify(descriptor)), sent.map((fd) => native.dupFd(fd)), { forDrawing: true });
        expect(imported.planes).to.deep.equal(b.planes);
        const region = imported.map();
        region.pixels32.fill(0xff336699);
        imported.destroy();
        b.destroy();
      } finally {
        allocator.close();
      }
      expect(openFdCount()).to.be.at.most(fds);
    });
  }
});
