// wl_shm pools and fds: a buffer that outlives its wl_shm_pool holds no fd in the
// server (the pool's fd serves resize and the truncation check, and no resize can
// come once the pool is gone), its frames still show its pixels, and a file
// truncated under it is still refused with invalid_fd, without a SIGBUS.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as native from '../../lib/native';
import { wl_shm, wl_shm_pool, wl_surface } from '../../lib/wayland/protocol/wayland';
import { WaylandServer } from '../../lib/wayland/server';
import type { WaylandFrame } from '../../lib/wayland/surface';
import { openFds, fdTarget, resourceFds } from '../helpers/fds';
import { spawnTs } from '../helpers/spawn';
import { RawWaylandClient } from '../helpers/wayland-client';

const SHM = wl_shm.enums.error as Record<string, number>;
const SIZE = 64 * 64 * 4;

/** fds of this process open on the memfd named `name` (the client's own and any the server holds). */
function fdsOn(name: string): number {
  return openFds().filter((fd) => fdTarget(fd)?.startsWith(`/memfd:${name}`)).length;
}

describe('Wayland: wl_shm pool fds', function () {
  this.timeout(20000);
  let dir: string;
  let server: WaylandServer;
  const frames: WaylandFrame[] = [];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'bufshare-wl-shm-fds-'));
    server = WaylandServer.listen({ name: join(dir, 'wayland-shm-fds'), dmabufDevice: false });
    server.on('frame', (f) => frames.push(f));
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A configured toplevel and one 64x64 XRGB buffer in a pool of its own, over memfd `name` filled with `value`. */
  async function clientWithBuffer(name: string, value: number, path = server.path): Promise<{ c: RawWaylandClient; fd: number; surface: number; shm: number; pool: number; buffer: number }> {
    const c = new RawWaylandClient(path);
    const registry = await c.registry();
    const { surface } = await c.configuredToplevel(registry);
    const shm = c.bind(registry, wl_shm);
    const fd = native.memfdCreate(name, SIZE, 0);
    const pixels = native.mmapFd(fd, SIZE, 0, native.PROT_READ | native.PROT_WRITE);
    new Uint8Array(pixels).fill(value);
    native.unmapBuffer(pixels);
    const pool = c.newId(wl_shm_pool);
    c.request(shm, wl_shm, 'create_pool', [pool, fd, SIZE]);
    const buffer = c.newId(RawWaylandClient.interface('wl_buffer'));
    c.request(pool, wl_shm_pool, 'create_buffer', [buffer, 0, 64, 64, 256, 1]);
    await c.roundtrip();
    return { c, fd, surface, shm, pool, buffer };
  }

  it('a buffer that outlives its wl_shm_pool holds no fd in the server, and its frames show its pixels', async () => {
    const before = resourceFds();
    const { c, fd, surface, pool, buffer } = await clientWithBuffer('shm-fds-outlive', 0x5a);
    try {
      expect(fdsOn('shm-fds-outlive'), 'the client\'s fd and the server\'s, while the pool lives').to.equal(2);
      c.request(pool, wl_shm_pool, 'destroy', []);
      await c.roundtrip();
      expect(fdsOn('shm-fds-outlive'), 'the client\'s fd only, once the pool is gone').to.equal(1);
      frames.length = 0;
      c.request(surface, wl_surface, 'attach', [buffer, 0, 0]);
      c.request(surface, wl_surface, 'damage_buffer', [0, 0, 64, 64]);
      c.request(surface, wl_surface, 'commit', []);
      await c.until(() => frames.length === 1);
      const region = frames[0]!.region;
      expect(region.pixels.every((v) => v === 0x5a), 'the frame reads the client\'s pixels').to.equal(true);
      frames[0]!.release();
      expect(c.error).to.equal(undefined);
    } finally {
      c.close();
      native.closeFd(fd);
    }
    await new Promise((r) => setTimeout(r, 20));
    expect(resourceFds()).to.deep.equal(before);
  });

  it('committing a buffer leaves the file offset of the client\'s pool fd where the client put it', async () => {
    const { c, fd, surface, pool, buffer } = await clientWithBuffer('shm-fds-offset', 3);
    /** The offset of the open file the client and the server share (the server's fd is a copy of the same open file). */
    const position = (): number => Number(/^pos:\s+(\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1]);
    try {
      writeSync(fd, new Uint8Array(100).fill(3)); // as a client writing its pixels with write(2) would
      expect(position()).to.equal(100);
      frames.length = 0;
      c.request(surface, wl_surface, 'attach', [buffer, 0, 0]);
      c.request(surface, wl_surface, 'commit', []);
      await c.until(() => frames.length === 1);
      frames[0]!.release();
      c.request(pool, wl_shm_pool, 'destroy', []);
      await c.roundtrip();
      expect(c.error).to.equal(undefined);
      expect(position(), 'after the commit and the pool\'s end (both size queries)').to.equal(100);
    } finally {
      c.close();
      native.closeFd(fd);
    }
  });

  it('a file truncated under a buffer whose pool is gone: invalid_fd on commit, no SIGBUS, nothing left open', async () => {
    const before = resourceFds();
    const mappings = native.mappingStats().live;
    const { c, fd, surface, pool, buffer } = await clientWithBuffer('shm-fds-truncated', 1);
    try {
      c.request(pool, wl_shm_pool, 'destroy', []);
      await c.roundtrip();
      native.truncateFd(fd, 0);
      c.request(surface, wl_surface, 'attach', [buffer, 0, 0]);
      c.request(surface, wl_surface, 'commit', []);
      await c.until(() => c.closed);
      expect(c.error).to.deep.include({ objectId: buffer, code: SHM.invalid_fd });
      expect(c.error!.message).to.match(/truncated/);
    } finally {
      c.close();
      native.closeFd(fd);
    }
    // The server lets go of the client's pool mapping as it tears the client down: give a slow
    // (sanitized) run up to 2 s for that, rather than a fixed 20 ms (ASan missed it once).
    for (let t = Date.now(); Date.now() - t < 2000 && (server.clients.size > 0 || native.mappingStats().live !== mappings);) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(server.clients.size).to.equal(0);
    expect(native.mappingStats().live, 'mappings').to.equal(mappings);
    expect(resourceFds()).to.deep.equal(before);
  });

  it('a sealed file shorter than its pool, the pool gone: invalid_fd on commit, and the server (its own process) lives', async () => {
    const path = join(dir, 'wayland-child');
    const child = spawnTs('test/helpers/wayland-server-child.ts', [path]);
    try {
      expect(await child.line('listening')).to.equal('listening');
      const { c, fd, surface, shm } = await clientWithBuffer('shm-fds-first', 3, path);
      const sealed = native.memfdCreate('shm-fds-sealed', SIZE, 0);
      try {
        // A pool declared two buffers long over a file one buffer long, sealed against
        // shrinking: its mapping is not guarded (the file cannot shrink), so a read of
        // the second buffer, wholly past the file's end, would be a SIGBUS that kills the server.
        native.addSeals(sealed, native.constants.F_SEAL_SHRINK);
        const pool = c.newId(wl_shm_pool);
        c.request(shm, wl_shm, 'create_pool', [pool, sealed, 2 * SIZE]);
        const past = c.newId(RawWaylandClient.interface('wl_buffer'));
        c.request(pool, wl_shm_pool, 'create_buffer', [past, SIZE, 64, 64, 256, 1]);
        c.request(pool, wl_shm_pool, 'destroy', []);
        await c.roundtrip();
        c.request(surface, wl_surface, 'attach', [past, 0, 0]);
        c.request(surface, wl_surface, 'commit', []);
        await c.until(() => c.closed);
        expect(c.error).to.deep.include({ objectId: past, code: SHM.invalid_fd });
      } finally {
        c.close();
        native.closeFd(fd);
        native.closeFd(sealed);
      }
      expect(child.process.exitCode, 'the server process still runs').to.equal(null);
      const next = await clientWithBuffer('shm-fds-next', 1, path);
      next.c.request(next.surface, wl_surface, 'attach', [next.buffer, 0, 0]);
      next.c.request(next.surface, wl_surface, 'commit', []);
      expect(await child.line('frame ')).to.equal(`frame ${SIZE}`);
      next.c.close();
      native.closeFd(next.fd);
    } finally {
      child.process.kill('SIGTERM');
      await child.exited;
    }
  });

  it('a pool that lives on still grows (resize keeps its fd) and its new buffers show their pixels', async () => {
    const { c, fd, surface, pool } = await clientWithBuffer('shm-fds-resize', 7);
    try {
      native.truncateFd(fd, 2 * SIZE);
      const pixels = native.mmapFd(fd, 2 * SIZE, 0, native.PROT_READ | native.PROT_WRITE);
      new Uint8Array(pixels, SIZE).fill(9);
      native.unmapBuffer(pixels);
      c.request(pool, wl_shm_pool, 'resize', [2 * SIZE]);
      const second = c.newId(RawWaylandClient.interface('wl_buffer'));
      c.request(pool, wl_shm_pool, 'create_buffer', [second, SIZE, 64, 64, 256, 1]);
      frames.length = 0;
      c.request(surface, wl_surface, 'attach', [second, 0, 0]);
      c.request(surface, wl_surface, 'damage_buffer', [0, 0, 64, 64]);
      c.request(surface, wl_surface, 'commit', []);
      await c.until(() => frames.length === 1);
      expect(frames[0]!.region.pixels.every((v) => v === 9)).to.equal(true);
      frames[0]!.release();
      expect(fdsOn('shm-fds-resize')).to.equal(2);
      expect(c.error).to.equal(undefined);
    } finally {
      c.close();
      native.closeFd(fd);
    }
  });
});
