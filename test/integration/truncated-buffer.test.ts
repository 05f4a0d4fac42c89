import { expect } from 'chai';
import { BufferClient, BufferServer, ShmAllocator, BufshareError } from '../../lib';
import * as native from '../../lib/native';
import { tempSocketDir } from '../helpers/ipc';
import { fillPattern, findMismatch } from '../helpers/pattern';

describe('a client that truncates an unsealed buffer under the compositor', function () {
  this.timeout(20000);

  it('the compositor reads zeros instead of dying, and the client is disconnected at its next submit', async () => {
    const sock = tempSocketDir();
    // The unsealed fallback: the only kind of buffer a client can shrink.
    const allocator = new ShmAllocator({ forceFallback: true });
    const server = BufferServer.listen({ path: sock.path, allocator });
    const reads: { mismatch: boolean; zeros: boolean; faulted: boolean }[] = [];
    server.on('frame', (frame) => {
      const region = frame.region;
      reads.push({
        mismatch: findMismatch(region, 7) !== undefined,
        zeros: region.pixels.every((v) => v === 0),
        faulted: frame.buffer.faulted,
      });
      frame.release();
      frame.surface.frameDone();
    });
    const client = await BufferClient.connect({ path: sock.path });
    const errors: BufshareError[] = [];
    client.on('error', (e) => errors.push(e));
    const closed = new Promise<string>((resolve) => client.on('close', resolve));
    const surface = await client.createSurface({ width: 32, height: 16, format: 'XRGB8888', bufferCount: 1 });
    const frameDone = (): Promise<void> => new Promise((resolve) => surface.once('frame', () => resolve()));

    let { buffer, region } = await surface.nextBuffer();
    fillPattern(region, 7);
    let done = frameDone();
    surface.submit(buffer, [{ x: 0, y: 0, width: 32, height: 16 }]);
    await done;
    expect(reads[0]).to.deep.equal({ mismatch: false, zeros: false, faulted: false });

    ({ buffer, region } = await surface.nextBuffer());
    native.truncateFd(buffer.bufferFd!, 0); // the attack: the file shrinks under both mappings
    done = frameDone();
    surface.submit(buffer, [{ x: 0, y: 0, width: 32, height: 16 }]);
    await done;
    expect(reads[1]).to.deep.equal({ mismatch: true, zeros: true, faulted: true });

    ({ buffer } = await surface.nextBuffer());
    surface.submit(buffer, [{ x: 0, y: 0, width: 1, height: 1 }]);
    expect(await closed).to.match(/truncated/);
    expect(reads).to.have.length(2);
    expect(errors.map((e) => e.code)).to.deep.equal(['ERR_BUFSHARE_PROTOCOL']);
    await server.close();
    allocator.close();
    sock.cleanup();
  });
});
