/**
 * Touch through the scene's seat (SceneSeat.touch): wl_touch down / motion /
 * up / frame / cancel in the surface's coordinates, each point staying with
 * the surface it went down on; touching a window gives it the keyboard; and
 * weston-simple-touch, a real client, draws where it is touched.
 */
import { expect } from 'chai';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as native from '../../lib/native';
import { followSource, pixelRegion, Scene, SceneSeat, type SceneSurface } from '../../lib/scene';
import { wl_buffer, wl_seat, wl_shm, wl_shm_pool, wl_surface, wl_touch } from '../../lib/wayland/protocol/wayland';
import { WaylandServer } from '../../lib/wayland/server';
import { WaylandHarness } from '../helpers/wayland';
import { RawWaylandClient } from '../helpers/wayland-client';

describe('Wayland touch through the scene seat', function () {
  this.timeout(20000);

  it('points go down on the surface under them and stay with it; frame and cancel; the keyboard follows the touch', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bufshare-touch-'));
    const server = WaylandServer.listen({ name: join(dir, 'wayland-touch') });
    const scene = new Scene();
    scene.addOutput({ width: 200, height: 200 });
    const views: SceneSurface[] = [];
    followSource(scene, server, scene.createTree(), (v) => {
      v.tree.setPosition(20, 30);
      views.push(v);
    });
    const seat = new SceneSeat(scene, { cursor: false });
    const c = new RawWaylandClient(server.path);
    const fd = native.memfdCreate('touch', 64 * 64 * 4, 0);
    try {
      const registry = await c.registry();
      const { surface } = await c.configuredToplevel(registry);
      const shm = c.bind(registry, wl_shm);
      const pool = c.newId(wl_shm_pool);
      c.request(shm, wl_shm, 'create_pool', [pool, fd, 64 * 64 * 4]);
      const buffer = c.newId(wl_buffer);
      c.request(pool, wl_shm_pool, 'create_buffer', [buffer, 0, 64, 64, 256, 1]);
      c.request(surface, wl_surface, 'attach', [buffer, 0, 0]);
      c.request(surface, wl_surface, 'commit', []);
      const s = c.bind(registry, wl_seat);
      const touch = c.newId(wl_touch);
      c.request(s, wl_seat, 'get_touch', [touch]);
      await c.roundtrip();
      const caps = c.events.find((e) => e.objectId === s && e.name === 'capabilities')!;
      expect((caps.args[0] as number) & 4, 'the seat has touch').to.equal(4);

      seat.touch({ action: 'down', id: 7, x: 30, y: 40 });
      seat.touch({ action: 'down', id: 8, x: 150, y: 150 }); // on nothing: no surface gets it
      seat.touch({ action: 'frame' });
      seat.touch({ action: 'motion', id: 7, x: 180, y: 190 }); // outside the window: still its point
      seat.touch({ action: 'frame' });
      seat.touch({ action: 'up', id: 7 });
      seat.touch({ action: 'up', id: 8 });
      seat.touch({ action: 'frame' });
      await c.roundtrip();
      const events = c.events.filter((e) => e.objectId === touch).map((e) => [e.name, ...(e.name === 'down' ? e.args.slice(2) : e.name === 'motion' ? e.args.slice(1) : e.name === 'up' ? e.args.slice(2) : [])]);
      expect(events).to.deep.equal([
        ['down', surface, 7, 10, 10], ['frame'],
        ['motion', 7, 160, 160], ['frame'],
        ['up', 7], ['frame'],
      ]);
      expect(seat.keyboardFocused, 'touch focuses like a click').to.equal(views[0]);
      seat.touch({ action: 'down', id: 1, x: 25, y: 35 });
      seat.touch({ action: 'cancel' });
      seat.touch({ action: 'motion', id: 1, x: 26, y: 36 });
      await c.roundtrip();
      expect(c.events.filter((e) => e.objectId === touch).slice(-2).map((e) => e.name), 'a cancelled point is gone').to.deep.equal(['down', 'cancel']);
      expect(c.error).to.equal(undefined);
    } finally {
      c.close();
      native.closeFd(fd);
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('weston-simple-touch draws where it is touched', async function () {
    if (!existsSync('/usr/bin/weston-simple-touch')) this.skip(); // .ci/run installs weston
    const h = new WaylandHarness();
    try {
      const scene = new Scene();
      const output = scene.addOutput({ width: 800, height: 600 });
      const views: SceneSurface[] = [];
      followSource(scene, h.server, scene.root, (v) => views.push(v));
      const seat = new SceneSeat(scene, { cursor: false });
      const timer = setInterval(() => output.present(), 16);
      try {
        h.run('weston-simple-touch');
        await h.until('its window', () => views.some((v) => v.mapped));
        const fb = pixelRegion(800, 600);
        output.render(fb, 0);
        const before = fb.pixels32[200 * 800 + 200]!;
        const frames = h.frames.length;
        seat.touch({ action: 'down', id: 0, x: 200, y: 200 });
        seat.touch({ action: 'frame' });
        await h.until('a frame after the touch', () => h.frames.length > frames);
        output.render(fb, 1);
        expect(fb.pixels32[200 * 800 + 200]!, 'the touched pixel changed colour').to.not.equal(before);
        expect(fb.pixels32[400 * 800 + 400]!, 'an untouched one did not').to.equal(before);
        seat.touch({ action: 'up', id: 0 });
        seat.touch({ action: 'frame' });
      } finally {
        clearInterval(timer);
      }
    } finally {
      await h.close();
    }
  });
});
