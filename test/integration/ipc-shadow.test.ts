import { expect } from 'chai';
import { BufferClient, BufferServer, type Allocator, type BufshareError } from '../../lib';
import { onFrames, startClient, tempSocketDir, trackExpectations } from '../helpers/ipc';
import { sceneMismatch } from '../helpers/tiles';

describe('IPC: hardware surfaces and the shadow path', function () {
  this.timeout(30000);
  let sock: ReturnType<typeof tempSocketDir>;

  beforeEach(() => {
    sock = tempSocketDir();
  });

  afterEach(() => sock.cleanup());

  it('a forced shadow the allocator cannot make is refused without a disconnect', async () => {
    const server = await BufferServer.listen({ path: sock.path, hardwareAccess: 'shadow' }); // default: shm only
    const client = await BufferClient.connect({ path: sock.path });
    const e = await client.createSurface({ width: 16, height: 16, format: 'XRGB8888', usage: 'hardware' }).then(
      () => undefined, (err: BufshareError) => err);
    expect(e?.code).to.equal('ERR_BUFSHARE_UNSUPPORTED');
    // Software surfaces are always direct, forced shadow or not; the connection is still good.
    const s = await client.createSurface({ width: 16, height: 16, format: 'XRGB8888', usage: 'software' });
    expect([s.kind, s.access]).to.deep.equal(['shm', 'direct']);
    client.close();
    await server.close();
  });

  it('a hardware surface falls back to what the allocator has (shm here)', async () => {
    const server = await BufferServer.listen({ path: sock.path });
    const client = await BufferClient.connect({ path: sock.path });
    const s = await client.createSurface({ width: 16, height: 16, format: 'XRGB8888', usage: 'hardware' });
    expect([s.kind, s.access, s.usage]).to.deep.equal(['shm', 'direct', 'hardware']);
    client.close();
    await server.close();
  });

  // TODO(after the allocator merge): enable, with the hardware allocator from lib/allocator/auto (its
  // export name may differ; the rest is final). It runs the tile scene (buffer age + partial damage)
  // through forced shadows and checks every pixel of the *hardware* buffer on the server, so it proves
  // that the server commits all a buffer missed since its last commit, not only the last damage.
  it.skip('TODO(after allocator merge): forced shadow through the whole protocol: hardware buffers hold the exact scene at every frame', async () => {
    const auto = require('../../lib/allocator/auto') as { createAutoAllocator(): Allocator };
    const allocator = auto.createAutoAllocator();
    const server = await BufferServer.listen({ path: sock.path, allocator, hardwareAccess: 'shadow' });
    try {
      const expected = trackExpectations(server);
      let shadowSurfaces = 0;
      server.on('surface', (s) => {
        if (s.access === 'shadow' && s.kind !== 'shm') shadowSurfaces++;
      });
      const held: { release(): void }[] = [];
      let checked = 0;
      const failures = onFrames(server, (frame) => {
        const want = expected.get(frame.surface)!;
        const bad = sceneMismatch(frame.region, want.frame); // the hardware buffer, read through the server's own mapping
        checked++;
        held.push(frame);
        while (held.length > checked % 3) held.shift()!.release();
        frame.surface.frameDone();
        return bad ? `frame ${want.frame}: ${JSON.stringify(bad)}` : undefined;
      });
      const child = startClient({ path: sock.path, width: 64, height: 48, bufferCount: 3, usage: 'hardware', frames: 40, scene: 'tiles', seed: 0 });
      expect(await child.line('done')).to.match(/^done /);
      await child.exited;
      expect(shadowSurfaces).to.equal(1);
      expect(checked).to.equal(40);
      expect(failures).to.deep.equal([]);
    } finally {
      await server.close();
      allocator.close();
    }
  });
});
