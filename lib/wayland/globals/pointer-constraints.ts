/**
 * zwp_pointer_constraints_v1: a client locks the pointer in place (a game, a
 * 3D view: it then reads relative motion) or confines it to a region of its
 * surface. One constraint per surface (already_constrained otherwise). It takes
 * effect when the surface gets the pointer (locked / confined) and ends when
 * the surface loses it (unlocked / unconfined); a oneshot constraint is then
 * spent, a persistent one waits for the pointer's next visit. The region is
 * double-buffered with the surface (applied at wl_surface.commit). What the
 * pointer does meanwhile is the scene seat's (SceneSeat reads
 * CompositorSurface.pointerConstraint).
 */
import { Region } from '../../region';
import { DISPLAY_ERROR, type WaylandClient } from '../client';
import type { Global } from '../global';
import { zwp_confined_pointer_v1, zwp_locked_pointer_v1, zwp_pointer_constraints_v1 } from '../protocol/pointer-constraints';
import { ProtocolError, type Resource } from '../resource';
import type { SurfaceConstraint, WaylandSurface } from '../surface';

const ALREADY_CONSTRAINED = (zwp_pointer_constraints_v1.enums.error as { already_constrained: number }).already_constrained;
const LIFETIME = zwp_pointer_constraints_v1.enums.lifetime as { oneshot: number; persistent: number };

/** The region a wl_region argument holds now (regions are copied when passed), or undefined for null. */
function regionArg(client: WaylandClient, id: unknown): Region | undefined {
  if (id === null || id === 0) return undefined;
  return (client.lookup(id as number) as Resource<{ region: Region }>).data.region;
}

class Constraint implements SurfaceConstraint {
  region: Region | undefined;
  private pending: { region: Region | undefined } | undefined;
  private on = false;
  private spent = false;

  constructor(
    readonly kind: 'lock' | 'confine',
    private readonly surface: WaylandSurface,
    private readonly resource: Resource<unknown>,
    private readonly oneshot: boolean,
    region: Region | undefined,
    /** The surface has the pointer now: the constraint starts in force. */
    hasPointer: () => boolean,
  ) {
    this.region = region;
    resource.onDestroy(() => {
      if (this.surface.constraint !== this) return;
      this.surface.constraint = undefined;
      if (!this.surface.destroyed) this.surface.emit('pointerConstraint');
    });
    if (hasPointer()) this.activate();
  }

  get active(): boolean {
    return this.on;
  }

  setRegion(region: Region | undefined): void {
    this.pending = { region };
  }

  applyPending(): void {
    if (this.pending === undefined) return;
    this.region = this.pending.region;
    this.pending = undefined;
  }

  activate(): void {
    if (this.on || this.spent || this.resource.destroyed) return;
    this.on = true;
    this.resource.post(this.kind === 'lock' ? 'locked' : 'confined');
  }

  deactivate(): void {
    if (!this.on || this.resource.destroyed) return;
    this.on = false;
    this.resource.post(this.kind === 'lock' ? 'unlocked' : 'unconfined');
    // A oneshot constraint is spent: the object stays (the client destroys it), inert.
    if (this.oneshot) this.spent = true;
  }
}

/** `hasPointer(surface)`: the surface has the pointer focus now (the seat knows). */
export function pointerConstraintsGlobal(hasPointer: (surface: WaylandSurface) => boolean): Global {
  const make = (kind: 'lock' | 'confine', r: Resource<unknown>, client: WaylandClient, args: unknown[]): void => {
    const [id, surfaceId, , regionId, lifetime] = args as [number, number, number, number | null, number];
    const surface = (client.lookup(surfaceId) as Resource<WaylandSurface>).data;
    if (surface.constraint !== undefined) throw r.error(ALREADY_CONSTRAINED, `wl_surface@${surface.id} already has a pointer constraint`);
    if (lifetime !== LIFETIME.oneshot && lifetime !== LIFETIME.persistent) {
      throw new ProtocolError(client.display, DISPLAY_ERROR.invalid_method, `zwp_pointer_constraints_v1: lifetime ${lifetime} is neither oneshot (1) nor persistent (2)`);
    }
    let constraint: Constraint | undefined;
    const resource = client.create(id, kind === 'lock' ? zwp_locked_pointer_v1 : zwp_confined_pointer_v1, r.version, {
      set_region: (_c, [rid]) => constraint!.setRegion(regionArg(client, rid)),
      // Where the client draws its own cursor while locked; the seat keeps the pointer where it was.
      set_cursor_position_hint: () => {},
    }, undefined);
    constraint = new Constraint(kind, surface, resource, lifetime === LIFETIME.oneshot, regionArg(client, regionId), () => hasPointer(surface));
    surface.constraint = constraint;
    surface.emit('pointerConstraint');
  };
  return {
    spec: zwp_pointer_constraints_v1,
    version: 1,
    bind(client: WaylandClient, id: number, version: number): void {
      client.create(id, zwp_pointer_constraints_v1, version, {
        lock_pointer: (r, args) => make('lock', r, client, args),
        confine_pointer: (r, args) => make('confine', r, client, args),
      }, undefined);
    },
  };
}
