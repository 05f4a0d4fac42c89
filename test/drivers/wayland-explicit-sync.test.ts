/**
 * Explicit sync (wp_linux_drm_syncobj_manager_v1) against a real kernel: virtio-gpu
 * has timeline syncobjs, and Linux 6.6+ the syncobj eventfd the server waits on.
 * A raw client (this process, its own DRM fd) imports a timeline, commits a
 * virtio-gpu dumb buffer with an acquire and a release point and signals the
 * acquire point from the CPU: no frame before it, the client's pixels after it,
 * the release point signalled only once the compositor let go of the frame. A
 * point that never signals ends that client alone; every protocol error has its
 * code. Skips where the device or kernel lacks it (6.1: no SYNCOBJ_EVENTFD; vgem,
 * bochs: no timelines), saying why.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDumbObject, describeNode, DrmDevice, drmUnavailableReason, KmsOutput, listDrmNodes, lookupFormat, type BufshareError, type RawBuffer } from '../../lib';
import { scanoutFrame } from '../../lib/kms';
import * as native from '../../lib/native';
import type { CompositorFrame } from '../../lib/surface-model';
import { DISPLAY_ERROR } from '../../lib/wayland/client';
import { zwp_linux_buffer_params_v1, zwp_linux_dmabuf_v1 } from '../../lib/wayland/protocol/linux-dmabuf';
import { wp_linux_drm_syncobj_manager_v1, wp_linux_drm_syncobj_surface_v1, wp_linux_drm_syncobj_timeline_v1 } from '../../lib/wayland/protocol/linux-drm-syncobj';
import { wl_buffer, wl_shm, wl_shm_pool, wl_surface } from '../../lib/wayland/protocol/wayland';
import { WaylandServer } from '../../lib/wayland/server';
import { resourceFds } from '../helpers/fds';
import { RawWaylandClient } from '../helpers/wayland-client';
import { nextFlip } from '../helpers/kms-scene';

const W = 40;
const H = 24;
const XRGB = lookupFormat('XRGB8888')!;
const FENCE_TIMEOUT_MS = 1000;
const MANAGER = wp_linux_drm_syncobj_manager_v1.enums.error as Record<string, number>;
const SURFACE = wp_linux_drm_syncobj_surface_v1.enums.error as Record<string, number>;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const hi = (p: bigint): number => Number(p >> 32n);
const lo = (p: bigint): number => Number(p & 0xffffffffn);

describe('Wayland: explicit sync (linux-drm-syncobj-v1, virtio-gpu)', function () {
  this.timeout(60000);
  const why = drmUnavailableReason();
  const virtio = why ? undefined : listDrmNodes().find((n) => n.type === 'card' && describeNode(n).driver.name === 'virtio_gpu');
  if (!virtio) {
    it.skip(`no virtio-gpu card node here (${why ?? 'virtio_gpu not present'})`, () => {});
    return;
  }
  let dir: string;
  let server: WaylandServer;
  let device: DrmDevice;
  let gpu: number; // the client's own DRM fd: its timelines live here
  const frames: CompositorFrame[] = [];
  const clientErrors: BufshareError[] = [];
  const raws: RawBuffer[] = [];
  const handles: number[] = [];
  let fdsBefore: string[];

  before(function () {
    fdsBefore = resourceFds();
    // First, keeping master (the first opener gets it): the KMS test borrows this fd.
    device = DrmDevice.open(virtio.path, { master: true });
    dir = mkdtempSync(join(tmpdir(), 'bufshare-wl-syncobj-'));
    server = WaylandServer.listen({ name: join(dir, 'wayland-syncobj'), dmabufDevice: virtio.path, fenceTimeoutMs: FENCE_TIMEOUT_MS });
    if (server.explicitSyncUnavailable !== undefined) {
      const reason = server.explicitSyncUnavailable;
      void server.close();
      device.unref();
      rmSync(dir, { recursive: true, force: true });
      console.log(`      skipped: explicit sync is not offered here (${reason})`);
      this.skip();
    }
    server.on('frame', (f) => frames.push(f));
    server.on('clientError', (_c, e) => clientErrors.push(e));
    gpu = native.drmOpen(virtio.path);
  });

  after(async () => {
    if (server.explicitSyncUnavailable !== undefined) return;
    for (const f of frames) f.release();
    await server.close();
    for (const r of raws) r.destroy();
    for (const h of handles) native.syncobjDestroy(gpu, h);
    device.unref();
    native.closeFd(gpu);
    rmSync(dir, { recursive: true, force: true });
    await sleep(50);
    expect(resourceFds(), 'fds left open').to.deep.equal(fdsBefore);
  });

  beforeEach(() => {
    for (const f of frames.splice(0)) f.release();
    clientErrors.length = 0;
  });

  function drawn(value: number, w = W, h = H): RawBuffer {
    const raw = createDumbObject(device, w, h, XRGB);
    raws.push(raw);
    const region = raw.mapOwn('write');
    for (let y = 0; y < h; y++) region.pixels32.fill(value, y * region.stride32, y * region.stride32 + w);
    region.unmap();
    return raw;
  }

  /** A new timeline on the client's fd. */
  function timeline(): number {
    const h = native.syncobjCreate(gpu);
    handles.push(h);
    return h;
  }

  interface Setup {
    c: RawWaylandClient;
    registry: number;
    surface: number;
    manager: number;
    syncSurface: number;
    buffer: number;
    /** Imports `handle` into the compositor; the wp_linux_drm_syncobj_timeline_v1's id. */
    importTimeline(handle: number): number;
  }

  async function setup(value: number, w = W, h = H): Promise<Setup> {
    const c = new RawWaylandClient(server.path);
    const registry = await c.registry();
    expect(c.globals.has('wp_linux_drm_syncobj_manager_v1'), 'the global is offered').to.equal(true);
    const { surface } = await c.configuredToplevel(registry);
    const manager = c.bind(registry, wp_linux_drm_syncobj_manager_v1);
    const syncSurface = c.newId(wp_linux_drm_syncobj_surface_v1);
    c.request(manager, wp_linux_drm_syncobj_manager_v1, 'get_surface', [syncSurface, surface]);
    const raw = drawn(value, w, h);
    const dmabuf = c.bind(registry, zwp_linux_dmabuf_v1);
    const params = c.newId(zwp_linux_buffer_params_v1);
    c.request(dmabuf, zwp_linux_dmabuf_v1, 'create_params', [params]);
    c.request(params, zwp_linux_buffer_params_v1, 'add', [raw.export.fd!, 0, raw.plane.offset, raw.plane.stride, 0, 0]);
    const buffer = c.newId(wl_buffer);
    c.request(params, zwp_linux_buffer_params_v1, 'create_immed', [buffer, w, h, XRGB.fourcc, 0]);
    const importTimeline = (handle: number): number => {
      const fd = native.syncobjHandleToFd(gpu, handle);
      const id = c.newId(wp_linux_drm_syncobj_timeline_v1);
      c.request(manager, wp_linux_drm_syncobj_manager_v1, 'import_timeline', [id, fd]);
      native.closeFd(fd);
      return id;
    };
    await c.roundtrip();
    expect(c.error).to.equal(undefined);
    return { c, registry, surface, manager, syncSurface, buffer, importTimeline };
  }

  function points(s: Setup, acquire: [number, bigint] | undefined, release: [number, bigint] | undefined): void {
    if (acquire) s.c.request(s.syncSurface, wp_linux_drm_syncobj_surface_v1, 'set_acquire_point', [acquire[0], hi(acquire[1]), lo(acquire[1])]);
    if (release) s.c.request(s.syncSurface, wp_linux_drm_syncobj_surface_v1, 'set_release_point', [release[0], hi(release[1]), lo(release[1])]);
  }

  function commit(s: Setup, attach = true): void {
    if (attach) s.c.request(s.surface, wl_surface, 'attach', [s.buffer, 0, 0]);
    s.c.request(s.surface, wl_surface, 'damage_buffer', [0, 0, W, H]);
    s.c.request(s.surface, wl_surface, 'commit', []);
  }

  it('no frame before the acquire point signals; the client\'s pixels after; the release point signals only once the compositor let go', async () => {
    const s = await setup(0xff2a5d80);
    try {
      const t = timeline();
      const tid = s.importTimeline(t);
      // The buffer has no implicit fence at all: only the acquire point holds it back.
      points(s, [tid, 1n], [tid, 2n]);
      commit(s);
      await s.c.roundtrip();
      await sleep(300);
      expect(frames.length, 'a frame before its acquire point signalled').to.equal(0);
      native.syncobjTimelineSignal(gpu, t, 1n);
      await s.c.until(() => frames.length === 1);
      const f = frames[0]!;
      expect(f.region.pixels32[f.region.stride32 * 5 + 7]).to.equal(0xff2a5d80);
      await sleep(100);
      expect(native.syncobjQuery(gpu, t), 'the release point signalled while the compositor reads the buffer').to.equal(1n);
      frames.shift()!.release();
      expect(native.syncobjQuery(gpu, t), 'the release point once the frame is released').to.equal(2n);
      await s.c.until(() => s.c.events.some((e) => e.objectId === s.buffer && e.name === 'release'));
      // A second commit on the same timeline, later points.
      points(s, [tid, 3n], [tid, 4n]);
      commit(s);
      await s.c.roundtrip();
      expect(frames.length).to.equal(0);
      native.syncobjTimelineSignal(gpu, t, 3n);
      await s.c.until(() => frames.length === 1);
      frames.shift()!.release();
      expect(native.syncobjQuery(gpu, t)).to.equal(4n);
      expect(s.c.error).to.equal(undefined);
      expect(clientErrors).to.deep.equal([]);
    } finally {
      s.c.close();
    }
  });

  it('direct scanout on a KMS plane: the release point signals only after the flip that took the buffer off screen', async function () {
    const output = KmsOutput.open({ device });
    const s = await setup(0xff103050, output.width, output.height);
    try {
      const own = output.acquire();
      own.region.pixels32.fill(0xff000000);
      output.commit(own); // the modeset: direct scanout needs a lit pipe
      await nextFlip(output);
      // A second fullscreen buffer of the same client.
      const rawB = drawn(0xff507090, output.width, output.height);
      const dmabuf = s.c.bind(s.registry, zwp_linux_dmabuf_v1);
      const params = s.c.newId(zwp_linux_buffer_params_v1);
      s.c.request(dmabuf, zwp_linux_dmabuf_v1, 'create_params', [params]);
      s.c.request(params, zwp_linux_buffer_params_v1, 'add', [rawB.export.fd!, 0, rawB.plane.offset, rawB.plane.stride, 0, 0]);
      const bufferB = s.c.newId(wl_buffer);
      s.c.request(params, zwp_linux_buffer_params_v1, 'create_immed', [bufferB, output.width, output.height, XRGB.fourcc, 0]);
      // Acquire and release on two timelines: a point signalled on one timeline signals every point below it.
      const ta = timeline();
      const tr = timeline();
      const acq = s.importTimeline(ta);
      const rel = s.importTimeline(tr);
      native.syncobjTimelineSignal(gpu, ta, 2n); // both acquire points signalled ahead: only the release matters here
      points(s, [acq, 1n], [rel, 1n]);
      commit(s);
      await s.c.until(() => frames.length === 1);
      const a = frames.shift()!;
      const r = scanoutFrame(output, a);
      if (typeof r !== 'number') {
        a.release();
        console.log(`      skipped: virtio-gpu refused direct scanout of the client's buffer (${r})`);
        this.skip();
      }
      await nextFlip(output);
      await sleep(50);
      expect(native.syncobjQuery(gpu, tr), 'A on screen: its release point not signalled').to.equal(0n);
      points(s, [acq, 2n], [rel, 2n]);
      s.c.request(s.surface, wl_surface, 'attach', [bufferB, 0, 0]);
      s.c.request(s.surface, wl_surface, 'damage_buffer', [0, 0, output.width, output.height]);
      s.c.request(s.surface, wl_surface, 'commit', []);
      await s.c.until(() => frames.length === 1);
      const b = frames.shift()!;
      expect(scanoutFrame(output, b)).to.be.a('number');
      expect(native.syncobjQuery(gpu, tr), 'B committed, its flip not complete yet: A not released').to.equal(0n);
      await nextFlip(output);
      await s.c.until(() => native.syncobjQuery(gpu, tr) >= 1n, 2000);
      expect(native.syncobjQuery(gpu, tr), 'after the flip that replaced A: A\'s release point, not B\'s').to.equal(1n);
      expect(s.c.error).to.equal(undefined);
    } finally {
      output.close(); // releases B (on screen) and signals its point
      s.c.close();
    }
  });

  it('an acquire point that never signals ends that client alone (ERR_BUFSHARE_TIMEOUT); another client goes on', async () => {
    const stuck = await setup(0xff111111);
    const other = await setup(0xff222222);
    try {
      const t1 = timeline();
      const t1id = stuck.importTimeline(t1);
      points(stuck, [t1id, 1n], [t1id, 2n]);
      commit(stuck);
      const t2 = timeline();
      const t2id = other.importTimeline(t2);
      native.syncobjTimelineSignal(gpu, t2, 1n);
      points(other, [t2id, 1n], [t2id, 2n]);
      commit(other);
      await other.c.until(() => frames.length === 1);
      expect(frames[0]!.region.pixels32[0]).to.equal(0xff222222);
      await stuck.c.until(() => stuck.c.closed, FENCE_TIMEOUT_MS * 4);
      expect([stuck.c.error?.objectId, stuck.c.error?.code]).to.deep.equal([1, DISPLAY_ERROR.implementation]);
      expect(clientErrors.map((e) => e.code)).to.deep.equal(['ERR_BUFSHARE_TIMEOUT']);
      expect(native.syncobjQuery(gpu, t1), 'the dropped commit\'s release point').to.equal(2n);
      expect(other.c.closed).to.equal(false);
    } finally {
      stuck.c.close();
      other.c.close();
    }
  });

  /** Runs `act` on a fresh setup and expects the protocol error (object, code). */
  async function expectError(act: (s: Setup) => number, code: number, message: RegExp): Promise<void> {
    const s = await setup(0xff000000);
    try {
      const object = act(s);
      await s.c.until(() => s.c.error !== undefined);
      expect([s.c.error!.objectId, s.c.error!.code, s.c.error!.message]).to.satisfy(([o, c, m]: [number, number, string]) => o === object && c === code && message.test(m),
        JSON.stringify(s.c.error));
      expect(server.closed).to.equal(false);
    } finally {
      s.c.close();
    }
  }

  it('protocol errors: no_acquire_point, no_release_point, conflicting_points, no_buffer, unsupported_buffer, surface_exists, invalid_timeline', async () => {
    await expectError((s) => {
      const tid = s.importTimeline(timeline());
      points(s, undefined, [tid, 2n]);
      commit(s);
      return s.syncSurface;
    }, SURFACE.no_acquire_point!, /no acquire point/);
    await expectError((s) => {
      const tid = s.importTimeline(timeline());
      points(s, [tid, 1n], undefined);
      commit(s);
      return s.syncSurface;
    }, SURFACE.no_release_point!, /no release point/);
    await expectError((s) => {
      const tid = s.importTimeline(timeline());
      points(s, [tid, 5n], [tid, 5n]);
      commit(s);
      return s.syncSurface;
    }, SURFACE.conflicting_points!, /must be below/);
    await expectError((s) => {
      const tid = s.importTimeline(timeline());
      points(s, [tid, 1n], [tid, 2n]);
      commit(s, false);
      return s.syncSurface;
    }, SURFACE.no_buffer!, /no buffer/);
    await expectError((s) => {
      const tid = s.importTimeline(timeline());
      const shm = s.c.bind(s.registry, wl_shm);
      const fd = native.memfdCreate('syncobj-shm', W * H * 4, 0);
      const pool = s.c.newId(wl_shm_pool);
      s.c.request(shm, wl_shm, 'create_pool', [pool, fd, W * H * 4]);
      native.closeFd(fd);
      const buffer = s.c.newId(wl_buffer);
      s.c.request(pool, wl_shm_pool, 'create_buffer', [buffer, 0, W, H, W * 4, 1]);
      points(s, [tid, 1n], [tid, 2n]);
      s.c.request(s.surface, wl_surface, 'attach', [buffer, 0, 0]);
      s.c.request(s.surface, wl_surface, 'commit', []);
      return s.syncSurface;
    }, SURFACE.unsupported_buffer!, /linux-dmabuf/);
    await expectError((s) => {
      s.c.request(s.manager, wp_linux_drm_syncobj_manager_v1, 'get_surface', [s.c.newId(wp_linux_drm_syncobj_surface_v1), s.surface]);
      return s.manager;
    }, MANAGER.surface_exists!, /already has/);
    await expectError((s) => {
      const fd = native.memfdCreate('not-a-syncobj', 4096, 0);
      s.c.request(s.manager, wp_linux_drm_syncobj_manager_v1, 'import_timeline', [s.c.newId(wp_linux_drm_syncobj_timeline_v1), fd]);
      native.closeFd(fd);
      return s.manager;
    }, MANAGER.invalid_timeline!, /not a DRM syncobj/);
  });
});
