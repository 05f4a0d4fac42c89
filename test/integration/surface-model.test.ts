// One model: a compositor that handles surfaces and input with no branch on their
// origin, fed by a bufshare client and a Wayland client at once. Input goes out on
// each protocol's own wire: bufshare's event channel, wl_seat.
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BufferClient, BufferServer, type JsonValue } from '../../lib';
import * as native from '../../lib/native';
import type { CompositorFrame, CompositorSurface, SurfaceSource } from '../../lib/surface-model';
import { wl_compositor, wl_keyboard, wl_pointer, wl_seat, wl_shm, wl_shm_pool, wl_surface } from '../../lib/wayland/protocol/wayland';
import { xdg_surface, xdg_toplevel, xdg_wm_base } from '../../lib/wayland/protocol/xdg-shell';
import { WaylandServer } from '../../lib/wayland/server';
import { RawWaylandClient } from '../helpers/wayland-client';

/** The whole "compositor": it never asks where a surface came from. */
class TinyCompositor {
  readonly surfaces: CompositorSurface[] = [];
  readonly shown = new Map<CompositorSurface, { frame: CompositorFrame; firstPixel: number }>();

  constructor(sources: SurfaceSource[]) {
    for (const source of sources) {
      source.on('surface', (s) => this.surfaces.push(s));
      source.on('frame', (f) => {
        this.shown.get(f.surface)?.frame.release();
        this.shown.set(f.surface, { frame: f, firstPixel: f.region.pixels32[0]! });
        f.surface.frameDone();
      });
      source.on('surfaceDestroyed', (s) => this.shown.get(s)?.frame.release());
    }
  }

  clickAndType(surface: CompositorSurface): void {
    surface.pointer({ action: 'motion', x: 10, y: 20, buttons: 0 });
    surface.pointer({ action: 'down', x: 10, y: 20, buttons: 1, button: 0 });
    surface.pointer({ action: 'up', x: 10, y: 20, buttons: 0, button: 0 });
    surface.pointer({ action: 'axis', x: 10, y: 20, buttons: 0, axis: 'vertical', value: 15 });
    surface.keyboard({ action: 'enter' });
    surface.keyboard({ action: 'key', key: 42, pressed: true }); // shift
    surface.keyboard({ action: 'key', key: 30, pressed: true }); // A
    surface.keyboard({ action: 'key', key: 30, pressed: false });
    surface.keyboard({ action: 'key', key: 42, pressed: false });
    surface.pointer({ action: 'leave', x: 0, y: 0, buttons: 0 });
  }

  close(): void {
    for (const { frame } of this.shown.values()) frame.release();
  }
}

