/**
 * Each server read source's coherence rule (HardwareBuffer.mapFrameSource), on
 * real kernels: a gbm_bo_map (possibly a staging copy) is made per frame and
 * ended at release, never reused across frames; a dumb map is the buffer itself
 * and is kept; a shadowed buffer is read from its shadow (cached shm), never
 * from the (possibly write-combined) hardware buffer.
 */
import { expect } from 'chai';
import {
  BufferClient, BufferServer, DumbAllocator, GbmAllocator, describeNode, drmUnavailableReason, listDrmNodes, type Allocator, type Frame,
} from '../../lib';
import { tempSocketDir } from '../helpers/ipc';

describe('Frame read sources and their coherence (vgem)', function () {
  this.timeout(60000);
  const why = drmUnavailableReason();
  const vgem = why ? undefined : listDrmNodes().find((n) => n.type === 'card' && describeNode(n).driver.name === 'vgem');
  if (!vgem) {
    it.skip(`no vgem card node here (${why ?? 'vgem not loaded'})`, () => {});
    return;
  }

  /** Two frames of one single-buffered surface; returns what the compositor saw of each. */
  async function twoFrames(allocator: Allocator, hardwareAccess: 'auto' | 'shadow') {
    const sock = tempSocketDir();
    const server = BufferServer.listen({ path: sock.path, allocator, hardwareAccess });
    const seen: { region: Frame['region']; strategy: string; pixel: number; lengthAfterRelease: number }[] = [];
    server.on('frame', (frame) => {
      const region = frame.region;
      const pixel = region.pixels32[region.stride32 * 7 + 9]!;
      frame.release();
      seen.push({ region, strategy: region.strategy, pixel, lengthAfterRelease: region.pixels.length });
    });
    const client = await BufferClient.connect({ path: sock.path });
    const surface = await client.createSurface({ width: 32, height: 16, format: 'XRGB8888', usage: 'hardware', bufferCount: 1 });
    for (const color of [0xff112233, 0xff445566]) {
      const { buffer, region } = await surface.nextBuffer();
      region.pixels32.fill(color);
      surface.submit(buffer, [{ x: 0, y: 0, width: 32, height: 16 }]);
    }
    await surface.nextBuffer(); // released twice: both frames were seen
    client.close();
    await server.close();
    sock.cleanup();
    return { access: surface.access, seen };
  }

  it('gbm (direct): mapped per frame, ended at release, the second frame a new mapping', async () => {
    const allocator = new GbmAllocator({ device: vgem.path });
    try {
      const { access, seen } = await twoFrames(allocator, 'auto');
      expect(access).to.equal('direct');
      expect(seen.map((s) => [s.strategy, s.pixel])).to.deep.equal([['gbm-map', 0xff112233], ['gbm-map', 0xff445566]]);
      expect(seen[1]!.region).to.not.equal(seen[0]!.region);
      expect(seen.map((s) => s.lengthAfterRelease)).to.deep.equal([0, 0]);
    } finally {
      allocator.close();
    }
  });

  it('dumb (direct): the buffer itself, kept across frames', async () => {
    const allocator = new DumbAllocator({ device: vgem.path });
    try {
      const { access, seen } = await twoFrames(allocator, 'auto');
      expect(access).to.equal('direct');
      expect(seen.map((s) => [s.strategy, s.pixel])).to.deep.equal([['dumb-map', 0xff112233], ['dumb-map', 0xff445566]]);
      expect(seen[1]!.region).to.equal(seen[0]!.region);
    } finally {
      allocator.close();
    }
  });

  for (const kind of ['dumb', 'gbm'] as const) {
    it(`${kind} (shadow): frames are read from the shadow, not the hardware buffer`, async () => {
      const allocator = kind === 'dumb' ? new DumbAllocator({ device: vgem.path }) : new GbmAllocator({ device: vgem.path });
      try {
        const { access, seen } = await twoFrames(allocator, 'shadow');
        expect(access).to.equal('shadow');
        expect(seen.map((s) => [s.strategy, s.pixel])).to.deep.equal([['shadow', 0xff112233], ['shadow', 0xff445566]]);
      } finally {
        allocator.close();
      }
    });
  }
});
