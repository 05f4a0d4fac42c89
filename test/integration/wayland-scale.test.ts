/**
 * Output scale (HiDPI) from a raw Wayland client to pixels: the server tells
 * wl_output.scale and xdg-output's logical size, a surface that shows pixels
 * gets wl_surface.enter for the output, and a buffer drawn at buffer scale 2
 * covers half its pixels in the layout: 1:1 on a scale-2 output, halved
 * (every other pixel) on a scale-1 one, with subsurface positions in surface
 * units.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as native from '../../lib/native';
import { followSource, pixelRegion, Scene, SceneBuffer, type SceneSurface } from '../../lib/scene';
import { wl_output, wl_shm, wl_shm_pool, wl_subcompositor, wl_subsurface, wl_surface, wl_compositor } from '../../lib/wayland/protocol/wayland';
import { zxdg_output_manager_v1, zxdg_output_v1 } from '../../lib/wayland/protocol/xdg-output';
import { WaylandServer } from '../../lib/wayland/server';
import { RawWaylandClient } from '../helpers/wayland-client';

const BG = 0xff000000;

describe('Wayland: output scale 2 and buffer scale 2 through the scene', function () {
  this.timeout(20000);
  let dir: string;
  let server: WaylandServer;
  const fds: number[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bufshare-scale-'));
    server = WaylandServer.listen({ name: join(dir, 'wayland-scale'), output: { width: 320, height: 240, refreshMilliHz: 60000, name: 'HIDPI-1', scale: 2 } });
  });
  afterEach(async () => {
    await server.close();
    for (const fd of fds.splice(0)) native.closeFd(fd);
    rmSync(dir, { recursive: true, force: true });
  });

  /** A wl_buffer of w x h XRGB pixels, each its own colour: 0xff000000 | (y << 8) | x. */
  function buffer(c: RawWaylandClient, shm: number, w: number, h: number): number {
    const size = w * h * 4;
    const fd = native.memfdCreate('scale', size, 0);
    fds.push(fd);
    const px = new Uint32Array(native.mmapFd(fd, size, 0, native.PROT_READ | native.PROT_WRITE));
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) px[y * w + x] = (0xff000000 | (y << 8) | x) >>> 0;
    native.unmapBuffer(px.buffer as ArrayBuffer);
    const pool = c.newId(wl_shm_pool);
    c.request(shm, wl_shm, 'create_pool', [pool, fd, size]);
    const b = c.newId(RawWaylandClient.interface('wl_buffer'));
    c.request(pool, wl_shm_pool, 'create_buffer', [b, 0, w, h, w * 4, 1]);
    return b;
  }

  it('wl_output says scale 2, xdg-output the logical size, and a surface enters the output when it first shows', async () => {
    const c = new RawWaylandClient(server.path);
    try {
      const reg = await c.registry();
      const output = c.bind(reg, wl_output);
      await c.roundtrip();
      expect(c.events.filter((e) => e.objectId === output && e.name === 'scale').map((e) => e.args[0])).to.deep.equal([2]);
      const manager = c.bind(reg, zxdg_output_manager_v1);
      const xdgOutput = c.newId(zxdg_output_v1);
      c.request(manager, zxdg_output_manager_v1, 'get_xdg_output', [xdgOutput, output]);
      await c.roundtrip();
      expect(c.events.find((e) => e.objectId === xdgOutput && e.name === 'logical_size')?.args).to.deep.equal([160, 120]);

      const shm = c.bind(reg, wl_shm);
      const { surface } = await c.configuredToplevel(reg);
      expect(c.events.some((e) => e.objectId === surface && e.name === 'enter'), 'no enter before it shows anything').to.equal(false);
      c.request(surface, wl_surface, 'attach', [buffer(c, shm, 40, 40), 0, 0]);
      c.request(surface, wl_surface, 'commit', []);
      await c.roundtrip();
      expect(c.events.filter((e) => e.objectId === surface && e.name === 'enter').map((e) => e.args[0])).to.deep.equal([output]);
      // Once: the next commit enters nothing again.
      c.request(surface, wl_surface, 'commit', []);
      await c.roundtrip();
      expect(c.events.filter((e) => e.objectId === surface && e.name === 'enter').length).to.equal(1);
      expect(c.error).to.equal(undefined);
    } finally {
      c.close();
    }
  });

  it('a scale-2 buffer is 1:1 on a scale-2 output and halved on a scale-1 one; a subsurface sits at its position in surface units', async () => {
    const scene = new Scene({ background: BG });
    const hidpi = scene.addOutput({ name: 'hidpi', width: 160, height: 160, scale: 2 });
    const lodpi = scene.addOutput({ name: 'lodpi', x: 80, y: 0, width: 80, height: 80 });
    const windows = scene.createTree();
    windows.setPosition(10, 10);
    const views: SceneSurface[] = [];
    followSource(scene, server, windows, (v) => views.push(v));
    const c = new RawWaylandClient(server.path);
    try {
      const reg = await c.registry();
      const shm = c.bind(reg, wl_shm);
      const { surface, compositor } = await c.configuredToplevel(reg);
      c.request(surface, wl_surface, 'set_buffer_scale', [2]);
      c.request(surface, wl_surface, 'attach', [buffer(c, shm, 40, 40), 0, 0]);
      // A subsurface at (25, 5) surface units, drawn at scale 2 too: 8x8 pixels, 4x4 units.
      const sub = c.newId(wl_surface);
      c.request(compositor, wl_compositor, 'create_surface', [sub]);
      const subcompositor = c.bind(reg, wl_subcompositor);
      const role = c.newId(wl_subsurface);
      c.request(subcompositor, wl_subcompositor, 'get_subsurface', [role, sub, surface]);
      c.request(role, wl_subsurface, 'set_position', [25, 5]);
      c.request(sub, wl_surface, 'set_buffer_scale', [2]);
      c.request(sub, wl_surface, 'attach', [buffer(c, shm, 8, 8), 0, 0]);
      c.request(sub, wl_surface, 'commit', []);
      c.request(surface, wl_surface, 'commit', []);
      await c.roundtrip();
      expect(c.error).to.equal(undefined);
      const view = views[0]!;
      expect([view.node.width, view.node.height, view.node.bufferScale], 'layout units: its pixels over its scale').to.deep.equal([20, 20, 2]);

      const fb = pixelRegion(160, 160);
      hidpi.render(fb, 0);
      const px = (x: number, y: number): number => fb.pixels32[y * 160 + x]! >>> 0;
      // Layout (10, 10) is pixel (20, 20) at scale 2; the buffer shows 1:1 from there.
      for (const [x, y] of [[0, 0], [1, 0], [0, 1], [23, 17], [39, 39]] as const) {
        expect(px(20 + x, 20 + y), `buffer pixel (${x}, ${y})`).to.equal((0xff000000 | (y << 8) | x) >>> 0);
      }
      expect(px(19, 30), 'left of the window').to.equal(BG);
      expect(px(20 + 40, 30), 'right of it: layout unit 30 is pixel 60, before the subsurface (x 35 units)').to.equal(BG);
      // The subsurface: layout (10 + 25, 10 + 5) = pixel (70, 30), its 8x8 pixels 1:1.
      expect([px(70, 30), px(77, 37)]).to.deep.equal([0xff000000, (0xff000000 | (7 << 8) | 7) >>> 0]);
      expect(px(78, 30)).to.equal(BG);

      // The scale-1 output at layout x 80 is outside the window: move the window onto it.
      windows.setPosition(90, 0);
      const low = pixelRegion(80, 80);
      lodpi.render(low, 0);
      // Layout (90, 0) is pixel (10, 0) there; each pixel shows buffer pixel (2x, 2y).
      const lpx = (x: number, y: number): number => low.pixels32[y * 80 + x]! >>> 0;
      for (const [x, y] of [[0, 0], [1, 0], [5, 7], [19, 19]] as const) {
        expect(lpx(10 + x, y), `layout (${x}, ${y})`).to.equal((0xff000000 | ((2 * y) << 8) | (2 * x)) >>> 0);
      }
      expect(lpx(30, 0), 'past its 20 units').to.equal(BG);
      // The frame callback comes from either output's present, in surface units all along.
      expect(hidpi.scanoutBuffer(), 'not the whole output').to.equal(undefined);
    } finally {
      c.close();
    }
  });

  it('a fullscreen scale-2 buffer is what a scale-2 plane would scan out; at scale 1 it is not', () => {
    const scene = new Scene();
    const out = scene.addOutput({ width: 64, height: 48, scale: 2 });
    const region = pixelRegion(64, 48);
    const node = scene.createBuffer();
    const b = new SceneBuffer(region, () => {});
    node.setBuffer(b);
    b.unlock();
    expect(out.scanoutBuffer(), 'at buffer scale 1 it covers 64x48 units: doubled, not the plane\'s image').to.equal(undefined);
    node.setBufferScale(2);
    expect(out.scanoutBuffer()).to.equal(node.buffer);
    out.setScale(1);
    expect(out.rect).to.deep.equal({ x: 0, y: 0, width: 64, height: 48 });
    expect(out.scanoutBuffer(), 'halved on a scale-1 output').to.equal(undefined);
  });
});