describe('one surface model for bufshare and Wayland clients', function () {
  this.timeout(20000);
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bufshare-model-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('frames from both arrive through the same events; input reaches each on its own wire', async () => {
    const bufshare = BufferServer.listen({ path: join(dir, 'bufshare-0') });
    const wayland = WaylandServer.listen({ name: join(dir, 'wayland-0') });
    const compositor = new TinyCompositor([bufshare, wayland]);

    // A bufshare client: one red frame.
    const client = await BufferClient.connect({ path: bufshare.path });
    const surface = await client.createSurface({ width: 32, height: 32, format: 'XRGB8888', usage: 'software' });
    const events: JsonValue[] = [];
    surface.on('event', (e) => events.push(e));
    const { buffer, region } = await surface.nextBuffer();
    region.pixels32.fill(0xffff0000);
    surface.submit(buffer, [{ x: 0, y: 0, width: 32, height: 32 }]);

    // A Wayland client: a configured toplevel with one green 64x64 frame, a pointer and a keyboard.
    const w = new RawWaylandClient(wayland.path);
    const registry = await w.registry();
    const comp = w.bind(registry, wl_compositor);
    const shm = w.bind(registry, wl_shm);
    const wm = w.bind(registry, xdg_wm_base);
    const seat = w.bind(registry, wl_seat);
    const pointer = w.newId(wl_pointer);
    w.request(seat, wl_seat, 'get_pointer', [pointer]);
    const keyboard = w.newId(wl_keyboard);
    w.request(seat, wl_seat, 'get_keyboard', [keyboard]);
    const ws = w.newId(wl_surface);
    w.request(comp, wl_compositor, 'create_surface', [ws]);
    const xs = w.newId(xdg_surface);
    w.request(wm, xdg_wm_base, 'get_xdg_surface', [xs, ws]);
    const top = w.newId(xdg_toplevel);
    w.request(xs, xdg_surface, 'get_toplevel', [top]);
    w.request(top, xdg_toplevel, 'set_title', ['green']);
    w.request(ws, wl_surface, 'commit', []);
    await w.until(() => w.events.some((e) => e.objectId === xs && e.name === 'configure'));
    w.request(xs, xdg_surface, 'ack_configure', [w.events.find((e) => e.objectId === xs && e.name === 'configure')!.args[0]!]);
    const memfd = native.memfdCreate('green', 64 * 64 * 4, 0);
    const mem = native.mmapFd(memfd, 64 * 64 * 4, 0, native.PROT_READ | native.PROT_WRITE);
    new Uint32Array(mem).fill(0xff00ff00);
    native.unmapBuffer(mem);
    const pool = w.newId(wl_shm_pool);
    w.request(shm, wl_shm, 'create_pool', [pool, memfd, 64 * 64 * 4]);
    native.closeFd(memfd);
    const wbuf = w.newId(RawWaylandClient.interface('wl_buffer'));
    w.request(pool, wl_shm_pool, 'create_buffer', [wbuf, 0, 64, 64, 256, 1]);
    w.request(ws, wl_surface, 'attach', [wbuf, 0, 0]);
    w.request(ws, wl_surface, 'damage_buffer', [0, 0, 64, 64]);
    w.request(ws, wl_surface, 'commit', []);

    try {
      await w.until(() => compositor.shown.size === 2, 5000);
      const byTitle = new Map(compositor.surfaces.map((s) => [s.title === 'green' ? 'wayland' : 'bufshare', s]));
      expect(compositor.shown.get(byTitle.get('bufshare')!)!.firstPixel >>> 0).to.equal(0xffff0000);
      expect(compositor.shown.get(byTitle.get('wayland')!)!.firstPixel >>> 0).to.equal(0xff00ff00);
      expect([byTitle.get('wayland')!.width, byTitle.get('wayland')!.height]).to.deep.equal([64, 64]);

      for (const s of compositor.surfaces) compositor.clickAndType(s);

      // bufshare: the event channel carries the same input, as JSON.
      await w.until(() => events.length >= 10);
      expect(events.slice(0, 4)).to.deep.equal([
        { type: 'pointer', action: 'motion', x: 10, y: 20, buttons: 0 },
        { type: 'pointer', action: 'down', x: 10, y: 20, buttons: 1, button: 0 },
        { type: 'pointer', action: 'up', x: 10, y: 20, buttons: 0, button: 0 },
        { type: 'pointer', action: 'axis', x: 10, y: 20, buttons: 0, axis: 'vertical', value: 15 },
      ]);
      expect(events[6]).to.deep.equal({ type: 'keyboard', action: 'key', key: 30, pressed: true });

      // Wayland: wl_pointer and wl_keyboard events, enter first, with the surface and surface-local coordinates.
      await w.until(() => w.events.some((e) => e.objectId === pointer && e.name === 'leave'));
      const p = w.events.filter((e) => e.objectId === pointer).map((e) => [e.name, ...e.args.slice(e.name === 'enter' ? 1 : e.name === 'button' ? 2 : e.name === 'leave' ? 1 : 1)]);
      expect(p).to.deep.equal([
        ['enter', ws, 10, 20], ['frame'],
        ['button', 0x110, 1], ['frame'],
        ['button', 0x110, 0], ['frame'],
        ['axis', 0, 15], ['frame'],
        ['leave', ws], ['frame'],
      ]);
      await w.until(() => w.events.filter((e) => e.objectId === keyboard && e.name === 'key').length === 4);
      const k = w.events.filter((e) => e.objectId === keyboard).map((e) => e.name === 'key' ? ['key', e.args[2], e.args[3]] : e.name === 'modifiers' ? ['modifiers', e.args[1]] : [e.name]);
      expect(k).to.deep.equal([
        ['keymap'], ['repeat_info'], ['enter'], ['modifiers', 0],
        ['key', 42, 1], ['modifiers', 1], ['key', 30, 1], ['key', 30, 0], ['key', 42, 0], ['modifiers', 0],
      ]);
      // The keymap is a sealed memfd with the keymap text.
      const keymapFd = w.events.find((e) => e.name === 'keymap')!.args[1] as number;
      const c = native.constants;
      expect(native.getSeals(keymapFd) & (c.F_SEAL_SHRINK | c.F_SEAL_GROW | c.F_SEAL_WRITE)).to.equal(c.F_SEAL_SHRINK | c.F_SEAL_GROW | c.F_SEAL_WRITE);
    } finally {
      compositor.close();
      w.close();
      await client.close();
      await wayland.close();
      await bufshare.close();
    }
  });
});
