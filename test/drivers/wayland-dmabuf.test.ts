/**
 * zwp_linux_dmabuf_v1 against real DRM drivers (the VM's emulated GPUs): a Wayland
 * client (the codec's client side, in this process) hands the server dumb buffers
 * exported as dma-bufs from every card node that makes them; the frame the
 * compositor gets is the client's pattern, pixel-exact, with no copy. A tiled
 * modifier gets `failed`, a plane beyond the dma-buf invalid_wl_buffer, and the
 * feedback names the device and the formats in a sealed table.
 */
import { expect } from 'chai';
import { statSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDumbObject, DrmDevice, drmUnavailableReason, listDrmNodes, lookupFormat, type RawBuffer } from '../../lib';
import * as native from '../../lib/native';
import type { CompositorFrame } from '../../lib/surface-model';
import { zwp_linux_buffer_params_v1, zwp_linux_dmabuf_feedback_v1, zwp_linux_dmabuf_v1 } from '../../lib/wayland/protocol/linux-dmabuf';
import { wl_buffer, wl_surface } from '../../lib/wayland/protocol/wayland';
import { WaylandServer } from '../../lib/wayland/server';
import { resourceFds } from '../helpers/fds';
import { RawWaylandClient } from '../helpers/wayland-client';

const W = 61;
const H = 37;
const XRGB = lookupFormat('XRGB8888')!;

function pattern(x: number, y: number): number {
  return (0xff000000 | (x * 4) << 16 | (y * 6) << 8 | ((x ^ y) & 0xff)) >>> 0;
}

