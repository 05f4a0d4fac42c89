/**
 * zxdg_decoration_manager_v1 from a raw client: the compositor's choice
 * (server-side) at first, the client's set_mode honoured, unset_mode back to
 * the compositor's, each a configure sequence and CompositorSurface.decoration;
 * a second decoration object is already_constructed, a toplevel destroyed
 * before its decoration is orphaned; with `decorations: 'client'` every window
 * draws its own.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zxdg_decoration_manager_v1, zxdg_toplevel_decoration_v1 } from '../../lib/wayland/protocol/xdg-decoration';
import { xdg_toplevel } from '../../lib/wayland/protocol/xdg-shell';
import { WaylandServer } from '../../lib/wayland/server';
import type { WaylandSurface } from '../../lib/wayland/surface';
import { RawWaylandClient } from '../helpers/wayland-client';

const MODE = zxdg_toplevel_decoration_v1.enums.mode as { client_side: number; server_side: number };
const ERROR = zxdg_toplevel_decoration_v1.enums.error as { already_constructed: number; orphaned: number };

describe('Wayland: xdg-decoration', function () {
  this.timeout(10000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bufshare-wl-deco-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function setup(decorations: 'server' | 'client'): Promise<{ server: WaylandServer; c: RawWaylandClient; deco: number; toplevel: number; surfaceOf: () => WaylandSurface | undefined }> {
    const server = WaylandServer.listen({ name: join(dir, 'wayland-deco'), decorations });
    const c = new RawWaylandClient(server.path);
    const registry = await c.registry();
    const { xdgSurface } = await c.configuredToplevel(registry);
    // configuredToplevel made the toplevel right after the xdg_surface.
    const toplevel = xdgSurface + 1;
    const manager = c.bind(registry, zxdg_decoration_manager_v1);
    const deco = c.newId(zxdg_toplevel_decoration_v1);
    c.request(manager, zxdg_decoration_manager_v1, 'get_toplevel_decoration', [deco, toplevel]);
    await c.roundtrip();
    let surface: WaylandSurface | undefined;
    for (const client of server.clients) for (let id = 2; id < 40; id++) {
      const r = client.lookup(id);
      if (r?.spec.name === 'wl_surface') surface = r.data as WaylandSurface;
    }
    return { server, c, deco, toplevel, surfaceOf: () => surface };
  }

  const modes = (c: RawWaylandClient, deco: number): number[] => c.events.filter((e) => e.objectId === deco && e.name === 'configure').map((e) => e.args[0] as number);

  it('server-side by default, the client\'s set_mode honoured, unset_mode back; each a new configure', async () => {
    const { server, c, deco, toplevel, surfaceOf } = await setup('server');
    try {
      expect(modes(c, deco)).to.deep.equal([MODE.server_side]);
      expect(surfaceOf()?.decoration).to.equal('server');
      const configures = (): number => c.events.filter((e) => e.objectId === toplevel && e.name === 'configure').length;
      const before = configures();
      c.request(deco, zxdg_toplevel_decoration_v1, 'set_mode', [MODE.client_side]);
      await c.roundtrip();
      expect(modes(c, deco).at(-1)).to.equal(MODE.client_side);
      expect(surfaceOf()?.decoration).to.equal('client');
      expect(configures(), 'a new configure sequence').to.equal(before + 1);
      c.request(deco, zxdg_toplevel_decoration_v1, 'unset_mode', []);
      await c.roundtrip();
      expect(modes(c, deco).at(-1)).to.equal(MODE.server_side);
      c.request(deco, zxdg_toplevel_decoration_v1, 'destroy', []);
      await c.roundtrip();
      expect(surfaceOf()?.decoration, 'no decoration object: the client did not say').to.equal(undefined);
      expect(c.error).to.equal(undefined);
    } finally {
      c.close();
      await server.close();
    }
  });

  it('with decorations: \'client\', every window draws its own, whatever it asks', async () => {
    const { server, c, deco } = await setup('client');
    try {
      c.request(deco, zxdg_toplevel_decoration_v1, 'set_mode', [MODE.server_side]);
      await c.roundtrip();
      expect(modes(c, deco)).to.deep.equal([MODE.client_side, MODE.client_side]);
    } finally {
      c.close();
      await server.close();
    }
  });

  it('a second decoration object is already_constructed; a toplevel destroyed before its decoration is orphaned', async () => {
    for (const attack of ['twice', 'orphan'] as const) {
      const { server, c, deco, toplevel } = await setup('server');
      try {
        if (attack === 'twice') {
          const second = c.newId(zxdg_toplevel_decoration_v1);
          // The manager was bound just before the decoration object was made.
          c.request(deco - 1, zxdg_decoration_manager_v1, 'get_toplevel_decoration', [second, toplevel]);
        } else {
          c.request(toplevel, xdg_toplevel, 'destroy', []);
        }
        await c.until(() => c.error !== undefined);
        expect(c.error!.code, attack).to.equal(attack === 'twice' ? ERROR.already_constructed : ERROR.orphaned);
        expect(c.error!.objectId).to.equal(attack === 'twice' ? deco - 1 : deco);
      } finally {
        c.close();
        await server.close();
      }
    }
  });
});
