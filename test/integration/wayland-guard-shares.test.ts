// The SIGBUS guard's table is split among clients (lib/mapping/guard-shares.ts):
// connections of one user that map all they may leave room for a later client, a
// client past its share gets no_memory alone, and a regular file passed as a
// "dma-buf" is refused at import (it has no sync bracket: the commit threw ENOTTY).
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { guardShare, guardSlots, GUARD_TABLE_SERVERS } from '../../lib/mapping/guard-shares';
import * as native from '../../lib/native';
import { zwp_linux_buffer_params_v1, zwp_linux_dmabuf_v1 } from '../../lib/wayland/protocol/linux-dmabuf';
import { wl_display, wl_shm, wl_shm_pool, wl_surface } from '../../lib/wayland/protocol/wayland';
import { WaylandServer } from '../../lib/wayland/server';
import type { WaylandFrame } from '../../lib/wayland/surface';
import { RawWaylandClient } from '../helpers/wayland-client';

const DISPLAY = wl_display.enums.error as Record<string, number>;
const PARAMS = zwp_linux_buffer_params_v1.enums.error as Record<string, number>;
const WL_BUFFER = RawWaylandClient.interface('wl_buffer');

describe('Wayland: each client\'s share of the SIGBUS guard table', function () {
  this.timeout(120000);
  let dir: string;
  const servers: WaylandServer[] = [];
  const fds: number[] = [];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'bufshare-wl-guards-'));
  });
  after(async () => {
    for (const s of servers) await s.close();
    for (const fd of fds) native.closeFd(fd);
    rmSync(dir, { recursive: true, force: true });
    expect(native.mappingStats().guarded, 'every guarded mapping given back').to.equal(0);
  });

  function serve(name: string, options: { maxClients?: number; dmabufDevice?: string | false } = {}): WaylandServer {
    const s = WaylandServer.listen({ name: join(dir, name), dmabufDevice: false, ...options });
    servers.push(s);
    return s;
  }

  /** An unsealed memfd of `size` bytes filled with `value`, closed after the suite. */
  function memfd(size: number, value = 0): number {
    const fd = native.memfdCreate('guard-share', size, 0);
    fds.push(fd);
    if (value !== 0) {
      const m = native.mmapFd(fd, size, 0, native.PROT_READ | native.PROT_WRITE);
      new Uint8Array(m).fill(value);
      native.unmapBuffer(m);
    }
    return fd;
  }

  /** Makes `n` guarded mappings in the server: a pool, a buffer kept alive, the pool destroyed (its fd closed). */
  function mapPools(c: RawWaylandClient, shm: number, fd: number, n: number): void {
    for (let i = 0; i < n; i++) {
      const pool = c.newId(wl_shm_pool);
      c.request(shm, wl_shm, 'create_pool', [pool, fd, 4096]);
      c.request(pool, wl_shm_pool, 'create_buffer', [c.newId(WL_BUFFER), 0, 16, 16, 64, 1]);
      c.request(pool, wl_shm_pool, 'destroy', []);
    }
  }

  it('the shares of both servers of a process sum to at most the table', () => {
    expect(guardSlots()).to.equal(32768);
    expect(guardShare(64) * 64 * GUARD_TABLE_SERVERS).to.be.at.most(guardSlots());
    expect(guardShare(64)).to.equal(256);
  });

  it('40 connections of one uid holding 128 pools each (5,120 guarded mappings, past the old 4,096-slot table): a later client still maps its pool and its frame reads', async () => {
    const server = serve('wayland-guard-flood');
    const frames: WaylandFrame[] = [];
    server.on('frame', (f) => frames.push(f));
    const fd = memfd(4096);
    const hogs: RawWaylandClient[] = [];
    const before = native.mappingStats().guarded;
    try {
      for (let i = 0; i < 40; i++) {
        const c = new RawWaylandClient(server.path);
        hogs.push(c);
        const registry = await c.registry();
        mapPools(c, c.bind(registry, wl_shm), fd, 128);
        await c.roundtrip(10000);
        expect(c.error, `hog ${i}`).to.equal(undefined);
      }
      expect(native.mappingStats().guarded - before).to.equal(40 * 128);
      const good = new RawWaylandClient(server.path);
      hogs.push(good);
      const registry = await good.registry();
      const { surface } = await good.configuredToplevel(registry);
      const shm = good.bind(registry, wl_shm);
      const pool = good.newId(wl_shm_pool);
      good.request(shm, wl_shm, 'create_pool', [pool, memfd(4096, 0x3c), 4096]);
      const buffer = good.newId(WL_BUFFER);
      good.request(pool, wl_shm_pool, 'create_buffer', [buffer, 0, 16, 16, 64, 1]);
      good.request(surface, wl_surface, 'attach', [buffer, 0, 0]);
      good.request(surface, wl_surface, 'commit', []);
      await good.until(() => frames.length === 1 || good.error !== undefined, 10000);
      expect(good.error, 'the later client is not punished').to.equal(undefined);
      expect(frames[0]!.region.pixels.every((v) => v === 0x3c)).to.equal(true);
    } finally {
      for (const f of frames) f.release();
      for (const c of hogs) c.close();
    }
  });

  it('a client past its share gets no_memory, the others go on (maxClients 200: a share of 81 slots)', async () => {
    const server = serve('wayland-guard-share', { maxClients: 200 });
    const share = guardShare(200);
    expect(share).to.equal(81);
    const fd = memfd(4096);
    const hog = new RawWaylandClient(server.path);
    const other = new RawWaylandClient(server.path);
    try {
      const registry = await hog.registry();
      mapPools(hog, hog.bind(registry, wl_shm), fd, share);
      await hog.roundtrip();
      expect(hog.error, `${share} pools are within the share`).to.equal(undefined);
      mapPools(hog, hog.bind(registry, wl_shm), fd, 1);
      await hog.until(() => hog.error !== undefined);
      expect(hog.error!.objectId).to.equal(1);
      expect(hog.error!.code).to.equal(DISPLAY.no_memory);
      expect(hog.error!.message).to.match(/over this client's share of 81 guarded mappings/);
      const r2 = await other.registry();
      mapPools(other, other.bind(r2, wl_shm), fd, share);
      await other.roundtrip();
      expect(other.error).to.equal(undefined);
    } finally {
      hog.close();
      other.close();
    }
  });

  it('a memfd passed to linux-dmabuf is refused at import (failed / invalid_wl_buffer), and the compositor goes on', async () => {
    const server = serve('wayland-guard-dmabuf-memfd', { dmabufDevice: '/dev/null' });
    const errors: unknown[] = [];
    server.on('error', (e) => errors.push(e));
    const c = new RawWaylandClient(server.path);
    try {
      const registry = await c.registry();
      const { surface } = await c.configuredToplevel(registry);
      const dmabuf = c.bind(registry, zwp_linux_dmabuf_v1, 3);
      const fd = memfd(64 * 64 * 4, 0x11);
      // create: 'failed', no buffer made.
      const p1 = c.newId(zwp_linux_buffer_params_v1);
      c.request(dmabuf, zwp_linux_dmabuf_v1, 'create_params', [p1]);
      c.request(p1, zwp_linux_buffer_params_v1, 'add', [fd, 0, 0, 256, 0, 0]);
      c.request(p1, zwp_linux_buffer_params_v1, 'create', [64, 64, 0x34325258, 0]);
      await c.roundtrip();
      expect(c.events.filter((e) => e.objectId === p1).map((e) => e.name)).to.deep.equal(['failed']);
      // create_immed, attached and committed: before, import accepted it and the commit's DMA_BUF_IOCTL_SYNC threw ENOTTY out of the request.
      const p2 = c.newId(zwp_linux_buffer_params_v1);
      c.request(dmabuf, zwp_linux_dmabuf_v1, 'create_params', [p2]);
      c.request(p2, zwp_linux_buffer_params_v1, 'add', [fd, 0, 0, 256, 0, 0]);
      const buffer = c.newId(WL_BUFFER);
      c.request(p2, zwp_linux_buffer_params_v1, 'create_immed', [buffer, 64, 64, 0x34325258, 0]);
      c.request(surface, wl_surface, 'attach', [buffer, 0, 0]);
      c.request(surface, wl_surface, 'commit', []);
      await c.until(() => c.error !== undefined);
      expect(c.error!.objectId).to.equal(p2);
      expect(c.error!.code).to.equal(PARAMS.invalid_wl_buffer);
      expect(c.error!.message).to.match(/regular file, not a dma-buf/);
      expect(errors).to.deep.equal([]);
    } finally {
      c.close();
    }
  });
});
