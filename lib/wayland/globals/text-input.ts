/**
 * Text input: zwp_text_input_manager_v3 (GTK 3 and 4, Qt 6, Chromium) and
 * zwp_text_input_manager_v1 (weston's editor), behind the model's one API:
 * a compositor sends text with CompositorSurface.textInput (SceneSeat.text for
 * the keyboard's surface) and reads the field's state in textInputState.
 *
 * v3 follows the keyboard: the client's text inputs get enter/leave with the
 * keyboard focus; the client enables one and describes it (surrounding text,
 * content type, cursor rectangle), all double-buffered until its commit; what
 * the compositor sends ends with done(serial), the number of commits the
 * client made, so it can tell which of its states the text answers. v1 is
 * activated by the client for a surface (activate / deactivate) and numbers its
 * states itself (commit_state).
 *
 * Bounds: surrounding text past MAX_SURROUNDING_BYTES is dropped (v3 says a
 * client sends at most 4000 bytes; the wire's 4 KiB messages bound it anyway).
 */
import type { Rect } from '../../region';
import type { SurfaceTextInput, TextInputState } from '../../surface-model';
import { DISPLAY_ERROR, type WaylandClient } from '../client';
import type { Global } from '../global';
import { zwp_text_input_manager_v1, zwp_text_input_v1 } from '../protocol/text-input-v1';
import { zwp_text_input_manager_v3, zwp_text_input_v3 } from '../protocol/text-input';
import type { Resource } from '../resource';
import type { WaylandSurface } from '../surface';

export const MAX_SURROUNDING_BYTES = 4000;
/**
 * Text inputs per client (v3 and v1 together); past it, no_memory. A toolkit
 * makes one per seat; 9,000 enabled ones with 4,000-byte surrounding text held
 * 81 MiB of the server for one client (issue 23's held-out campaign).
 */
export const MAX_TEXT_INPUTS_PER_CLIENT = 64;

interface FieldState {
  enabled: boolean;
  surroundingText: string | undefined;
  cursor: number;
  anchor: number;
  contentHint: number;
  contentPurpose: number;
  cursorRectangle: Rect | undefined;
}

const DISABLED: FieldState = { enabled: false, surroundingText: undefined, cursor: 0, anchor: 0, contentHint: 0, contentPurpose: 0, cursorRectangle: undefined };

/** One client text-input object, of either version. */
interface TextInput {
  readonly version: 'v3' | 'v1';
  readonly resource: Resource<undefined>;
  readonly client: WaylandClient;
  /** The surface it is entered on (v3: the keyboard's; v1: the one it activated). */
  surface: WaylandSurface | undefined;
  current: FieldState;
  pending: FieldState;
  /** v3: commits so far (done's serial); v1: the serial of the client's last commit_state. */
  serial: number;
}

function surrounding(text: string): string | undefined {
  return Buffer.byteLength(text, 'utf8') > MAX_SURROUNDING_BYTES ? undefined : text;
}

export class TextInputs {
  private readonly inputs = new Set<TextInput>();
  private keyboard: WaylandSurface | undefined;

  /** The state of `surface`'s enabled text field, if its client has one entered on it. */
  stateOf(surface: WaylandSurface): TextInputState | undefined {
    return this.enabledOn(surface)?.current;
  }

  /** Sends `event` to `surface`'s enabled text field; false when there is none. */
  send(surface: WaylandSurface, event: SurfaceTextInput): boolean {
    const ti = this.enabledOn(surface);
    if (ti === undefined) return false;
    const r = ti.resource;
    if (ti.version === 'v3') {
      switch (event.action) {
        case 'preedit': {
          const end = Buffer.byteLength(event.text, 'utf8');
          r.post('preedit_string', event.text === '' ? null : event.text, event.cursorBegin ?? end, event.cursorEnd ?? end);
          break;
        }
        case 'commit':
          r.post('commit_string', event.text);
          break;
        case 'deleteSurrounding':
          r.post('delete_surrounding_text', event.before, event.after);
          break;
      }
      r.post('done', ti.serial >>> 0);
    } else {
      switch (event.action) {
        case 'preedit':
          r.post('preedit_cursor', event.cursorBegin ?? Buffer.byteLength(event.text, 'utf8'));
          r.post('preedit_string', ti.serial >>> 0, event.text, '');
          break;
        case 'commit':
          r.post('commit_string', ti.serial >>> 0, event.text);
          break;
        case 'deleteSurrounding':
          // v1 counts from the cursor: `index` bytes before it (negative), `length` bytes in all.
          r.post('delete_surrounding_text', -event.before, event.before + event.after);
          break;
      }
    }
    return true;
  }

  /** @internal the keyboard went to `surface` (or to none): v3 text inputs follow it */
  keyboardFocus(surface: WaylandSurface | undefined): void {
    if (surface === this.keyboard) return;
    const old = this.keyboard;
    this.keyboard = surface;
    for (const ti of this.inputs) {
      if (ti.version !== 'v3') continue;
      if (old !== undefined && ti.surface === old) this.leave(ti);
      if (surface !== undefined && ti.client === surface.client) this.enter(ti, surface);
    }
  }

  /** @internal a surface went: text inputs entered on it leave it */
  surfaceGone(surface: WaylandSurface): void {
    if (this.keyboard === surface) this.keyboard = undefined;
    for (const ti of this.inputs) {
      if (ti.surface !== surface) continue;
      ti.surface = undefined;
      ti.current = DISABLED;
    }
  }

