/**
 * Drag and drop (wl_data_device.start_drag): one drag at a time for the
 * server, carried by the scene's seat.
 *
 * A client presses on its surface and calls start_drag with a data source
 * (its mime types and the actions it allows), an icon surface and the press's
 * serial. The surface emits 'drag' (with the icon): a seat holding that
 * surface's press takes the drag over (SceneSeat), sends the surfaces under the
 * pointer `dragInput` enter / motion / leave, and drop or cancel when the
 * button comes up. Here those become the protocol: each entered surface's
 * client gets a fresh wl_data_offer (mime types, source_actions), enter,
 * motion and leave; its accept and set_actions choose a mime type and an action
 * (copy, move or ask, negotiated with the source's as the protocol says:
 * the target's preferred one if the source allows it, else the first both
 * allow), told to both sides (target, action). A drop on a target that
 * accepted a type with an action sends drop and dnd_drop_performed, and the
 * target's finish sends dnd_finished; otherwise the source is cancelled. The
 * data goes from the source's pipe to the target's (receive), never through
 * the compositor.
 *
 * Without a source (a drag inside one client) only that client's surfaces get
 * enter, with no offer. A drag nobody takes over (the button was already up)
 * is cancelled at once.
 */
import type { SurfaceDragInput } from '../../surface-model';
import * as native from '../../native';
import type { WaylandClient } from '../client';
import { wl_data_device, wl_data_device_manager, wl_data_offer, wl_data_source } from '../protocol/wayland';
import type { Resource } from '../resource';
import type { WaylandSurface } from '../surface';

const ACTION = wl_data_device_manager.enums.dnd_action as { none: number; copy: number; move: number; ask: number };
const ALL_ACTIONS = ACTION.copy | ACTION.move | ACTION.ask;
const OFFER_ERROR = wl_data_offer.enums.error as { invalid_finish: number; invalid_action_mask: number; invalid_action: number; invalid_offer: number };
const SOURCE_ERROR = wl_data_source.enums.error as { invalid_action_mask: number; invalid_source: number };
export const DEVICE_ROLE_ERROR = (wl_data_device.enums.error as { role: number }).role;

/** A client's wl_data_source as a drag sees it. */
export interface DragSource {
  readonly resource: Resource<unknown>;
  readonly mimeTypes: readonly string[];
  /** set_actions' mask (0 until set: the protocol's default for a version-3 source is none). */
  actions: number;
  /** set_actions was called: a drag-and-drop source, not a selection. */
  actionsSet: boolean;
  /** Used for a drag: it may no longer become the selection (invalid_source). */
  usedForDrag: boolean;
}

export function checkActionMask(r: Resource<unknown>, mask: number, code: number): void {
  if ((mask & ~ALL_ACTIONS) !== 0) throw r.error(code, `dnd action mask 0x${mask.toString(16)} has bits besides copy, move and ask`);
}

export { SOURCE_ERROR };

/** The action both allow: the target's preferred one if the source allows it, else copy, move, ask in turn. */
function negotiate(source: number, target: number, preferred: number): number {
  const both = source & target;
  if ((both & preferred) !== 0) return preferred;
  for (const a of [ACTION.copy, ACTION.move, ACTION.ask]) if ((both & a) !== 0) return a;
  return ACTION.none;
}

interface Target {
  readonly surface: WaylandSurface;
  readonly offer: Resource<unknown> | undefined;
  accepted: string | null;
  actions: number;
  preferred: number;
  action: number;
}

class Drag {
  private target: Target | undefined;
  private dropped: Target | undefined;
  private ended = false;
  /** A seat took the drag over ('start'). */
  started = false;

  constructor(
    private readonly host: DragHost,
    readonly origin: WaylandSurface,
    readonly source: DragSource | undefined,
    readonly icon: WaylandSurface | null,
  ) {
    source?.resource.onDestroy(() => this.cancel());
  }

  input(surface: WaylandSurface, e: SurfaceDragInput): void {
    if (this.ended) return;
    switch (e.action) {
      case 'start':
        this.started = true;
        break;
      case 'enter':
        this.leave();
        this.enter(surface, e.x, e.y);
        break;
      case 'motion':
        if (this.target?.surface !== surface) this.enter(surface, e.x, e.y);
        else for (const d of this.host.devicesOf(surface.client)) d.post('motion', this.host.now() >>> 0, e.x, e.y);
        break;
      case 'leave':
        if (this.target?.surface === surface) this.leave();
        break;
      case 'drop':
        this.drop(surface);
        break;
      case 'cancel':
        this.cancel();
        break;
    }
  }

  private enter(surface: WaylandSurface, x: number, y: number): void {
    // Without a source the drag stays in its own client.
    if (this.source === undefined && surface.client !== this.origin.client) return;
    const devices = this.host.devicesOf(surface.client);
    if (devices.length === 0) return;
    let offer: Resource<unknown> | undefined;
    const serial = this.host.nextSerial();
    for (const device of devices) {
      const o = this.source === undefined ? undefined : this.makeOffer(surface.client, device);
      offer ??= o;
      device.post('enter', serial, surface.id, x, y, o?.id ?? 0);
    }
    this.target = { surface, offer, accepted: null, actions: 0, preferred: 0, action: ACTION.none };
  }

