/**
 * Cursor and drag-icon attacks on the compositor (scene-server-child.ts): values
 * a client stores with one request and the compositor uses later, on its own
 * input path (a pointer motion), where nothing catches a throw.
 *
 *   npx tsx test/fuzz/campaign/attack-cursor.ts [part of a title]
 */
import * as native from '../../../lib/native';
import { wp_cursor_shape_device_v1, wp_cursor_shape_manager_v1 } from '../../../lib/wayland/protocol/cursor-shape';
import { wl_buffer, wl_compositor, wl_pointer, wl_seat, wl_shm, wl_shm_pool, wl_subcompositor, wl_subsurface, wl_surface } from '../../../lib/wayland/protocol/wayland';
import { RawWaylandClient } from '../../helpers/wayland-client';
import { campaign, sleep, type Outcome, type Rig } from './harness';

const INT_MAX = 0x7fffffff;
const INT_MIN = -0x80000000;

function buffer(c: RawWaylandClient, shm: number, w: number, h: number): number {
  const fd = native.memfdCreate('cursor', w * h * 4, 0);
  const pool = c.newId(wl_shm_pool);
  c.request(shm, wl_shm, 'create_pool', [pool, fd, w * h * 4]);
  const b = c.newId(wl_buffer);
  c.request(pool, wl_shm_pool, 'create_buffer', [b, 0, w, h, w * 4, 1]);
  native.closeFd(fd);
  return b;
}

async function windowWithPointer(rig: Rig, compositorVersion?: number): Promise<{ c: RawWaylandClient; registry: number; surface: number; compositor: number; shm: number; pointer: number; seat: number }> {
  const c = new RawWaylandClient(rig.wayland);
  c.defaultTimeoutMs = 10000;
  const registry = await c.registry();
  const shm = c.bind(registry, wl_shm);
  const { surface } = await c.configuredToplevel(registry);
  const compositor = c.bind(registry, wl_compositor, compositorVersion);
  c.request(surface, wl_surface, 'attach', [buffer(c, shm, 64, 64), 0, 0]);
  c.request(surface, wl_surface, 'commit', []);
  const seat = c.bind(registry, wl_seat);
  const pointer = c.newId(wl_pointer);
  c.request(seat, wl_seat, 'get_pointer', [pointer]);
  await c.roundtrip();
  return { c, registry, surface, compositor, shm, pointer, seat };
}

function describe(c: RawWaylandClient): string {
  const e = c.error;
  return e ? `attacker got error ${e.code}: "${e.message.slice(0, 90)}"` : c.closed ? 'attacker closed without an error' : 'attacker served';
}

/**
 * set_cursor with a hotspot at the int32 edge, sent while the client does NOT
 * have the pointer (no serial check: it is stored); then the compositor moves
 * the pointer onto the client's window.
 */
async function hotspot(rig: Rig, hx: number, hy: number, withFocus: boolean): Promise<Outcome> {
  const w = await windowWithPointer(rig);
  const cursor = w.c.newId(wl_surface);
  w.c.request(w.compositor, wl_compositor, 'create_surface', [cursor]);
  w.c.request(cursor, wl_surface, 'attach', [buffer(w.c, w.shm, 16, 16), 0, 0]);
  w.c.request(cursor, wl_surface, 'commit', []);
  if (withFocus) {
    rig.cmd(`click ${process.pid}`);
    await rig.waitLine((l) => l.startsWith('C '));
    await w.c.roundtrip().catch(() => false);
  } else {
    // Make sure the pointer is elsewhere (on the bystander).
    rig.cmd(`click ${rig.bystander.pid}`);
    await rig.waitLine((l) => l.startsWith('C '));
  }
  const enter = w.c.events.filter((e) => e.objectId === w.pointer && e.name === 'enter').pop();
  w.c.request(w.pointer, wl_pointer, 'set_cursor', [(enter?.args[0] as number) ?? 0, cursor, hx, hy]);
  await w.c.roundtrip().catch(() => false);
  // The compositor's own input: the pointer onto the attacker's window and around.
  rig.cmd(`click ${process.pid}`);
  await rig.waitLine((l) => l.startsWith('C '), 3000).catch(() => undefined);
  for (let i = 0; i < 20; i++) rig.cmd(`move ${30 + i} ${30 + i}`);
  await sleep(500);
  const out = `set_cursor hotspot (${hx}, ${hy}) ${withFocus ? 'with' : 'without'} the pointer, then the compositor moved the pointer onto the window; ${describe(w.c)}`;
  w.c.close();
  return { outcome: out };
}

