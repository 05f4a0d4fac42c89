/**
 * wl_subcompositor: subsurfaces, with wl_subsurface's commit semantics: a
 * synchronized subsurface (the default) caches its commits until its parent's
 * state is applied; a desynchronized one applies at once, unless an ancestor
 * is synchronized. Subsurfaces are not shown to the compositor on their own
 * (the model has one surface per window); their frame callbacks fire with
 * their parent's frameDone().
 */
import type { WaylandClient } from '../client';
import type { Global } from '../global';
import { wl_subcompositor, wl_subsurface } from '../protocol/wayland';
import type { Resource } from '../resource';
import type { SurfaceRole, WaylandSurface } from '../surface';

const BAD_SURFACE = (wl_subcompositor.enums.error as { bad_surface: number }).bad_surface;

class SubsurfaceRole implements SurfaceRole {
  readonly name = 'wl_subsurface';
  readonly shown = false;
  sync = true;
  readonly surface: WaylandSurface;

  constructor(surface: WaylandSurface) {
    this.surface = surface;
  }

  synchronized(): boolean {
    if (this.sync) return true;
    const parentRole = this.surface.parent?.role;
    return parentRole instanceof SubsurfaceRole && parentRole.synchronized();
  }
}

function isAncestor(candidate: WaylandSurface, of: WaylandSurface): boolean {
  for (let s: WaylandSurface | undefined = of; s !== undefined; s = s.parent) if (s === candidate) return true;
  return false;
}

export function subcompositorGlobal(): Global {
  return {
    spec: wl_subcompositor,
    version: 1,
    bind(client: WaylandClient, id: number, version: number): void {
      client.create(id, wl_subcompositor, version, {
        get_subsurface: (r, [sid, surfaceId, parentId]) => {
          const surface = (client.lookup(surfaceId as number) as Resource<WaylandSurface>).data;
          const parent = (client.lookup(parentId as number) as Resource<WaylandSurface>).data;
          if (surface.role !== undefined) throw r.error(BAD_SURFACE, `wl_surface@${surface.id} already has the role ${surface.role.name}`);
          if (isAncestor(surface, parent)) throw r.error(BAD_SURFACE, `wl_surface@${parent.id} cannot be a parent of its own ancestor wl_surface@${surface.id}`);
          const role = new SubsurfaceRole(surface);
          surface.role = role;
          surface.parent = parent;
          parent.children.push(surface);
          const sub = client.create(sid as number, wl_subsurface, version, {
            set_position: () => {},
            place_above: () => {},
            place_below: () => {},
            set_sync: () => {
              role.sync = true;
            },
            set_desync: () => {
              role.sync = false;
              if (!role.synchronized()) surface.applyCached();
            },
          }, undefined);
          sub.onDestroy(() => {
            if (surface.parent !== undefined) {
              const i = surface.parent.children.indexOf(surface);
              if (i >= 0) surface.parent.children.splice(i, 1);
              surface.parent = undefined;
            }
          });
        },
      }, undefined);
    },
  };
}
