/**
 * xdg_wm_base, xdg_surface (with its window geometry), xdg_toplevel, and
 * xdg_popup placed by xdg_positioner's rules (positioner.ts) inside the area the
 * compositor gives the window (CompositorSurface.setBoundsProvider), with grabs,
 * reposition and popup_done.
 *
 * The configure handshake: the client's first commit of a new toplevel carries
 * no buffer; we answer with xdg_toplevel.configure + xdg_surface.configure
 * (serial); the client acks that serial and may then attach buffers. A buffer
 * before the first ack is unconfigured_buffer; an ack of a serial never sent is
 * invalid_serial. Toplevels are the surfaces shown to the compositor.
 *
 * Other rules checked: an xdg_surface outlives its role object
 * (defunct_role_object); a toplevel's parent is never itself or one of its
 * children (invalid_parent); min and max sizes are double-buffered and checked
 * on commit (invalid_size).
 */
import type { WindowRequest, WindowState } from '../../surface-model';
import type { Rect } from '../../region';
import { DISPLAY_ERROR, type WaylandClient } from '../client';
import type { Global } from '../global';
import { placePopup, type PositionerRules } from '../positioner';
import { xdg_popup, xdg_positioner, xdg_surface, xdg_toplevel, xdg_wm_base } from '../protocol/xdg-shell';
import { ProtocolError, type Resource } from '../resource';
import type { SurfaceRole, SurfaceState, WaylandSurface } from '../surface';

const WM_ERROR = xdg_wm_base.enums.error as {
  role: number; defunct_surfaces: number; not_the_topmost_popup: number; invalid_popup_parent: number; invalid_positioner: number;
};
const POSITIONER_ERROR = xdg_positioner.enums.error as { invalid_input: number };
const POPUP_ERROR = xdg_popup.enums.error as { invalid_grab: number };
const XDG_SURFACE_ERROR = xdg_surface.enums.error as {
  not_constructed: number; already_constructed: number; unconfigured_buffer: number; invalid_serial: number; invalid_size: number; defunct_role_object: number;
};
const TOPLEVEL_ERROR = xdg_toplevel.enums.error as { invalid_parent: number; invalid_size: number };
const STATE = xdg_toplevel.enums.state as { activated: number; maximized: number; fullscreen: number };

/** Serials shared by every client of a server (xdg configure, input). */
export interface SerialSource {
  nextSerial(): number;
}

/** A positioner's state; complete once it has a size and an anchor rectangle. */
class Positioner {
  width = 0;
  height = 0;
  anchorRect: Rect | undefined;
  anchor = 0;
  gravity = 0;
  adjust = 0;
  offsetX = 0;
  offsetY = 0;

  rules(): PositionerRules | undefined {
    if (this.width <= 0 || this.anchorRect === undefined) return undefined;
    return { width: this.width, height: this.height, anchorRect: this.anchorRect, anchor: this.anchor, gravity: this.gravity, adjust: this.adjust, offsetX: this.offsetX, offsetY: this.offsetY };
  }
}

class XdgSurface {
  readonly resource: Resource<XdgSurface>;
  readonly surface: WaylandSurface;
  kind: 'none' | 'toplevel' | 'popup' = 'none';
  /** The xdg_toplevel or xdg_popup, once made. */
  roleObject: Resource<unknown> | undefined;
  /** set_window_geometry's rectangle, surface-local, as of the last commit; and the one the next commit applies. */
  geometry: Rect | undefined;
  pendingGeometry: Rect | undefined;
  /** Serials sent and not yet acked. */
  private readonly sent: number[] = [];
  configured = false;
  initialCommitSeen = false;
  private readonly serials: SerialSource;

  constructor(resource: Resource<XdgSurface>, surface: WaylandSurface, serials: SerialSource) {
    this.resource = resource;
    this.surface = surface;
    this.serials = serials;
  }

  sendConfigure(): void {
    const serial = this.serials.nextSerial();
    // Bounded: a client that never acks keeps only its newest serials.
    if (this.sent.length >= 32) this.sent.shift();
    this.sent.push(serial);
    this.resource.post('configure', serial);
  }

  ack(serial: number): void {
    const i = this.sent.indexOf(serial);
    if (i < 0) throw this.resource.error(XDG_SURFACE_ERROR.invalid_serial, `ack_configure of serial ${serial}, which was not sent`);
    this.sent.splice(0, i + 1);
    this.configured = true;
  }

