/**
 * Server-side resource and ordering guarantees found by review:
 * - a client that never reads cannot pin buffers through queued fd duplicates;
 * - fds sent by a refused client are closed;
 * - a client that goes away in the middle of a create_surface leaves the
 *   compositor's events in order ('surface' before 'surfaceDestroyed').
 */
import { expect } from 'chai';
import { BufferServer, ShmAllocator } from '../../lib';
import { encodeCreateSurface, encodeDestroySurface, encodeHello } from '../../lib/protocol';
import * as native from '../../lib/native';
import { resourceFds } from '../helpers/fds';
import { tempSocketDir } from '../helpers/ipc';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('IPC: resources and order under hostile timing', function () {
  this.timeout(30000);
  let sock: ReturnType<typeof tempSocketDir>;
  beforeEach(() => (sock = tempSocketDir()));
  afterEach(() => sock.cleanup());

  it('a client that never reads is cut off before queued fd duplicates pin its freed buffers', async () => {
    const server = BufferServer.listen({ path: sock.path, allocator: new ShmAllocator() });
    const baseline = resourceFds();
    const disconnected = new Promise<string>((r) => server.once('disconnect', (_c, reason) => r(reason)));
    const fd = native.seqpacketConnect(server.path);
    const raw = native.openSeqPacket(fd, () => {}); // never polled: never reads
    raw.send(encodeHello('pin'));
    let rounds = 0;
    try {
      for (; rounds < 400; rounds++) {
        raw.send(encodeCreateSurface({ surface: 1, width: 256, height: 256, format: 'XRGB8888', usage: 'software', bufferCount: 4 }));
        raw.send(encodeDestroySurface(1));
        await tick();
      }
    } catch (e) {
      expect((e as { errno?: string }).errno).to.be.oneOf(['EPIPE', 'ECONNRESET']); // cut off
    }
    expect(await disconnected).to.match(/stopped reading/);
    raw.close();
    await sleep(50);
    expect(resourceFds()).to.deep.equal(baseline);
    await server.close();
  });

  it('fds a refused client sends are closed', async () => {
    const server = BufferServer.listen({ path: sock.path, allowUids: [4242] }); // not us
    server.on('error', () => {});
    const baseline = resourceFds();
    for (let i = 0; i < 3; i++) {
      const raw = native.openSeqPacket(native.seqpacketConnect(server.path), () => {});
      const memfds = Array.from({ length: 8 }, () => native.memfdCreate('refused', 4096, 0));
      for (let k = 0; k < 4; k++) {
        try {
          raw.send(encodeHello('refused'), Int32Array.from(memfds));
        } catch {
          break; // refused already
        }
      }
      for (const m of memfds) native.closeFd(m);
      raw.close();
    }
    await sleep(100);
    expect(resourceFds()).to.deep.equal(baseline);
    await server.close();
  });

  it("a client gone in the middle of create_surface: 'surface' comes before 'surfaceDestroyed' and 'disconnect'", async () => {
    const server = BufferServer.listen({ path: sock.path, allocator: new ShmAllocator() });
    const events: string[] = [];
    server.on('surface', (s) => events.push(`surface destroyed=${s.destroyed}`));
    server.on('surfaceDestroyed', () => events.push('surfaceDestroyed'));
    const gone = new Promise<void>((r) => server.on('disconnect', () => {
      events.push('disconnect');
      r();
    }));
    const raw = native.openSeqPacket(native.seqpacketConnect(server.path), () => {});
    raw.send(encodeHello('brief'));
    await sleep(50); // welcomed while still connected; the surface's buffers then meet EPIPE
    raw.send(encodeCreateSurface({ surface: 1, width: 64, height: 64, format: 'XRGB8888', usage: 'software', bufferCount: 2 }));
    raw.close();
    await gone;
    expect(events).to.deep.equal(['surface destroyed=false', 'surfaceDestroyed', 'disconnect']);
    await server.close();
  });
});
