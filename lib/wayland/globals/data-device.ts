/**
 * wl_data_device_manager: the clipboard (the selection) between clients, and
 * the compositor's own access to it.
 *
 * A client that copies makes a wl_data_source with its mime types and sets it
 * as the selection; the client with keyboard focus (now, or when it gets the
 * focus) is offered it: a new wl_data_offer, its mime types, then
 * wl_data_device.selection. A paste (wl_data_offer.receive) hands the pasting
 * client's pipe to the copying client (wl_data_source.send): the data goes from
 * one client to the other and never through the compositor, so nothing here is
 * buffered, whatever its size. A newer selection cancels the older source.
 *
 * The compositor is a peer of the clients (Clipboard): it can read the selection
 * (bounded in bytes and time) and set one of its own (a kiosk pasting text, the
 * browser viewer's clipboard).
 *
 * The primary selection (zwp_primary_selection_v1: what middle-click pastes)
 * is a second Clipboard with the same rules (globals/primary-selection.ts).
 *
 * Drag and drop (start_drag) is globals/drag-and-drop.ts's, on the same
 * devices and sources.
 */
import { Socket } from 'node:net';
import { BufshareError } from '../../errors';
import * as native from '../../native';
import { DISPLAY_ERROR, type WaylandClient } from '../client';
import type { Global } from '../global';
import type { InterfaceSpec } from '../spec';
import { wl_data_device, wl_data_device_manager, wl_data_offer, wl_data_source } from '../protocol/wayland';
import { ProtocolError, type Resource } from '../resource';
import type { WaylandSurface } from '../surface';
import { checkActionMask, DEVICE_ROLE_ERROR, SOURCE_ERROR, type DragAndDrop, type DragSource } from './drag-and-drop';

const ICON_ROLE = 'wl_data_device icon';

/** A client's wl_data_source: a selection, or a drag's source. */
type ClientDataSource = SelectionSource & DragSource;

/** Mime types kept per source: a list beyond it is cut (no client offers that many). */
export const MAX_MIME_TYPES = 64;
export const MAX_MIME_LENGTH = 256;
/**
 * Live selection sources (wl_data_source and primary-selection sources together)
 * per client; past it, no_memory. A source keeps up to 64 mime types of 256
 * bytes: 9,990 of them, within the object bound, held 200 MiB of the server
 * (held-out campaign); clients make one a copy and drop it when it is cancelled.
 */
export const MAX_SOURCES_PER_CLIENT = 128;
const liveSources = new WeakMap<WaylandClient, number>();

/** Counts a new source of `client` until it is destroyed; a ProtocolError (no_memory) past the bound. */
export function countSource(client: WaylandClient, source: Resource<unknown>): void {
  const n = liveSources.get(client) ?? 0;
  if (n >= MAX_SOURCES_PER_CLIENT) throw new ProtocolError(client.display, DISPLAY_ERROR.no_memory, `over ${MAX_SOURCES_PER_CLIENT} selection sources`);
  liveSources.set(client, n + 1);
  source.onDestroy(() => liveSources.set(client, (liveSources.get(client) ?? 1) - 1));
}

/** What a selection is: its mime types, and how the data of one reaches a pipe. */
export interface SelectionSource {
  readonly mimeTypes: readonly string[];
  /** Writes the data for `mime` into `fd` (the write end of the paster's pipe); takes ownership of `fd`. */
  send(mime: string, fd: number): void;
  /** A newer selection replaced this one. */
  cancel(): void;
  /** Whether the owner may be sent another paste now (takes it from the owner's allowance); refused pastes are not sent. */
  admitPaste?(): boolean;
}

export interface ReadSelectionOptions {
  /** Bytes read at most; past them, ERR_BUFSHARE_LIMIT_EXCEEDED. Default 16 MiB. */
  readonly maxBytes?: number;
  /** Milliseconds the copying client has to write and close; then ERR_BUFSHARE_TIMEOUT. Default 5000. */
  readonly timeoutMs?: number;
}

/**
 * One selection of the server, and who is offered it: the clipboard
 * (wl_data_offer) or the primary selection (zwp_primary_selection_offer_v1),
 * whose offers and devices have the same events.
 */