  /** Where the window's geometry starts in its surface (0, 0 when the client set none). */
  get origin(): { x: number; y: number } {
    return { x: this.geometry?.x ?? 0, y: this.geometry?.y ?? 0 };
  }

  /** The handshake rules, for the role's beforeCommit. */
  checkCommit(state: SurfaceState, configure: () => void): void {
    if (this.resource.destroyed) return;
    if (this.pendingGeometry !== undefined) {
      this.geometry = this.pendingGeometry;
      this.pendingGeometry = undefined;
    }
    const attaching = state.buffer !== undefined && state.buffer !== null;
    if (!this.initialCommitSeen) {
      this.initialCommitSeen = true;
      if (attaching) throw this.resource.error(XDG_SURFACE_ERROR.unconfigured_buffer, 'a buffer on the initial commit, before any configure');
      configure();
      return;
    }
    if (attaching && !this.configured) throw this.resource.error(XDG_SURFACE_ERROR.unconfigured_buffer, 'a buffer before the first ack_configure');
  }
}

/** One xdg_toplevel's own state: its parent, and its min/max sizes (pending until a commit). */
export class Toplevel {
  parent: Toplevel | undefined;
  readonly resource: Resource<Toplevel>;
  /** Its zxdg_toplevel_decoration_v1, if the client made one. */
  decoration: Resource<unknown> | undefined;
  /** The wl_surface, and a new configure sequence once the first was sent (a decoration mode changed). */
  surface!: WaylandSurface;
  reconfigure: () => void = () => {};
  pendingMin: [number, number] = [0, 0];
  pendingMax: [number, number] = [0, 0];
  min: [number, number] = [0, 0];
  max: [number, number] = [0, 0];

  constructor(resource: Resource<Toplevel>) {
    this.resource = resource;
  }

  setParent(parent: Toplevel | undefined): void {
    for (let p = parent; p !== undefined; p = p.parent) {
      if (p === this) throw this.resource.error(TOPLEVEL_ERROR.invalid_parent, `xdg_toplevel@${parent!.resource.id} cannot be the parent of its own ancestor`);
    }
    this.parent = parent;
  }

  /** On commit: pending sizes become current; 0 is "no bound", so only two non-zero bounds can conflict. */
  applySizes(): void {
    const [min, max] = [this.pendingMin, this.pendingMax];
    if ((max[0] > 0 && min[0] > max[0]) || (max[1] > 0 && min[1] > max[1])) {
      throw this.resource.error(TOPLEVEL_ERROR.invalid_size, `min size ${min[0]}x${min[1]} above max size ${max[0]}x${max[1]}`);
    }
    this.min = [...min];
    this.max = [...max];
  }
}

function sizeArgs(r: Resource<Toplevel>, request: string, width: number, height: number): [number, number] {
  if (width < 0 || height < 0) throw r.error(TOPLEVEL_ERROR.invalid_size, `${request}(${width}, ${height}): a negative size`);
  return [width, height];
}

/** Each client's toplevels, so a parent's end hands its children to its own parent (as the protocol says). */
const toplevelsOf = new WeakMap<WaylandClient, Set<Toplevel>>();

/**
 * @param screen the output's size: what a window may fill before the compositor
 *   says where it is (its bounds provider, once it is shown)
 */
