/**
 * wp_fractional_scale_manager_v1: tells a surface the scale to draw at, in
 * 120ths (preferred_scale). The server's output has an integer scale, so the
 * preferred scale is that times 120; a client that follows it draws its buffer
 * at that many pixels and sets a viewport destination of its logical size
 * (GTK 4, Qt 6, Chromium, foot do this instead of wl_surface.set_buffer_scale).
 */
import type { WaylandClient } from '../client';
import type { Global } from '../global';
import { wp_fractional_scale_manager_v1, wp_fractional_scale_v1 } from '../protocol/fractional-scale';
import type { Resource } from '../resource';
import type { WaylandSurface } from '../surface';

const EXISTS = (wp_fractional_scale_manager_v1.enums.error as { fractional_scale_exists: number }).fractional_scale_exists;

/** `scale`: the output's integer scale. */
export function fractionalScaleGlobal(scale: () => number): Global {
  const taken = new WeakSet<WaylandSurface>();
  return {
    spec: wp_fractional_scale_manager_v1,
    version: 1,
    bind(client: WaylandClient, id: number, version: number): void {
      client.create(id, wp_fractional_scale_manager_v1, version, {
        get_fractional_scale: (r, [fid, surfaceId]) => {
          const surface = (client.lookup(surfaceId as number) as Resource<WaylandSurface>).data;
          if (taken.has(surface)) throw r.error(EXISTS, `wl_surface@${surface.id} already has a wp_fractional_scale_v1`);
          taken.add(surface);
          const f = client.create(fid as number, wp_fractional_scale_v1, version, {}, undefined);
          f.onDestroy(() => taken.delete(surface));
          f.post('preferred_scale', scale() * 120);
        },
      }, undefined);
    },
  };
}
