/** wl_output: one, describing the compositor's output; it knows each client's bindings of it (for wp_presentation's sync_output, xdg-output's done). */
import type { OutputInfo } from '../../output-info';
import type { WaylandClient } from '../client';
import type { Global } from '../global';
import { wl_output } from '../protocol/wayland';
import type { Resource } from '../resource';

export type { OutputInfo } from '../../output-info';

const MODE = wl_output.enums.mode as { current: number; preferred: number };

export interface OutputGlobal extends Global {
  readonly info: OutputInfo;
  /** The client's live wl_output resources of this output (a client may bind it more than once). */
  resourcesOf(client: WaylandClient): readonly Resource<unknown>[];
}

export function outputGlobal(info: OutputInfo): OutputGlobal {
  const bound = new Map<WaylandClient, Resource<unknown>[]>();
  return {
    spec: wl_output,
    version: 4,
    info,
    resourcesOf: (client) => bound.get(client) ?? [],
    bind(client, id, version) {
      const r = client.create(id, wl_output, version, {}, undefined);
      const list = bound.get(client) ?? [];
      list.push(r);
      bound.set(client, list);
      r.onDestroy(() => {
        const left = (bound.get(client) ?? []).filter((o) => o !== r);
        if (left.length === 0) bound.delete(client);
        else bound.set(client, left);
      });
      // 0 x 0 mm where the size is unknown (a virtual output), as the protocol allows.
      r.post('geometry', info.x ?? 0, info.y ?? 0, info.physicalWidth ?? 0, info.physicalHeight ?? 0, 0, info.make ?? 'bufshare', info.model ?? info.name, 0);
      r.post('mode', MODE.current | MODE.preferred, info.width, info.height, info.refreshMilliHz);
      r.post('scale', info.scale ?? 1);
      r.post('name', info.name);
      r.post('description', outputDescription(info));
      r.post('done');
    },
  };
}

/** What wl_output.description and xdg_output.description say. */
export function outputDescription(info: OutputInfo): string {
  return info.description
    ?? (info.make !== undefined || info.model !== undefined ? `${info.make ?? ''} ${info.model ?? ''} (${info.name})`.trim() : `bufshare output ${info.width}x${info.height}`);
}