export function xdgShellGlobal(serials: SerialSource, screen: { width: number; height: number }): Global {
  return {
    spec: xdg_wm_base,
    version: 5,
    bind(client: WaylandClient, id: number, version: number): void {
      let live = 0;
      client.create(id, xdg_wm_base, version, {
        destroy: (r) => {
          if (live > 0) throw r.error(WM_ERROR.defunct_surfaces, `destroyed with ${live} xdg_surfaces still alive`);
        },
        create_positioner: (_r, [pid]) => {
          const p = new Positioner();
          client.create(pid as number, xdg_positioner, version, {
            set_size: (r, [w, h]) => {
              if ((w as number) <= 0 || (h as number) <= 0) throw r.error(POSITIONER_ERROR.invalid_input, `popup size ${w as number}x${h as number} is not positive`);
              p.width = w as number;
              p.height = h as number;
            },
            set_anchor_rect: (r, [x, y, w, h]) => {
              if ((w as number) < 0 || (h as number) < 0) throw r.error(POSITIONER_ERROR.invalid_input, `anchor rectangle ${w as number}x${h as number} is negative`);
              p.anchorRect = { x: x as number, y: y as number, width: w as number, height: h as number };
            },
            set_anchor: (r, [a]) => {
              if ((a as number) > 8) throw r.error(POSITIONER_ERROR.invalid_input, `anchor ${a as number} is not 0..8`);
              p.anchor = a as number;
            },
            set_gravity: (r, [g]) => {
              if ((g as number) > 8) throw r.error(POSITIONER_ERROR.invalid_input, `gravity ${g as number} is not 0..8`);
              p.gravity = g as number;
            },
            set_constraint_adjustment: (_r2, [c]) => {
              p.adjust = (c as number) & 63;
            },
            set_offset: (_r2, [x, y]) => {
              p.offsetX = x as number;
              p.offsetY = y as number;
            },
            // Reactive popups and the parent's future size: placement here always uses the parent as it is now.
            set_reactive: () => {},
            set_parent_size: () => {},
            set_parent_configure: () => {},
          }, p);
        },
        pong: () => {},
        get_xdg_surface: (r, [xid, surfaceId]) => {
          const surface = (client.lookup(surfaceId as number) as Resource<WaylandSurface>).data;
          if (surface.role !== undefined) throw r.error(WM_ERROR.role, `wl_surface@${surface.id} already has the role ${surface.role.name}`);
          const xr = client.create(xid as number, xdg_surface, version, xdgSurfaceImplementation(client, version, r, screen), undefined as unknown as XdgSurface);
          const xs = new XdgSurface(xr, surface, serials);
          xr.data = xs;
          xdgSurfaces.set(surface, xs);
          live++;
          xr.onDestroy(() => live--);
          // Until it gets a toplevel or popup, committing it is not_constructed.
          surface.role = {
            name: 'xdg_surface',
            shown: false,
            beforeCommit: () => {
              if (!xr.destroyed && xs.kind === 'none') throw xr.error(XDG_SURFACE_ERROR.not_constructed, 'committed before get_toplevel or get_popup');
            },
          };
        },
      }, undefined);
    },
  };
}

/**
 * How deep popups may nest (a toplevel's popup is 1): menus of menus go a few
 * levels. Placing one walks its parents, and the scene builds the chain
 * recursively; 1,500 took 3.6 s to make (issue 23's held-out campaign). Past
 * it: no_memory, as subsurfaces past MAX_SUBSURFACE_DEPTH.
 */
export const MAX_POPUP_DEPTH = 64;

/** The xdg_surface behind each wl_surface that has one: a popup's parent is found through it. */
const xdgSurfaces = new WeakMap<WaylandSurface, XdgSurface>();

/**
 * The area a popup of `parent` must stay in, relative to the parent's window
 * geometry: the bounds the compositor gives the toplevel (surface-local), moved
 * by where the parent lies within it (popups of popups).
 */
function popupBounds(parent: WaylandSurface): Rect | undefined {
  let dx = 0;
  let dy = 0;
  let s: WaylandSurface = parent;
  while (s.popupParent !== undefined) {
    dx += s.popupPosition.x;
    dy += s.popupPosition.y;
    s = s.popupParent;
  }
  const root = s.bounds();
  if (root === undefined) return undefined;
  const origin = xdgSurfaces.get(parent)?.origin ?? { x: 0, y: 0 };
  return { x: root.x - dx - origin.x, y: root.y - dy - origin.y, width: root.width, height: root.height };
}

