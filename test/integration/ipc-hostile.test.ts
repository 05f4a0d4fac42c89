import { expect } from 'chai';
import { BufferClient, BufferServer, MAX_MESSAGE_BYTES, Region, type Frame, type Surface } from '../../lib';
import { encodeCreateSurface, encodeDestroySurface, encodeHello, encodeRequest, encodeSubmit, Opcode } from '../../lib/protocol';
import * as native from '../../lib/native';
import { resourceFds } from '../helpers/fds';
import { tempSocketDir } from '../helpers/ipc';
import { randInt, rng, SEED } from '../helpers/random';
import { RawPeer } from '../helpers/raw-peer';

function u32s(...values: number[]): Uint8Array {
  const b = new Uint8Array(values.length * 4);
  const v = new DataView(b.buffer);
  values.forEach((x, i) => v.setUint32(i * 4, x >>> 0, true));
  return b;
}

function json(op: number, body: unknown): Uint8Array {
  const text = Buffer.from(JSON.stringify(body));
  const out = new Uint8Array(4 + text.length);
  new DataView(out.buffer).setUint32(0, op, true);
  out.set(text, 4);
  return out;
}

const create = (surface: number, over: Record<string, unknown> = {}): Uint8Array =>
  json(Opcode.CREATE_SURFACE, { surface, width: 32, height: 16, format: 'XRGB8888', usage: 'software', bufferCount: 2, ...over });