/**
 * The same without an odd hotspot: the cursor surface has a subsurface at
 * (INT_MAX, INT_MAX). Nothing shows the cursor surface while the client has no
 * pointer, so the position is stored unchecked; the scene meets it when the
 * pointer enters and the seat builds the cursor's view.
 */
async function cursorSubsurface(rig: Rig): Promise<Outcome> {
  const w = await windowWithPointer(rig);
  const sub = w.c.bind(w.registry, wl_subcompositor);
  const cursor = w.c.newId(wl_surface);
  w.c.request(w.compositor, wl_compositor, 'create_surface', [cursor]);
  const child = w.c.newId(wl_surface);
  w.c.request(w.compositor, wl_compositor, 'create_surface', [child]);
  const ss = w.c.newId(wl_subsurface);
  w.c.request(sub, wl_subcompositor, 'get_subsurface', [ss, child, cursor]);
  w.c.request(ss, wl_subsurface, 'set_position', [INT_MAX, INT_MAX]);
  w.c.request(child, wl_surface, 'attach', [buffer(w.c, w.shm, 8, 8), 0, 0]);
  w.c.request(child, wl_surface, 'commit', []);
  w.c.request(cursor, wl_surface, 'attach', [buffer(w.c, w.shm, 16, 16), 0, 0]);
  w.c.request(cursor, wl_surface, 'commit', []);
  rig.cmd(`click ${rig.bystander.pid}`);
  await rig.waitLine((l) => l.startsWith('C '));
  w.c.request(w.pointer, wl_pointer, 'set_cursor', [0, cursor, 0, 0]);
  await w.c.roundtrip().catch(() => false);
  rig.cmd(`click ${process.pid}`);
  await rig.waitLine((l) => l.startsWith('C '), 3000).catch(() => undefined);
  for (let i = 0; i < 20; i++) rig.cmd(`move ${30 + i} ${30 + i}`);
  await sleep(500);
  const out = `cursor surface with a subsurface at (INT_MAX, INT_MAX), set as the cursor without the pointer (serial 0, hotspot 0, 0), then the pointer entered; ${describe(w.c)}`;
  w.c.close();
  return { outcome: out };
}

/** A cursor surface (wl_compositor v4: attach takes an offset) attached with int32-edge offsets again and again while it is the cursor. */
async function cursorOffsets(rig: Rig): Promise<Outcome> {
  const w = await windowWithPointer(rig, 4);
  const cursor = w.c.newId(wl_surface);
  w.c.request(w.compositor, wl_compositor, 'create_surface', [cursor]);
  const b = buffer(w.c, w.shm, 16, 16);
  rig.cmd(`click ${process.pid}`);
  await rig.waitLine((l) => l.startsWith('C '));
  await w.c.roundtrip().catch(() => false);
  const enter = w.c.events.filter((e) => e.objectId === w.pointer && e.name === 'enter').pop();
  w.c.request(w.pointer, wl_pointer, 'set_cursor', [(enter?.args[0] as number) ?? 0, cursor, 0, 0]);
  for (let i = 0; i < 300 && !w.c.closed; i++) {
    w.c.request(cursor, wl_surface, 'attach', [b, i % 2 ? INT_MAX : INT_MIN, i % 3 ? INT_MAX : INT_MIN]);
    w.c.request(cursor, wl_surface, 'commit', []);
    if (i % 10 === 0) {
      rig.cmd(`move ${30 + (i % 20)} ${30 + (i % 20)}`);
      await w.c.roundtrip().catch(() => false);
    }
  }
  for (let i = 0; i < 20; i++) rig.cmd(`move ${30 + i} ${30 + i}`);
  await sleep(500);
  const out = `cursor surface attached 300 times at int32-edge offsets (the hotspot moves by each), pointer moved; ${describe(w.c)}`;
  w.c.close();
  return { outcome: out };
}

