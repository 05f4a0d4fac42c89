import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { BufferClient, BufferServer, type Surface } from '../../lib';
import { resourceFds } from '../helpers/fds';
import { tempSocketDir } from '../helpers/ipc';
import { fillPattern, findMismatch } from '../helpers/pattern';
import { spawnTs } from '../helpers/spawn';

/** Draws pattern(seed) into the next buffer, submits it and waits for frame_done. */
async function drawOne(surface: Surface, seed: number): Promise<void> {
  const { buffer, region } = await surface.nextBuffer();
  fillPattern(region, seed);
  const done = new Promise<void>((resolve) => surface.once('frame', () => resolve()));
  surface.submit(buffer, [{ x: 0, y: 0, width: surface.width, height: surface.height }]);
  await done;
}

describe('server restarts', function () {
  this.timeout(30000);
  let sock: ReturnType<typeof tempSocketDir>;
  beforeEach(() => {
    sock = tempSocketDir();
  });
  afterEach(() => sock.cleanup());

  it('a server killed with SIGKILL: its clients see close with a reason and free everything; a new server on the path starts cleanly', async () => {
    const baseline = resourceFds();
    const serverProcess = spawnTs('test/helpers/server-proc.ts', [sock.path]);
    expect(await serverProcess.line('listening')).to.equal('listening');

    const client = await BufferClient.connect({ path: sock.path, name: 'survivor' });
    const surface = await client.createSurface({ width: 40, height: 30, format: 'XRGB8888', bufferCount: 2 });
    await drawOne(surface, 1);
    const closed = new Promise<string>((resolve) => client.on('close', resolve));

    serverProcess.process.kill('SIGKILL');
    expect((await serverProcess.exited).signal).to.equal('SIGKILL');
    const reason = await closed;
    expect(reason).to.be.a('string').and.not.equal('');
    expect(client.closed).to.equal(true);
    expect(surface.destroyed).to.equal(true);
    await surface.nextBuffer().then(
      () => expect.fail('nextBuffer on a dead connection'),
      (e: { code: string }) => expect(e.code).to.equal('ERR_BUFSHARE_CONNECTION_CLOSED'),
    );
    // Every buffer fd and the connection are closed on the client side. (Only fds opened
    // here count: under the sanitizer an earlier test's socket was seen closing meanwhile.)
    expect(resourceFds().filter((fd) => !baseline.includes(fd))).to.deep.equal([]);

    // The dead server left its socket file; a new server removes it and serves.
    expect(existsSync(sock.path)).to.equal(true);
    const server = BufferServer.listen({ path: sock.path });
    let checked = 0;
    server.on('frame', (frame) => {
      expect(findMismatch(frame.region, 2)).to.equal(undefined);
      checked++;
      frame.release();
      frame.surface.frameDone();
    });
    const again = await BufferClient.connect({ path: sock.path, name: 'survivor' });
    const s2 = await again.createSurface({ width: 40, height: 30, format: 'XRGB8888' });
    await drawOne(s2, 2);
    expect(checked).to.equal(1);
    again.close();
    await server.close();
  });

  it('a graceful restart: close(reason) reaches the client, and the next server takes the path at once', async () => {
    const first = BufferServer.listen({ path: sock.path });
    const client = await BufferClient.connect({ path: sock.path });
    const closed = new Promise<string>((resolve) => client.on('close', resolve));
    await first.close('restarting for an upgrade');
    expect(await closed).to.equal('restarting for an upgrade');
    expect(existsSync(sock.path)).to.equal(false);
    const second = BufferServer.listen({ path: sock.path });
    const c2 = await BufferClient.connect({ path: sock.path });
    expect(c2.closed).to.equal(false);
    c2.close();
    await second.close();
  });
});
