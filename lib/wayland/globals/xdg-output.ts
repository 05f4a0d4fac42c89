/**
 * zxdg_output_manager_v1 (xdg-output, unstable v1, version 3): where an output
 * lies in the compositor's layout, in logical pixels, and its name: the
 * logical size is the mode's over the output's scale (rounded up, as the
 * scene's layout does).
 *
 * Version 3 ends an xdg_output's events with wl_output.done on the wl_output it
 * describes (its own done is deprecated); earlier versions get xdg_output.done.
 */
import type { Global } from '../global';
import { zxdg_output_manager_v1, zxdg_output_v1 } from '../protocol/xdg-output';
import type { Resource } from '../resource';
import { outputDescription, type OutputGlobal } from './output';

export function xdgOutputGlobal(output: OutputGlobal): Global {
  return {
    spec: zxdg_output_manager_v1,
    version: 3,
    bind(client, id, version) {
      client.create(id, zxdg_output_manager_v1, version, {
        get_xdg_output: (manager, [xid, outputId]) => {
          // The wl_output argument was checked to be a live wl_output; there is one output.
          const wlOutput = client.lookup(outputId as number) as Resource<unknown>;
          const info = output.info;
          const r = client.create(xid as number, zxdg_output_v1, manager.version, {}, undefined);
          r.post('logical_position', info.x ?? 0, info.y ?? 0);
          const scale = info.scale ?? 1;
          r.post('logical_size', Math.ceil(info.width / scale), Math.ceil(info.height / scale));
          r.post('name', info.name);
          r.post('description', outputDescription(info));
          if (r.version >= 3) wlOutput.post('done');
          else r.post('done');
        },
      }, undefined);
    },
  };
}