describe('Wayland: zwp_linux_dmabuf_v1 with real drivers', function () {
  this.timeout(60000);
  let dir: string;
  let server: WaylandServer;
  const frames: CompositorFrame[] = [];

  before(function () {
    if (drmUnavailableReason() !== undefined) this.skip();
    dir = mkdtempSync(join(tmpdir(), 'bufshare-wl-dmabuf-'));
    const device = listDrmNodes().find((n) => n.type === 'card')!.path;
    server = WaylandServer.listen({ name: join(dir, 'wayland-dmabuf'), dmabufDevice: device });
    server.on('frame', (f) => frames.push(f));
  });
  after(async () => {
    for (const f of frames) f.release();
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function toplevel(c: RawWaylandClient, registry: number): Promise<number> {
    return (await c.configuredToplevel(registry)).surface;
  }

  it('feedback: the main device is the node\'s dev_t; the format table is sealed and lists XRGB8888 LINEAR', async () => {
    const c = new RawWaylandClient(server.path);
    try {
      const registry = await c.registry();
      expect(c.globals.get('zwp_linux_dmabuf_v1')?.[1]).to.equal(4);
      const dmabuf = c.bind(registry, zwp_linux_dmabuf_v1);
      const fb = c.newId(zwp_linux_dmabuf_feedback_v1);
      c.request(dmabuf, zwp_linux_dmabuf_v1, 'get_default_feedback', [fb]);
      await c.roundtrip();
      const ev = c.events.filter((e) => e.objectId === fb);
      expect(ev.map((e) => e.name)).to.deep.equal(['format_table', 'main_device', 'tranche_target_device', 'tranche_formats', 'tranche_flags', 'tranche_done', 'done']);
      const dev = new DataView((ev[1]!.args[0] as Uint8Array).buffer).getBigUint64(0, true);
      const card = listDrmNodes().find((n) => n.type === 'card')!.path;
      expect(dev).to.equal(BigInt(statSync(card).rdev));
      const [fd, size] = ev[0]!.args as [number, number];
      const cs = native.constants;
      expect(native.getSeals(fd) & cs.F_SEAL_WRITE).to.equal(cs.F_SEAL_WRITE);
      const table = new DataView(native.mmapFd(fd, size, 0, native.PROT_READ));
      const entries: [number, bigint][] = [];
      for (let i = 0; i < size; i += 16) entries.push([table.getUint32(i, true), table.getBigUint64(i + 8, true)]);
      expect(entries).to.deep.include([XRGB.fourcc, 0n]);
      native.unmapBuffer(table.buffer);
    } finally {
      c.close();
    }
  });

  for (const node of listDrmNodes().filter((n) => n.type === 'card')) {
    it(`${node.path}: a dumb buffer's dma-buf shows pixel-exact (or gets 'failed' where this driver cannot mmap dma-bufs); a tiled modifier fails; a plane beyond the buffer is refused`, async function () {
      const fdsBefore = resourceFds();
      let device: DrmDevice;
      let raw: RawBuffer;
      try {
        device = DrmDevice.open(node.path);
        raw = createDumbObject(device, W, H, XRGB);
      } catch (e) {
        this.skip(); // no dumb buffers on this node (reported by the probe)
        return;
      }
      const c = new RawWaylandClient(server.path);
      try {
        if (raw.export.fd === undefined) this.skip();
        const region = raw.mapOwn('write');
        for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) region.pixels32[y * region.stride32 + x] = pattern(x, y);
        region.unmap();
        const registry = await c.registry();
        const surface = await toplevel(c, registry);
        const dmabuf = c.bind(registry, zwp_linux_dmabuf_v1);
        // A tiled modifier: 'failed', and the client goes on.
        const bad = c.newId(zwp_linux_buffer_params_v1);
        c.request(dmabuf, zwp_linux_dmabuf_v1, 'create_params', [bad]);
        c.request(bad, zwp_linux_buffer_params_v1, 'add', [raw.export.fd!, 0, 0, raw.plane.stride, 0x01000000, 1]); // I915_FORMAT_MOD_X_TILED
        c.request(bad, zwp_linux_buffer_params_v1, 'create', [W, H, XRGB.fourcc, 0]);
        await c.roundtrip();
        expect(c.events.some((e) => e.objectId === bad && e.name === 'failed')).to.equal(true);
        // The real one, with create: 'created' where the server can map this driver's dma-bufs, 'failed' where
        // it cannot (drivers without dma-buf mmap), never a crash or a disconnect.
        let mappable = true;
        try {
          native.unmapBuffer(native.mmapFd(raw.export.fd!, raw.size, 0, native.PROT_READ));
        } catch {
          mappable = false;
        }
        const params = c.newId(zwp_linux_buffer_params_v1);
        c.request(dmabuf, zwp_linux_dmabuf_v1, 'create_params', [params]);
        c.request(params, zwp_linux_buffer_params_v1, 'add', [raw.export.fd!, 0, raw.plane.offset, raw.plane.stride, 0, 0]);
        c.request(params, zwp_linux_buffer_params_v1, 'create', [W, H, XRGB.fourcc, 0]);
        await c.until(() => c.events.some((e) => e.objectId === params && (e.name === 'created' || e.name === 'failed')) || c.closed);
        const answer = c.events.find((e) => e.objectId === params && (e.name === 'created' || e.name === 'failed'))!;
        expect(answer.name, `${node.path} (${device.driver.name}): dma-buf mmap ${mappable ? 'works' : 'fails'} here`).to.equal(mappable ? 'created' : 'failed');
        if (mappable) {
          const buffer = c.track(answer.args[0] as number, wl_buffer);
          c.request(surface, wl_surface, 'attach', [buffer, 0, 0]);
          c.request(surface, wl_surface, 'commit', []);
          const before = frames.length;
          await c.until(() => frames.length > before || c.closed);
          expect(c.error).to.equal(undefined);
          const f = frames.at(-1)!;
          expect([f.region.width, f.region.height, f.region.strategy]).to.deep.equal([W, H, 'dmabuf-sync']);
          let wrong = 0;
          for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) if (f.region.pixels32[y * f.region.stride32 + x] !== pattern(x, y)) wrong++;
          expect(wrong, `pixels unlike the client's on ${node.path} (${device.driver.name})`).to.equal(0);
          f.release();
          await c.until(() => c.events.some((e) => e.objectId === buffer && e.name === 'release'));
        }
        // A plane beyond the dma-buf: create_immed is a protocol error.
        const over = c.newId(zwp_linux_buffer_params_v1);
        c.request(dmabuf, zwp_linux_dmabuf_v1, 'create_params', [over]);
        c.request(over, zwp_linux_buffer_params_v1, 'add', [raw.export.fd!, 0, raw.size, raw.plane.stride, 0, 0]);
        c.request(over, zwp_linux_buffer_params_v1, 'create_immed', [c.newId(wl_buffer), W, H, XRGB.fourcc, 0]);
        await c.until(() => c.closed);
        expect([c.error?.objectId, c.error?.code]).to.deep.equal([over, (zwp_linux_buffer_params_v1.enums.error as Record<string, number>).invalid_wl_buffer]);
      } finally {
        c.close();
        raw.destroy();
        device.unref();
      }
      await new Promise((r) => setTimeout(r, 50));
      expect(resourceFds()).to.deep.equal(fdsBefore);
    });
  }
});
