/**
 * zwp_primary_selection_device_manager_v1: the primary selection (what is
 * selected, pasted with the middle button), a second selection beside the
 * clipboard with the same rules (globals/data-device.ts): offered to the client
 * with keyboard focus, data passed from the selecting client's pipe to the
 * pasting one, never through the compositor; the compositor reads and sets it
 * through the same Clipboard API.
 */
import type { Global } from '../global';
import {
  zwp_primary_selection_device_manager_v1, zwp_primary_selection_device_v1, zwp_primary_selection_source_v1,
} from '../protocol/primary-selection';
import type { Resource } from '../resource';
import { clientSource, countSource, MAX_MIME_LENGTH, MAX_MIME_TYPES, type Clipboard, type SelectionSource } from './data-device';

export function primarySelectionGlobal(primary: Clipboard): Global {
  return {
    spec: zwp_primary_selection_device_manager_v1,
    version: 1,
    bind(client, id, version) {
      client.create(id, zwp_primary_selection_device_manager_v1, version, {
        create_source: (_r, [sid]) => {
          const mimeTypes: string[] = [];
          const source = client.create<SelectionSource | undefined>(sid as number, zwp_primary_selection_source_v1, version, {
            offer: (_s, [mime]) => {
              const m = mime as string;
              if (mimeTypes.length < MAX_MIME_TYPES && m.length <= MAX_MIME_LENGTH && !mimeTypes.includes(m)) mimeTypes.push(m);
            },
          }, undefined);
          countSource(client, source);
          const selection = clientSource(source, mimeTypes);
          source.data = selection;
          source.onDestroy(() => primary.sourceGone(selection));
        },
        get_device: (_r, [did]) => {
          const device = client.create(did as number, zwp_primary_selection_device_v1, version, {
            set_selection: (_d, [sourceId, serial]) => {
              const source = sourceId === null || sourceId === 0 ? undefined : client.lookup(sourceId as number) as Resource<SelectionSource | undefined> | undefined;
              primary.setFromClient(source?.data, serial as number);
            },
          }, undefined);
          primary.addDevice(client, device);
        },
      }, undefined);
    },
  };
}
