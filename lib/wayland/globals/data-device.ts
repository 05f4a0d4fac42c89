/**
 * wl_data_device_manager: enough that clients which bind it (foot needs it)
 * work. Sources and devices are accepted and kept; no selection or drag is
 * offered to anyone (the compositor has no clipboard yet).
 */
import type { Global } from '../global';
import { wl_data_device, wl_data_device_manager, wl_data_source } from '../protocol/wayland';

export function dataDeviceGlobal(): Global {
  return {
    spec: wl_data_device_manager,
    version: 3,
    bind(client, id, version) {
      client.create(id, wl_data_device_manager, version, {
        create_data_source: (_r, [sid]) => {
          client.create(sid as number, wl_data_source, version, {}, undefined);
        },
        get_data_device: (_r, [did]) => {
          client.create(did as number, wl_data_device, version, {}, undefined);
        },
      }, undefined);
    },
  };
}
