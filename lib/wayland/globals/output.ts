/** wl_output: one, describing the compositor's output. */
import type { Global } from '../global';
import { wl_output } from '../protocol/wayland';

export interface OutputInfo {
  readonly width: number;
  readonly height: number;
  /** mHz */
  readonly refreshMilliHz: number;
  /** The output's name: a connector's ("HDMI-A-1"), unique per compositor. */
  readonly name: string;
  /** The manufacturer (EDID PNP id); default "bufshare". */
  readonly make?: string;
  /** The monitor's model; default the name. */
  readonly model?: string;
  /** Physical size in mm; 0 (default): unknown, as for a virtual output. */
  readonly physicalWidth?: number;
  readonly physicalHeight?: number;
  /** Human-readable; default "<make> <model> (<name>)", or "bufshare output WxH". */
  readonly description?: string;
}

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