  globals(): Global[] {
    return [this.globalV3(), this.globalV1()];
  }

  private enabledOn(surface: WaylandSurface): TextInput | undefined {
    for (const ti of this.inputs) if (ti.surface === surface && ti.current.enabled && !ti.resource.destroyed) return ti;
    return undefined;
  }

  private enter(ti: TextInput, surface: WaylandSurface): void {
    ti.surface = surface;
    ti.resource.post('enter', surface.id);
  }

  private leave(ti: TextInput): void {
    const s = ti.surface;
    ti.surface = undefined;
    const was = ti.current.enabled;
    ti.current = DISABLED;
    if (s === undefined || s.destroyed) return;
    if (ti.version === 'v3') ti.resource.post('leave', s.id);
    else ti.resource.post('leave');
    if (was) s.emit('textInput');
  }

  /** no_memory when `client` has MAX_TEXT_INPUTS_PER_CLIENT text inputs already. */
  private checkRoom(client: WaylandClient): void {
    let mine = 0;
    for (const ti of this.inputs) if (ti.client === client) mine++;
    if (mine >= MAX_TEXT_INPUTS_PER_CLIENT) throw client.display.error(DISPLAY_ERROR.no_memory, `over ${MAX_TEXT_INPUTS_PER_CLIENT} text inputs`);
  }

  private add(ti: TextInput): void {
    this.inputs.add(ti);
    ti.resource.onDestroy(() => {
      this.inputs.delete(ti);
      const s = ti.surface;
      if (s !== undefined && !s.destroyed && ti.current.enabled) s.emit('textInput');
    });
  }

  private globalV3(): Global {
    return {
      spec: zwp_text_input_manager_v3,
      version: 1,
      bind: (client, id, version) => {
        client.create(id, zwp_text_input_manager_v3, version, {
          get_text_input: (_r, [tid]) => {
            this.checkRoom(client);
            const resource = client.create(tid as number, zwp_text_input_v3, version, {
              enable: () => {
                // Enabling starts a fresh state: what was set before it is forgotten (the protocol's reset).
                ti.pending = { ...DISABLED, enabled: true };
              },
              disable: () => {
                ti.pending = { ...DISABLED };
              },
              set_surrounding_text: (_t, [text, cursor, anchor]) => {
                ti.pending = { ...ti.pending, surroundingText: surrounding(text as string), cursor: cursor as number, anchor: anchor as number };
              },
              set_text_change_cause: () => {},
              set_content_type: (_t, [hint, purpose]) => {
                ti.pending = { ...ti.pending, contentHint: hint as number, contentPurpose: purpose as number };
              },
              set_cursor_rectangle: (_t, [x, y, w, h]) => {
                ti.pending = { ...ti.pending, cursorRectangle: { x: x as number, y: y as number, width: w as number, height: h as number } };
              },
              commit: () => {
                ti.serial++;
                ti.current = { ...ti.pending };
                const s = ti.surface;
                if (s !== undefined && !s.destroyed) s.emit('textInput');
              },
            }, undefined);
            const ti: TextInput = { version: 'v3', resource, client, surface: undefined, current: DISABLED, pending: { ...DISABLED }, serial: 0 };
            this.add(ti);
            // The keyboard is on one of this client's surfaces already: enter it now.
            if (this.keyboard !== undefined && this.keyboard.client === client && !this.keyboard.destroyed) this.enter(ti, this.keyboard);
          },
        }, undefined);
      },
    };
  }

  private globalV1(): Global {
    return {
      spec: zwp_text_input_manager_v1,
      version: 1,
      bind: (client, id, version) => {
        client.create(id, zwp_text_input_manager_v1, version, {
          create_text_input: (_r, [tid]) => {
            this.checkRoom(client);
            const resource = client.create(tid as number, zwp_text_input_v1, version, {
              activate: (_t, [, surfaceId]) => {
                const surface = (client.lookup(surfaceId as number) as Resource<WaylandSurface>).data;
                if (ti.surface !== undefined && ti.surface !== surface) this.leave(ti);
                ti.current = { ...ti.current, enabled: true };
                if (ti.surface !== surface) this.enter(ti, surface);
                surface.emit('textInput');
              },
              deactivate: () => this.leave(ti),
              show_input_panel: () => {},
              hide_input_panel: () => {},
              reset: () => {},
              set_surrounding_text: (_t, [text, cursor, anchor]) => {
                ti.current = { ...ti.current, surroundingText: surrounding(text as string), cursor: cursor as number, anchor: anchor as number };
                if (ti.surface !== undefined && !ti.surface.destroyed) ti.surface.emit('textInput');
              },
              set_content_type: (_t, [hint, purpose]) => {
                ti.current = { ...ti.current, contentHint: hint as number, contentPurpose: purpose as number };
              },
              set_cursor_rectangle: (_t, [x, y, w, h]) => {
                ti.current = { ...ti.current, cursorRectangle: { x: x as number, y: y as number, width: w as number, height: h as number } };
              },
              set_preferred_language: () => {},
              commit_state: (_t, [serial]) => {
                ti.serial = serial as number;
              },
              invoke_action: () => {},
            }, undefined);
            const ti: TextInput = { version: 'v1', resource, client, surface: undefined, current: DISABLED, pending: { ...DISABLED }, serial: 0 };
            this.add(ti);
          },
        }, undefined);
      },
    };
  }
}
