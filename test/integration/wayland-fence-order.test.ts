/**
 * The surface side of implicit sync, on the host (no DRM here; the real fences are
 * in test/drivers/wayland-fences.test.ts, with vgem): a real server, a real client
 * over the socket and real wl_shm buffers, whose fence wait (`whenReadable`, which a
 * dma-buf implements with lib/sync) the test controls. Checks that a held-back
 * commit holds back the later ones of its surface, in order; that a failed wait ends
 * that client alone with everything freed; and that a client gone while waiting
 * cancels the wait and gets no frame.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BufshareError } from '../../lib/errors';
import * as native from '../../lib/native';
import type { CompositorFrame } from '../../lib/surface-model';
import { bufferOf, type WaylandBuffer } from '../../lib/wayland/buffer';
import { DISPLAY_ERROR } from '../../lib/wayland/client';
import { wl_buffer, wl_shm, wl_shm_pool, wl_surface } from '../../lib/wayland/protocol/wayland';
import { WaylandServer } from '../../lib/wayland/server';
import { resourceFds } from '../helpers/fds';
import { RawWaylandClient } from '../helpers/wayland-client';

const W = 16;
const H = 8;
const XRGB_SHM = 1; // wl_shm.format.xrgb8888
const COLOURS = [0xff2040c0, 0xff40c020];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Gate {
  open(): void;
  fail(e: unknown): void;
  signal?: AbortSignal;
}

describe('Wayland: commits held back by implicit fences (ordering, failure, cancel)', function () {
  this.timeout(20000);
  let dir: string;
  let server: WaylandServer;
  const frames: CompositorFrame[] = [];
  const clientErrors: BufshareError[] = [];
  const madeFds: number[] = [];
  let fdsBefore: string[];
  let mappingsBefore: number;

  beforeEach(() => {
    fdsBefore = resourceFds();
    mappingsBefore = native.mappingStats().live;
    dir = mkdtempSync(join(tmpdir(), 'bufshare-wl-fence-order-'));
    server = WaylandServer.listen({ name: join(dir, 'wayland-fence-order') });
    server.on('frame', (f) => frames.push(f));
    server.on('clientError', (_c, e) => clientErrors.push(e));
    frames.length = 0;
    clientErrors.length = 0;
  });

  afterEach(async () => {
    for (const f of frames) f.release();
    await server.close();
    for (const fd of madeFds.splice(0)) native.closeFd(fd);
    rmSync(dir, { recursive: true, force: true });
    await sleep(20);
    expect(native.mappingStats().live, 'mappings').to.equal(mappingsBefore);
    expect(resourceFds(), 'fds').to.deep.equal(fdsBefore);
  });

  /** A client with a mapped toplevel and one shm buffer per colour. */
  async function clientWith(colours: number[]): Promise<{ c: RawWaylandClient; surface: number; buffers: number[] }> {
    const c = new RawWaylandClient(server.path);
    const registry = await c.registry();
    const { surface } = await c.configuredToplevel(registry);
    const shm = c.bind(registry, wl_shm);
    const size = W * H * 4 * colours.length;
    const fd = native.memfdCreate('fence-order-pool', size, 0);
    madeFds.push(fd);
    const pixels = new Uint32Array(native.mmapFd(fd, size, 0, native.PROT_READ | native.PROT_WRITE));
    colours.forEach((colour, i) => pixels.fill(colour, i * W * H, (i + 1) * W * H));
    native.unmapBuffer(pixels.buffer as ArrayBuffer);
    const pool = c.newId(wl_shm_pool);
    c.request(shm, wl_shm, 'create_pool', [pool, fd, size]);
    const buffers = colours.map((_, i) => {
      const id = c.newId(wl_buffer);
      c.request(pool, wl_shm_pool, 'create_buffer', [id, i * W * H * 4, W, H, W * 4, XRGB_SHM]);
      return id;
    });
    await c.roundtrip();
    expect(c.error).to.equal(undefined);
    return { c, surface, buffers };
  }

  /** Makes the server's buffer behind `id` wait for the returned gate, as a fenced dma-buf waits for its fences. */
  function gate(id: number): Gate {
    const client = [...server.clients].at(-1)!;
    const buffer = bufferOf(client.lookup(id)!) as WaylandBuffer;
    const g: Gate = { open: () => {}, fail: () => {} };
    buffer.whenReadable = (_timeoutMs, signal) => {
      g.signal = signal;
      return new Promise<void>((resolve, reject) => {
        g.open = resolve;
        g.fail = reject;
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      });
    };
    return g;
  }

  function commit(c: RawWaylandClient, surface: number, buffer: number): void {
    c.request(surface, wl_surface, 'attach', [buffer, 0, 0]);
    c.request(surface, wl_surface, 'damage_buffer', [0, 0, W, H]);
    c.request(surface, wl_surface, 'commit', []);
  }

  const firstPixel = (f: CompositorFrame): number => f.region.pixels32[0]!;

  it('a held-back commit holds back the later ones of its surface; they come out in commit order', async () => {
    const { c, surface, buffers } = await clientWith(COLOURS);
    try {
      const g = gate(buffers[0]!);
      commit(c, surface, buffers[0]!);
      commit(c, surface, buffers[1]!); // not gated itself
      await c.roundtrip();
      await sleep(50);
      expect(frames.length, 'a frame before its wait ended').to.equal(0);
      g.open();
      await c.until(() => frames.length === 2);
      expect(frames.map(firstPixel)).to.deep.equal(COLOURS);
      // Nothing is held back any more: the next commit is shown at once.
      commit(c, surface, buffers[1]!);
      await c.roundtrip();
      expect(frames.length).to.equal(3);
    } finally {
      c.close();
    }
  });

  it('a wait that fails ends that client alone: wl_display.error, clientError with its code, its fds and mappings freed', async () => {
    const stuck = await clientWith([COLOURS[0]!]);
    const g = gate(stuck.buffers[0]!);
    const other = await clientWith([COLOURS[1]!]);
    try {
      commit(stuck.c, stuck.surface, stuck.buffers[0]!);
      await stuck.c.roundtrip();
      g.fail(new BufshareError('ERR_BUFSHARE_TIMEOUT', 'the fences did not signal'));
      await stuck.c.until(() => stuck.c.closed);
      expect([stuck.c.error?.objectId, stuck.c.error?.code]).to.deep.equal([1, DISPLAY_ERROR.implementation]);
      expect(stuck.c.error?.message).to.match(/^ERR_BUFSHARE_TIMEOUT/);
      expect(clientErrors.map((e) => e.code)).to.deep.equal(['ERR_BUFSHARE_TIMEOUT']);
      commit(other.c, other.surface, other.buffers[0]!);
      await other.c.until(() => frames.length === 1);
      expect(firstPixel(frames[0]!)).to.equal(COLOURS[1]);
      expect(other.c.error).to.equal(undefined);
    } finally {
      stuck.c.close();
      other.c.close();
    }
  });

  it('a client gone while a commit waits: the wait is cancelled, no frame comes, nothing is reported', async () => {
    const { c, surface, buffers } = await clientWith(COLOURS);
    const g = gate(buffers[0]!);
    commit(c, surface, buffers[0]!);
    commit(c, surface, buffers[1]!);
    await c.roundtrip();
    c.close();
    await sleep(50);
    expect(g.signal?.aborted, 'the wait was not cancelled').to.equal(true);
    g.open(); // too late: ignored
    await sleep(20);
    expect(frames.length).to.equal(0);
    expect(clientErrors).to.deep.equal([]);
  });
});
