/** wl_output: one, describing the compositor's output. */
import type { OutputInfo } from '../../output-info';
import type { Global } from '../global';
import { wl_output } from '../protocol/wayland';

export type { OutputInfo } from '../../output-info';

const MODE = wl_output.enums.mode as { current: number; preferred: number };

export function outputGlobal(info: OutputInfo): Global {
  return {
    spec: wl_output,
    version: 4,
    bind(client, id, version) {
      const r = client.create(id, wl_output, version, {}, undefined);
      // 0 x 0 mm where the size is unknown (a virtual output), as the protocol allows.
      r.post('geometry', 0, 0, info.physicalWidth ?? 0, info.physicalHeight ?? 0, 0, info.make ?? 'bufshare', info.model ?? info.name, 0);
      r.post('mode', MODE.current | MODE.preferred, info.width, info.height, info.refreshMilliHz);
      r.post('scale', 1);
      r.post('name', info.name);
      r.post('description', info.description
        ?? (info.make !== undefined || info.model !== undefined ? `${info.make ?? ''} ${info.model ?? ''} (${info.name})`.trim() : `bufshare output ${info.width}x${info.height}`));
      r.post('done');
    },
  };
}
