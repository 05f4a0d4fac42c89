/**
 * What a client asks of its window reaches the compositor (CompositorSurface
 * 'windowRequest', wantedState) and the compositor's answer reaches the client:
 * a configure with the maximized state; an interactive move and resize
 * (xdg_toplevel.move / resize during a press) that the scene's seat carries
 * out until the button is up; minimize.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as native from '../../lib/native';
import { followSource, Scene, SceneSeat, type SceneSurface } from '../../lib/scene';
import type { WindowRequest } from '../../lib/surface-model';
import { wl_seat, wl_shm, wl_shm_pool, wl_surface } from '../../lib/wayland/protocol/wayland';
import { xdg_toplevel } from '../../lib/wayland/protocol/xdg-shell';
import { WaylandServer } from '../../lib/wayland/server';
import { RawWaylandClient } from '../helpers/wayland-client';

const STATE = xdg_toplevel.enums.state as { maximized: number; activated: number };

describe('Wayland: window requests (maximize, move) through the model', function () {
  this.timeout(20000);

  it('maximize is asked and configured with its state; move follows the pointer until the button is up', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bufshare-wl-requests-'));
    const server = WaylandServer.listen({ name: join(dir, 'wayland-requests') });
    const scene = new Scene();
    scene.addOutput({ width: 200, height: 200 });
    const requests: WindowRequest[] = [];
    let view: SceneSurface | undefined;
    followSource(scene, server, scene.createTree(), (v) => {
      view = v;
      v.tree.setPosition(10, 10);
      v.surface.on('windowRequest', (r) => requests.push(r));
    });
    const seat = new SceneSeat(scene, { cursor: false });
    const c = new RawWaylandClient(server.path);
    const fd = native.memfdCreate('requests', 32 * 32 * 4, 0);
    try {
      const registry = await c.registry();
      const { surface, xdgSurface } = await c.configuredToplevel(registry);
      const toplevel = xdgSurface + 1;
      const shm = c.bind(registry, wl_shm);
      const pool = c.newId(wl_shm_pool);
      c.request(shm, wl_shm, 'create_pool', [pool, fd, 32 * 32 * 4]);
      const buffer = c.newId(RawWaylandClient.interface('wl_buffer'));
      c.request(pool, wl_shm_pool, 'create_buffer', [buffer, 0, 32, 32, 128, 1]);
      const wlSeat = c.bind(registry, wl_seat);
      c.request(wlSeat, wl_seat, 'get_pointer', [c.newId(RawWaylandClient.interface('wl_pointer'))]);
      c.request(surface, wl_surface, 'attach', [buffer, 0, 0]);
      c.request(surface, wl_surface, 'commit', []);
      await c.until(() => view !== undefined);

      c.request(toplevel, xdg_toplevel, 'set_maximized', []);
      await c.roundtrip();
      expect(requests).to.deep.equal([{ kind: 'maximize' }]);
      expect(view!.surface.wantedState).to.deep.equal({ maximized: true, fullscreen: false });
      view!.surface.configure!(200, 180, { maximized: true });
      await c.roundtrip();
      const last = c.events.filter((e) => e.objectId === toplevel && e.name === 'configure').pop()!;
      const states = new Uint32Array((last.args[2] as Uint8Array).slice().buffer);
      expect([last.args[0], last.args[1], [...states].sort()]).to.deep.equal([200, 180, [STATE.maximized, STATE.activated].sort()]);

      // A press on the window, then the client's move: the window follows the pointer.
      seat.pointer({ action: 'down', x: 20, y: 20, buttons: 1, button: 0 });
      await c.roundtrip();
      const press = c.events.filter((e) => e.name === 'button').pop()!;
      c.request(toplevel, xdg_toplevel, 'move', [wlSeat, press.args[0] as number]);
      await c.roundtrip();
      expect(requests.at(-1)).to.deep.equal({ kind: 'move' });
      expect(seat.startMove(view!)).to.equal(true);
      seat.pointer({ action: 'move', x: 60, y: 45, buttons: 1 });
      expect([view!.tree.x, view!.tree.y]).to.deep.equal([50, 35]);
      seat.pointer({ action: 'up', x: 70, y: 45, buttons: 0, button: 0 });
      seat.pointer({ action: 'move', x: 150, y: 150, buttons: 0 });
      expect([view!.tree.x, view!.tree.y], 'the move ends with the button').to.deep.equal([60, 35]);
      expect(seat.startMove(view!), 'no move without a button down').to.equal(false);

      // A press on its border and the client's resize from the top-left corner: each motion configures
      // the new size, and the window moves so that its bottom-right corner stays put.
      seat.pointer({ action: 'down', x: 61, y: 36, buttons: 1, button: 0 });
      await c.roundtrip();
      const press2 = c.events.filter((e) => e.name === 'button').pop()!;
      c.request(toplevel, xdg_toplevel, 'resize', [wlSeat, press2.args[0] as number, 5 /* top_left */]);
      await c.roundtrip();
      expect(requests.at(-1)).to.deep.equal({ kind: 'resize', edges: 5 });
      expect(seat.startResize(view!, 5)).to.equal(true);
      seat.pointer({ action: 'move', x: 51, y: 26, buttons: 1 });
      await c.roundtrip();
      const sized = c.events.filter((e) => e.objectId === toplevel && e.name === 'configure').pop()!;
      expect([sized.args[0], sized.args[1]], '10 more each way').to.deep.equal([42, 42]);
      expect([view!.tree.x, view!.tree.y]).to.deep.equal([50, 25]);
      seat.pointer({ action: 'move', x: 200, y: 200, buttons: 1 });
      await c.roundtrip();
      const tiny = c.events.filter((e) => e.objectId === toplevel && e.name === 'configure').pop()!;
      expect([tiny.args[0], tiny.args[1]], 'never below 1x1').to.deep.equal([1, 1]);
      seat.pointer({ action: 'up', x: 200, y: 200, buttons: 0, button: 0 });
      const configures = c.events.filter((e) => e.objectId === toplevel && e.name === 'configure').length;
      seat.pointer({ action: 'move', x: 10, y: 10, buttons: 0 });
      await c.roundtrip();
      expect(c.events.filter((e) => e.objectId === toplevel && e.name === 'configure').length, 'the resize ends with the button').to.equal(configures);

      c.request(toplevel, xdg_toplevel, 'set_minimized', []);
      await c.roundtrip();
      expect(requests.at(-1)).to.deep.equal({ kind: 'minimize' });
      expect(c.error).to.equal(undefined);
    } finally {
      c.close();
      native.closeFd(fd);
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
