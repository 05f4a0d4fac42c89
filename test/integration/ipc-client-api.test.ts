import { expect } from 'chai';
import { BufferClient, BufferServer, Region, type BufshareError, type Frame } from '../../lib';
import { tempSocketDir } from '../helpers/ipc';

function errorCode(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return (e as BufshareError).code;
  }
  return undefined;
}

describe('IPC: client API contract', function () {
  this.timeout(30000);
  let sock: ReturnType<typeof tempSocketDir>;
  let server: BufferServer;
  let client: BufferClient;
  const frames: Frame[] = [];

  beforeEach(async () => {
    sock = tempSocketDir();
    server = BufferServer.listen({ path: sock.path, limits: { maxRectsPerSubmit: 4 } });
    frames.length = 0;
    server.on('frame', (f) => frames.push(f));
    client = await BufferClient.connect({ path: sock.path });
  });

  afterEach(async () => {
    client.close();
    await server.close();
    sock.cleanup();
  });

  const nextFrame = (): Promise<Frame> => new Promise((r) => server.once('frame', r));

  it('refuses bad arguments before anything is sent', async () => {
    const bad = [
      { width: 0, height: 8, format: 'XRGB8888' },
      { width: 8, height: 8, format: 'NOPE' },
      { width: 8, height: 8, format: 'XRGB8888', bufferCount: 7 },
      { width: 8, height: 8, format: 'XRGB8888', usage: 'gpu' },
    ];
    const codes = await Promise.all(bad.map((o) => client.createSurface(o as never).then(() => 'ok', (e: BufshareError) => e.code)));
    expect(codes).to.deep.equal(['ERR_BUFSHARE_INVALID_DIMENSIONS', 'ERR_BUFSHARE_UNSUPPORTED_FORMAT', 'ERR_BUFSHARE_INVALID_ARGUMENT', 'ERR_BUFSHARE_INVALID_ARGUMENT']);
    expect(server.clients.size).to.equal(1);
    expect([...server.clients][0]!.surfaces.size).to.equal(0);
  });

  it('submit takes only a buffer from nextBuffer(), once, with valid damage', async () => {
    const a = await client.createSurface({ width: 16, height: 16, format: 'XRGB8888' });
    const b = await client.createSurface({ width: 16, height: 16, format: 'XRGB8888' });
    const { buffer } = await a.nextBuffer();
    const { buffer: other } = await b.nextBuffer();
    expect(errorCode(() => a.submit(buffer, [{ x: NaN, y: 0, width: 1, height: 1 }]))).to.equal('ERR_BUFSHARE_INVALID_RECT');
    expect(errorCode(() => a.submit(buffer, [{ x: 0.5, y: 0, width: 1, height: 1 }]))).to.equal('ERR_BUFSHARE_INVALID_RECT');
    expect(errorCode(() => a.submit(other, []))).to.equal('ERR_BUFSHARE_INVALID_ARGUMENT');
    const shown = nextFrame();
    a.submit(buffer, [{ x: -5, y: -5, width: 10, height: 10 }]); // still acquired after the refusals
    expect((await shown).damage.rects).to.deep.equal([{ x: 0, y: 0, width: 5, height: 5 }]);
    expect(errorCode(() => a.submit(buffer, []))).to.equal('ERR_BUFSHARE_INVALID_ARGUMENT');
  });

  it('more rectangles than the limit are merged on the client, losing no pixel', async () => {
    const s = await client.createSurface({ width: 64, height: 64, format: 'XRGB8888' });
    const { buffer } = await s.nextBuffer();
    const rects = Array.from({ length: 30 }, (_, i) => ({ x: (i * 7) % 60, y: (i * 13) % 60, width: 3, height: 2 }));
    const shown = nextFrame();
    s.submit(buffer, rects);
    const { damage } = await shown;
    expect(damage.rects.length).to.be.at.most(4);
    expect(Region.from(rects).subtract(damage).isEmpty).to.equal(true);
  });

  it('nextBuffer() waits for a release; destroy() fails what waits and what follows', async () => {
    const s = await client.createSurface({ width: 8, height: 8, format: 'XRGB8888', bufferCount: 1 });
    const { buffer } = await s.nextBuffer();
    const shown = nextFrame();
    s.submit(buffer, []);
    let resolved = false;
    const waiting = s.nextBuffer().then((b) => {
      resolved = true;
      return b;
    });
    const frame = await shown;
    await new Promise((r) => setImmediate(r));
    expect(resolved).to.equal(false); // the server holds the only buffer
    frame.release();
    const again = await waiting;
    expect(again.buffer).to.equal(buffer);
    expect(again.age).to.equal(1);
    const pending = s.nextBuffer();
    const destroyed = new Promise((r) => server.once('surfaceDestroyed', r));
    s.destroy();
    expect(await pending.then(() => 'ok', (e: BufshareError) => e.code)).to.equal('ERR_BUFSHARE_DESTROYED');
    expect(errorCode(() => s.submit(buffer, []))).to.equal('ERR_BUFSHARE_DESTROYED');
    expect(buffer.destroyed).to.equal(true);
    await destroyed;
  });

  it('resize: old buffers cannot be submitted once asked; waiters get new ones; a failed resize keeps the old', async () => {
    const s = await client.createSurface({ width: 8, height: 8, format: 'XRGB8888', bufferCount: 2 });
    const { buffer: old } = await s.nextBuffer();
    const resized = s.resize(20, 10);
    expect(errorCode(() => s.submit(old, []))).to.equal('ERR_BUFSHARE_DESTROYED');
    const next = s.nextBuffer();
    await resized;
    const fresh = await next;
    expect([fresh.region.width, fresh.region.height, fresh.age]).to.deep.equal([20, 10, 0]);
    expect(fresh.damage.area).to.equal(200);
    expect(old.destroyed).to.equal(true);

    // 16384 x 16384 at 8 bytes a pixel is over the buffer size limit: refused, and the surface goes on as it was.
    const wide = await client.createSurface({ width: 8, height: 8, format: 'XBGR16161616F', bufferCount: 1 });
    const failed = await wide.resize(16384, 16384).then(() => 'ok', (e: BufshareError) => e.code);
    expect(failed).to.equal('ERR_BUFSHARE_SIZE_OVERFLOW');
    const kept = await wide.nextBuffer();
    expect([kept.region.width, wide.width]).to.deep.equal([8, 8]);
    const shown = nextFrame();
    wide.submit(kept.buffer, [{ x: 0, y: 0, width: 8, height: 8 }]);
    expect((await shown).surface.width).to.equal(8);
    expect(client.closed).to.equal(false);
  });

  it('resize: a nextBuffer() already waiting when resize() is called gets a new buffer', async () => {
    const s = await client.createSurface({ width: 8, height: 8, format: 'XRGB8888', bufferCount: 1 });
    const { buffer } = await s.nextBuffer();
    const shown = nextFrame();
    s.submit(buffer, []);
    const frame = await shown; // the server holds the only buffer
    const waiting = s.nextBuffer();
    const resized = s.resize(12, 6);
    frame.release(); // the old buffer comes back before the new ones arrive: the waiter must not get it
    await resized;
    const got = await waiting;
    expect([got.region.width, got.region.height, got.age]).to.deep.equal([12, 6, 0]);
    expect(got.buffer).to.not.equal(buffer);
  });

  it('going past a limit costs the connection (a protocol error), and the client is told why', async () => {
    const s = await client.createSurface({ width: 8, height: 8, format: 'XRGB8888', bufferCount: 2 });
    const errors: BufshareError[] = [];
    client.on('error', (e) => errors.push(e));
    const closed = new Promise<string>((r) => client.on('close', r));
    const failed = s.resize(16384, 16384).then(() => 'ok', (e: BufshareError) => e.code); // 2 x 1 GiB: over maxBytes
    expect(await closed).to.match(/ERR_BUFSHARE_LIMIT_EXCEEDED/);
    expect(errors.map((e) => e.code)).to.deep.equal(['ERR_BUFSHARE_LIMIT_EXCEEDED']);
    expect(await failed).to.equal('ERR_BUFSHARE_CONNECTION_CLOSED');
    expect(s.destroyed).to.equal(true);
  });
});