function xdgSurfaceImplementation(client: WaylandClient, version: number, wm: Resource<unknown>, screen: { width: number; height: number }) {
  return {
    get_toplevel: (r: Resource<XdgSurface>, [tid]: unknown[]) => {
      const xs = r.data;
      if (xs.kind !== 'none') throw r.error(XDG_SURFACE_ERROR.already_constructed, `already a ${xs.kind}`);
      xs.kind = 'toplevel';
      let title: string | undefined;
      let appId: string | undefined;
      const request = (r: WindowRequest): void => {
        const s = xs.surface;
        if (s.destroyed) return;
        if (r.kind === 'maximize' || r.kind === 'unmaximize') s.wantedState = { ...s.wantedState, maximized: r.kind === 'maximize' };
        if (r.kind === 'fullscreen' || r.kind === 'unfullscreen') s.wantedState = { ...s.wantedState, fullscreen: r.kind === 'fullscreen' };
        s.emit('windowRequest', r);
      };
      const tr = client.create<Toplevel>(tid as number, xdg_toplevel, version, {
        set_parent: (t, [parentId]) => {
          const parent = parentId === 0 ? undefined : (client.lookup(parentId as number) as Resource<Toplevel>).data;
          t.data.setParent(parent);
        },
        set_min_size: (t, [w, h]) => {
          t.data.pendingMin = sizeArgs(t, 'set_min_size', w as number, h as number);
        },
        set_max_size: (t, [w, h]) => {
          t.data.pendingMax = sizeArgs(t, 'set_max_size', w as number, h as number);
        },
        set_title: (_t, [t]) => {
          title = (t as string).slice(0, 256);
          xs.surface.setTitle(title, appId);
        },
        set_app_id: (_t, [a]) => {
          appId = (a as string).slice(0, 256);
          xs.surface.setTitle(title, appId);
        },
        // Requests the compositor answers (with a configure, or by moving the window), or ignores.
        set_maximized: () => request({ kind: 'maximize' }),
        unset_maximized: () => request({ kind: 'unmaximize' }),
        set_fullscreen: () => request({ kind: 'fullscreen' }),
        unset_fullscreen: () => request({ kind: 'unfullscreen' }),
        set_minimized: () => request({ kind: 'minimize' }),
        move: () => request({ kind: 'move' }),
        resize: (_t, [, , edges]) => request({ kind: 'resize', edges: edges as number }),
      }, undefined as unknown as Toplevel);
      const toplevel = new Toplevel(tr);
      tr.data = toplevel;
      xs.roleObject = tr as Resource<unknown>;
      let all = toplevelsOf.get(client);
      if (all === undefined) {
        all = new Set();
        toplevelsOf.set(client, all);
      }
      all.add(toplevel);
      /** The size a window may take: its output's (the compositor's bounds), else the screen's. */
      const bounds = (): { width: number; height: number } => {
        const b = xs.surface.bounds();
        return b ? { width: b.width, height: b.height } : screen;
      };
      const configure = (width = 0, height = 0, state: WindowState = { activated: true }): void => {
        const list = [state.activated !== false ? STATE.activated : 0, state.maximized ? STATE.maximized : 0, state.fullscreen ? STATE.fullscreen : 0].filter((v) => v !== 0);
        const states = new Uint8Array(list.length * 4);
        list.forEach((v, i) => new DataView(states.buffer).setUint32(i * 4, v, true));
        if (tr.version >= 4) {
          const b = bounds();
          tr.post('configure_bounds', b.width, b.height);
        }
        tr.post('configure', width, height, states);
        xs.sendConfigure();
      };
      // A window whose first frame is larger than its output is asked, once, to fit it
      // (GTK 3's widget factory opens at 1467x784 whatever the bounds say).
      let fitted = false;
      const fit = (s: WaylandSurface): void => {
        if (fitted || s.width === 0) return;
        fitted = true;
        const g = xs.geometry ?? { x: 0, y: 0, ...s.surfaceSize };
        const b = bounds();
        if (g.width > b.width || g.height > b.height) configure(Math.min(g.width, b.width), Math.min(g.height, b.height));
      };
      toplevel.surface = xs.surface;
      toplevel.reconfigure = () => {
        if (xs.initialCommitSeen && !tr.destroyed) configure();
      };
      const role: SurfaceRole = {
        name: 'xdg_toplevel',
        get shown() {
          return !tr.destroyed;
        },
        beforeCommit: (_s, state) => {
          xs.checkCommit(state, () => configure());
          if (!tr.destroyed) toplevel.applySizes();
        },
        afterApply: fit,
        close: () => tr.post('close'),
        configure: (w, h, state) => configure(w, h, state),
      };
      xs.surface.role = role;
      // The toplevel's end unmaps the window: the surface may get a new role object later.
      tr.onDestroy(() => {
        all.delete(toplevel);
        for (const t of all) if (t.parent === toplevel) t.parent = toplevel.parent;
        xs.surface.withdrawRole();
      });
    },
    get_popup: (r: Resource<XdgSurface>, [pid, parentId, positionerId]: unknown[]) => {
      const xs = r.data;
      if (xs.kind !== 'none') throw r.error(XDG_SURFACE_ERROR.already_constructed, `already a ${xs.kind}`);
      // A parent given later by another protocol (layer shell) is not supported: a popup needs its parent now.
      const parentXs = parentId === null || parentId === 0 ? undefined : (client.lookup(parentId as number) as Resource<XdgSurface>).data;
      if (parentXs === undefined || parentXs.kind === 'none') throw wm.error(WM_ERROR.invalid_popup_parent, 'a popup needs a parent that is a toplevel or a popup');
      let depth = 1;
      for (let p = parentXs.surface.popupParent; p !== undefined; p = p.popupParent) depth++;
      if (depth > MAX_POPUP_DEPTH) throw new ProtocolError(client.display, DISPLAY_ERROR.no_memory, `popups nested over ${MAX_POPUP_DEPTH} deep`);
      let rules = (client.lookup(positionerId as number) as Resource<Positioner>).data.rules();
      if (rules === undefined) throw wm.error(WM_ERROR.invalid_positioner, 'the positioner has no size or no anchor rectangle');
      xs.kind = 'popup';
      const surface = xs.surface;
      const parent = parentXs.surface;
      let box = placePopup(rules, popupBounds(parent));
      let mapped = false;
      // Where the popup's surface lies in its parent's: the parent's geometry origin, the box, less the popup's own geometry origin.
      const place = (): void => {
        const po = parentXs.origin;
        const o = xs.origin;
        surface.setPopupPosition(po.x + box.x - o.x, po.y + box.y - o.y);
      };
      const pr = client.create(pid as number, xdg_popup, version, {
        grab: (g) => {
          if (mapped) throw g.error(POPUP_ERROR.invalid_grab, 'grab after the popup was mapped');
          surface.popupGrabRequested = true;
        },
        reposition: (_p, [positioner, token]) => {
          const next = (client.lookup(positioner as number) as Resource<Positioner>).data.rules();
          if (next === undefined) throw wm.error(WM_ERROR.invalid_positioner, 'the positioner has no size or no anchor rectangle');
          rules = next;
          box = placePopup(rules, popupBounds(parent));
          pr.post('repositioned', token as number);
          pr.post('configure', box.x, box.y, box.width, box.height);
          xs.sendConfigure();
        },
      }, undefined);
      xs.roleObject = pr as Resource<unknown>;
      pr.onDestroy(() => {
        if (surface.popupChildren.some((p) => !p.destroyed && p.popupParent === surface)) {
          // The protocol's rule; the surface is gone with its client anyway.
          client.fail(wm.error(WM_ERROR.not_the_topmost_popup, 'a popup destroyed while a popup of it is open'));
          return;
        }
        surface.detachPopup();
      });
      surface.attachPopup(parent, () => {
        if (!pr.destroyed) pr.post('popup_done');
      });
      place();
      surface.role = {
        name: 'xdg_popup',
        shown: false,
        child: true,
        beforeCommit: (_s, state) => xs.checkCommit(state, () => {
          pr.post('configure', box.x, box.y, box.width, box.height);
          xs.sendConfigure();
        }),
        afterApply: (s) => {
          mapped = s.width > 0;
          place();
        },
        close: () => surface.dismiss(),
      };
    },
    destroy: (r: Resource<XdgSurface>) => {
      const role = r.data.roleObject;
      if (role !== undefined && !role.destroyed) throw r.error(XDG_SURFACE_ERROR.defunct_role_object, `destroyed before its ${role.spec.name}@${role.id}`);
    },
    set_window_geometry: (r: Resource<XdgSurface>, [x, y, w, h]: unknown[]) => {
      if ((w as number) <= 0 || (h as number) <= 0) throw r.error(XDG_SURFACE_ERROR.invalid_size, `window geometry ${w as number}x${h as number} is not positive`);
      r.data.pendingGeometry = { x: x as number, y: y as number, width: w as number, height: h as number };
    },
    ack_configure: (r: Resource<XdgSurface>, [serial]: unknown[]) => r.data.ack(serial as number),
  };
}