/** A 4096x4096 cursor surface, redrawn every frame while the compositor moves the pointer 2,000 times. */
async function hugeCursor(rig: Rig): Promise<Outcome> {
  const w = await windowWithPointer(rig);
  const cursor = w.c.newId(wl_surface);
  w.c.request(w.compositor, wl_compositor, 'create_surface', [cursor]);
  const b = buffer(w.c, w.shm, 4096, 4096);
  w.c.request(cursor, wl_surface, 'attach', [b, 0, 0]);
  w.c.request(cursor, wl_surface, 'commit', []);
  rig.cmd(`click ${process.pid}`);
  const at = await rig.waitLine((l) => l.startsWith('C '));
  const [x, y] = at.split(' ').slice(1).map(Number);
  await w.c.roundtrip().catch(() => false);
  const enter = w.c.events.filter((e) => e.objectId === w.pointer && e.name === 'enter').pop();
  w.c.request(w.pointer, wl_pointer, 'set_cursor', [(enter?.args[0] as number) ?? 0, cursor, 2048, 2048]);
  await w.c.roundtrip().catch(() => false);
  const t0 = Date.now();
  while (Date.now() - t0 < 4000 && !w.c.closed) {
    w.c.request(cursor, wl_surface, 'damage_buffer', [0, 0, 4096, 4096]);
    w.c.request(cursor, wl_surface, 'commit', []);
    for (let i = 0; i < 20; i++) rig.cmd(`move ${x! - 10 + (i % 20)} ${y! - 10 + (i % 20)}`);
    await w.c.roundtrip().catch(() => false);
    w.c.events.length = 0;
  }
  const s = await rig.stat();
  const out = `4096x4096 cursor with full damage every roundtrip for 4 s while the pointer moves; loop lag max ${s?.maxLagMs} ms; ${describe(w.c)}`;
  w.c.close();
  return { outcome: out };
}

/** cursor-shape: every shape value (valid and not) with stale, future and zero serials, 100,000 times. */
async function shapeFlood(rig: Rig): Promise<Outcome> {
  const w = await windowWithPointer(rig);
  const mgr = w.c.bind(w.registry, wp_cursor_shape_manager_v1);
  const dev = w.c.newId(wp_cursor_shape_device_v1);
  w.c.request(mgr, wp_cursor_shape_manager_v1, 'get_pointer', [dev, w.pointer]);
  rig.cmd(`click ${process.pid}`);
  await rig.waitLine((l) => l.startsWith('C '));
  await w.c.roundtrip().catch(() => false);
  const enter = w.c.events.filter((e) => e.objectId === w.pointer && e.name === 'enter').pop();
  const serial = (enter?.args[0] as number) ?? 0;
  for (let i = 0; i < 100000 && !w.c.closed; i += 1000) {
    for (let j = 0; j < 1000; j++) w.c.request(dev, wp_cursor_shape_device_v1, 'set_shape', [j % 3 === 0 ? serial : j % 3 === 1 ? 0 : serial + 1 + j, 1 + ((i + j) % 34)]);
    rig.cmd(`move ${30 + (i % 20)} ${30 + (i % 20)}`);
    await w.c.roundtrip().catch(() => false);
    w.c.events.length = 0;
  }
  // And one shape past the enum.
  w.c.request(dev, wp_cursor_shape_device_v1, 'set_shape', [serial, 0xffffffff]);
  await w.c.roundtrip().catch(() => false);
  const out = `100,000 set_shape (valid shapes, stale/zero/future serials), then shape 0xffffffff; ${describe(w.c)}`;
  w.c.close();
  return { outcome: out, fail: w.c.error === undefined ? 'shape 0xffffffff accepted' : undefined };
}

void campaign([
  ['cursor: hotspot INT_MAX set without the pointer, then the pointer enters', (rig) => hotspot(rig, INT_MAX, INT_MAX, false)],
  ['cursor: a subsurface at INT_MAX under a cursor surface set without the pointer', cursorSubsurface],
  ['cursor: hotspot INT_MIN set with the pointer', (rig) => hotspot(rig, INT_MIN, INT_MIN, true)],
  ['cursor: attach offsets at the int32 edges on the cursor surface', cursorOffsets],
  ['cursor: 4096x4096 cursor redrawn while the pointer moves', hugeCursor],
  ['cursor-shape: 100,000 set_shape with odd serials, a shape past the enum', shapeFlood],
]);