  private leave(): void {
    const t = this.target;
    this.target = undefined;
    if (t === undefined || t.surface.destroyed) return;
    for (const d of this.host.devicesOf(t.surface.client)) d.post('leave');
    this.source?.resource.post('target', null);
  }

  private drop(surface: WaylandSurface): void {
    const t = this.target;
    const ok = t !== undefined && t.surface === surface && (this.source === undefined || (t.accepted !== null && t.action !== ACTION.none));
    if (!ok) {
      this.leave();
      this.cancel();
      return;
    }
    this.ended = true;
    this.dropped = t;
    this.host.ended(this);
    for (const d of this.host.devicesOf(surface.client)) d.post('drop');
    if (this.source && !this.source.resource.destroyed && this.source.resource.version >= 3) this.source.resource.post('dnd_drop_performed');
    // A source-less drag, or a target older than finish (v3): nothing more to wait for.
    if (this.source === undefined || (t.offer !== undefined && t.offer.version < 3)) this.finished();
  }

  /** The target's wl_data_offer.finish: the source may let go (a move: delete its copy). */
  finished(): void {
    const s = this.source;
    if (s && !s.resource.destroyed && s.resource.version >= 3) s.resource.post('dnd_finished');
  }

  cancel(): void {
    if (this.ended) return;
    this.ended = true;
    this.leave();
    this.host.ended(this);
    const s = this.source;
    if (s && !s.resource.destroyed) s.resource.post('cancelled');
  }

  private makeOffer(client: WaylandClient, device: Resource<undefined>): Resource<unknown> {
    const source = this.source!;
    const offer = client.create(0, wl_data_offer, device.version, {
      accept: (_o, [, mime]) => {
        const t = this.target?.offer === offer ? this.target : undefined;
        if (t === undefined) return;
        const m = mime as string | null;
        t.accepted = m !== null && source.mimeTypes.includes(m) ? m : null;
        if (!source.resource.destroyed) source.resource.post('target', t.accepted);
      },
      receive: (_o, [mime, fd]) => {
        // The data goes straight from the source's pipe to the target's, once it is dropped (or while hovering, as some clients ask).
        if (!source.resource.destroyed && source.mimeTypes.includes(mime as string)) {
          try {
            source.resource.post('send', mime, fd);
          } finally {
            native.closeFd(fd as number);
          }
        } else native.closeFd(fd as number);
      },
      finish: (o) => {
        const t = this.dropped?.offer === offer ? this.dropped : undefined;
        if (t === undefined || t.accepted === null || t.action === ACTION.none) {
          throw o.error(OFFER_ERROR.invalid_finish, 'finish before a drop accepted with an action');
        }
        if (t.action === ACTION.ask) throw o.error(OFFER_ERROR.invalid_finish, "finish with the action 'ask' unresolved");
        this.dropped = undefined;
        this.finished();
      },
      set_actions: (o, [mask, preferred]) => {
        const m = mask as number;
        const p = preferred as number;
        checkActionMask(o, m, OFFER_ERROR.invalid_action_mask);
        if (p !== ACTION.none && p !== ACTION.copy && p !== ACTION.move && p !== ACTION.ask) throw o.error(OFFER_ERROR.invalid_action, `preferred action ${p} is not one action`);
        const t = this.target?.offer === offer ? this.target : this.dropped?.offer === offer ? this.dropped : undefined;
        if (t === undefined) return;
        t.actions = m;
        t.preferred = p;
        const action = negotiate(source.actions, m, p);
        if (action === t.action) return;
        t.action = action;
        offer.post('action', action);
        if (!source.resource.destroyed && source.resource.version >= 3) source.resource.post('action', action);
      },
    }, undefined);
    device.post('data_offer', offer.id);
    for (const mime of source.mimeTypes) offer.post('offer', mime);
    if (offer.version >= 3) offer.post('source_actions', source.actions);
    return offer;
  }
}

export interface DragHost {
  devicesOf(client: WaylandClient): readonly Resource<undefined>[];
  nextSerial(): number;
  now(): number;
  ended(drag: Drag): void;
}

/** The server's drag, if one is on. */
export class DragAndDrop {
  private current: Drag | undefined;

  constructor(private readonly host: Omit<DragHost, 'ended'>) {}

  get active(): boolean {
    return this.current !== undefined;
  }

  /** start_drag: a new drag from `origin` (one at a time: a second one while one is on is cancelled). */
  start(origin: WaylandSurface, source: DragSource | undefined, icon: WaylandSurface | null): void {
    if (source) source.usedForDrag = true;
    const drag = new Drag({ ...this.host, ended: (d) => {
      if (this.current === d) this.current = undefined;
    } }, origin, source, icon);
    if (this.current !== undefined) {
      drag.cancel();
      return;
    }
    this.current = drag;
    origin.emit('drag', { icon });
    // Nobody took it over (no seat holds a press on the origin): it ends now.
    if (!drag.started) drag.cancel();
  }

  /** @internal a surface's dragInput */
  input(surface: WaylandSurface, e: SurfaceDragInput): void {
    this.current?.input(surface, e);
  }
}
