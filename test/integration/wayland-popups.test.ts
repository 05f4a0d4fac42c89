/**
 * xdg_popup from a raw Wayland client to pixels on a scene output: placed by
 * its positioner inside the output the window is on (flipped here), drawn over
 * its window, dismissed (popup_done) by a press outside its client when it
 * holds a grab, and the protocol's errors for bad positioners and for closing
 * a popup that has a popup open.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as native from '../../lib/native';
import { followSource, pixelRegion, Scene, SceneSeat, type SceneOutput } from '../../lib/scene';
import { wl_keyboard, wl_seat, wl_shm, wl_shm_pool, wl_surface } from '../../lib/wayland/protocol/wayland';
import { xdg_popup, xdg_positioner, xdg_surface, xdg_wm_base } from '../../lib/wayland/protocol/xdg-shell';
import { Adjust, Edge } from '../../lib/wayland/positioner';
import { WaylandServer } from '../../lib/wayland/server';
import type { GraphicsRegion } from '../../lib/mapping/graphics-region';
import { RawWaylandClient, type WaylandEvent } from '../helpers/wayland-client';

const RED = 0xffff0000;
const GREEN = 0xff00ff00;
const WM = xdg_wm_base.enums.error as { not_the_topmost_popup: number; invalid_positioner: number };
const POSITIONER = xdg_positioner.enums.error as { invalid_input: number };

describe('Wayland popups on the scene', function () {
  this.timeout(20000);
  let dir: string;
  let server: WaylandServer;
  let scene: Scene;
  let output: SceneOutput;
  let seat: SceneSeat;
  let fb: GraphicsRegion;
  const fds: number[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bufshare-popups-'));
    server = WaylandServer.listen({ name: join(dir, 'wayland-popups') });
    scene = new Scene({ background: 0xff000000 });
    output = scene.addOutput({ width: 128, height: 128 });
    seat = new SceneSeat(scene);
    fb = pixelRegion(128, 128);
    followSource(scene, server, scene.createTree(), (view) => view.tree.setPosition(20, 20));
  });
  afterEach(async () => {
    await server.close();
    for (const fd of fds.splice(0)) native.closeFd(fd);
    rmSync(dir, { recursive: true, force: true });
  });

  function at(x: number, y: number): number {
    output.render(fb, 1);
    return fb.pixels32[y * 128 + x]! >>> 0;
  }

  /** A shown 64x64 red window and a 16x16 green buffer. */
  async function window(): Promise<{ c: RawWaylandClient; registry: number; wm: number; surface: number; xdgSurface: number; green: number }> {
    const c = new RawWaylandClient(server.path);
    const registry = await c.registry();
    const { surface, xdgSurface, wm } = await c.configuredToplevel(registry);
    const size = 64 * 64 * 4 + 16 * 16 * 4;
    const fd = native.memfdCreate('popups', size, 0);
    fds.push(fd);
    const px = new Uint32Array(native.mmapFd(fd, size, 0, native.PROT_READ | native.PROT_WRITE));
    px.fill(RED, 0, 64 * 64);
    px.fill(GREEN, 64 * 64);
    native.unmapBuffer(px.buffer as ArrayBuffer);
    // Bound before the pool's id is taken: a new id must be the next one, in the order sent.
    const shm = c.bind(registry, wl_shm);
    const pool = c.newId(wl_shm_pool);
    c.request(shm, wl_shm, 'create_pool', [pool, fd, size]);
    const red = c.newId(RawWaylandClient.interface('wl_buffer'));
    c.request(pool, wl_shm_pool, 'create_buffer', [red, 0, 64, 64, 256, 1]);
    const green = c.newId(RawWaylandClient.interface('wl_buffer'));
    c.request(pool, wl_shm_pool, 'create_buffer', [green, 64 * 64 * 4, 16, 16, 64, 1]);
    c.request(surface, wl_surface, 'attach', [red, 0, 0]);
    c.request(surface, wl_surface, 'commit', []);
    await c.roundtrip();
    return { c, registry, wm, surface, xdgSurface, green };
  }

  function positioner(c: RawWaylandClient, wm: number, rules: { size?: [number, number]; rect?: [number, number, number, number]; anchor?: number; gravity?: number; adjust?: number }): number {
    const p = c.newId(xdg_positioner);
    c.request(wm, xdg_wm_base, 'create_positioner', [p]);
    if (rules.size) c.request(p, xdg_positioner, 'set_size', rules.size);
    if (rules.rect) c.request(p, xdg_positioner, 'set_anchor_rect', rules.rect);
    if (rules.anchor !== undefined) c.request(p, xdg_positioner, 'set_anchor', [rules.anchor]);
    if (rules.gravity !== undefined) c.request(p, xdg_positioner, 'set_gravity', [rules.gravity]);
    if (rules.adjust !== undefined) c.request(p, xdg_positioner, 'set_constraint_adjustment', [rules.adjust]);
    return p;
  }

  /** A popup of `parentXdg` (not yet committed): its ids. */
  function popup(c: RawWaylandClient, wm: number, parentXdg: number, p: number, compositorSurface: () => number): { surface: number; xdg: number; popup: number } {
    const surface = compositorSurface();
    const xdg = c.newId(xdg_surface);
    c.request(wm, xdg_wm_base, 'get_xdg_surface', [xdg, surface]);
    const pop = c.newId(xdg_popup);
    c.request(xdg, xdg_surface, 'get_popup', [pop, parentXdg, p]);
    return { surface, xdg, popup: pop };
  }

  const configureOf = (c: RawWaylandClient, id: number): WaylandEvent | undefined => c.events.filter((e) => e.objectId === id && e.name === 'configure').pop();

  async function mapPopup(c: RawWaylandClient, ids: { surface: number; xdg: number; popup: number }, buffer: number): Promise<number[]> {
    c.request(ids.surface, wl_surface, 'commit', []);
    await c.until(() => configureOf(c, ids.xdg) !== undefined);
    c.request(ids.xdg, xdg_surface, 'ack_configure', [configureOf(c, ids.xdg)!.args[0] as number]);
    c.request(ids.surface, wl_surface, 'attach', [buffer, 0, 0]);
    c.request(ids.surface, wl_surface, 'commit', []);
    await c.roundtrip();
    return configureOf(c, ids.popup)!.args as number[];
  }

  function newSurface(c: RawWaylandClient, registry: number): () => number {
    const compositor = c.bind(registry, RawWaylandClient.interface('wl_compositor'));
    return () => {
      const s = c.newId(wl_surface);
      c.request(compositor, RawWaylandClient.interface('wl_compositor'), 'create_surface', [s]);
      return s;
    };
  }

  it('places a menu by its positioner, flipped to stay on the output, over its window; a grab makes a press outside dismiss it', async () => {
    const { c, registry, wm, surface, xdgSurface, green } = await window();
    try {
      // Window at (20, 20) of a 128-wide output: the area right of x = 108 (window coordinates) is off screen.
      const p = positioner(c, wm, { size: [16, 16], rect: [100, 10, 4, 4], anchor: Edge.BottomRight, gravity: Edge.BottomRight, adjust: Adjust.FlipX });
      const ids = popup(c, wm, xdgSurface, p, newSurface(c, registry));
      const wlSeat = c.bind(registry, wl_seat);
      const keyboard = c.newId(wl_keyboard);
      c.request(wlSeat, wl_seat, 'get_keyboard', [keyboard]);
      c.request(ids.popup, xdg_popup, 'grab', [wlSeat, 0]);
      const box = await mapPopup(c, ids, green);
      expect(box, 'flipped: grows left from the anchor rectangle').to.deep.equal([100 - 16, 14, 16, 16]);
      expect(at(20 + 84 + 1, 20 + 14 + 1)).to.equal(GREEN);
      expect(at(20 + 60, 20 + 14 + 1), 'left of the menu: the window').to.equal(RED);
      // A click on the window (the same client) goes to it; one outside every surface dismisses.
      seat.pointer({ action: 'down', x: 25, y: 25, buttons: 1, button: 0 });
      seat.pointer({ action: 'up', x: 25, y: 25, buttons: 0, button: 0 });
      await c.roundtrip();
      expect(c.events.some((e) => e.objectId === ids.popup && e.name === 'popup_done')).to.equal(false);
      // The click gave the window the keyboard; a key goes to the menu, which holds the grab.
      const entered = (): number | undefined => c.events.filter((e) => e.objectId === keyboard && e.name === 'enter').pop()?.args[1] as number | undefined;
      expect(entered()).to.equal(surface);
      seat.key(108, true); // KEY_DOWN
      await c.roundtrip();
      expect(entered(), 'keyboard focus on the grabbing menu').to.equal(ids.surface);
      seat.pointer({ action: 'down', x: 120, y: 120, buttons: 1, button: 0 });
      await c.until(() => c.events.some((e) => e.objectId === ids.popup && e.name === 'popup_done'));
      c.request(ids.popup, xdg_popup, 'destroy', []);
      await c.roundtrip();
      expect(at(20 + 84 + 1, 20 + 14 + 1), 'gone with its role').to.equal(0xff000000);
      // Unmapped: the popup surface still exists, but the keyboard is back on its window once it is gone.
      c.request(ids.surface, wl_surface, 'destroy', []);
      await c.roundtrip();
      expect(entered(), 'keyboard back on the window').to.equal(surface);
      expect(c.error).to.equal(undefined);
    } finally {
      c.close();
    }
  });

  it('a popup of a popup is placed from its parent popup; closing the parent first is not_the_topmost_popup', async () => {
    const { c, registry, wm, xdgSurface, green } = await window();
    try {
      const surfaces = newSurface(c, registry);
      const first = popup(c, wm, xdgSurface, positioner(c, wm, { size: [16, 16], rect: [0, 0, 1, 1], anchor: Edge.BottomRight, gravity: Edge.BottomRight }), surfaces);
      expect(await mapPopup(c, first, green)).to.deep.equal([1, 1, 16, 16]);
      const second = popup(c, wm, first.xdg, positioner(c, wm, { size: [16, 16], rect: [16, 0, 1, 1], anchor: Edge.TopLeft, gravity: Edge.BottomRight }), surfaces);
      expect(await mapPopup(c, second, green)).to.deep.equal([16, 0, 16, 16]);
      // The second lies at the first's (1, 1) + (16, 0) in the window.
      expect(at(20 + 17 + 2, 20 + 1 + 2)).to.equal(GREEN);
      c.request(first.popup, xdg_popup, 'destroy', []);
      await c.until(() => c.error !== undefined);
      expect(c.error).to.deep.include({ code: WM.not_the_topmost_popup });
    } finally {
      c.close();
    }
  });

  it('popups nest 64 deep; the 65th is no_memory for that client (1,500 took 3.6 s of the compositor to make)', async () => {
    const { c, registry, wm, xdgSurface } = await window();
    try {
      const surfaces = newSurface(c, registry);
      let parent = xdgSurface;
      for (let i = 0; i < 64; i++) parent = popup(c, wm, parent, positioner(c, wm, { size: [8, 8], rect: [0, 0, 1, 1], anchor: Edge.BottomRight, gravity: Edge.BottomRight }), surfaces).xdg;
      expect(await c.roundtrip()).to.equal(true);
      expect(c.error).to.equal(undefined);
      popup(c, wm, parent, positioner(c, wm, { size: [8, 8], rect: [0, 0, 1, 1] }), surfaces);
      await c.roundtrip().catch(() => false);
      expect(c.error?.message).to.match(/popups nested over 64 deep/);
    } finally {
      c.close();
    }
  });

  it('a positioner without a size is invalid_positioner; a size of zero is invalid_input', async () => {
    for (const [rules, code, iface] of [[{ rect: [0, 0, 1, 1] as [number, number, number, number] }, WM.invalid_positioner, 'wm'], [{ size: [0, 5] as [number, number] }, POSITIONER.invalid_input, 'positioner']] as const) {
      const { c, registry, wm, xdgSurface } = await window();
      try {
        const p = positioner(c, wm, rules);
        if (iface === 'wm') popup(c, wm, xdgSurface, p, newSurface(c, registry));
        await c.until(() => c.error !== undefined);
        expect(c.error).to.deep.include({ objectId: iface === 'wm' ? wm : p, code });
      } finally {
        c.close();
      }
    }
  });
});