/**
 * A focused client with more than this queued and unread gets the selection
 * later, once it has read (the latest selection then): a client setting the
 * selection 20,000 times, each a new offer with 64 long mime types (16 KB of
 * events for 12 bytes of request), got the focused client (foot) disconnected
 * at its 4 MiB bound (issue 23's held-out campaign).
 */
const OFFER_BACKLOG_BYTES = 64 * 1024;
/** How often a held-back offer looks again whether the focused client has read. */
const OFFER_RETRY_MS = 10;
/**
 * Pastes a selection's owner is sent (each with an fd): a burst of this many,
 * then this many a second. Past it, or while the owner has RECEIVE_BACKLOG_FDS
 * queued and unread, a paste is refused, its pipe closed: the paster reads an
 * empty paste. 20,000 pastes from another client filled the owner's queue to its
 * 256-fd bound and disconnected the owner (held-out campaign); what the kernel
 * already took cannot be counted (and an unprivileged compositor's sendmsg fails
 * with ETOOMANYREFS past RLIMIT_NOFILE fds in flight), hence the rate as well.
 */
const PASTES_PER_SECOND = 64;
const RECEIVE_BACKLOG_FDS = 64;

export class Clipboard {
  private current: SelectionSource | undefined;
  private readonly devices = new Map<WaylandClient, Set<Resource<undefined>>>();
  private focus: WaylandClient | undefined;
  /** The focused client was not offered the current selection yet (it had too much unread): a retry is pending. */
  private offerHeld: ReturnType<typeof setTimeout> | undefined;
  /** The serial a client set the current selection with (undefined: the compositor's, or none). */
  private currentSerial: number | undefined;

  constructor(private readonly offerSpec: InterfaceSpec = wl_data_offer) {}

  /** The selection's mime types, or undefined when there is none. */
  get mimeTypes(): readonly string[] | undefined {
    return this.current?.mimeTypes;
  }

  /** Makes `source` the selection (undefined: none), cancelling the one before, and offers it to the focused client. */
  set(source: SelectionSource | undefined): void {
    this.setWithSerial(source, undefined);
  }

  /**
   * A client's set_selection, with the serial of the input event it answers. One
   * not newer than the serial of the selection now is ignored, as weston does: a
   * serial sets the selection once. A client repeating set_selection with one
   * serial made every focused client read a new offer each time (20,000 offers of
   * 64 long mime types: foot gave up; held-out campaign).
   */
  setFromClient(source: SelectionSource | undefined, serial: number): void {
    if (this.currentSerial !== undefined && ((serial - this.currentSerial) | 0) <= 0) return;
    this.setWithSerial(source, serial);
  }

  private setWithSerial(source: SelectionSource | undefined, serial: number | undefined): void {
    this.currentSerial = source === undefined ? undefined : serial;
    const old = this.current;
    this.current = source;
    if (old !== undefined && old !== source) old.cancel();
    if (this.focus !== undefined) this.offerWhenRead(this.focus);
  }

  /** Offers the selection to `client` now, or, while it has much unread, the latest one once it has read. */
  private offerWhenRead(client: WaylandClient): void {
    if (this.offerHeld !== undefined) return; // the retry offers whatever is current then
    if (client.backlog.bytes <= OFFER_BACKLOG_BYTES) {
      this.offerTo(client);
      return;
    }
    const retry = (): void => {
      this.offerHeld = undefined;
      const focus = this.focus;
      if (focus === undefined || focus.closed) return;
      if (focus.backlog.bytes > OFFER_BACKLOG_BYTES) {
        // Unref'd: a held-back offer never keeps a closing server's process alive.
        this.offerHeld = setTimeout(retry, OFFER_RETRY_MS).unref();
        return;
      }
      this.offerTo(focus);
    };
    this.offerHeld = setTimeout(retry, OFFER_RETRY_MS).unref();
  }