describe('IPC: hostile clients', function () {
  this.timeout(30000);
  let sock: ReturnType<typeof tempSocketDir>;
  let server: BufferServer;
  let good: BufferClient;
  let goodSurface: Surface;
  let goodFrames = 0;
  let baseline: string[];

  /** The well-behaved client draws one frame and sees it acknowledged: the server is alive and serving it. */
  async function goodClientStillServed(): Promise<void> {
    const before = goodFrames;
    const shown = new Promise<void>((r) => goodSurface.once('frame', () => r()));
    const { buffer, region } = await goodSurface.nextBuffer();
    region.pixels32.fill(before);
    goodSurface.submit(buffer, [{ x: 0, y: 0, width: 8, height: 8 }]);
    await shown;
    expect(goodFrames).to.equal(before + 1);
  }

  /** A raw peer past the handshake. */
  async function greeted(): Promise<RawPeer> {
    const peer = new RawPeer(server.path);
    peer.send(encodeHello('hostile'));
    await peer.next('welcome');
    return peer;
  }

  /** Closes a peer and waits until the server has let it go. */
  async function hangUp(peer: RawPeer): Promise<void> {
    const gone = new Promise((r) => server.once('disconnect', r));
    peer.close();
    await gone;
  }

  async function expectFatal(peer: RawPeer, code: string, pattern?: RegExp): Promise<void> {
    const error = await peer.fatalError();
    expect(error.code, error.message).to.equal(code);
    if (pattern) expect(error.message).to.match(pattern);
  }

  beforeEach(async () => {
    sock = tempSocketDir();
    server = BufferServer.listen({ path: sock.path, limits: { maxSurfaces: 4, maxRectsPerSubmit: 8, maxBytes: 64 * 1024 * 1024 } });
    goodFrames = 0;
    server.on('frame', (frame) => {
      if (frame.surface.client.pid === process.pid && frame.surface.client.name === 'good') {
        goodFrames++;
        frame.release();
        frame.surface.frameDone();
      }
    });
    good = await BufferClient.connect({ path: server.path, name: 'good' });
    goodSurface = await good.createSurface({ width: 8, height: 8, format: 'XRGB8888' });
    baseline = resourceFds();
  });

  afterEach(function () {
    if (this.currentTest?.state === 'passed') {
      // Every hostile connection is gone and took nothing with it (the good client's fds stay).
      expect(resourceFds()).to.deep.equal(baseline);
    }
  });

  afterEach(async () => {
    good.close();
    await server.close();
    sock.cleanup();
  });

  it('random garbage: every bad peer gets an error and is disconnected; the server keeps serving', async () => {
    const random = rng(SEED);
    for (let i = 0; i < 60; i++) {
      const peer = new RawPeer(server.path);
      if (i % 2 === 1) {
        peer.send(encodeHello());
        await peer.next('welcome');
      }
      const junk = new Uint8Array(randInt(random, 0, 300));
      for (let k = 0; k < junk.length; k++) junk[k] = randInt(random, 0, 255);
      // Keep the opcode plausible half the time, so the body validation is what fails.
      if (junk.length >= 4 && i % 4 < 2) new DataView(junk.buffer).setUint32(0, randInt(random, 1, 6), true);
      if (junk.length === 0) junk.set([0]);
      peer.send(junk);
      const error = await peer.fatalError();
      expect(['ERR_BUFSHARE_PROTOCOL', 'ERR_BUFSHARE_VERSION_MISMATCH']).to.include(error.code);
      if (i % 10 === 0) await goodClientStillServed();
    }
    await goodClientStillServed();
  });

  it('out of order: anything before hello, and hello twice', async () => {
    let peer = new RawPeer(server.path);
    peer.send(create(1));
    await expectFatal(peer, 'ERR_BUFSHARE_PROTOCOL', /expected hello first/);
    peer = new RawPeer(server.path);
    peer.send(encodeSubmit(1, 1, new Int32Array(0)));
    await expectFatal(peer, 'ERR_BUFSHARE_PROTOCOL', /expected hello first/);
    peer = await greeted();
    peer.send(encodeHello());
    await expectFatal(peer, 'ERR_BUFSHARE_PROTOCOL', /hello sent twice/);
    await goodClientStillServed();
  });

  it('a connection that never says hello is dropped after helloTimeoutMs', async () => {
    const quick = BufferServer.listen({ path: `${sock.dir}/quick`, limits: { helloTimeoutMs: 30 } });
    try {
      const peer = new RawPeer(quick.path);
      const error = await peer.fatalError();
      expect(error.code).to.equal('ERR_BUFSHARE_PROTOCOL');
      expect(error.message).to.match(/no hello within 30 ms/);
      expect(quick.clients.size).to.equal(0);
    } finally {
      await quick.close();
    }
  });

  it('another protocol version is refused', async () => {
    const peer = new RawPeer(server.path);
    peer.send(json(Opcode.HELLO, { protocol: 'bufshare', version: 99 }));
    await expectFatal(peer, 'ERR_BUFSHARE_VERSION_MISMATCH');
  });

  it('oversized messages (over 64 KiB) are refused without being read past the limit', async () => {
    const peer = await greeted();
    const big = new Uint8Array(MAX_MESSAGE_BYTES + 4000);
    big.set(u32s(Opcode.REQUEST));
    peer.send(big);
    await expectFatal(peer, 'ERR_BUFSHARE_PROTOCOL', /over the 65536-byte limit/);
    await goodClientStillServed();
  });

  it('fds a client sends are closed at once and refused, however many', async () => {
    for (const count of [1, 3, 40]) {
      const files = Array.from({ length: count }, () => native.memfdCreate('hostile', 4096, 0));
      const peer = new RawPeer(server.path);
      peer.send(encodeHello(), files);
      for (const fd of files) native.closeFd(fd);
      const error = await peer.fatalError();
      expect(error.code).to.equal('ERR_BUFSHARE_PROTOCOL');
      expect(error.message).to.match(count > 16 ? /more than 16 fds/ : /may not send fds/);
    }
    // No memfd of theirs is left open here (the afterEach hook compares every fd).
    expect(resourceFds().filter((f) => f.includes('hostile'))).to.deep.equal([]);
    await goodClientStillServed();
  });

  it('malformed bodies: bad JSON, wrong types, out-of-range sizes, truncated binary', async () => {
    const cases: [Uint8Array, RegExp][] = [
      [json(Opcode.CREATE_SURFACE, [1, 2]), /not a JSON object/],
      [new Uint8Array([...u32s(Opcode.CREATE_SURFACE), 0xff, 0xfe]), /not UTF-8 JSON/],
      [create(1, { width: 0 }), /width must be an integer/],
      [create(1, { height: 1e9 }), /height must be an integer/],
      [create(1, { width: 1.5 }), /width must be an integer/],
      [create(0), /surface must not be 0/],
      [create(1, { bufferCount: 9 }), /bufferCount/],
      [create(1, { usage: 'gpu' }), /usage/],
      [create(1, { format: { evil: true } }), /format/],
      [u32s(Opcode.SUBMIT, 1, 1, 5, 0, 0), /5 rectangles need/],
      [u32s(Opcode.SUBMIT, 1, 1, 0xffffffff), /rectangles need/],
      [u32s(Opcode.DESTROY_SURFACE, 1, 2), /must be 8 bytes/],
      [u32s(Opcode.WELCOME, 1), /unknown client opcode 64/],
      [u32s(12345), /unknown client opcode/],
      [new Uint8Array([1, 0]), /shorter than its 4-byte opcode/],
      [json(Opcode.REQUEST, { surface: 1 }), /payload is missing/],
    ];
    for (const [message, pattern] of cases) {
      const peer = await greeted();
      peer.send(message);
      await expectFatal(peer, 'ERR_BUFSHARE_PROTOCOL', pattern);
    }
    await goodClientStillServed();
  });

  it('names only its own surfaces and buffers: unknown ids, held buffers and use after destroy are refused', async () => {
    // Another client's surface id is 1 too: ids are per client, so this peer cannot reach it.
    let peer = await greeted();
    peer.send(encodeSubmit(goodSurface.id, 1, new Int32Array(0)));
    await expectFatal(peer, 'ERR_BUFSHARE_PROTOCOL', /no surface 1/);

    peer = await greeted();
    peer.send(create(1));
    const buffers = await peer.next('surface_buffers');
    const ids = buffers.buffers.map((d) => (d as { id: number }).id);
    peer.send(encodeSubmit(1, 999, new Int32Array(0)));
    await expectFatal(peer, 'ERR_BUFSHARE_PROTOCOL', /has no buffer 999/);

    // A buffer submitted and not yet released is not the client's to submit again.
    const frames: Frame[] = [];
    server.on('frame', (f) => {
      if (f.surface.client.name === 'hostile') frames.push(f);
    });
    peer = await greeted();
    peer.send(create(1));
    const own = (await peer.next('surface_buffers')).buffers.map((d) => (d as { id: number }).id);
    expect(own).to.deep.equal(ids); // per-client ids: every client's first buffers are 1 and 2
    peer.send(encodeSubmit(1, own[0]!, new Int32Array([0, 0, 4, 4])));
    peer.send(encodeSubmit(1, own[0]!, new Int32Array([0, 0, 4, 4])));
    await expectFatal(peer, 'ERR_BUFSHARE_PROTOCOL', /not yet released/);
    expect(frames).to.have.length(1);
    // The compositor's frame outlives its client until released.
    expect(frames[0]!.buffer.destroyed).to.equal(false);
    expect(frames[0]!.region.pixels.length).to.be.greaterThan(0);
    frames[0]!.release();
    expect(frames[0]!.buffer.destroyed).to.equal(true);

    peer = await greeted();
    peer.send(create(3));
    await peer.next('surface_buffers');
    peer.send(encodeDestroySurface(3));
    peer.send(encodeRequest(3, { after: 'destroy' }));
    await expectFatal(peer, 'ERR_BUFSHARE_PROTOCOL', /no surface 3/);

    peer = await greeted();
    peer.send(create(1));
    peer.send(create(1));
    await expectFatal(peer, 'ERR_BUFSHARE_PROTOCOL', /already exists/);
    await goodClientStillServed();
  });

  it('limits: surfaces and bytes past the limit disconnect that client only', async () => {
    let peer = await greeted();
    for (let i = 1; i <= 5; i++) peer.send(create(i));
    await expectFatal(peer, 'ERR_BUFSHARE_LIMIT_EXCEEDED', /4 surfaces/);

    peer = await greeted();
    peer.send(create(1, { width: 4096, height: 4096, bufferCount: 2 }));
    await expectFatal(peer, 'ERR_BUFSHARE_LIMIT_EXCEEDED', /buffer bytes/);
    await goodClientStillServed();
  });

  it('an unsupported format is refused without a disconnect', async () => {
    const peer = await greeted();
    peer.send(create(1, { format: 'NOPE' }));
    const error = await peer.next('error');
    expect(error).to.include({ code: 'ERR_BUFSHARE_UNSUPPORTED_FORMAT', fatal: false, surface: 1 });
    peer.send(create(1));
    expect((await peer.next('surface_buffers')).buffers).to.have.length(2);
    await hangUp(peer);
  });

  it('hostile damage is clipped to the buffer and merged down to the limit, never dropped', async () => {
    const damages: Region[] = [];
    server.on('frame', (f) => {
      if (f.surface.client.name === 'hostile') {
        damages.push(f.damage);
        f.release();
      }
    });
    const peer = await greeted();
    peer.send(create(1, { width: 300, height: 200 }));
    const ids = (await peer.next('surface_buffers')).buffers.map((d) => (d as { id: number }).id);
    const random = rng(SEED);
    const quads: number[] = [];
    for (let i = 0; i < 1000; i++) quads.push(randInt(random, -50, 320), randInt(random, -50, 220), randInt(random, -20, 40), randInt(random, -20, 40));
    const extremes = [
      2 ** 31 - 1, 2 ** 31 - 1, 2 ** 31 - 1, 2 ** 31 - 1, // starts past the buffer, ends past 2^32
      -(2 ** 31), -(2 ** 31), 2 ** 31 - 1, 2 ** 31 - 1, // ends at -1: nothing
      290, 190, 2 ** 31 - 1, 2 ** 31 - 1, // the bottom-right corner
      5, 5, -3, 10, // negative width
    ];
    for (const d of [quads, extremes]) {
      const released = new Promise<void>((r) => peer.next('release').then(() => r()));
      peer.send(encodeSubmit(1, ids[0]!, Int32Array.from(d)));
      await released;
      peer.messages.length = 0;
    }
    expect(damages).to.have.length(2);
    for (const [i, d] of [quads, extremes].entries()) {
      const damage = damages[i]!;
      expect(damage.rects.length).to.be.at.most(8);
      for (const r of damage.rects) {
        expect(r.x).to.be.at.least(0);
        expect(r.y).to.be.at.least(0);
        expect(r.x + r.width).to.be.at.most(300);
        expect(r.y + r.height).to.be.at.most(200);
      }
      // Every pixel any rectangle covered inside the buffer is still damaged.
      for (let k = 0; k < d.length; k += 4) {
        const [x, y, w, h] = [d[k]!, d[k + 1]!, d[k + 2]!, d[k + 3]!];
        if (w <= 0 || h <= 0) continue;
        const inside = Region.from([{ x: Math.max(0, x), y: Math.max(0, y), width: Math.max(0, Math.min(300, x + w) - Math.max(0, x)), height: Math.max(0, Math.min(200, y + h) - Math.max(0, y)) }]);
        expect(inside.subtract(damage).isEmpty, `rect ${x},${y} ${w}x${h}`).to.equal(true);
      }
    }
    // The extreme rectangles: only the 10x10 corner is inside the buffer.
    expect(damages[1]!.rects).to.deep.equal([{ x: 290, y: 190, width: 10, height: 10 }]);
    await hangUp(peer);
    await goodClientStillServed();
  });

  it('a client that stops reading is disconnected once its queue passes the limit; others are served', async () => {
    const small = BufferServer.listen({ path: `${sock.dir}/small`, limits: { maxQueuedBytes: 64 * 1024 } });
    try {
      small.on('surface', (s) => {
        // Flood the client with events it never reads.
        for (let i = 0; i < 2000 && !s.destroyed && s.client.connected; i++) s.sendEvent({ i, pad: 'x'.repeat(500) });
      });
      const gone = new Promise<string>((r) => small.on('disconnect', (_c, reason) => r(reason)));
      const peer = new RawPeer(small.path);
      // Stop reading: never poll for readable again.
      (peer as unknown as { socket: native.SeqPacketSocket }).socket.poll(0);
      peer.send(encodeHello());
      peer.send(encodeCreateSurface({ surface: 1, width: 8, height: 8, format: 'XRGB8888', usage: 'software', bufferCount: 1 }));
      expect(await gone).to.match(/stopped reading/);
      peer.close();
    } finally {
      await small.close();
    }
    await goodClientStillServed();
  });
});
