import { expect } from 'chai';
import { BufferServer, type Frame } from '../../lib';
import { resourceFds } from '../helpers/fds';
import { disconnects, onFrames, startClient, tempSocketDir, trackExpectations } from '../helpers/ipc';
import { findMismatch } from '../helpers/pattern';
import { rng, SEED } from '../helpers/random';
import { sceneMismatch } from '../helpers/tiles';

interface Done {
  ages: number[];
  damageAreas: number[];
  frameEvents: number;
  events: unknown[];
}

function parseDone(line: string): Done[] {
  expect(line, line).to.match(/^done /);
  return JSON.parse(line.slice(5)) as Done[];
}

describe('IPC: frames across processes', function () {
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

  it('a client draws, submits; the server sees the exact pixels, releases, and paces with frame_done', async () => {
    for (const format of ['XRGB8888', 'RGB565'] as const) {
      const expected = trackExpectations(server);
      let surfaces = 0;
      server.on('surface', (s) => {
        surfaces++;
        expect(s.format.name).to.equal(format);
        expect(s.kind).to.equal('shm');
        expect(s.access).to.equal('direct');
        expect(s.buffers).to.have.length(2);
      });
      const failures = onFrames(server, (frame) => {
        const want = expected.get(frame.surface)!;
        const region = frame.region;
        expect(region.width).to.equal(123);
        expect(frame.damage.area).to.equal(123 * 45);
        const bad = findMismatch(region, want.seed);
        frame.release();
        frame.surface.frameDone();
        return bad ? `${format} frame ${want.frame}: mismatch at ${bad.x},${bad.y}` : undefined;
      });
      const child = startClient({ path: server.path, width: 123, height: 45, format, frames: 4, scene: 'pattern', seed: 1000 });
      const gone = disconnects(server, 1);
      const [done] = parseDone(await child.line('done'));
      await gone;
      expect((await child.exited).code).to.equal(0);
      expect(failures).to.deep.equal([]);
      expect(surfaces).to.equal(1);
      expect(done!.frameEvents).to.equal(4);
      // Released at once: the client always gets back the buffer it drew last (age 1).
      expect(done!.ages).to.deep.equal([0, 1, 1, 1]);
      server.removeAllListeners();
    }
  });

  it('buffer age and accumulated damage stay exact over many frames while the compositor holds 0-2 frames', async () => {
    const expected = trackExpectations(server);
    const random = rng(SEED);
    const held: Frame[] = [];
    let checked = 0;
    const failures = onFrames(server, (frame) => {
      const want = expected.get(frame.surface)!;
      const bad = sceneMismatch(frame.region, want.frame);
      checked++;
      held.push(frame);
      const keep = Math.floor(random() * 3);
      while (held.length > keep) held.shift()!.release();
      frame.surface.frameDone();
      return bad ? `frame ${want.frame}: ${JSON.stringify(bad)}` : undefined;
    });
    const frames = 80;
    const child = startClient({ path: server.path, width: 64, height: 48, bufferCount: 3, frames, scene: 'tiles', seed: 0 });
    const [done] = parseDone(await child.line('done'));
    expect((await child.exited).code, child.stderr).to.equal(0);
    expect(failures, `seed ${SEED}`).to.deep.equal([]);
    expect(checked).to.equal(frames);
    const ages = new Set(done!.ages);
    // Three buffers, 0-2 held: every age from new (0) to three frames old shows up.
    expect([...ages].sort(), `seed ${SEED}`).to.include.members([0, 1, 2]);
    done!.ages.forEach((age, i) => {
      if (age > 0) expect(done!.damageAreas[i]!, `frame ${i}`).to.be.at.most((age - 1) * 16 * 16);
      else expect(done!.damageAreas[i]).to.equal(64 * 48);
    });
  });

  it('frame_done paces the client: no new frame arrives before the last was acknowledged', async () => {
    let outstanding = 0;
    let maxOutstanding = 0;
    let frames = 0;
    server.on('frame', (frame) => {
      frames++;
      outstanding++;
      maxOutstanding = Math.max(maxOutstanding, outstanding);
      frame.release();
      setTimeout(() => {
        outstanding--;
        frame.surface.frameDone();
      }, 3);
    });
    const child = startClient({ path: server.path, width: 32, height: 32, bufferCount: 3, frames: 12, scene: 'pattern', seed: 5 });
    const [done] = parseDone(await child.line('done'));
    expect(frames).to.equal(12);
    expect(maxOutstanding).to.equal(1);
    expect(done!.frameEvents).to.equal(12);
    await child.exited;
  });

  it('resize: new buffers of the new size; an old buffer the compositor holds stays readable until released', async () => {
    const baseline = resourceFds();
    const expected = trackExpectations(server);
    const resizes: string[] = [];
    server.on('surface', (s) => s.on('resize', (w, h) => resizes.push(`${w}x${h}`)));
    let held: Frame | undefined;
    const failures = onFrames(server, (frame) => {
      const want = expected.get(frame.surface)!;
      const region = frame.region;
      let failure: string | undefined;
      if (region.width !== want.width || region.height !== want.height) failure = `frame ${want.frame}: ${region.width}x${region.height}, want ${want.width}x${want.height}`;
      else if (findMismatch(region, want.seed)) failure = `frame ${want.frame}: pixels differ`;
      // Hold each frame until the next arrives, so the resize finds one held.
      if (held) {
        const old = held;
        const oldRegion = old.region;
        const wasReadable = oldRegion.pixels.length > 0;
        old.release();
        if (!wasReadable) failure ??= 'a held buffer was unmapped before its release';
      }
      held = frame;
      frame.surface.frameDone();
      return failure;
    });
    const gone = disconnects(server, 1);
    const child = startClient({ path: server.path, width: 64, height: 64, frames: 5, scene: 'pattern', seed: 77, resize: { atFrame: 2, width: 100, height: 50 } });
    parseDone(await child.line('done'));
    await gone;
    await child.exited;
    expect(failures).to.deep.equal([]);
    expect(resizes).to.deep.equal(['100x50']);
    held?.release();
    expect(resourceFds()).to.deep.equal(baseline);
  });

  it('32 clients in 4 processes exchange frames at once; each sees only its own', async () => {
    const baseline = resourceFds();
    const expected = trackExpectations(server);
    let clients = 0;
    server.on('client', () => clients++);
    const failures = onFrames(server, (frame) => {
      const want = expected.get(frame.surface)!;
      const bad = findMismatch(frame.region, want.seed);
      frame.release();
      frame.surface.frameDone();
      return bad ? `client ${frame.surface.client.id} frame ${want.frame}: mismatch` : undefined;
    });
    const gone = disconnects(server, 32);
    const children = [0, 1, 2, 3].map((p) => startClient({ path: server.path, clients: 8, width: 40, height: 30, frames: 4, scene: 'pattern', seed: 10000 * (p + 1) }));
    for (const c of children) {
      const results = parseDone(await c.line('done'));
      expect(results).to.have.length(8);
      for (const r of results) expect(r.frameEvents).to.equal(4);
    }
    await gone;
    for (const c of children) expect((await c.exited).code).to.equal(0);
    expect(clients).to.equal(32);
    expect(failures).to.deep.equal([]);
    expect(server.clients.size).to.equal(0);
    expect(resourceFds()).to.deep.equal(baseline);
  });
});
