/** wl_output: one, describing the compositor's output. */
import type { Global } from '../global';
import { wl_output } from '../protocol/wayland';

export interface OutputInfo {
  readonly width: number;
  readonly height: number;
  /** mHz */
  readonly refreshMilliHz: number;
  readonly name: string;
}

const MODE = wl_output.enums.mode as { current: number; preferred: number };

export function outputGlobal(info: OutputInfo): Global {
  return {
    spec: wl_output,
    version: 4,
    bind(client, id, version) {
      const r = client.create(id, wl_output, version, {}, undefined);
      // Physical size unknown (a virtual output): 0 x 0 mm, as the protocol allows.
      r.post('geometry', 0, 0, 0, 0, 0, 'bufshare', info.name, 0);
      r.post('mode', MODE.current | MODE.preferred, info.width, info.height, info.refreshMilliHz);
      r.post('scale', 1);
      r.post('name', info.name);
      r.post('description', `bufshare output ${info.width}x${info.height}`);
      r.post('done');
    },
  };
}
