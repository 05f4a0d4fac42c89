/**
 * What the viewer page and the compositor say to each other over the WebSocket,
 * besides the binary frames (frame-wire.ts). Everything from the page is checked
 * here: a page is untrusted input like any client.
 */
import { evdevKey } from './keys';

/** The pointer as the viewer reports it, in output coordinates. */
export interface PointerInput {
  readonly action: 'move' | 'down' | 'up' | 'leave';
  readonly x: number;
  readonly y: number;
  /** Buttons held after the event, as DOM MouseEvent.buttons (1 primary, 2 secondary, 4 middle). */
  readonly buttons: number;
  /** For 'down'/'up': the button that changed, as DOM MouseEvent.button (0 primary). */
  readonly button?: number;
}

/** Per surface, what the page shows in its title bar. */
export interface SurfaceInfo {
  readonly id: number;
  readonly title: string;
  readonly pid: number;
  /** Buffer kind: shm, dumb, gbm, udmabuf. */
  readonly kind: string;
  /** Client access strategy: direct or shadow. */
  readonly access: string;
  readonly format: string;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  /** Buffer pixels per layout unit the client draws at (Wayland's buffer scale; 1 for bufshare clients). */
  readonly scale: number;
  /** Hidden at its client's request (xdg_toplevel.set_minimized) until raised. */
  readonly minimized: boolean;
  /** Frames submitted in the last second. */
  readonly fps: number;
}

export type ServerMessage =
  | { readonly type: 'hello'; readonly width: number; readonly height: number; readonly refreshHz: number }
  | { readonly type: 'surfaces'; readonly surfaces: readonly SurfaceInfo[] };

export type ViewerMessage =
  | { readonly type: 'pointer'; readonly input: PointerInput }
  | { readonly type: 'ack'; readonly sequence: number }
  | { readonly type: 'move'; readonly surface: number; readonly x: number; readonly y: number }
  | { readonly type: 'raise'; readonly surface: number }
  /** A key of the page's keyboard, as an evdev key code (parsed from DOM KeyboardEvent.code). */
  | { readonly type: 'key'; readonly key: number; readonly pressed: boolean };

/** Largest coordinate a page may send: far outside any output, small enough to stay exact. */
const COORD_LIMIT = 1 << 20;

function isCoord(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && Math.abs(v) <= COORD_LIMIT;
}

function isSmallInt(v: unknown, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;
}

/** The message, or undefined when it is not one the page may send. */
export function parseViewerMessage(text: string): ViewerMessage | undefined {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof m !== 'object' || m === null) return undefined;
  const o = m as Record<string, unknown>;
  switch (o.type) {
    case 'pointer': {
      const { action, x, y, buttons, button } = o;
      if (action !== 'move' && action !== 'down' && action !== 'up' && action !== 'leave') return undefined;
      if (!isCoord(x) || !isCoord(y) || !isSmallInt(buttons, 31)) return undefined;
      if (button !== undefined && !isSmallInt(button, 4)) return undefined;
      const input: PointerInput = button === undefined
        ? { action, x: Math.floor(x), y: Math.floor(y), buttons }
        : { action, x: Math.floor(x), y: Math.floor(y), buttons, button };
      return { type: 'pointer', input };
    }
    case 'ack':
      return isSmallInt(o.sequence, 0xffffffff) ? { type: 'ack', sequence: o.sequence } : undefined;
    case 'move':
      return isSmallInt(o.surface, 0x7fffffff) && isCoord(o.x) && isCoord(o.y) ? { type: 'move', surface: o.surface, x: o.x, y: o.y } : undefined;
    case 'raise':
      return isSmallInt(o.surface, 0x7fffffff) ? { type: 'raise', surface: o.surface } : undefined;
    case 'key': {
      const key = typeof o.code === 'string' && o.code.length <= 32 ? evdevKey(o.code) : undefined;
      return key !== undefined && typeof o.pressed === 'boolean' ? { type: 'key', key, pressed: o.pressed } : undefined;
    }
    default:
      return undefined;
  }
}
