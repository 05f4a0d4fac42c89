/**
 * Churn and misuse of the smaller recent protocols on the compositor
 * (scene-server-child.ts): xdg-decoration, xdg-output, fractional-scale,
 * relative pointer, text-input v1 (activate on many surfaces, deactivate,
 * destroy while active), and a popup grab whose client errors out while the
 * grab holds the keyboard.
 *
 *   npx tsx test/fuzz/campaign/attack-protocols.ts [part of a title]
 */
import * as native from '../../../lib/native';
import { wp_fractional_scale_manager_v1, wp_fractional_scale_v1 } from '../../../lib/wayland/protocol/fractional-scale';
import { zwp_relative_pointer_manager_v1, zwp_relative_pointer_v1 } from '../../../lib/wayland/protocol/relative-pointer';
import { zwp_text_input_manager_v1, zwp_text_input_v1 } from '../../../lib/wayland/protocol/text-input-v1';
import { zxdg_decoration_manager_v1, zxdg_toplevel_decoration_v1 } from '../../../lib/wayland/protocol/xdg-decoration';
import { zxdg_output_manager_v1, zxdg_output_v1 } from '../../../lib/wayland/protocol/xdg-output';
import { wl_buffer, wl_compositor, wl_output, wl_pointer, wl_seat, wl_shm, wl_shm_pool, wl_surface } from '../../../lib/wayland/protocol/wayland';
import { xdg_popup, xdg_positioner, xdg_surface, xdg_wm_base } from '../../../lib/wayland/protocol/xdg-shell';
import { RawWaylandClient } from '../../helpers/wayland-client';
import { campaign, sleep, type Outcome, type Rig } from './harness';

function describe(c: RawWaylandClient): string {
  const e = c.error;
  return e ? `attacker got error ${e.code}: "${e.message.slice(0, 90)}"` : c.closed ? 'attacker closed without an error' : 'attacker served';
}

async function window(rig: Rig): Promise<{ c: RawWaylandClient; registry: number; surface: number; toplevel: number; xdgSurface: number; compositor: number; wm: number; seat: number; shm: number }> {
  const c = new RawWaylandClient(rig.wayland);
  c.defaultTimeoutMs = 20000;
  const registry = await c.registry();
  const shm = c.bind(registry, wl_shm);
  const t = await c.configuredToplevel(registry);
  const fd = native.memfdCreate('w', 64 * 64 * 4, 0);
  const pool = c.newId(wl_shm_pool);
  c.request(shm, wl_shm, 'create_pool', [pool, fd, 64 * 64 * 4]);
  const b = c.newId(wl_buffer);
  c.request(pool, wl_shm_pool, 'create_buffer', [b, 0, 64, 64, 256, 1]);
  native.closeFd(fd);
  c.request(t.surface, wl_surface, 'attach', [b, 0, 0]);
  c.request(t.surface, wl_surface, 'commit', []);
  const seat = c.bind(registry, wl_seat);
  await c.roundtrip();
  return { c, registry, ...t, seat, shm };
}

