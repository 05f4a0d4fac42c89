/**
 * A client's dma-buf that faults under the compositor's mapping (a GEM-shmem
 * object the client marked purgeable and the driver purged, a device unplugged):
 * the compositor must live, and the client get its protocol error. No test can
 * make a real driver fault here (vgem and virtio-gpu let userspace purge nothing,
 * and nothing here can unplug), so the fault is the one the kernel would deliver
 * (SIGBUS, BUS_ADRERR at an address in the mapping), queued to this thread with
 * native.injectSigbus. Before the guard covered dma-bufs, that signal killed the
 * compositor. Also: truncation cannot fault through udmabuf (the kernel wants the
 * memfd sealed against shrinking), which this checks.
 */
import { expect } from 'chai';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDumbObject, describeNode, DrmDevice, drmUnavailableReason, listDrmNodes, lookupFormat, type RawBuffer } from '../../lib';
import * as native from '../../lib/native';
import type { CompositorFrame } from '../../lib/surface-model';
import { zwp_linux_buffer_params_v1, zwp_linux_dmabuf_v1 } from '../../lib/wayland/protocol/linux-dmabuf';
import { wl_buffer, wl_shm, wl_shm_pool, wl_surface } from '../../lib/wayland/protocol/wayland';
import { WaylandServer } from '../../lib/wayland/server';
import { RawWaylandClient } from '../helpers/wayland-client';

const W = 32;
const H = 16;
const XRGB = lookupFormat('XRGB8888')!;
const SHM = wl_shm.enums.error as Record<string, number>;
const PARAMS = zwp_linux_buffer_params_v1.enums.error as Record<string, number>;

