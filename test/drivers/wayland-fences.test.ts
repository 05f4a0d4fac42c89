/**
 * Implicit sync for linux-dmabuf buffers, on real kernels: vgem lets the test hold
 * a write fence on a client's dma-buf (DRM_IOCTL_VGEM_FENCE_ATTACH), as a client's
 * GPU still rendering into it would. The compositor's 'frame' must not fire before
 * the fence signals; later commits of the surface wait behind it, in order; a fence
 * that never signals ends that client alone (wl_display.error, 'clientError' with
 * ERR_BUFSHARE_TIMEOUT), and a surface or client gone while waiting leaks nothing.
 * The Wayland client is the codec's client side, in this process.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDumbObject, describeNode, DrmDevice, drmUnavailableReason, listDrmNodes, lookupFormat, type BufshareError, type RawBuffer } from '../../lib';
import * as native from '../../lib/native';
import type { CompositorFrame } from '../../lib/surface-model';
import { DISPLAY_ERROR } from '../../lib/wayland/client';
import { zwp_linux_buffer_params_v1, zwp_linux_dmabuf_v1 } from '../../lib/wayland/protocol/linux-dmabuf';
import { wl_buffer, wl_callback, wl_surface } from '../../lib/wayland/protocol/wayland';
import { WaylandServer } from '../../lib/wayland/server';
import { resourceFds } from '../helpers/fds';
import { RawWaylandClient } from '../helpers/wayland-client';

const W = 48;
const H = 20;
const XRGB = lookupFormat('XRGB8888')!;
const FENCE_TIMEOUT_MS = 1500; // vgem expires an unsignalled fence after 10 s: stay well below

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function pattern(seed: number, x: number, y: number): number {
  return (0xff000000 | ((x * 5 + seed) & 0xff) << 16 | (y * 9) << 8 | seed) >>> 0;
}

describe('Wayland: implicit sync of linux-dmabuf buffers (vgem fences)', function () {
  this.timeout(60000);
  const why = drmUnavailableReason();
  const vgem = why ? undefined : listDrmNodes().find((n) => n.type === 'card' && describeNode(n).driver.name === 'vgem');
  if (!vgem) {
    it.skip(`no vgem card node here (${why ?? 'vgem not loaded'})`, () => {});
    return;
  }
  let dir: string;
  let server: WaylandServer;
  let device: DrmDevice;
  let gpu: number; // our own vgem fd: the "client's GPU" that holds fences
  const frames: CompositorFrame[] = [];
  const clientErrors: BufshareError[] = [];
  const raws: RawBuffer[] = [];
  let fdsBefore: string[];

  beforeEach(() => {
    fdsBefore = resourceFds();
    dir = mkdtempSync(join(tmpdir(), 'bufshare-wl-fence-'));
    server = WaylandServer.listen({ name: join(dir, 'wayland-fence'), dmabufDevice: vgem.path, fenceTimeoutMs: FENCE_TIMEOUT_MS });
    server.on('frame', (f) => frames.push(f));
    server.on('clientError', (_c, e) => clientErrors.push(e));
    device = DrmDevice.open(vgem.path);
    gpu = native.drmOpen(vgem.path);
    frames.length = 0;
    clientErrors.length = 0;
  });

  afterEach(async () => {
    for (const f of frames) f.release();
    await server.close();
    for (const r of raws.splice(0)) r.destroy();
    device.unref();
    native.closeFd(gpu);
    rmSync(dir, { recursive: true, force: true });
    await sleep(50);
    expect(resourceFds(), 'fds left open').to.deep.equal(fdsBefore);
  });

  /** A dumb buffer on vgem drawn with `seed`'s pattern. */
  function drawn(seed: number): RawBuffer {
    const raw = createDumbObject(device, W, H, XRGB);
    raws.push(raw);
    const region = raw.mapOwn('write');
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) region.pixels32[y * region.stride32 + x] = pattern(seed, x, y);
    region.unmap();
    return raw;
  }

  /** A write fence on the buffer behind `raw`'s dma-buf. */
  function fence(raw: RawBuffer): number {
    return native.vgemFenceAttach(gpu, native.primeFdToHandle(gpu, raw.export.fd!), true);
  }

  function wrongPixels(f: CompositorFrame, seed: number): number {
    let wrong = 0;
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) if (f.region.pixels32[y * f.region.stride32 + x] !== pattern(seed, x, y)) wrong++;
    return wrong;
  }

  /** A client with a mapped toplevel surface, and a wl_buffer for each of `raws`. */
  async function clientWith(...buffers: RawBuffer[]): Promise<{ c: RawWaylandClient; surface: number; wlBuffers: number[] }> {
    const c = new RawWaylandClient(server.path);
    const registry = await c.registry();
    const { surface } = await c.configuredToplevel(registry);
    const dmabuf = c.bind(registry, zwp_linux_dmabuf_v1);
    const wlBuffers: number[] = [];
    for (const raw of buffers) {
      const params = c.newId(zwp_linux_buffer_params_v1);
      c.request(dmabuf, zwp_linux_dmabuf_v1, 'create_params', [params]);
      c.request(params, zwp_linux_buffer_params_v1, 'add', [raw.export.fd!, 0, raw.plane.offset, raw.plane.stride, 0, 0]);
      const id = c.newId(wl_buffer);
      c.request(params, zwp_linux_buffer_params_v1, 'create_immed', [id, W, H, XRGB.fourcc, 0]);
      wlBuffers.push(id);
    }
    await c.roundtrip();
    expect(c.error).to.equal(undefined);
    return { c, surface, wlBuffers };
  }

  function commit(c: RawWaylandClient, surface: number, buffer: number): number {
    const cb = c.newId(wl_callback);
    c.request(surface, wl_surface, 'attach', [buffer, 0, 0]);
    c.request(surface, wl_surface, 'damage_buffer', [0, 0, W, H]);
    c.request(surface, wl_surface, 'frame', [cb]);
    c.request(surface, wl_surface, 'commit', []);
    return cb;
  }

  it("'frame' does not fire before the buffer's write fence signals; later commits wait behind it, in order, with the right pixels", async () => {
    const a = drawn(1);
    const b = drawn(2);
    const { c, surface, wlBuffers } = await clientWith(a, b);
    try {
      const id = fence(a);
      commit(c, surface, wlBuffers[0]!);
      commit(c, surface, wlBuffers[1]!); // unfenced, but committed after a fenced one
      await c.roundtrip();
      await sleep(400);
      expect(frames.length, 'frame emitted with a write fence pending').to.equal(0);
      expect(c.error).to.equal(undefined);
      native.vgemFenceSignal(gpu, id);
      await c.until(() => frames.length >= 2);
      expect(frames.map((f) => wrongPixels(f, frames.indexOf(f) + 1)), 'frames out of commit order or unlike the client\'s pixels').to.deep.equal([0, 0]);
      expect(clientErrors).to.deep.equal([]);
      for (const f of frames) f.release();
      await c.until(() => wlBuffers.every((buf) => c.events.some((e) => e.objectId === buf && e.name === 'release')));
    } finally {
      c.close();
    }
  });

  it('a fence added after the commit: the frame waits for the commit\'s own fences only, and the event loop never stalls', async () => {
    const a = drawn(7);
    const { c, surface, wlBuffers } = await clientWith(a);
    let last = Date.now();
    let worstGap = 0;
    const ticker = setInterval(() => {
      const now = Date.now();
      worstGap = Math.max(worstGap, now - last);
      last = now;
    }, 10);
    let later: number | undefined;
    try {
      const first = fence(a);
      commit(c, surface, wlBuffers[0]!);
      await c.roundtrip();
      await sleep(200);
      expect(frames.length).to.equal(0);
      // The client's GPU writes its committed buffer again (vgem takes a new write
      // fence only once the first signalled): both in one turn, before the server's poll runs.
      native.vgemFenceSignal(gpu, first);
      later = fence(a);
      await c.until(() => frames.length === 1 || c.error !== undefined, FENCE_TIMEOUT_MS / 2);
      expect(c.error, 'the client was cut waiting for a fence it added after its commit').to.equal(undefined);
      expect(frames.length).to.equal(1);
      expect(native.dmabufReady(a.export.fd!, native.FENCE_ACCESS_READ), 'the later fence is still pending').to.equal(false);
      await sleep(100);
      expect(worstGap, 'the event loop stalled (a sync ioctl waited on the later fence)').to.be.below(500);
      frames[0]!.release();
      frames.length = 0;
      native.vgemFenceSignal(gpu, later);
      later = undefined;
      expect(clientErrors).to.deep.equal([]);
    } finally {
      clearInterval(ticker);
      if (later !== undefined) native.vgemFenceSignal(gpu, later);
      c.close();
    }
  });

  it('a fence that never signals ends that client alone, with ERR_BUFSHARE_TIMEOUT; another client keeps going', async () => {
    const stuck = await clientWith(drawn(3));
    const other = await clientWith(drawn(4));
    try {
      fence(raws[0]!); // never signalled here (vgem would expire it after 10 s)
      commit(stuck.c, stuck.surface, stuck.wlBuffers[0]!);
      await stuck.c.roundtrip();
      await sleep(FENCE_TIMEOUT_MS / 2);
      commit(other.c, other.surface, other.wlBuffers[0]!);
      await other.c.until(() => frames.length === 1);
      expect(wrongPixels(frames[0]!, 4)).to.equal(0);
      await stuck.c.until(() => stuck.c.closed, FENCE_TIMEOUT_MS * 3);
      expect([stuck.c.error?.objectId, stuck.c.error?.code]).to.deep.equal([1, DISPLAY_ERROR.implementation]);
      expect(stuck.c.error?.message).to.match(/ERR_BUFSHARE_TIMEOUT/);
      expect(clientErrors.map((e) => e.code)).to.deep.equal(['ERR_BUFSHARE_TIMEOUT']);
      expect(frames.length, 'a frame of the stuck buffer').to.equal(1);
      // The other client is untouched: it still commits and gets frames.
      frames[0]!.release();
      commit(other.c, other.surface, other.wlBuffers[0]!);
      await other.c.until(() => frames.length === 2);
      expect(other.c.closed).to.equal(false);
      expect(server.clients.size).to.equal(1);
    } finally {
      stuck.c.close();
      other.c.close();
    }
  });

  it('a surface destroyed, or a client gone, while its fence is pending: no frame, no error, nothing held', async () => {
    const first = await clientWith(drawn(5));
    const second = await clientWith(drawn(6));
    const fences = [fence(raws[0]!), fence(raws[1]!)];
    try {
      commit(first.c, first.surface, first.wlBuffers[0]!);
      first.c.request(first.wlBuffers[0]!, wl_buffer, 'destroy', []);
      commit(second.c, second.surface, second.wlBuffers[0]!);
      await first.c.roundtrip();
      await second.c.roundtrip();
      // The first destroys its surface; the second just goes away.
      first.c.request(first.surface, wl_surface, 'destroy', []);
      await first.c.roundtrip();
      second.c.close();
      await sleep(100);
      for (const id of fences) native.vgemFenceSignal(gpu, id);
      await sleep(FENCE_TIMEOUT_MS + 300);
      expect(frames.length).to.equal(0);
      expect(clientErrors).to.deep.equal([]);
      expect(first.c.error).to.equal(undefined);
    } finally {
      first.c.close();
      second.c.close();
    }
  });
});
