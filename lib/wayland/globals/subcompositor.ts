/**
 * wl_subcompositor: subsurfaces, with wl_subsurface's commit semantics: a
 * synchronized subsurface (the default) caches its commits until its parent's
 * state is applied; a desynchronized one applies at once, unless an ancestor
 * is synchronized. Subsurfaces are not announced to the compositor on their
 * own: they are their parent's `subsurfaces` (positions and stacking are the
 * parent's double-buffered state, applied at its commit), and each emits its
 * own frames; their frame callbacks also fire with their parent's frameDone().
 */
import { DISPLAY_ERROR, type WaylandClient } from '../client';
import type { Global } from '../global';
import { wl_subcompositor, wl_subsurface } from '../protocol/wayland';
import { ProtocolError, type Resource } from '../resource';
import type { SurfaceRole, WaylandSurface } from '../surface';

const BAD_SURFACE = (wl_subcompositor.enums.error as { bad_surface: number }).bad_surface;
const SUBSURFACE_BAD_SURFACE = (wl_subsurface.enums.error as { bad_surface: number }).bad_surface;

class SubsurfaceRole implements SurfaceRole {
  readonly name = 'wl_subsurface';
  readonly shown = false;
  readonly child = true;
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

/**
 * How deep subsurfaces may nest (a toplevel's child is 1). Real clients nest a
 * few levels (a video under a frame under a window); applying a synchronized
 * commit and building the scene walk the tree recursively, and 4,000 levels
 * overflowed the stack (an internal error at best, issue 23's held-out
 * campaign). Past it: no_memory, as for the other per-client bounds.
 */
export const MAX_SUBSURFACE_DEPTH = 64;

/** Levels from `s` up to its root surface (0 for a surface without a parent). */
function depthOf(s: WaylandSurface): number {
  let d = 0;
  for (let p = s.parent; p !== undefined; p = p.parent) d++;
  return d;
}

/** Levels of subsurfaces under `s` (0 without children), looking no deeper than `limit`. */
function heightOf(s: WaylandSurface, limit: number): number {
  if (limit <= 0 || s.children.length === 0) return 0;
  let h = 0;
  for (const c of s.children) h = Math.max(h, 1 + heightOf(c, limit - 1));
  return h;
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
          const depth = depthOf(parent) + 1 + heightOf(surface, MAX_SUBSURFACE_DEPTH);
          if (depth > MAX_SUBSURFACE_DEPTH) {
            throw new ProtocolError(client.display, DISPLAY_ERROR.no_memory, `wl_surface@${surface.id} under wl_surface@${parent.id}: subsurfaces nested over ${MAX_SUBSURFACE_DEPTH} deep`);
          }
          const role = new SubsurfaceRole(surface);
          surface.role = role;
          surface.parent = parent;
          parent.addChild(surface);
          // place_above/below take the parent or a sibling (a subsurface of the same parent).
          const sibling = (r2: Resource<unknown>, id: number): WaylandSurface => {
            const other = (client.lookup(id) as Resource<WaylandSurface>).data;
            const p = surface.parent;
            if (p === undefined || other === surface || (other !== p && other.parent !== p)) {
              throw r2.error(SUBSURFACE_BAD_SURFACE, `wl_surface@${other.id} is neither the parent nor a sibling of wl_surface@${surface.id}`);
            }
            return other;
          };
          const sub = client.create(sid as number, wl_subsurface, version, {
            set_position: (_r, [x, y]) => {
              surface.pendingPosition = { x: x as number, y: y as number };
            },
            place_above: (r2, [id]) => surface.parent?.restackChild(surface, sibling(r2, id as number), 1),
            place_below: (r2, [id]) => surface.parent?.restackChild(surface, sibling(r2, id as number), 0),
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
              surface.parent.removeChild(surface);
              surface.parent = undefined;
            }
          });
        },
      }, undefined);
    },
  };
}
