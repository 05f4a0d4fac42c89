/**
 * zxdg_decoration_manager_v1: who draws a window's title bar and borders.
 *
 * With `mode: 'server'` (the compositor draws them: WaylandServer's
 * `decorations` option) a window is configured server-side unless its client
 * asks for client-side (set_mode is honoured, as wlroots does by default);
 * unset_mode goes back to the compositor's choice. With `mode: 'client'` every
 * window draws its own. The mode reaches the compositor as
 * CompositorSurface.decoration and its 'decoration' event; each change is a new
 * configure sequence, acked by the client as the protocol has it.
 */
import type { Global } from '../global';
import { zxdg_decoration_manager_v1, zxdg_toplevel_decoration_v1 } from '../protocol/xdg-decoration';
import type { Resource } from '../resource';
import type { Toplevel } from './xdg-shell';

const ERROR = zxdg_toplevel_decoration_v1.enums.error as { already_constructed: number; orphaned: number };
const MODE = zxdg_toplevel_decoration_v1.enums.mode as { client_side: number; server_side: number };

export function decorationGlobal(policy: 'server' | 'client'): Global {
  return {
    spec: zxdg_decoration_manager_v1,
    version: 1,
    bind(client, id, version) {
      client.create(id, zxdg_decoration_manager_v1, version, {
        get_toplevel_decoration: (r, [did, toplevelId]) => {
          const toplevel = (client.lookup(toplevelId as number) as Resource<Toplevel>).data;
          if (toplevel.decoration !== undefined && !toplevel.decoration.destroyed) {
            throw r.error(ERROR.already_constructed, `xdg_toplevel@${toplevel.resource.id} already has a decoration object`);
          }
          let requested: number | undefined;
          const apply = (): void => {
            const mode = policy === 'client' ? MODE.client_side : requested ?? MODE.server_side;
            deco.post('configure', mode);
            toplevel.surface.setDecoration(mode === MODE.server_side ? 'server' : 'client');
            toplevel.reconfigure();
          };
          const deco = client.create(did as number, zxdg_toplevel_decoration_v1, version, {
            set_mode: (_d, [mode]) => {
              requested = mode === MODE.client_side ? MODE.client_side : MODE.server_side;
              apply();
            },
            unset_mode: () => {
              requested = undefined;
              apply();
            },
          }, undefined);
          toplevel.decoration = deco;
          deco.onDestroy(() => {
            if (!toplevel.resource.destroyed) toplevel.surface.setDecoration(undefined);
          });
          // The protocol's order: the decoration goes before its toplevel.
          toplevel.resource.onDestroy(() => {
            if (!deco.destroyed && !client.closed) client.fail(deco.error(ERROR.orphaned, `xdg_toplevel@${toplevel.resource.id} destroyed before its decoration object`));
          });
          apply();
        },
      }, undefined);
    },
  };
}