  /** The selection as text or bytes: the copying client writes it into a socket we read, bounded. */
  read(mime: string, options: ReadSelectionOptions = {}): Promise<Buffer> {
    const source = this.current;
    if (source === undefined || !source.mimeTypes.includes(mime)) {
      return Promise.reject(new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', `the selection has no ${mime}`));
    }
    const maxBytes = options.maxBytes ?? 16 << 20;
    const timeoutMs = options.timeoutMs ?? 5000;
    // A socket pair, not a pipe: Node reads it on the event loop (a pipe fd would block a threadpool thread).
    const [ours, theirs] = native.streamPair();
    const socket = new Socket({ fd: ours, readable: true, writable: false });
    source.send(mime, theirs);
    return new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const fail = (e: BufshareError): void => {
        clearTimeout(timer);
        socket.destroy();
        reject(e);
      };
      const timer = setTimeout(() => fail(new BufshareError('ERR_BUFSHARE_TIMEOUT', `the selection's owner wrote ${size} bytes of ${mime} and did not finish in ${timeoutMs} ms`)), timeoutMs);
      socket.on('data', (d: Buffer) => {
        size += d.length;
        if (size > maxBytes) fail(new BufshareError('ERR_BUFSHARE_LIMIT_EXCEEDED', `the selection's ${mime} is over ${maxBytes} bytes`));
        else chunks.push(d);
      });
      socket.on('error', (e) => fail(new BufshareError('ERR_BUFSHARE_SYSCALL', `reading the selection: ${e.message}`, { cause: e })));
      socket.on('end', () => {
        clearTimeout(timer);
        socket.destroy();
        resolve(Buffer.concat(chunks));
      });
    });
  }

  /** @internal a source that goes while it is the selection leaves no selection */
  sourceGone(source: SelectionSource): void {
    if (this.current === source) this.set(undefined);
  }

  /** @internal the keyboard went to `client`'s surface: it is offered the selection */
  focusChanged(client: WaylandClient | undefined): void {
    if (client === this.focus) return;
    this.focus = client;
    if (this.offerHeld !== undefined) {
      clearTimeout(this.offerHeld);
      this.offerHeld = undefined;
    }
    if (client !== undefined) this.offerTo(client);
  }

  /** @internal the client's data devices (a drag's events go to them) */
  devicesOf(client: WaylandClient): Resource<undefined>[] {
    return [...(this.devices.get(client) ?? [])];
  }

  /** @internal */
  addDevice(client: WaylandClient, device: Resource<undefined>): void {
    let set = this.devices.get(client);
    if (set === undefined) {
      set = new Set();
      this.devices.set(client, set);
    }
    set.add(device);
    device.onDestroy(() => {
      set.delete(device);
      if (set.size === 0) this.devices.delete(client);
    });
    if (client === this.focus) this.offerDevice(client, device);
  }

  /** @internal a client went: its sources with it */
  clientGone(client: WaylandClient): void {
    if (this.focus === client) this.focus = undefined;
  }

  private offerTo(client: WaylandClient): void {
    for (const device of this.devices.get(client) ?? []) this.offerDevice(client, device);
  }

  private offerDevice(client: WaylandClient, device: Resource<undefined>): void {
    const source = this.current;
    if (source === undefined) {
      device.post('selection', 0);
      return;
    }
    // A new offer each time, as the protocol has it; the client destroys the ones it is done with.
    const offer = client.create(0, this.offerSpec, device.version, {
      accept: () => {},
      receive: (_r, [mime, fd]) => {
        // Only the selection still current may be read; an old offer's receive just closes the pipe.
        if (this.current === source && source.mimeTypes.includes(mime as string) && source.admitPaste?.() !== false) source.send(mime as string, fd as number);
        else native.closeFd(fd as number);
      },
      finish: () => {},
      set_actions: () => {},
    }, undefined);
    device.post('data_offer', offer.id);
    for (const mime of source.mimeTypes) offer.post('offer', mime);
    device.post('selection', offer.id);
  }
}

