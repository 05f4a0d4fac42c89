/**
 * Forced shadows through the whole protocol with buffer age and partial damage:
 * a client in its own process draws the tile scene (redrawing only what each
 * buffer missed), the compositor holds 0-2 frames at a time, and every pixel of
 * the *hardware* buffer is checked through the server's own mapping at every
 * frame. Proves that a shadow commit copies everything a buffer missed since
 * its last commit, not only the last damage.
 */
import { expect } from 'chai';
import { AutoAllocator, BufferServer } from '../../lib';
import { onFrames, startClient, tempSocketDir, trackExpectations } from '../helpers/ipc';
import { sceneMismatch } from '../helpers/tiles';

describe('forced shadow on real hardware buffers: the exact scene at every frame', function () {
  this.timeout(300000);

  for (const kind of ['dumb', 'gbm'] as const) {
    it(`${kind} buffers from the auto allocator`, async function () {
      const allocator = new AutoAllocator({ allocator: kind });
      let hardware;
      try {
        hardware = allocator.hardwareAllocator;
      } catch (e) {
        console.log(`      skipped: ${(e as Error).message}`);
        allocator.close();
        this.skip();
      }
      if (!hardware) {
        allocator.close();
        this.skip();
      }
      const sock = tempSocketDir();
      const server = BufferServer.listen({ path: sock.path, allocator, hardwareAccess: 'shadow' });
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
          const bad = sceneMismatch(frame.region, want.frame);
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
        sock.cleanup();
      }
    });
  }
});
