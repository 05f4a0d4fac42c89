/**
 * The pointer image on a scene output: the compositor's arrow by default; over a
 * Wayland client that set a cursor surface (wl_pointer.set_cursor), that surface
 * at the pointer less its hotspot; hidden when the client sets none (null); the
 * arrow again off the client's window. Hit tests pass through the cursor.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as native from '../../lib/native';
import { followSource, pixelRegion, Scene, SceneBuffer, SceneSeat } from '../../lib/scene';
import { wp_cursor_shape_device_v1, wp_cursor_shape_manager_v1 } from '../../lib/wayland/protocol/cursor-shape';
import { wl_compositor, wl_pointer, wl_seat, wl_shm, wl_shm_pool, wl_surface } from '../../lib/wayland/protocol/wayland';
import { WaylandServer } from '../../lib/wayland/server';
import { RawWaylandClient } from '../helpers/wayland-client';

const BG = 0xff000000;
const RED = 0xffff0000;
const GREEN = 0xff00ff00;

describe('the seat\'s cursor on the scene', function () {
  this.timeout(20000);

  /**
   * A 128x128 scene following a Wayland server, its seat, and a raw client whose
   * window shows a 64x64 red buffer at (0, 0) and that has a pointer; `green` is an
   * 8x8 buffer of its pool for a cursor. Everything goes after `body`.
   */
  async function withWindow(body: (w: { c: RawWaylandClient; registry: number; surface: number; pointer: number; red: number; green: number; seat: SceneSeat; at: (x: number, y: number) => number }) => Promise<void>): Promise<void> {
    const dir = mkdtempSync(join(tmpdir(), 'bufshare-cursor-'));
    const server = WaylandServer.listen({ name: join(dir, 'wayland-cursor') });
    const scene = new Scene({ background: BG });
    const output = scene.addOutput({ width: 128, height: 128 });
    const fb = pixelRegion(128, 128);
    followSource(scene, server, scene.createTree(), (view) => view.tree.setPosition(0, 0));
    const seat = new SceneSeat(scene);
    const c = new RawWaylandClient(server.path);
    const fd = native.memfdCreate('cursor', 64 * 64 * 4 + 8 * 8 * 4, 0);
    const at = (x: number, y: number): number => {
      output.render(fb, 1);
      return fb.pixels32[y * 128 + x]! >>> 0;
    };
    try {
      const registry = await c.registry();
      const { surface } = await c.configuredToplevel(registry);
      const px = new Uint32Array(native.mmapFd(fd, 64 * 64 * 4 + 256, 0, native.PROT_READ | native.PROT_WRITE));
      px.fill(RED, 0, 64 * 64);
      px.fill(GREEN, 64 * 64);
      native.unmapBuffer(px.buffer as ArrayBuffer);
      const shm = c.bind(registry, wl_shm); // ids in order: bind before the pool's
      const pool = c.newId(wl_shm_pool);
      c.request(shm, wl_shm, 'create_pool', [pool, fd, 64 * 64 * 4 + 256]);
      const red = c.newId(RawWaylandClient.interface('wl_buffer'));
      c.request(pool, wl_shm_pool, 'create_buffer', [red, 0, 64, 64, 256, 1]);
      const green = c.newId(RawWaylandClient.interface('wl_buffer'));
      c.request(pool, wl_shm_pool, 'create_buffer', [green, 64 * 64 * 4, 8, 8, 32, 1]);
      c.request(surface, wl_surface, 'attach', [red, 0, 0]);
      c.request(surface, wl_surface, 'commit', []);
      const wlSeat = c.bind(registry, wl_seat);
      const pointer = c.newId(wl_pointer);
      c.request(wlSeat, wl_seat, 'get_pointer', [pointer]);
      await c.roundtrip();
      await body({ c, registry, surface, pointer, red, green, seat, at });
    } finally {
      c.close();
      native.closeFd(fd);
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('draws the arrow, the client\'s cursor surface at its hotspot over its window, nothing when hidden', () => withWindow(async ({ c, registry, surface, pointer, green, seat, at }) => {
    seat.pointer({ action: 'move', x: 90, y: 90, buttons: 0 });
    expect(at(90, 91), 'the arrow\'s outline at its tip').to.equal(0xff000000);
    expect(at(91, 92), 'its white fill').to.equal(0xffffffff);
    // Over the window: the client has set no cursor yet, so still the arrow.
    seat.pointer({ action: 'move', x: 20, y: 20, buttons: 0 });
    expect(at(21, 22)).to.equal(0xffffffff);
    const compositor = c.bind(registry, wl_compositor);
    const cursor = c.newId(wl_surface);
    c.request(compositor, wl_compositor, 'create_surface', [cursor]);
    c.request(cursor, wl_surface, 'attach', [green, 0, 0]);
    c.request(cursor, wl_surface, 'commit', []);
    await c.roundtrip();
    const enter = c.events.filter((e) => e.objectId === pointer && e.name === 'enter').pop()!;
    c.request(pointer, wl_pointer, 'set_cursor', [enter.args[0] as number, cursor, 2, 3]);
    await c.roundtrip();
    expect(at(20 - 2, 20 - 3), 'the cursor surface, its hotspot on the pointer').to.equal(GREEN);
    expect(at(20 + 5, 20 + 4)).to.equal(GREEN);
    expect(at(20 + 6, 20 + 5), 'past its 8x8').to.equal(RED);
    // A click goes through the cursor to the window.
    seat.pointer({ action: 'down', x: 20, y: 20, buttons: 1, button: 0 });
    seat.pointer({ action: 'up', x: 20, y: 20, buttons: 0, button: 0 });
    await c.roundtrip();
    expect(c.events.filter((e) => e.objectId === pointer && e.name === 'button')).to.have.length(2);
    c.request(pointer, wl_pointer, 'set_cursor', [enter.args[0] as number, 0, 0, 0]);
    await c.roundtrip();
    expect(at(20 - 2, 20 - 3), 'hidden').to.equal(RED);
    expect(at(21, 22)).to.equal(RED);
    seat.pointer({ action: 'move', x: 100, y: 100, buttons: 0 });
    expect(at(101, 102), 'the arrow again, off the window').to.equal(0xffffffff);
    expect(c.error).to.equal(undefined);
  }));

  it('a cursor hotspot at the int32 edge is kept far off screen: no error for the client, and the pointer entering its window does not throw (it ended the compositor)', () => withWindow(async ({ c, registry, pointer, green, seat, at }) => {
    const compositor = c.bind(registry, wl_compositor);
    const cursor = c.newId(wl_surface);
    c.request(compositor, wl_compositor, 'create_surface', [cursor]);
    c.request(cursor, wl_surface, 'attach', [green, 0, 0]);
    c.request(cursor, wl_surface, 'commit', []);
    await c.roundtrip();
    seat.pointer({ action: 'move', x: 20, y: 20, buttons: 0 });
    await c.roundtrip();
    const enter = c.events.filter((e) => e.objectId === pointer && e.name === 'enter').pop()!;
    c.request(pointer, wl_pointer, 'set_cursor', [enter.args[0] as number, cursor, 0x7fffffff, -0x80000000]);
    expect(await c.roundtrip()).to.equal(true);
    expect(c.error, 'a legal hotspot').to.equal(undefined);
    expect(at(20, 20), 'the cursor is far off: the window shows').to.equal(RED);
    // Out and in again: the seat puts the client's cursor back at the pointer.
    seat.pointer({ action: 'move', x: 100, y: 100, buttons: 0 });
    expect(() => seat.pointer({ action: 'move', x: 30, y: 30, buttons: 0 })).to.not.throw();
    await c.roundtrip();
    expect(at(30, 30)).to.equal(RED);
    expect(at(101, 102), 'no arrow left behind').to.equal(BG);
    expect(c.error).to.equal(undefined);
  }));

  it('cursor-shape: a named shape shows the compositor\'s image for it (the arrow without one), with the enter\'s serial only; a shape not in the enum is invalid_shape', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bufshare-cursor-shape-'));
    const server = WaylandServer.listen({ name: join(dir, 'wayland-cursor-shape') });
    const scene = new Scene({ background: BG });
    const output = scene.addOutput({ width: 128, height: 128 });
    const fb = pixelRegion(128, 128);
    followSource(scene, server, scene.createTree());
    // The compositor's I-beam: a blue 4x8 image, its hotspot in its middle.
    const beam = pixelRegion(4, 8);
    beam.pixels32.fill(0xff0000ff);
    const seat = new SceneSeat(scene, { cursorImages: (shape) => (shape === 'text' ? { buffer: new SceneBuffer(beam, () => {}), hotspotX: 2, hotspotY: 4 } : undefined) });
    const c = new RawWaylandClient(server.path);
    const fd = native.memfdCreate('cursor-shape', 64 * 64 * 4, 0);
    const at = (x: number, y: number): number => {
      output.render(fb, 1);
      return fb.pixels32[y * 128 + x]! >>> 0;
    };
    try {
      const registry = await c.registry();
      const { surface } = await c.configuredToplevel(registry);
      const px = new Uint32Array(native.mmapFd(fd, 64 * 64 * 4, 0, native.PROT_READ | native.PROT_WRITE));
      px.fill(RED);
      native.unmapBuffer(px.buffer as ArrayBuffer);
      const shm = c.bind(registry, wl_shm);
      const pool = c.newId(wl_shm_pool);
      c.request(shm, wl_shm, 'create_pool', [pool, fd, 64 * 64 * 4]);
      const red = c.newId(RawWaylandClient.interface('wl_buffer'));
      c.request(pool, wl_shm_pool, 'create_buffer', [red, 0, 64, 64, 256, 1]);
      c.request(surface, wl_surface, 'attach', [red, 0, 0]);
      c.request(surface, wl_surface, 'commit', []);
      const wlSeat = c.bind(registry, wl_seat);
      const pointer = c.newId(wl_pointer);
      c.request(wlSeat, wl_seat, 'get_pointer', [pointer]);
      const manager = c.bind(registry, wp_cursor_shape_manager_v1);
      const device = c.newId(wp_cursor_shape_device_v1);
      c.request(manager, wp_cursor_shape_manager_v1, 'get_pointer', [device, pointer]);
      await c.roundtrip();
      seat.pointer({ action: 'move', x: 20, y: 20, buttons: 0 });
      await c.roundtrip();
      const enter = c.events.filter((e) => e.objectId === pointer && e.name === 'enter').pop()!;
      const SHAPE = wp_cursor_shape_device_v1.enums.shape as Record<string, number>;
      c.request(device, wp_cursor_shape_device_v1, 'set_shape', [(enter.args[0] as number) + 1000, SHAPE.text!]);
      await c.roundtrip();
      expect(at(21, 22), 'a stale serial: still the arrow').to.equal(0xffffffff);
      c.request(device, wp_cursor_shape_device_v1, 'set_shape', [enter.args[0] as number, SHAPE.text!]);
      await c.roundtrip();
      expect([at(18, 16), at(21, 23)], 'the I-beam, its hotspot on the pointer').to.deep.equal([0xff0000ff, 0xff0000ff]);
      expect([at(22, 20), at(21, 24)], 'past its 4x8: the window').to.deep.equal([RED, RED]);
      c.request(device, wp_cursor_shape_device_v1, 'set_shape', [enter.args[0] as number, SHAPE.crosshair!]);
      await c.roundtrip();
      expect(at(21, 22), 'a shape without an image: the arrow').to.equal(0xffffffff);
      c.request(device, wp_cursor_shape_device_v1, 'set_shape', [enter.args[0] as number, 99]);
      await c.roundtrip();
      expect(c.error?.code).to.equal((wp_cursor_shape_device_v1.enums.error as { invalid_shape: number }).invalid_shape);
    } finally {
      c.close();
      native.closeFd(fd);
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
