import { fstatSync } from 'node:fs';
import { expect } from 'chai';
import { BufferClient, BufferServer, ShmAllocator } from '../../lib';
import * as native from '../../lib/native';
import { tempSocketDir } from '../helpers/ipc';

/** Bytes of memory a file really holds (shmem counts allocated pages in st_blocks). */
function heldBytes(fd: number): number {
  return fstatSync(fd).blocks * 512;
}

describe('Memory a client makes the compositor hold is bounded by its limit', function () {
  this.timeout(60000);

  it('destroyed surfaces whose fds the client kept pin no memory (memfd pages are punched out)', async () => {
    const sock = tempSocketDir();
    const maxBytes = 4 * 1024 * 1024;
    const allocator = new ShmAllocator();
    const server = BufferServer.listen({ path: sock.path, allocator, limits: { maxBytes } });
    let checksum = 0;
    server.on('frame', (frame) => {
      // The compositor reads every pixel: every page of the buffer is faulted in.
      const px = frame.region.pixels32;
      for (let i = 0; i < px.length; i += 1024) checksum += px[i]!;
      frame.release();
    });
    const client = await BufferClient.connect({ path: sock.path });
    const kept: number[] = [];
    const rounds = 6;
    try {
      for (let round = 0; round < rounds; round++) {
        // The largest surface the limit allows: one 1024x1024 XRGB8888 buffer, 4 MiB.
        const surface = await client.createSurface({ width: 1024, height: 1024, format: 'XRGB8888', bufferCount: 1 });
        const { buffer, region } = await surface.nextBuffer();
        region.pixels32.fill(0xff000000 + round);
        const framed = new Promise<void>((r) => server.once('frame', () => r()));
        surface.submit(buffer, [{ x: 0, y: 0, width: 1024, height: 1024 }]);
        await framed;
        kept.push(native.dupFd(buffer.bufferFd!)); // the attacker keeps the fd
        const gone = new Promise<void>((r) => server.once('surfaceDestroyed', () => r()));
        surface.destroy();
        await gone;
      }
      const held = kept.reduce((n, fd) => n + heldBytes(fd), 0);
      expect(checksum).to.be.greaterThan(0);
      expect(held, `${rounds} rounds pin ${held} bytes`).to.be.at.most(maxBytes);
    } finally {
      for (const fd of kept) native.closeFd(fd);
      client.close();
      await server.close();
      sock.cleanup();
    }
  });
});
