/** wl_compositor: surfaces and regions. */
import { Region } from '../../region';
import { DISPLAY_ERROR, type WaylandClient } from '../client';
import type { Global } from '../global';
import { wl_compositor, wl_region, wl_surface } from '../protocol/wayland';
import { ProtocolError, type Implementation } from '../resource';
import { WaylandSurface, type SurfaceHost } from '../surface';

const surfaceImplementation: Implementation<WaylandSurface> = {
  attach: (r, [buffer, x, y]) => r.data.attach(buffer as number, x as number, y as number),
  damage: (r, [x, y, w, h]) => r.data.damageSurface(x as number, y as number, w as number, h as number),
  damage_buffer: (r, [x, y, w, h]) => r.data.damageBuffer(x as number, y as number, w as number, h as number),
  frame: (r, [id]) => r.data.addFrameCallback(id as number),
  // Opaque and input regions are accepted; the compositor model has no use for them yet.
  set_opaque_region: () => {},
  set_input_region: () => {},
  commit: (r) => r.data.commit(),
  set_buffer_transform: (r, [t]) => r.data.setTransform(t as number),
  set_buffer_scale: (r, [s]) => r.data.setScale(s as number),
  offset: () => {},
};

/**
 * Rectangles a wl_region may hold. `add` merges past 64 (a superset is harmless
 * for the input and opaque hints it feeds) but `subtract` cannot: a merged hole
 * would be a hole too big. Each subtract costs O(rectangles), so the bound is
 * what keeps it bounded in time: a 300 x 300 grid of one-pixel holes grew to
 * 90000 rectangles and took 132 s; held to 1024, a subtract takes microseconds.
 * Real clients send a handful (GTK's input regions: the window minus its shadow).
 */
export const MAX_REGION_RECTS = 1024;

/** wl_region keeps its region (bounded: a client adding rectangles forever is merged, not stored). */
const regionImplementation: Implementation<{ region: Region }> = {
  add: (r, [x, y, w, h]) => {
    if ((w as number) <= 0 || (h as number) <= 0) return;
    const next = r.data.region.union({ x: x as number, y: y as number, width: w as number, height: h as number });
    r.data.region = next.rects.length > 64 ? next.simplify(64) : next;
  },
  subtract: (r, [x, y, w, h]) => {
    if ((w as number) <= 0 || (h as number) <= 0) return;
    const next = r.data.region.subtract({ x: x as number, y: y as number, width: w as number, height: h as number });
    // As libwayland's wl_resource_post_no_memory: the error is on wl_display, and names the region.
    if (next.rects.length > MAX_REGION_RECTS) throw new ProtocolError(r.client.display, DISPLAY_ERROR.no_memory, `wl_region@${r.id}: over ${MAX_REGION_RECTS} rectangles`);
    r.data.region = next;
  },
};

export function compositorGlobal(host: SurfaceHost): Global {
  return {
    spec: wl_compositor,
    version: 5,
    bind(client: WaylandClient, id: number, version: number): void {
      client.create(id, wl_compositor, version, {
        create_surface: (_r, [sid]) => {
          const res = client.create(sid as number, wl_surface, version, surfaceImplementation, undefined as unknown as WaylandSurface);
          res.data = new WaylandSurface(res, host);
        },
        create_region: (_r, [rid]) => {
          client.create(rid as number, wl_region, 1, regionImplementation, { region: Region.empty });
        },
      }, undefined);
    },
  };
}
