/**
 * wp_viewporter: a surface's crop (wp_viewport.set_source, surface-local
 * fixed point) and scale (set_destination, whole surface-local pixels). Every
 * request only touches the surface's pending state; the surface checks the
 * pair against its buffer and applies it at commit (WaylandSurface: out_of_buffer,
 * bad_size), and the compositor sees it as the surface's `viewport`.
 * wp_viewport.destroy unsets both at the next commit, as the spec says.
 */
import type { WaylandClient } from '../client';
import type { Global } from '../global';
import { wp_viewport, wp_viewporter } from '../protocol/viewporter';
import type { Resource } from '../resource';
import type { WaylandSurface } from '../surface';

const VIEWPORT_EXISTS = (wp_viewporter.enums.error as { viewport_exists: number }).viewport_exists;
const VIEWPORT_ERROR = wp_viewport.enums.error as { bad_value: number; bad_size: number; out_of_buffer: number; no_surface: number };

export { VIEWPORT_ERROR };

export function viewporterGlobal(): Global {
  return {
    spec: wp_viewporter,
    version: 1,
    bind(client: WaylandClient, id: number, version: number): void {
      client.create(id, wp_viewporter, version, {
        get_viewport: (r, [vid, surfaceId]) => {
          const surface = (client.lookup(surfaceId as number) as Resource<WaylandSurface>).data;
          if (surface.viewportResource !== undefined) throw r.error(VIEWPORT_EXISTS, `wl_surface@${surface.id} already has a wp_viewport`);
          // The surface may go first: then every request but destroy is no_surface.
          const live = (r2: Resource<unknown>): WaylandSurface => {
            if (surface.destroyed) throw r2.error(VIEWPORT_ERROR.no_surface, `the wl_surface of this wp_viewport was destroyed`);
            return surface;
          };
          const viewport = client.create(vid as number, wp_viewport, version, {
            set_source: (r2, [x, y, w, h]) => {
              const [sx, sy, sw, sh] = [x, y, w, h] as number[];
              const s = live(r2);
              if (sx === -1 && sy === -1 && sw === -1 && sh === -1) {
                s.setViewportSource(null);
                return;
              }
              if (sx! < 0 || sy! < 0 || sw! <= 0 || sh! <= 0) {
                throw r2.error(VIEWPORT_ERROR.bad_value, `source rectangle ${sw}x${sh}+${sx}+${sy}: negative position or empty size`);
              }
              s.setViewportSource({ x: sx!, y: sy!, width: sw!, height: sh! });
            },
            set_destination: (r2, [w, h]) => {
              const [dw, dh] = [w, h] as number[];
              const s = live(r2);
              if (dw === -1 && dh === -1) {
                s.setViewportDestination(null);
                return;
              }
              if (dw! <= 0 || dh! <= 0) throw r2.error(VIEWPORT_ERROR.bad_value, `destination size ${dw}x${dh} is not positive`);
              s.setViewportDestination({ width: dw!, height: dh! });
            },
          }, undefined);
          surface.viewportResource = viewport;
          viewport.onDestroy(() => {
            if (surface.viewportResource !== viewport) return;
            surface.viewportResource = undefined;
            // Removed with the next commit (double-buffered like the rest).
            if (!surface.destroyed) {
              surface.setViewportSource(null);
              surface.setViewportDestination(null);
            }
          });
        },
      }, undefined);
    },
  };
}
