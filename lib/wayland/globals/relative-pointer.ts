/**
 * zwp_relative_pointer_manager_v1: motion as the device made it, unbounded by
 * the screen's edges or a pointer lock (what a game or a 3D view reads). The
 * seat sends relative_motion to the client's relative pointers whenever its
 * surface gets motion carrying dx/dy (SurfacePointerInput).
 */
import type { WaylandClient } from '../client';
import type { Global } from '../global';
import { zwp_relative_pointer_manager_v1, zwp_relative_pointer_v1 } from '../protocol/relative-pointer';
import type { Resource } from '../resource';

export interface RelativePointers {
  add(client: WaylandClient, pointer: Resource<undefined>): void;
}

export function relativePointerGlobal(seat: RelativePointers): Global {
  return {
    spec: zwp_relative_pointer_manager_v1,
    version: 1,
    bind(client: WaylandClient, id: number, version: number): void {
      client.create(id, zwp_relative_pointer_manager_v1, version, {
        get_relative_pointer: (_r, [rid]) => {
          seat.add(client, client.create(rid as number, zwp_relative_pointer_v1, version, {}, undefined));
        },
      }, undefined);
    },
  };
}