describe('Wayland: a client dma-buf that faults under the compositor', function () {
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
  const frames: CompositorFrame[] = [];
  const raws: RawBuffer[] = [];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'bufshare-wl-faults-'));
    server = WaylandServer.listen({ name: join(dir, 'wayland-faults'), dmabufDevice: vgem.path });
    server.on('frame', (f) => frames.push(f));
    device = DrmDevice.open(vgem.path);
  });
  after(async () => {
    for (const f of frames) f.release();
    await server.close();
    for (const r of raws) r.destroy();
    device.unref();
    rmSync(dir, { recursive: true, force: true });
    expect(native.mappingStats().guarded, 'guard slots given back').to.equal(0);
  });

  function drawn(value: number): RawBuffer {
    const raw = createDumbObject(device, W, H, XRGB);
    raws.push(raw);
    const region = raw.mapOwn('write');
    region.pixels32.fill(value);
    region.unmap();
    return raw;
  }

  beforeEach(() => {
    for (const f of frames.splice(0)) f.release();
  });

  async function client(): Promise<{ c: RawWaylandClient; registry: number; surface: number }> {
    const c = new RawWaylandClient(server.path);
    const registry = await c.registry();
    const { surface } = await c.configuredToplevel(registry);
    return { c, registry, surface };
  }

  function show(c: RawWaylandClient, surface: number, buffer: number): void {
    c.request(surface, wl_surface, 'attach', [buffer, 0, 0]);
    c.request(surface, wl_surface, 'damage_buffer', [0, 0, W, H]);
    c.request(surface, wl_surface, 'commit', []);
  }

  /** The frame's pixels are the client's; then the fault: the held frame learns of it and reads zeros. */
  function faultUnder(frame: CompositorFrame, value: number): void {
    expect(frame.region.pixels32[W + 1]).to.equal(value);
    expect(frame.region.faulted).to.equal(false);
    const pixels = frame.region.pixels;
    native.injectSigbus(pixels.buffer as ArrayBuffer, pixels.byteOffset + 100);
    expect(frame.region.faulted, 'the held frame reports the fault').to.equal(true);
    expect(frame.region.pixels32[W + 1], 'the faulted mapping reads zeros').to.equal(0);
  }

  it('linux-dmabuf: the mapping is guarded; after a fault the next commit gets invalid_wl_buffer, another client goes on', async () => {
    const guardedAtStart = native.mappingStats().guarded;
    const bad = await client();
    const good = await client();
    try {
      const ids: number[] = [];
      for (const [who, value] of [[bad, 0xff102030], [good, 0xff405060]] as const) {
        const raw = drawn(value);
        const dmabuf = who.c.bind(who.registry, zwp_linux_dmabuf_v1);
        const params = who.c.newId(zwp_linux_buffer_params_v1);
        who.c.request(dmabuf, zwp_linux_dmabuf_v1, 'create_params', [params]);
        who.c.request(params, zwp_linux_buffer_params_v1, 'add', [raw.export.fd!, 0, raw.plane.offset, raw.plane.stride, 0, 0]);
        const id = who.c.newId(wl_buffer);
        who.c.request(params, zwp_linux_buffer_params_v1, 'create_immed', [id, W, H, XRGB.fourcc, 0]);
        ids.push(id);
      }
      await bad.c.roundtrip();
      await good.c.roundtrip();
      expect(native.mappingStats().guarded - guardedAtStart, 'both dma-buf mappings are guarded').to.equal(2);
      show(bad.c, bad.surface, ids[0]!);
      await bad.c.until(() => frames.length === 1);
      faultUnder(frames[0]!, 0xff102030);
      frames.shift()!.release();
      show(bad.c, bad.surface, ids[0]!);
      await bad.c.until(() => bad.c.error !== undefined);
      expect([bad.c.error!.objectId, bad.c.error!.code]).to.deep.equal([ids[0], PARAMS.invalid_wl_buffer]);
      expect(bad.c.error!.message).to.match(/faulted/);
      show(good.c, good.surface, ids[1]!);
      await good.c.until(() => frames.length === 1);
      expect(frames[0]!.region.pixels32[W + 1]).to.equal(0xff405060);
      expect(good.c.error).to.equal(undefined);
      frames.shift()!.release();
    } finally {
      bad.c.close();
      good.c.close();
    }
  });

  it('wl_shm over a dma-buf (an fd that is no regular file): guarded; after a fault the next commit gets invalid_fd', async () => {
    const { c, registry, surface } = await client();
    try {
      const raw = drawn(0xff778899);
      const size = raw.plane.stride * H;
      const shm = c.bind(registry, wl_shm);
      const pool = c.newId(wl_shm_pool);
      c.request(shm, wl_shm, 'create_pool', [pool, raw.export.fd!, size]);
      const buffer = c.newId(wl_buffer);
      c.request(pool, wl_shm_pool, 'create_buffer', [buffer, 0, W, H, raw.plane.stride, 1]);
      show(c, surface, buffer);
      await c.until(() => frames.length === 1 || c.error !== undefined);
      expect(c.error).to.equal(undefined);
      faultUnder(frames[0]!, 0xff778899);
      frames.shift()!.release();
      show(c, surface, buffer);
      await c.until(() => c.error !== undefined);
      expect([c.error!.objectId, c.error!.code]).to.deep.equal([buffer, SHM.invalid_fd]);
      expect(server.closed).to.equal(false);
    } finally {
      c.close();
    }
  });

  it('udmabuf: the memfd behind it cannot be truncated (the kernel wants F_SEAL_SHRINK), so truncation cannot fault through it', function () {
    if (!existsSync('/dev/udmabuf')) this.skip(); // 6.1 here has none
    const memfd = native.memfdCreate('udmabuf-fault', 65536, 0);
    try {
      expect(() => native.udmabufCreate(memfd, 0, 65536), 'an unsealed memfd').to.throw(/EINVAL/);
      native.addSeals(memfd, native.constants.F_SEAL_SHRINK);
      const dmabuf = native.udmabufCreate(memfd, 0, 65536);
      try {
        expect(() => native.truncateFd(memfd, 4096)).to.throw(/EPERM/);
      } finally {
        native.closeFd(dmabuf);
      }
    } finally {
      native.closeFd(memfd);
    }
  });
});
