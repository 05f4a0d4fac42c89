/**
 * Device ownership (issue 12, item 1). The first open of a card node while no
 * master exists makes the opener DRM master: an allocator or a probe that kept
 * it would stop the compositor (or logind) from modesetting. After bufshare's
 * allocators and probe have opened every card node and still hold buffers, a
 * second process must become master by opening the node and modeset. A DRM fd
 * handed over with DrmDevice.fromFd is borrowed: allocated on, never closed, its
 * master state untouched.
 */
import { expect } from 'chai';
import { AutoAllocator, DumbAllocator, GbmAllocator, DrmDevice, drmUnavailableReason, listDrmNodes, type SharedBuffer } from '../../lib';
import { discoverKms } from '../../lib/kms';
import * as native from '../../lib/native';
import { runTs } from '../helpers/spawn';

/** Card nodes that can modeset (vgem has no KMS). */
function kmsNodes(): string[] {
  return listDrmNodes().filter((n) => n.type === 'card').map((n) => n.path).filter((path) => {
    const fd = native.drmOpen(path);
    try {
      const device = DrmDevice.fromFd(fd);
      return discoverKms(device).connectors.some((c) => c.status === 'connected');
    } catch {
      return false;
    } finally {
      native.closeFd(fd);
    }
  });
}

function fdIsOpen(fd: number): boolean {
  try {
    native.statFd(fd);
    return true;
  } catch {
    return false;
  }
}

describe('DRM device ownership', function () {
  this.timeout(120000);
  const why = drmUnavailableReason();
  if (why) {
    it.skip(`no DRM here (${why})`, () => {});
    return;
  }
  const nodes = kmsNodes();

  it('finds card nodes that can modeset', () => {
    expect(nodes.length, 'a KMS card node').to.be.greaterThan(0);
  });

  it('after the allocators and the probe ran (buffers still held), a second process becomes master and modesets on every card', async () => {
    const allocators: { close(): void }[] = [];
    const buffers: SharedBuffer[] = [];
    try {
      for (const path of nodes) {
        const dumb = new DumbAllocator({ device: path });
        allocators.push(dumb);
        buffers.push(dumb.allocate({ width: 64, height: 64, format: 'XRGB8888', usage: 'hardware' }));
        expect(dumb.device.isMaster, `${path}: the dumb allocator's fd`).to.equal(false);
        try {
          const gbm = new GbmAllocator({ device: path });
          allocators.push(gbm);
          buffers.push(gbm.allocate({ width: 64, height: 64, format: 'XRGB8888', usage: 'hardware' }));
          expect(gbm.gbm.drm.isMaster, `${path}: the gbm allocator's fd`).to.equal(false);
        } catch (e) {
          if ((e as { code?: string }).code !== 'ERR_BUFSHARE_NOT_AVAILABLE') throw e;
        }
      }
      const auto = new AutoAllocator({ allocator: 'auto' }); // runs the probe: opens every node
      allocators.push(auto);
      buffers.push(auto.allocate({ width: 64, height: 64, format: 'XRGB8888', usage: 'hardware' }));

      const child = await runTs('test/drivers/kms-master-child.ts', nodes);
      expect(child.code, child.stderr).to.equal(0);
      const outcomes = JSON.parse(child.stdout) as { path: string; master: boolean; modeset: boolean; error?: string }[];
      for (const o of outcomes) {
        expect(o.master, `${o.path}: the second process's open made it master`).to.equal(true);
        expect(o.modeset, `${o.path}: SETCRTC in the second process: ${o.error ?? ''}`).to.equal(true);
      }
    } finally {
      for (const b of buffers) b.destroy();
      for (const a of allocators) a.close();
    }
  });

  it('DrmDevice.fromFd: allocators use the borrowed fd, never close it, never drop its master', () => {
    for (const path of nodes) {
      const fd = native.drmOpen(path); // the compositor's own open: it is master now
      try {
        expect(native.drmIsMaster(fd), `${path} opened first`).to.equal(true);
        const device = DrmDevice.fromFd(fd);
        expect(device.borrowed).to.equal(true);
        expect(device.path).to.equal(path);
        const dumb = new DumbAllocator({ device });
        const buffer = dumb.allocate({ width: 32, height: 16, format: 'XRGB8888', usage: 'hardware' });
        expect(dumb.device).to.equal(device);
        let gbmBuffer: SharedBuffer | undefined;
        let gbm: GbmAllocator | undefined;
        try {
          gbm = new GbmAllocator({ device });
          expect(gbm.gbm.drm).to.equal(device);
          gbmBuffer = gbm.allocate({ width: 32, height: 16, format: 'XRGB8888', usage: 'hardware' });
        } catch (e) {
          if ((e as { code?: string }).code !== 'ERR_BUFSHARE_NOT_AVAILABLE') throw e;
        }
        buffer.destroy();
        gbmBuffer?.destroy();
        dumb.close();
        gbm?.close();
        device.unref();
        expect(device.closed).to.equal(true);
        expect(fdIsOpen(fd), `${path}: the borrowed fd is still open`).to.equal(true);
        expect(native.drmIsMaster(fd), `${path}: still master`).to.equal(true);
        expect(native.drmVersion(fd).name).to.be.a('string');
      } finally {
        native.closeFd(fd);
      }
    }
  });

  it('a render node: dumb is refused naming the node type; gbm allocates or is refused the same way', () => {
    const render = listDrmNodes().filter((n) => n.type === 'render');
    if (render.length === 0) return;
    for (const node of render) {
      const fd = native.drmOpen(node.path);
      try {
        const device = DrmDevice.fromFd(fd);
        expect(device.type).to.equal('render');
        const dumb = new DumbAllocator({ device });
        try {
          expect(() => dumb.allocate({ width: 8, height: 8, format: 'XRGB8888', usage: 'hardware' })).to.throw(/render node/).with.property('code', 'ERR_BUFSHARE_RENDER_NODE');
        } finally {
          dumb.close();
        }
        let gbm: GbmAllocator | undefined;
        try {
          gbm = new GbmAllocator({ device });
        } catch (e) {
          const code = (e as { code?: string }).code;
          if (code !== 'ERR_BUFSHARE_NOT_AVAILABLE') {
            expect(code, (e as Error).message).to.equal('ERR_BUFSHARE_RENDER_NODE');
            expect((e as Error).message).to.match(/render node/);
          }
        }
        if (gbm) {
          const b = gbm.allocate({ width: 16, height: 16, format: 'XRGB8888', usage: 'hardware' });
          b.destroy();
          gbm.close();
        }
        device.unref();
        expect(fdIsOpen(fd)).to.equal(true);
      } finally {
        native.closeFd(fd);
      }
    }
  });

  it('DrmDevice.fromFd refuses an fd that is not a DRM device, and leaves it open', () => {
    const memfd = native.memfdCreate('not-drm', 4096, 0);
    try {
      expect(() => DrmDevice.fromFd(memfd)).to.throw().with.property('code', 'ERR_BUFSHARE_INVALID_ARGUMENT');
      expect(fdIsOpen(memfd)).to.equal(true);
    } finally {
      native.closeFd(memfd);
    }
  });
});
