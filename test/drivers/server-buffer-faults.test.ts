/**
 * The server's own hardware buffers, read through its own maps (a dumb map of the
 * card, a gbm_bo_map), are client-drawn memory that can go away too: a client
 * holding the dma-buf can import it on its own DRM fd and mark it purgeable
 * (panfrost, lima, msm), and an unplug faults every map. The compositor reading a
 * frame must then live, read zeros, and disconnect that client only at its next
 * submit. vgem purges nothing, so the fault is the one the kernel would deliver
 * (SIGBUS, BUS_ADRERR at an address in the map), queued to this thread with
 * native.injectSigbus. Before the gbm map was guarded, that signal killed the
 * compositor; before the dumb map reported it, the client was never told.
 */
import { expect } from 'chai';
import {
  BufferClient, BufferServer, DumbAllocator, GbmAllocator, describeNode, drmUnavailableReason, listDrmNodes, type Allocator, type BufshareError, type Frame,
} from '../../lib';
import * as native from '../../lib/native';
import { tempSocketDir } from '../helpers/ipc';

describe('Faults under the server\'s own hardware-buffer maps (vgem)', function () {
  this.timeout(60000);
  const why = drmUnavailableReason();
  const vgem = why ? undefined : listDrmNodes().find((n) => n.type === 'card' && describeNode(n).driver.name === 'vgem');
  if (!vgem) {
    it.skip(`no vgem card node here (${why ?? 'vgem not loaded'})`, () => {});
    return;
  }

  for (const kind of ['dumb', 'gbm'] as const) {
    it(`${kind} (direct): a fault under the compositor's map reads zeros, the held frame says so, and only that client is disconnected at its next submit`, async () => {
      const allocator: Allocator = kind === 'dumb' ? new DumbAllocator({ device: vgem.path }) : new GbmAllocator({ device: vgem.path });
      const sock = tempSocketDir();
      const server = BufferServer.listen({ path: sock.path, allocator, hardwareAccess: 'auto' });
      const held: Frame[] = [];
      server.on('frame', (f) => {
        held.push(f);
        f.surface.frameDone();
      });
      const bad = await BufferClient.connect({ path: sock.path });
      const good = await BufferClient.connect({ path: sock.path });
      const badErrors: BufshareError[] = [];
      const goodErrors: BufshareError[] = [];
      bad.on('error', (e) => badErrors.push(e));
      good.on('error', (e) => goodErrors.push(e));
      const badClosed = new Promise<string>((resolve) => bad.on('close', resolve));
      try {
        const badSurface = await bad.createSurface({ width: 32, height: 16, format: 'XRGB8888', usage: 'hardware', bufferCount: 2 });
        const goodSurface = await good.createSurface({ width: 32, height: 16, format: 'XRGB8888', usage: 'hardware', bufferCount: 2 });
        expect([badSurface.access, goodSurface.access]).to.deep.equal(['direct', 'direct']);
        const draw = async (surface: typeof badSurface, color: number): Promise<void> => {
          const { buffer, region } = await surface.nextBuffer();
          region.pixels32.fill(color);
          const shown = new Promise<void>((r) => surface.once('frame', () => r()));
          surface.submit(buffer, [{ x: 0, y: 0, width: 32, height: 16 }]);
          await shown;
        };
        await draw(badSurface, 0xff102030);
        const frame = held.at(-1)!;
        expect(frame.region.strategy).to.equal(kind === 'dumb' ? 'dumb-map' : 'gbm-map');
        expect(frame.region.guarded, 'the compositor\'s map is guarded').to.equal(true);
        expect(frame.region.pixels32[17]).to.equal(0xff102030);
        expect(frame.region.faulted).to.equal(false);
        native.injectSigbus(frame.region.pixels.buffer as ArrayBuffer, frame.region.pixels.byteOffset + 64);
        expect(frame.region.faulted, 'the held frame reports the fault').to.equal(true);
        expect(frame.region.pixels32[17], 'the faulted map reads zeros').to.equal(0);
        frame.release();

        const { buffer } = await badSurface.nextBuffer();
        badSurface.submit(buffer, [{ x: 0, y: 0, width: 1, height: 1 }]);
        expect(await badClosed).to.match(/faulted under the server's mapping/);
        expect(badErrors.map((e) => e.code)).to.deep.equal(['ERR_BUFSHARE_PROTOCOL']);

        await draw(goodSurface, 0xff405060);
        expect(held.at(-1)!.region.pixels32[17], 'the other client goes on').to.equal(0xff405060);
        expect(goodErrors).to.deep.equal([]);
      } finally {
        for (const f of held) f.release();
        bad.close();
        good.close();
        await server.close();
        allocator.close();
        sock.cleanup();
      }
    });
  }
});