/** A client's wl_data_source (or primary selection source) as a selection: its mime types, and send() forwarded to it. */
export function clientSource(source: Resource<SelectionSource | undefined>, mimeTypes: string[]): SelectionSource {
  let allowance = PASTES_PER_SECOND;
  let refilled = performance.now();
  return {
    mimeTypes,
    admitPaste: () => {
      const now = performance.now();
      allowance = Math.min(PASTES_PER_SECOND, allowance + ((now - refilled) * PASTES_PER_SECOND) / 1000);
      refilled = now;
      if (allowance < 1 || source.client.backlog.fds >= RECEIVE_BACKLOG_FDS) return false;
      allowance--;
      return true;
    },
    send: (mime, fd) => {
      try {
        source.post('send', mime, fd);
      } finally {
        // The connection sends its own dup of the fd.
        native.closeFd(fd);
      }
    },
    cancel: () => source.post('cancelled'),
  };
}

/** The compositor's own selection: `data` by mime type, written to each paster's pipe, never blocking the loop. */
export function compositorSource(data: Readonly<Record<string, string | Uint8Array>>): SelectionSource {
  return {
    mimeTypes: Object.keys(data).slice(0, MAX_MIME_TYPES),
    send: (mime, fd) => {
      const socket = new Socket({ fd, readable: false, writable: true });
      socket.on('error', () => socket.destroy()); // the paster closed its end: nothing to do
      const value = data[mime];
      socket.end(value === undefined ? Buffer.alloc(0) : typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value));
    },
    cancel: () => {},
  };
}

export function dataDeviceGlobal(clipboard: Clipboard, dnd: DragAndDrop): Global {
  return {
    spec: wl_data_device_manager,
    version: 3,
    bind(client, id, version) {
      client.create(id, wl_data_device_manager, version, {
        create_data_source: (_r, [sid]) => {
          const mimeTypes: string[] = [];
          const source = client.create<ClientDataSource | undefined>(sid as number, wl_data_source, version, {
            offer: (_s, [mime]) => {
              const m = mime as string;
              if (mimeTypes.length < MAX_MIME_TYPES && m.length <= MAX_MIME_LENGTH && !mimeTypes.includes(m)) mimeTypes.push(m);
            },
            set_actions: (s, [mask]) => {
              checkActionMask(s, mask as number, SOURCE_ERROR.invalid_action_mask);
              // As wlroots: the actions are fixed once the drag started.
              if (s.data?.usedForDrag) throw s.error(SOURCE_ERROR.invalid_action_mask, 'set_actions after the source started a drag');
              if (s.data) {
                s.data.actions = mask as number;
                s.data.actionsSet = true;
              }
            },
          }, undefined);
          countSource(client, source);
          const selection: ClientDataSource = { ...clientSource(source, mimeTypes), resource: source, actions: 0, actionsSet: false, usedForDrag: false };
          source.data = selection;
          source.onDestroy(() => clipboard.sourceGone(selection));
        },
        get_data_device: (_r, [did]) => {
          const device = client.create(did as number, wl_data_device, version, {
            set_selection: (_d, [sourceId, serial]) => {
              const source = sourceId === null || sourceId === 0 ? undefined : client.lookup(sourceId as number) as Resource<ClientDataSource | undefined> | undefined;
              if (source?.data?.usedForDrag || source?.data?.actionsSet) throw source.error(SOURCE_ERROR.invalid_source, 'a drag-and-drop source (with actions, or dragged) cannot become the selection');
              clipboard.setFromClient(source?.data, serial as number);
            },
            start_drag: (d, [sourceId, originId, iconId]) => {
              const source = sourceId === null || sourceId === 0 ? undefined : client.lookup(sourceId as number) as Resource<ClientDataSource | undefined>;
              const origin = (client.lookup(originId as number) as Resource<WaylandSurface>).data;
              let icon: WaylandSurface | null = null;
              if (iconId !== null && iconId !== 0) {
                icon = (client.lookup(iconId as number) as Resource<WaylandSurface>).data;
                if (icon.role === undefined) icon.role = { name: ICON_ROLE, shown: false, child: true };
                else if (icon.role.name !== ICON_ROLE) throw d.error(DEVICE_ROLE_ERROR, `wl_surface@${icon.id} already has the role ${icon.role.name}`);
              }
              if (source?.data?.usedForDrag) throw source.error(SOURCE_ERROR.invalid_source, 'the source already started a drag');
              dnd.start(origin, source?.data, icon);
            },
          }, undefined);
          clipboard.addDevice(client, device);
        },
      }, undefined);
    },
  };
}
