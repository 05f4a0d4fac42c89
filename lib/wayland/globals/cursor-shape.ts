/**
 * wp_cursor_shape_manager_v1: a client names its pointer image (the CSS cursor
 * names: 'text', 'pointer', 'crosshair', 'ew_resize', ...) instead of drawing
 * it, and the compositor draws it from its own images, so every app shows one
 * cursor theme (GTK 4, Qt 6.5+, Chromium and foot use it where offered). The
 * name reaches the model as CompositorSurface.cursor.shape; SceneSeat draws the
 * compositor's image for it (its `cursorImages` option), else its arrow.
 * set_shape with the serial of the client's latest pointer enter only, as for
 * wl_pointer.set_cursor; a shape outside the enum of the bound version is
 * invalid_shape. Tablet tools are not offered (no tablet protocol here).
 */
import type { WaylandClient } from '../client';
import type { Global } from '../global';
import { wp_cursor_shape_device_v1, wp_cursor_shape_manager_v1 } from '../protocol/cursor-shape';

const INVALID_SHAPE = (wp_cursor_shape_device_v1.enums.error as { invalid_shape: number }).invalid_shape;
const SHAPES = wp_cursor_shape_device_v1.enums.shape as Record<string, number>;
/** Shape value -> name; the values of version 1 (2 added dnd_ask and all_resize). */
const NAMES = new Map(Object.entries(SHAPES).map(([name, value]) => [value, name]));
const LAST_V1 = SHAPES.zoom_out!;

export interface CursorShapeSeat {
  setCursorShape(client: WaylandClient, serial: number, shape: string): void;
}

export function cursorShapeGlobal(seat: CursorShapeSeat): Global {
  return {
    spec: wp_cursor_shape_manager_v1,
    version: 2,
    bind(client: WaylandClient, id: number, version: number): void {
      client.create(id, wp_cursor_shape_manager_v1, version, {
        get_pointer: (_r, [did]) => {
          client.create(did as number, wp_cursor_shape_device_v1, version, {
            set_shape: (d, [serial, shape]) => {
              const name = NAMES.get(shape as number);
              if (name === undefined || (d.version < 2 && (shape as number) > LAST_V1)) {
                throw d.error(INVALID_SHAPE, `cursor shape ${shape as number} is not in wp_cursor_shape_device_v1 version ${d.version}`);
              }
              seat.setCursorShape(client, serial as number, name);
            },
          }, undefined);
        },
        get_tablet_tool_v2: (r) => {
          // No zwp_tablet_tool_v2 can exist here (no tablet protocol), so its argument never checks out first.
          throw r.error(0, 'no tablet tools on this server');
        },
      }, undefined);
    },
  };
}
