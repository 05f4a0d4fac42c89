import { expect } from 'chai';
import { AutoAllocator, BufferClient, BufferServer, ShmAllocator, type BufshareError } from '../../lib';
import { tempSocketDir } from '../helpers/ipc';

describe('IPC: hardware surfaces and the shadow path', function () {
  this.timeout(30000);
  let sock: ReturnType<typeof tempSocketDir>;

  beforeEach(() => {
    sock = tempSocketDir();
  });

  afterEach(() => sock.cleanup());

  it('a forced shadow the allocator cannot make is refused without a disconnect', async () => {
    const server = BufferServer.listen({ path: sock.path, hardwareAccess: 'shadow', allocator: new ShmAllocator() });
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

  it('a hardware surface, forced shadow or not, falls back to shm where the machine has no hardware buffers', async function () {
    const probe = new AutoAllocator();
    const hasHardware = probe.hardwareAllocator !== null;
    probe.close();
    if (hasHardware) this.skip(); // test/drivers covers machines with DRM
    const server = BufferServer.listen({ path: sock.path, hardwareAccess: 'shadow' }); // default: AutoAllocator
    const client = await BufferClient.connect({ path: sock.path });
    const s = await client.createSurface({ width: 16, height: 16, format: 'XRGB8888', usage: 'hardware' });
    expect([s.kind, s.access, s.usage]).to.deep.equal(['shm', 'direct', 'hardware']);
    client.close();
    await server.close();
  });
});
