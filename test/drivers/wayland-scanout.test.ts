/**
 * Direct scanout of a Wayland client's dma-buf, chosen by the scene (vkms, 6.12,
 * with writeback): a linux-dmabuf client whose fullscreen window is a dumb buffer
 * of the display's card goes on the primary plane as it is (the plane shows the
 * client's framebuffer, nothing is copied, writeback pixel-exact against the
 * client's pattern); its previous buffer goes back (wl_buffer.release) only once
 * the flip replacing it completed; moved off the origin, the scene composes
 * again, and writeback equals a full repaint.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDumbObject, DrmDevice, drmUnavailableReason, lookupFormat, type RawBuffer } from '../../lib';
import { KmsOutput } from '../../lib/kms';
import { followSource, KmsSceneOutput, pixelRegion, Scene, type SceneSurface } from '../../lib/scene';
import { zwp_linux_buffer_params_v1, zwp_linux_dmabuf_v1 } from '../../lib/wayland/protocol/linux-dmabuf';
import { wl_buffer, wl_surface } from '../../lib/wayland/protocol/wayland';
import { WaylandServer } from '../../lib/wayland/server';
import { firstDifference, vkmsCard, waitCapture } from '../helpers/kms-scene';
import { RawWaylandClient } from '../helpers/wayland-client';

const XRGB = lookupFormat('XRGB8888')!;

function pattern(seed: number): (x: number, y: number) => number {
  return (x, y) => (0xff000000 | ((x + seed * 40) & 0xff) << 16 | ((y * 3) & 0xff) << 8 | ((x ^ y ^ seed) & 0xff)) >>> 0;
}

describe('Wayland dma-buf client scanned out directly by the scene (KmsSceneOutput)', function () {
  this.timeout(120000);
  if (drmUnavailableReason() !== undefined) {
    it.skip(`no DRM here (${drmUnavailableReason()})`, () => {});
    return;
  }

  it('vkms: a fullscreen linux-dmabuf window goes on the plane as it is, released only after the flip replacing it; moved, it is composed', async function () {
    const card = vkmsCard();
    if (!card) {
      console.log('      skipped: no vkms with writeback on this kernel (the harness builds it for 6.12)');
      this.skip();
    }
    const dir = mkdtempSync(join(tmpdir(), 'bufshare-wl-scanout-'));
    const output = KmsOutput.open({ device: card!, mode: '640x480', writeback: true });
    const W = output.width;
    const H = output.height;
    const capture = output.createCapture();
    const device = DrmDevice.open(card!);
    const buffers: RawBuffer[] = [];
    const server = WaylandServer.listen({ name: join(dir, 'wayland-scanout'), dmabufDevice: card! });
    const scene = new Scene();
    let window: SceneSurface | undefined;
    followSource(scene, server, scene.createTree(), (view) => {
      window = view;
      view.tree.setPosition(0, 0);
    });
    const screen = new KmsSceneOutput(scene, output);
    const presented: { path: string; refusal: string | undefined }[] = [];
    const frameIds: number[] = [];
    screen.on('presented', (frame, path, refusal) => {
      presented.push({ path, refusal });
      frameIds.push(frame);
    });
    const flips: number[] = [];
    output.on('flip', (e) => flips.push(e.frame));
    const c = new RawWaylandClient(server.path);
    try {
      const registry = await c.registry();
      const { surface } = await c.configuredToplevel(registry);
      const dmabuf = c.bind(registry, zwp_linux_dmabuf_v1);
      const wlBuffers = [0, 1].map((seed) => {
        const raw = createDumbObject(device, W, H, XRGB);
        buffers.push(raw);
        const region = raw.mapOwn('write');
        const p = pattern(seed);
        for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) region.pixels32[y * region.stride32 + x] = p(x, y);
        region.unmap();
        const params = c.newId(zwp_linux_buffer_params_v1);
        c.request(dmabuf, zwp_linux_dmabuf_v1, 'create_params', [params]);
        c.request(params, zwp_linux_buffer_params_v1, 'add', [raw.export.fd!, 0, raw.plane.offset, raw.plane.stride, 0, 0]);
        const id = c.newId(wl_buffer);
        c.request(params, zwp_linux_buffer_params_v1, 'create_immed', [id, W, H, XRGB.fourcc, 0]);
        return id;
      });
      const commit = async (i: number): Promise<void> => {
        const before = presented.length;
        c.request(surface, wl_surface, 'attach', [wlBuffers[i]!, 0, 0]);
        c.request(surface, wl_surface, 'damage_buffer', [0, 0, W, H]);
        c.request(surface, wl_surface, 'commit', []);
        await c.until(() => presented.length > before || c.closed, 20000);
        expect(c.error).to.equal(undefined);
      };
      const released = (i: number): number => c.events.filter((e) => e.objectId === wlBuffers[i] && e.name === 'release').length;
      // The output's modeset was its constructor's commit; then the window's first buffer, and the second.
      await c.until(() => !output.pending, 10000);
      await commit(0);
      await c.until(() => !output.pending, 10000);
      const copied = screen.copied;
      output.capture(capture);
      await commit(1);
      expect(presented.at(-1), 'a fullscreen dma-buf window').to.deep.equal({ path: 'direct', refusal: undefined });
      waitCapture(capture, card!);
      expect(output.ownFramebuffers, 'the plane shows the client\'s buffer, not one of the output\'s').to.not.include(output.planeFramebuffer);
      const expected = pixelRegion(W, H);
      const p1 = pattern(1);
      for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) expected.pixels32[y * W + x] = p1(x, y);
      expect(firstDifference(capture.region, expected), 'writeback against the client\'s pattern').to.equal(undefined);
      expect(screen.copied, 'pixels copied while scanned out').to.equal(copied);
      // Buffer 0 was on the plane until the flip to buffer 1 completed: released only after it.
      const replacing = frameIds.at(-1)!;
      let flippedWhenReleased = false;
      await c.until(() => {
        if (released(0) === 0) return false;
        flippedWhenReleased = flips.includes(replacing);
        return true;
      }, 10000);
      expect(flippedWhenReleased, 'buffer 0 released only once the flip to buffer 1 had completed').to.equal(true);
      expect(released(1), 'the buffer on screen is not released').to.equal(0);
      // Moved off the origin: composed again, pixel-exact against a full repaint.
      await c.until(() => !output.pending, 10000);
      const before = presented.length;
      window!.tree.setPosition(16, 8);
      await c.until(() => presented.length > before && !output.pending, 10000);
      output.capture(capture);
      window!.tree.setPosition(20, 8);
      await c.until(() => presented.length > before + 1, 10000);
      expect(presented.at(-1)!.path).to.equal('composed');
      waitCapture(capture, card!);
      screen.output.renderFull(expected);
      expect(firstDifference(capture.region, expected), 'writeback against a full repaint').to.equal(undefined);
    } finally {
      c.close();
      screen.destroy();
      await server.close();
      output.close();
      capture.destroy();
      for (const b of buffers) b.destroy();
      device.unref();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