/** 20,000 rounds: a decoration (set_mode, unset_mode), an xdg_output, a fractional scale and a relative pointer made and destroyed; then each protocol's "already exists" error. */
async function churn(rig: Rig): Promise<Outcome> {
  const w = await window(rig);
  const { c, registry } = w;
  const deco = c.bind(registry, zxdg_decoration_manager_v1);
  const xo = c.bind(registry, zxdg_output_manager_v1);
  const fs = c.bind(registry, wp_fractional_scale_manager_v1);
  const rp = c.bind(registry, zwp_relative_pointer_manager_v1);
  const output = c.bind(registry, wl_output);
  const pointer = c.newId(wl_pointer);
  c.request(w.seat, wl_seat, 'get_pointer', [pointer]);
  const d = c.newId(zxdg_toplevel_decoration_v1);
  const o = c.newId(zxdg_output_v1);
  const f = c.newId(wp_fractional_scale_v1);
  const r = c.newId(zwp_relative_pointer_v1);
  for (let i = 0; i < 20000 && !c.closed; i += 500) {
    for (let j = 0; j < 500; j++) {
      c.request(deco, zxdg_decoration_manager_v1, 'get_toplevel_decoration', [d, w.toplevel]);
      c.request(d, zxdg_toplevel_decoration_v1, 'set_mode', [1 + (j % 2)]);
      c.request(d, zxdg_toplevel_decoration_v1, 'unset_mode', []);
      c.request(d, zxdg_toplevel_decoration_v1, 'destroy', []);
      c.request(xo, zxdg_output_manager_v1, 'get_xdg_output', [o, output]);
      c.request(o, zxdg_output_v1, 'destroy', []);
      c.request(fs, wp_fractional_scale_manager_v1, 'get_fractional_scale', [f, w.surface]);
      c.request(f, wp_fractional_scale_v1, 'destroy', []);
      c.request(rp, zwp_relative_pointer_manager_v1, 'get_relative_pointer', [r, pointer]);
      c.request(r, zwp_relative_pointer_v1, 'destroy', []);
    }
    c.request(w.surface, wl_surface, 'commit', []);
    await c.roundtrip().catch(() => false);
    c.events.length = 0;
  }
  const survived = describe(c);
  // The protocol's own errors: two decorations for one toplevel, two fractional scales for one surface.
  const errs: string[] = [];
  for (const kind of ['decoration', 'fractional']) {
    const v = await window(rig);
    if (kind === 'decoration') {
      const m = v.c.bind(v.registry, zxdg_decoration_manager_v1);
      v.c.request(m, zxdg_decoration_manager_v1, 'get_toplevel_decoration', [v.c.newId(zxdg_toplevel_decoration_v1), v.toplevel]);
      v.c.request(m, zxdg_decoration_manager_v1, 'get_toplevel_decoration', [v.c.newId(zxdg_toplevel_decoration_v1), v.toplevel]);
    } else {
      const m = v.c.bind(v.registry, wp_fractional_scale_manager_v1);
      v.c.request(m, wp_fractional_scale_manager_v1, 'get_fractional_scale', [v.c.newId(wp_fractional_scale_v1), v.surface]);
      v.c.request(m, wp_fractional_scale_manager_v1, 'get_fractional_scale', [v.c.newId(wp_fractional_scale_v1), v.surface]);
    }
    await v.c.roundtrip(3000).catch(() => false);
    errs.push(`${kind} twice: ${v.c.error ? `error ${v.c.error.code}` : 'NO error'}`);
    v.c.close();
  }
  c.close();
  return { outcome: `20,000 rounds of decoration/xdg-output/fractional-scale/relative-pointer create+destroy: ${survived}; ${errs.join(', ')}`, fail: errs.some((e) => e.includes('NO error')) ? 'a protocol error missing' : undefined };
}

/** text-input v1: 5,000 inputs activated on the focused surface with 4 KB surrounding text, reset, commit_state; then destroyed while active; the compositor types meanwhile. */
async function textInputV1(rig: Rig): Promise<Outcome> {
  const w = await window(rig);
  const { c, registry } = w;
  c.request(w.seat, wl_seat, 'get_keyboard', [c.newId(RawWaylandClient.interface('wl_keyboard'))]);
  rig.cmd(`click ${process.pid}`);
  await rig.waitLine((l) => l.startsWith('C '));
  const m = c.bind(registry, zwp_text_input_manager_v1);
  const inputs: number[] = [];
  for (let i = 0; i < 5000 && !c.closed; i++) {
    const t = c.newId(zwp_text_input_v1);
    c.request(m, zwp_text_input_manager_v1, 'create_text_input', [t]);
    c.request(t, zwp_text_input_v1, 'activate', [w.seat, w.surface]);
    c.request(t, zwp_text_input_v1, 'set_surrounding_text', ['é'.repeat(2000), 0xffffffff, 0xffffffff]);
    c.request(t, zwp_text_input_v1, 'set_cursor_rectangle', [0x7fffffff, -0x80000000, 0x7fffffff, 0x7fffffff]);
    c.request(t, zwp_text_input_v1, 'set_preferred_language', ['x'.repeat(3000)]);
    c.request(t, zwp_text_input_v1, 'invoke_action', [0xffffffff, 0xffffffff]);
    c.request(t, zwp_text_input_v1, 'commit_state', [i]);
    inputs.push(t);
    if (i % 500 === 499) {
      rig.cmd(`text ${'q'.repeat(1000)}`);
      await c.roundtrip().catch(() => false);
      c.events.length = 0;
    }
  }
  // v1 has no destructor: deactivate half of them.
  for (const t of inputs.slice(0, 2500)) c.request(t, zwp_text_input_v1, 'deactivate', [w.seat]);
  rig.cmd('text after');
  await c.roundtrip().catch(() => false);
  // The focused surface destroyed with 2,500 inputs still active on it, then typing.
  c.request(w.surface, wl_surface, 'destroy', []);
  await c.roundtrip().catch(() => false);
  rig.cmd('text gone');
  rig.cmd('key 30');
  await sleep(300);
  const out = `5,000 v1 text inputs activated with 4 KB surrounding text and int32-edge rectangles, half deactivated, the surface destroyed under the rest while the compositor typed; ${describe(c)}`;
  c.close();
  return { outcome: out };
}

