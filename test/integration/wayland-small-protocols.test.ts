/**
 * The small protocols apps bind, from a raw client to what the compositor
 * sees: wp_single_pixel_buffer_manager_v1 (a colour stretched by a viewport,
 * pixels on a scene output), wp_fractional_scale_manager_v1 (the output's
 * scale in 120ths), xdg_activation_v1 (a token, once, becomes a window
 * request) and zwp_idle_inhibit_manager_v1 (the server's idleInhibited), each
 * with the protocol's errors for misuse.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as native from '../../lib/native';
import { followSource, pixelRegion, Scene, type SceneSurface } from '../../lib/scene';
import type { WindowRequest } from '../../lib/surface-model';
import { wp_fractional_scale_manager_v1, wp_fractional_scale_v1 } from '../../lib/wayland/protocol/fractional-scale';
import { zwp_idle_inhibit_manager_v1, zwp_idle_inhibitor_v1 } from '../../lib/wayland/protocol/idle-inhibit';
import { wp_single_pixel_buffer_manager_v1 } from '../../lib/wayland/protocol/single-pixel-buffer';
import { wp_viewport, wp_viewporter } from '../../lib/wayland/protocol/viewporter';
import { wl_buffer, wl_shm, wl_shm_pool, wl_surface } from '../../lib/wayland/protocol/wayland';
import { xdg_activation_token_v1, xdg_activation_v1 } from '../../lib/wayland/protocol/xdg-activation';
import { WaylandServer } from '../../lib/wayland/server';
import { RawWaylandClient } from '../helpers/wayland-client';

const BG = 0xff000000;

describe('Wayland: single-pixel buffers, fractional scale, activation, idle inhibit', function () {
  this.timeout(20000);
  let dir: string;
  let server: WaylandServer;
  const clients: RawWaylandClient[] = [];
  const fds: number[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bufshare-small-'));
    server = WaylandServer.listen({ name: join(dir, 'wayland-small'), output: { width: 640, height: 480, refreshMilliHz: 60000, name: 'HIDPI-1', scale: 2 } });
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await server.close();
    for (const fd of fds.splice(0)) native.closeFd(fd);
    rmSync(dir, { recursive: true, force: true });
  });

  async function connect(): Promise<{ c: RawWaylandClient; reg: number }> {
    const c = new RawWaylandClient(server.path);
    clients.push(c);
    return { c, reg: await c.registry() };
  }

  /** A toplevel showing a 4x4 XRGB buffer: mapped. */
  async function mappedWindow(c: RawWaylandClient, reg: number): Promise<number> {
    const { surface } = await c.configuredToplevel(reg);
    const shm = c.bind(reg, wl_shm);
    const fd = native.memfdCreate('small', 64, 0);
    fds.push(fd);
    const pool = c.newId(wl_shm_pool);
    c.request(shm, wl_shm, 'create_pool', [pool, fd, 64]);
    const buffer = c.newId(wl_buffer);
    c.request(pool, wl_shm_pool, 'create_buffer', [buffer, 0, 4, 4, 16, 1]);
    c.request(surface, wl_surface, 'attach', [buffer, 0, 0]);
    c.request(surface, wl_surface, 'commit', []);
    await c.roundtrip();
    return surface;
  }

  it('a single-pixel buffer through a viewport paints its colour over the destination, opaque or blended, and nothing past it', async () => {
    const scene = new Scene({ background: BG });
    const output = scene.addOutput({ width: 64, height: 64 });
    const views: SceneSurface[] = [];
    followSource(scene, server, scene.root, (v) => views.push(v));
    const { c, reg } = await connect();
    const { surface } = await c.configuredToplevel(reg);
    const spb = c.bind(reg, wp_single_pixel_buffer_manager_v1);
    const viewporter = c.bind(reg, wp_viewporter);
    const viewport = c.newId(wp_viewport);
    c.request(viewporter, wp_viewporter, 'get_viewport', [viewport, surface]);
    // Opaque orange: 32-bit channels, 0xffffffff is 1.0.
    const orange = c.newId(wl_buffer);
    c.request(spb, wp_single_pixel_buffer_manager_v1, 'create_u32_rgba_buffer', [orange, 0xffffffff, 0x80808080, 0, 0xffffffff]);
    c.request(viewport, wp_viewport, 'set_destination', [40, 30]);
    c.request(surface, wl_surface, 'attach', [orange, 0, 0]);
    c.request(surface, wl_surface, 'commit', []);
    await c.roundtrip();
    expect(c.error).to.equal(undefined);
    const view = views[0]!;
    expect([view.node.width, view.node.height, view.node.opaque]).to.deep.equal([40, 30, true]);
    const fb = pixelRegion(64, 64);
    output.render(fb, 0);
    const px = (x: number, y: number): number => fb.pixels32[y * 64 + x]! >>> 0;
    expect([px(0, 0), px(39, 29), px(40, 0), px(0, 30)]).to.deep.equal([0xffff8000, 0xffff8000, BG, BG]);
    // Half-transparent white (premultiplied: 0.5 each) over the black background: grey.
    const half = c.newId(wl_buffer);
    c.request(spb, wp_single_pixel_buffer_manager_v1, 'create_u32_rgba_buffer', [half, 0x80000000, 0x80000000, 0x80000000, 0x80000000]);
    c.request(surface, wl_surface, 'attach', [half, 0, 0]);
    c.request(surface, wl_surface, 'damage_buffer', [0, 0, 1, 1]);
    c.request(surface, wl_surface, 'commit', []);
    await c.roundtrip();
    output.render(fb, 1);
    expect(view.node.opaque).to.equal(false);
    expect(px(10, 10)).to.equal(0xff808080);
  });

  it('fractional scale: preferred_scale is the output scale in 120ths; a second object for one surface is fractional_scale_exists', async () => {
    const { c, reg } = await connect();
    const { surface } = await c.configuredToplevel(reg);
    const manager = c.bind(reg, wp_fractional_scale_manager_v1);
    const f = c.newId(wp_fractional_scale_v1);
    c.request(manager, wp_fractional_scale_manager_v1, 'get_fractional_scale', [f, surface]);
    await c.roundtrip();
    expect(c.events.filter((e) => e.objectId === f).map((e) => [e.name, ...e.args])).to.deep.equal([['preferred_scale', 240]]);
    // Destroyed, a new one may be made; two at once may not.
    c.request(f, wp_fractional_scale_v1, 'destroy', []);
    const again = c.newId(wp_fractional_scale_v1);
    c.request(manager, wp_fractional_scale_manager_v1, 'get_fractional_scale', [again, surface]);
    await c.roundtrip();
    expect(c.error).to.equal(undefined);
    c.request(manager, wp_fractional_scale_manager_v1, 'get_fractional_scale', [c.newId(wp_fractional_scale_v1), surface]);
    await c.roundtrip();
    expect(c.error?.code).to.equal((wp_fractional_scale_manager_v1.enums.error as { fractional_scale_exists: number }).fractional_scale_exists);
  });

  it('activation: a committed token activates a window once (another client\'s too); used, unknown or after commit it is not', async () => {
    const requests: WindowRequest[] = [];
    server.on('surface', (s) => s.on('windowRequest', (r) => requests.push(r)));
    const app = await connect();
    const surface = await mappedWindow(app.c, app.reg);
    // The launcher, another client, asks for a token.
    const l2 = await connect();
    const act2 = l2.c.bind(l2.reg, xdg_activation_v1);
    const t2 = l2.c.newId(xdg_activation_token_v1);
    l2.c.request(act2, xdg_activation_v1, 'get_activation_token', [t2]);
    l2.c.request(t2, xdg_activation_token_v1, 'set_app_id', ['org.example.App']);
    l2.c.request(t2, xdg_activation_token_v1, 'commit', []);
    await l2.c.roundtrip();
    const done = l2.c.events.find((e) => e.objectId === t2 && e.name === 'done');
    expect(done?.args[0]).to.match(/^[0-9a-f]{32}$/);
    const value = done!.args[0] as string;
    // The app (another client) activates its window with the token it was handed.
    const appActivation = app.c.bind(app.reg, xdg_activation_v1);
    app.c.request(appActivation, xdg_activation_v1, 'activate', [value, surface]);
    await app.c.roundtrip();
    expect(requests).to.deep.equal([{ kind: 'activate' }]);
    app.c.request(appActivation, xdg_activation_v1, 'activate', [value, surface]);
    app.c.request(appActivation, xdg_activation_v1, 'activate', ['0123456789abcdef0123456789abcdef', surface]);
    await app.c.roundtrip();
    expect(requests, 'a used or unknown token does nothing').to.have.length(1);
    expect(app.c.error).to.equal(undefined);
    // Changing a token after its commit is the protocol's already_used.
    l2.c.request(t2, xdg_activation_token_v1, 'set_serial', [1, 1]);
    await l2.c.roundtrip();
    expect(l2.c.error?.code).to.equal((xdg_activation_token_v1.enums.error as { already_used: number }).already_used);
  });

  it('idle inhibit: an inhibitor on a mapped surface keeps idleInhibited true until it, or its client, goes', async () => {
    const changes: boolean[] = [];
    server.on('idleInhibit', (v) => changes.push(v));
    const { c, reg } = await connect();
    const surface = await mappedWindow(c, reg);
    const manager = c.bind(reg, zwp_idle_inhibit_manager_v1);
    const inhibitor = c.newId(zwp_idle_inhibitor_v1);
    c.request(manager, zwp_idle_inhibit_manager_v1, 'create_inhibitor', [inhibitor, surface]);
    await c.roundtrip();
    expect(server.idleInhibited).to.equal(true);
    c.request(inhibitor, zwp_idle_inhibitor_v1, 'destroy', []);
    await c.roundtrip();
    expect(server.idleInhibited).to.equal(false);
    c.request(manager, zwp_idle_inhibit_manager_v1, 'create_inhibitor', [c.newId(zwp_idle_inhibitor_v1), surface]);
    await c.roundtrip();
    expect(server.idleInhibited).to.equal(true);
    c.close();
    const end = Date.now() + 3000;
    while (server.idleInhibited && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    expect(server.idleInhibited, 'its client went').to.equal(false);
    expect(changes).to.deep.equal([true, false, true, false]);
  });
});
