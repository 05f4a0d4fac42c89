import { expect } from 'chai';
import { BufferClient, BufferServer, type Frame } from '../../lib';
import { mappingStats } from '../../lib/native';
import { resourceFds } from '../helpers/fds';
import { disconnects, startClient, tempSocketDir } from '../helpers/ipc';

describe('IPC: lifecycle', function () {
  this.timeout(30000);
  let sock: ReturnType<typeof tempSocketDir>;
  let server: BufferServer;

  beforeEach(async () => {
    sock = tempSocketDir();
    server = BufferServer.listen({ path: sock.path });
  });

  afterEach(async () => {
    await server.close();
    sock.cleanup();
  });

  it('clients SIGKILLed mid-frame lose their surfaces; every fd and mapping is freed; other clients go on', async () => {
    // A well-behaved client in this process keeps exchanging frames throughout.
    const good = await BufferClient.connect({ path: server.path });
    const goodSurface = await good.createSurface({ width: 16, height: 16, format: 'XRGB8888' });
    const baselineFds = resourceFds();
    const baselineMaps = mappingStats().live;

    const held: Frame[] = [];
    let goodFrames = 0;
    let goodDone: () => void;
    const threeGoodFrames = new Promise<void>((r) => (goodDone = r));
    server.on('frame', (frame) => {
      void frame.region; // map it on the server, so the kill must unmap it
      if (frame.surface.client.pid === process.pid) {
        if (++goodFrames === 3) goodDone();
        frame.release();
        return;
      }
      held.push(frame); // never released: the victims die holding nothing, the server holding their frames
      frame.surface.frameDone();
    });
    const destroyed: number[] = [];
    server.on('surfaceDestroyed', (s) => destroyed.push(s.client.pid));
    const victims = startClient({ path: server.path, clients: 3, width: 256, height: 128, bufferCount: 3, frames: 10, scene: 'pattern', seed: 1, hangAfter: 2 });
    expect(await victims.line('hanging')).to.equal('hanging');
    expect(server.clients.size).to.equal(4);
    expect(resourceFds().length).to.be.greaterThan(baselineFds.length);
    expect(mappingStats().live).to.be.greaterThan(baselineMaps);

    const gone = disconnects(server, 3);
    victims.process.kill('SIGKILL');
    const reasons = await gone;
    await victims.exited; // its pipes to us close too
    expect(reasons).to.have.length(3);
    expect(destroyed).to.have.length(3);
    expect(server.clients.size).to.equal(1);
    // Frames the compositor holds stay readable until it releases them, whatever their client did.
    expect(held.length).to.be.greaterThan(0);
    for (const f of held) {
      expect(f.buffer.destroyed).to.equal(false);
      expect(f.region.pixels.length).to.equal(f.region.stride * f.region.height);
    }
    for (const f of held) f.release();
    for (const f of held) expect(f.buffer.destroyed).to.equal(true);
    expect(resourceFds()).to.deep.equal(baselineFds);
    expect(mappingStats().live).to.equal(baselineMaps);

    // The survivor is untouched.
    for (let i = 0; i < 3; i++) {
      const { buffer, region } = await goodSurface.nextBuffer();
      region.pixels32.fill(i);
      goodSurface.submit(buffer, [{ x: 0, y: 0, width: 16, height: 16 }]);
    }
    await threeGoodFrames;
    expect(goodFrames).to.equal(3);
    good.close();
  });

  it('a client that closes cleanly frees everything too', async () => {
    const baselineFds = resourceFds();
    const client = await BufferClient.connect({ path: server.path });
    const surfaces = await Promise.all([1, 2, 3].map((i) => client.createSurface({ width: 32 * i, height: 32, format: 'ARGB8888', bufferCount: 3 })));
    expect(surfaces.map((s) => s.bufferCount)).to.deep.equal([3, 3, 3]);
    // Server: 9 buffer fds; client: 9 fds of its own, and both sockets.
    expect(resourceFds().length).to.equal(baselineFds.length + 9 + 9 + 2);
    const destroyed = new Promise((r) => server.once('surfaceDestroyed', r));
    surfaces[0]!.destroy();
    await destroyed;
    expect(resourceFds().length).to.equal(baselineFds.length + 6 + 6 + 2);
    const gone = disconnects(server, 1);
    client.close();
    await gone;
    expect(resourceFds()).to.deep.equal(baselineFds);
  });

  it('server close tells every client, in other processes too, and frees everything', async () => {
    const baselineFds = resourceFds();
    const local = await BufferClient.connect({ path: server.path });
    const localSurface = await local.createSurface({ width: 8, height: 8, format: 'XRGB8888' });
    const closed = new Promise<string>((r) => local.on('close', r));
    let first = true;
    const remoteReady = new Promise<void>((resolve) => {
      server.on('frame', (frame) => {
        frame.release();
        if (first) resolve();
        first = false;
        // No frameDone: the remote client waits, connected, until the server goes.
      });
    });
    const remote = startClient({ path: server.path, width: 16, height: 16, frames: 5, scene: 'pattern', seed: 3 });
    await remoteReady;
    await server.close('maintenance');
    expect(await closed).to.equal('maintenance');
    expect(localSurface.destroyed).to.equal(true);
    await localSurface.nextBuffer().then(
      () => expect.fail('nextBuffer after close'),
      (e: { code: string }) => expect(e.code).to.equal('ERR_BUFSHARE_CONNECTION_CLOSED'),
    );
    expect(await remote.line('closed')).to.equal('closed maintenance');
    await remote.exited;
    expect(resourceFds().length).to.equal(baselineFds.length - 1); // the listening socket is gone too
    // The path is free again: a new server starts on it.
    server = BufferServer.listen({ path: sock.path });
  });

  it('steady state allocates no buffer, fd or mapping on either side once the swapchain is full', async () => {
    server.on('frame', (frame) => {
      void frame.region.pixels32[0]; // the compositor reads every frame
      frame.release();
      frame.surface.frameDone();
    });
    const client = await BufferClient.connect({ path: server.path });
    const surface = await client.createSurface({ width: 64, height: 64, format: 'XRGB8888', bufferCount: 3 });
    const drawFrames = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i++) {
        const shown = new Promise<void>((r) => surface.once('frame', () => r()));
        const { buffer, region } = await surface.nextBuffer();
        region.pixels32[i % 4096] = i;
        surface.submit(buffer, [{ x: i % 64, y: 0, width: 1, height: 1 }]);
        await shown;
      }
    };
    await drawFrames(10); // warm-up: every buffer used once and mapped on the server
    const fds = resourceFds();
    const maps = mappingStats();
    await drawFrames(500);
    expect(resourceFds()).to.deep.equal(fds);
    expect(mappingStats()).to.deep.equal(maps); // not one mmap in 500 frames, on the client or the server
    client.close();
  });

  it('events the compositor sends as soon as a surface exists reach the listeners attached after createSurface', async () => {
    server.on('surface', (s) => {
      s.sendEvent({ configure: { width: s.width } });
      s.frameDone();
      s.sendEvent('second');
    });
    const client = await BufferClient.connect({ path: server.path });
    const surface = await client.createSurface({ width: 24, height: 8, format: 'XRGB8888' });
    const seen: unknown[] = [];
    surface.on('event', (p) => seen.push(p));
    surface.on('frame', () => seen.push('frame'));
    await new Promise<void>((r) => surface.on('event', (p) => p === 'second' && r()));
    expect(seen).to.deep.equal([{ configure: { width: 24 } }, 'frame', 'second']);
    client.close();
  });

  it('server close frees the buffers of frames still held for clients that are gone', async () => {
    const baselineFds = resourceFds();
    const held: Frame[] = [];
    server.on('frame', (f) => held.push(f));
    const client = await BufferClient.connect({ path: server.path });
    const s = await client.createSurface({ width: 8, height: 8, format: 'XRGB8888' });
    const { buffer } = await s.nextBuffer();
    const got = new Promise((r) => server.once('frame', r));
    s.submit(buffer, []);
    await got;
    const gone = disconnects(server, 1);
    client.close();
    await gone;
    expect(held[0]!.buffer.destroyed).to.equal(false);
    await server.close();
    expect(held[0]!.buffer.destroyed).to.equal(true);
    expect(resourceFds().length).to.equal(baselineFds.length - 1); // and the listening socket
    server = BufferServer.listen({ path: sock.path });
  });
});