/** A popup with a grab (it takes the keyboard), then the client commits a protocol error; the compositor keeps typing and clicking. */
async function grabThenError(rig: Rig): Promise<Outcome> {
  const w = await window(rig);
  const { c } = w;
  c.request(w.seat, wl_seat, 'get_keyboard', [c.newId(RawWaylandClient.interface('wl_keyboard'))]);
  const pointer = c.newId(wl_pointer);
  c.request(w.seat, wl_seat, 'get_pointer', [pointer]);
  rig.cmd(`click ${process.pid}`);
  const at = await rig.waitLine((l) => l.startsWith('C '));
  const [x, y] = at.split(' ').slice(1).map(Number);
  rig.cmd(`press ${x} ${y}`);
  await c.roundtrip();
  const button = c.events.filter((e) => e.objectId === pointer && e.name === 'button').pop();
  const pos = c.newId(xdg_positioner);
  c.request(w.wm, xdg_wm_base, 'create_positioner', [pos]);
  c.request(pos, xdg_positioner, 'set_size', [20, 20]);
  c.request(pos, xdg_positioner, 'set_anchor_rect', [0, 0, 10, 10]);
  const s = c.newId(wl_surface);
  c.request(w.compositor, wl_compositor, 'create_surface', [s]);
  const xs = c.newId(xdg_surface);
  c.request(w.wm, xdg_wm_base, 'get_xdg_surface', [xs, s]);
  const p = c.newId(xdg_popup);
  c.request(xs, xdg_surface, 'get_popup', [p, w.xdgSurface, pos]);
  c.request(p, xdg_popup, 'grab', [w.seat, (button?.args[0] as number) ?? 0]);
  c.request(s, wl_surface, 'commit', []);
  await c.roundtrip();
  const conf = c.events.filter((e) => e.objectId === xs && e.name === 'configure').pop();
  if (conf) c.request(xs, xdg_surface, 'ack_configure', [conf.args[0] as number]);
  const fd = native.memfdCreate('p', 20 * 20 * 4, 0);
  const pool = c.newId(wl_shm_pool);
  c.request(w.shm, wl_shm, 'create_pool', [pool, fd, 20 * 20 * 4]);
  const b = c.newId(wl_buffer);
  c.request(pool, wl_shm_pool, 'create_buffer', [b, 0, 20, 20, 80, 1]);
  native.closeFd(fd);
  c.request(s, wl_surface, 'attach', [b, 0, 0]);
  c.request(s, wl_surface, 'commit', []);
  await c.roundtrip();
  rig.cmd(`release ${x} ${y}`);
  rig.cmd('key 30');
  await c.roundtrip();
  const grabbed = !c.events.some((e) => e.objectId === p && e.name === 'popup_done');
  // The error, while the grab holds the keyboard and pointer.
  c.request(xs, xdg_surface, 'ack_configure', [0xdeadbeef]);
  await c.until(() => c.closed, 3000).catch(() => undefined);
  for (let i = 0; i < 10; i++) rig.cmd('key 30');
  rig.cmd(`click ${rig.bystander.pid}`);
  const after = await rig.waitLine((l) => l.startsWith('C '), 5000).catch(() => 'no answer');
  const out = `popup grab ${grabbed ? 'held' : 'not held (popup_done)'}; then an invalid ack_configure: ${describe(c)}; keys and a click on the bystander after: ${after}`;
  c.close();
  return { outcome: out };
}

void campaign([
  ['decoration / xdg-output / fractional-scale / relative-pointer churn and double-creation errors', churn],
  ['text-input v1: 5,000 activated inputs, their surface destroyed under the compositor typing', textInputV1],
  ['xdg_popup grab, then the client errors out while the grab holds', grabThenError],
]);
