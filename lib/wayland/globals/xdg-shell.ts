/**
 * xdg_wm_base, xdg_surface, xdg_toplevel (and enough of xdg_popup and
 * xdg_positioner for clients that make them).
 *
 * The configure handshake: the client's first commit of a new toplevel carries
 * no buffer; we answer with xdg_toplevel.configure + xdg_surface.configure
 * (serial); the client acks that serial and may then attach buffers. A buffer
 * before the first ack is unconfigured_buffer; an ack of a serial never sent is
 * invalid_serial. Toplevels are the surfaces shown to the compositor.
 */
import type { WaylandClient } from '../client';
import type { Global } from '../global';
import { xdg_popup, xdg_positioner, xdg_surface, xdg_toplevel, xdg_wm_base } from '../protocol/xdg-shell';
import type { Resource } from '../resource';
import type { SurfaceRole, SurfaceState, WaylandSurface } from '../surface';

const WM_ERROR = xdg_wm_base.enums.error as { role: number; defunct_surfaces: number };
const XDG_SURFACE_ERROR = xdg_surface.enums.error as { not_constructed: number; already_constructed: number; unconfigured_buffer: number; invalid_serial: number };
const STATE_ACTIVATED = (xdg_toplevel.enums.state as { activated: number }).activated;

/** Serials shared by every client of a server (xdg configure, input). */
export interface SerialSource {
  nextSerial(): number;
}

class XdgSurface {
  readonly resource: Resource<XdgSurface>;
  readonly surface: WaylandSurface;
  kind: 'none' | 'toplevel' | 'popup' = 'none';
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

  /** The handshake rules, for the role's beforeCommit. */
  checkCommit(state: SurfaceState, configure: () => void): void {
    if (this.resource.destroyed) return;
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

export function xdgShellGlobal(serials: SerialSource): Global {
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
          client.create(pid as number, xdg_positioner, version, {}, undefined);
        },
        pong: () => {},
        get_xdg_surface: (r, [xid, surfaceId]) => {
          const surface = (client.lookup(surfaceId as number) as Resource<WaylandSurface>).data;
          if (surface.role !== undefined) throw r.error(WM_ERROR.role, `wl_surface@${surface.id} already has the role ${surface.role.name}`);
          const xr = client.create(xid as number, xdg_surface, version, xdgSurfaceImplementation(client, version), undefined as unknown as XdgSurface);
          const xs = new XdgSurface(xr, surface, serials);
          xr.data = xs;
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

function xdgSurfaceImplementation(client: WaylandClient, version: number) {
  return {
    get_toplevel: (r: Resource<XdgSurface>, [tid]: unknown[]) => {
      const xs = r.data;
      if (xs.kind !== 'none') throw r.error(XDG_SURFACE_ERROR.already_constructed, `already a ${xs.kind}`);
      xs.kind = 'toplevel';
      let title: string | undefined;
      let appId: string | undefined;
      const tr = client.create(tid as number, xdg_toplevel, version, {
        set_title: (_t, [t]) => {
          title = (t as string).slice(0, 256);
          xs.surface.setTitle(title, appId);
        },
        set_app_id: (_t, [a]) => {
          appId = (a as string).slice(0, 256);
          xs.surface.setTitle(title, appId);
        },
      }, undefined);
      const configure = (width = 0, height = 0, activated = true): void => {
        const states = new Uint8Array(activated ? 4 : 0);
        if (activated) new DataView(states.buffer).setUint32(0, STATE_ACTIVATED, true);
        tr.post('configure', width, height, states);
        xs.sendConfigure();
      };
      const role: SurfaceRole = {
        name: 'xdg_toplevel',
        get shown() {
          return !tr.destroyed;
        },
        beforeCommit: (_s, state) => xs.checkCommit(state, () => configure()),
        close: () => tr.post('close'),
        configure: (w, h, activated) => configure(w, h, activated),
      };
      xs.surface.role = role;
      // The toplevel's end unmaps the window: the surface may get a new role object later.
      tr.onDestroy(() => {
        xs.surface.withdrawRole();
      });
    },
    get_popup: (r: Resource<XdgSurface>, [pid]: unknown[]) => {
      const xs = r.data;
      if (xs.kind !== 'none') throw r.error(XDG_SURFACE_ERROR.already_constructed, `already a ${xs.kind}`);
      xs.kind = 'popup';
      const pr = client.create(pid as number, xdg_popup, version, {}, undefined);
      // Popups are not shown (the model has windows only); they are configured so their clients go on.
      xs.surface.role = {
        name: 'xdg_popup',
        shown: false,
        beforeCommit: (_s, state) => xs.checkCommit(state, () => {
          pr.post('configure', 0, 0, 1, 1);
          xs.sendConfigure();
        }),
        close: () => pr.post('popup_done'),
      };
    },
    set_window_geometry: () => {},
    ack_configure: (r: Resource<XdgSurface>, [serial]: unknown[]) => r.data.ack(serial as number),
  };
}
