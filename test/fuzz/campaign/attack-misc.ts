/**
 * Churn, connection, fd and newer-protocol attacks on the compositor
 * (scene-server-child.ts): object churn, connect/disconnect loops, slow-loris
 * partial messages, activation-token and text-input floods, idle inhibitors,
 * pointer constraints and a drag whose client dies mid-drag, fd floods.
 * weston-simple-shm and the bystander must not suffer.
 *
 *   npx tsx test/fuzz/campaign/attack-misc.ts [part of a title]
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import * as native from '../../../lib/native';
import { zwp_idle_inhibit_manager_v1, zwp_idle_inhibitor_v1 } from '../../../lib/wayland/protocol/idle-inhibit';
import { zwp_locked_pointer_v1, zwp_pointer_constraints_v1 } from '../../../lib/wayland/protocol/pointer-constraints';
import { zwp_text_input_manager_v3, zwp_text_input_v3 } from '../../../lib/wayland/protocol/text-input';
import { xdg_activation_token_v1, xdg_activation_v1 } from '../../../lib/wayland/protocol/xdg-activation';
import { wl_buffer, wl_compositor, wl_data_device, wl_data_device_manager, wl_data_source, wl_display, wl_region, wl_registry, wl_seat, wl_shm, wl_shm_pool, wl_surface } from '../../../lib/wayland/protocol/wayland';
import { encodeMessage } from '../../../lib/wayland/wire';
import { RawWaylandClient } from '../../helpers/wayland-client';
import { campaign, sleep, type Outcome, type Rig } from './harness';

async function client(rig: Rig): Promise<{ c: RawWaylandClient; registry: number }> {
  const c = new RawWaylandClient(rig.wayland);
  c.defaultTimeoutMs = 60000;
  const registry = await c.registry();
  return { c, registry };
}

function describe(c: RawWaylandClient): string {
  const e = c.error;
  return e ? `attacker got error ${e.code} on ${e.objectId}: "${e.message.slice(0, 100)}"` : c.closed ? 'attacker closed without an error' : 'attacker served';
}

function trim(c: RawWaylandClient): void {
  c.events.length = 0;
  for (const fd of c.receivedFds.splice(0)) native.closeFd(fd);
}

/** A window with a 64x64 buffer, committed: something to focus, press on, inhibit, constrain. */
async function window(c: RawWaylandClient, registry: number): Promise<{ surface: number; compositor: number; seat: number }> {
  const shm = c.bind(registry, wl_shm);
  const { surface, compositor } = await c.configuredToplevel(registry);
  const fd = native.memfdCreate('attacker', 64 * 64 * 4, 0);
  const pool = c.newId(wl_shm_pool);
  c.request(shm, wl_shm, 'create_pool', [pool, fd, 64 * 64 * 4]);
  const buffer = c.newId(wl_buffer);
  c.request(pool, wl_shm_pool, 'create_buffer', [buffer, 0, 64, 64, 256, 1]);
  c.request(surface, wl_surface, 'attach', [buffer, 0, 0]);
  c.request(surface, wl_surface, 'commit', []);
  native.closeFd(fd);
  const seat = c.bind(registry, wl_seat);
  await c.roundtrip();
  return { surface, compositor, seat };
}

/** 300,000 wl_region create/destroy pairs (and as many surfaces): does the memory come back? */
async function objectChurn(rig: Rig): Promise<Outcome> {
  const { c, registry } = await client(rig);
  const compositor = c.bind(registry, wl_compositor);
  const N = 300000;
  // Ids are reused after delete_id, as libwayland does: two ids alternate.
  const a = c.newId(wl_region);
  const b = c.newId(wl_surface);
  const t0 = Date.now();
  for (let i = 0; i < N; i += 2000) {
    for (let j = 0; j < 2000; j++) {
      c.request(compositor, wl_compositor, 'create_region', [a]);
      c.request(a, wl_region, 'add', [j, j, 10, 10]);
      c.request(a, wl_region, 'destroy', []);
      c.request(compositor, wl_compositor, 'create_surface', [b]);
      c.request(b, wl_surface, 'destroy', []);
    }
    await c.roundtrip().catch(() => false);
    trim(c);
    if (c.closed) break;
  }
  const out = `${N} region + ${N} surface create/destroy pairs in ${Date.now() - t0} ms; ${describe(c)}`;
  c.close();
  return { outcome: out };
}

/** 3,000 connections that bind every global and hang up at once (no sync). */
async function connectLoop(rig: Rig): Promise<Outcome> {
  const probe = await client(rig);
  const globals = [...probe.c.globals.entries()];
  probe.c.close();
  let made = 0;
  let refused = 0;
  const t0 = Date.now();
  for (let i = 0; i < 3000; i++) {
    let c: RawWaylandClient;
    try {
      c = new RawWaylandClient(rig.wayland);
    } catch {
      refused++;
      continue;
    }
    const reg = c.newId(RawWaylandClient.interface('wl_registry'));
    c.request(1, wl_display, 'get_registry', [reg]);
    for (const [name, [gname, version]] of globals) {
      c.request(reg, wl_registry, 'bind', [gname, { interface: name, version, id: c.newId(RawWaylandClient.interface('wl_callback')) }]);
    }
    if (i % 2 === 0) c.request(1, wl_display, 'sync', [c.newId(RawWaylandClient.interface('wl_callback'))]);
    c.connection.flush();
    c.close();
    made++;
    if (i % 50 === 0) await sleep(1);
  }
  return { outcome: `${made} connections binding all ${globals.length} globals then closing, ${refused} refused at connect, in ${Date.now() - t0} ms` };
}

/** 40 connections each holding a partial message (a header claiming 4096 bytes, 4095 sent), for 5 s; a fresh client must still be served. */
async function slowLoris(rig: Rig): Promise<Outcome> {
  const socks: native.StreamSocket[] = [];
  for (let i = 0; i < 40; i++) {
    const s = native.openStream(native.streamConnect(rig.wayland), () => {});
    const m = new Uint8Array(4095);
    const dv = new DataView(m.buffer);
    dv.setUint32(0, 1, true);
    dv.setUint32(4, (4096 << 16) | 0, true);
    s.sendStream(m.subarray(0, i % 2 === 0 ? 4095 : 7));
    socks.push(s);
  }
  await sleep(1000);
  const fresh = new RawWaylandClient(rig.wayland);
  const served = await fresh.roundtrip(3000).catch(() => false);
  fresh.close();
  await sleep(4000);
  const buf = new Uint8Array(4096);
  const fds = new Int32Array(native.MAX_FDS_PER_STREAM_SEND);
  const meta = new Int32Array(2);
  let cut = 0;
  for (const s of socks) {
    try {
      if (s.recvStream(buf, fds, meta) < 0) cut++;
    } catch {
      cut++;
    }
    s.close();
  }
  return { outcome: `40 connections with a partial message held 5 s (${cut} cut by the server); a fresh client ${served ? 'served' : 'NOT served'}`, fail: served ? undefined : 'a fresh client was not served' };
}

/** 100,000 activation tokens asked for (committed, destroyed), and 100,000 activate calls with made-up tokens. */
async function activationFlood(rig: Rig): Promise<Outcome> {
  const { c, registry } = await client(rig);
  const { surface, seat } = await window(c, registry);
  const act = c.bind(registry, xdg_activation_v1);
  const tok = c.newId(xdg_activation_token_v1);
  let done = 0;
  for (let i = 0; i < 100000; i += 1000) {
    for (let j = 0; j < 1000; j++) {
      c.request(act, xdg_activation_v1, 'get_activation_token', [tok]);
      c.request(tok, xdg_activation_token_v1, 'set_serial', [i + j, seat]);
      c.request(tok, xdg_activation_token_v1, 'set_app_id', ['x'.repeat(1000)]);
      c.request(tok, xdg_activation_token_v1, 'set_surface', [surface]);
      c.request(tok, xdg_activation_token_v1, 'commit', []);
      c.request(tok, xdg_activation_token_v1, 'destroy', []);
    }
    await c.roundtrip().catch(() => false);
    done += c.events.filter((e) => e.objectId === tok).length;
    trim(c);
    if (c.closed) break;
  }
  for (let i = 0; i < 100000; i += 1000) {
    for (let j = 0; j < 1000; j++) c.request(act, xdg_activation_v1, 'activate', [`${'f'.repeat(32)}${i + j}${'y'.repeat(2000)}`, surface]);
    await c.roundtrip().catch(() => false);
    trim(c);
    if (c.closed) break;
  }
  const out = `100,000 tokens asked (events back ${done}), 100,000 activate with made-up 2 KB tokens; ${describe(c)}`;
  c.close();
  return { outcome: out };
}

/** 9,000 text inputs, each with 4,000 bytes of surrounding text committed: what one client can make the server hold. */
async function textInputHoard(rig: Rig): Promise<Outcome> {
  const { c, registry } = await client(rig);
  const { seat } = await window(c, registry);
  rig.cmd(`click ${process.pid}`);
  await rig.waitLine((l) => l.startsWith('C '));
  const mgr = c.bind(registry, zwp_text_input_manager_v3);
  const before = await rig.stat();
  const text = 'é'.repeat(1999) + 'x';
  for (let i = 0; i < 9000; i++) {
    const ti = c.newId(zwp_text_input_v3);
    c.request(mgr, zwp_text_input_manager_v3, 'get_text_input', [ti, seat]);
    c.request(ti, zwp_text_input_v3, 'enable', []);
    c.request(ti, zwp_text_input_v3, 'set_surrounding_text', [text, 4000, 0]);
    c.request(ti, zwp_text_input_v3, 'set_cursor_rectangle', [0x7fffffff, -0x80000000, 0x7fffffff, 0x7fffffff]);
    c.request(ti, zwp_text_input_v3, 'commit', []);
    // The pending state too: set again, not committed.
    c.request(ti, zwp_text_input_v3, 'set_surrounding_text', [text, 0, 4000]);
    if (i % 500 === 499) {
      await c.roundtrip().catch(() => false);
      trim(c);
      if (c.closed) break;
    }
  }
  await c.roundtrip().catch(() => false);
  // The compositor sends committed text to the focused field: to which of the 9,000?
  rig.cmd(`text ${'z'.repeat(3000)}`);
  const answered = await rig.waitLine((l) => l.startsWith('T '), 10000).catch(() => 'no answer');
  const held = await rig.stat();
  const grew = (held?.rssMiB ?? 0) - (before?.rssMiB ?? 0);
  const out = `9,000 enabled text inputs x 4,000-byte surrounding text (committed + pending): server RSS ${before?.rssMiB.toFixed(0)} -> ${held?.rssMiB.toFixed(0)} MiB while held (x48 connections: ${((grew * 48) / 1024).toFixed(1)} GiB); compositor text ${answered}; ${describe(c)}`;
  c.close();
  return { outcome: out, fail: grew * 48 > 2048 ? `one client holds ${grew.toFixed(0)} MiB` : undefined };
}

/** Idle inhibitors created and destroyed 50,000 times on a shown surface, and 64+1 held. */
async function idleChurn(rig: Rig): Promise<Outcome> {
  const { c, registry } = await client(rig);
  const { surface } = await window(c, registry);
  const mgr = c.bind(registry, zwp_idle_inhibit_manager_v1);
  const id = c.newId(zwp_idle_inhibitor_v1);
  for (let i = 0; i < 50000; i += 1000) {
    for (let j = 0; j < 1000; j++) {
      c.request(mgr, zwp_idle_inhibit_manager_v1, 'create_inhibitor', [id, surface]);
      c.request(id, zwp_idle_inhibitor_v1, 'destroy', []);
    }
    await c.roundtrip().catch(() => false);
    trim(c);
    if (c.closed) break;
  }
  for (let i = 0; i < 65; i++) c.request(mgr, zwp_idle_inhibit_manager_v1, 'create_inhibitor', [c.newId(zwp_idle_inhibitor_v1), surface]);
  await c.roundtrip().catch(() => false);
  const out = `50,000 inhibitor create/destroy, then 65 held; ${describe(c)}`;
  c.close();
  return { outcome: out };
}

/** A pointer lock on a focused surface, then the surface destroyed under the lock, the pointer moved; then a lock whose region has 1,000 rectangles and 5,000 pointer moves. */
async function constraintRace(rig: Rig): Promise<Outcome> {
  const { c, registry } = await client(rig);
  const { surface, compositor, seat } = await window(c, registry);
  const pointer = c.newId(RawWaylandClient.interface('wl_pointer'));
  c.request(seat, wl_seat, 'get_pointer', [pointer]);
  const pc = c.bind(registry, zwp_pointer_constraints_v1);
  const lock = c.newId(zwp_locked_pointer_v1);
  c.request(pc, zwp_pointer_constraints_v1, 'lock_pointer', [lock, surface, pointer, 0, 2]);
  await c.roundtrip().catch(() => false);
  rig.cmd(`click ${process.pid}`);
  const at = await rig.waitLine((l) => l.startsWith('C '));
  await c.roundtrip().catch(() => false);
  const locked = c.events.some((e) => e.objectId === lock);
  // Destroy the surface with its lock alive, then move the pointer.
  c.request(surface, wl_surface, 'destroy', []);
  await c.roundtrip().catch(() => false);
  for (let i = 0; i < 200; i++) rig.cmd(`move ${300 + (i % 50)} ${200 + (i % 30)}`);
  await sleep(300);
  const err1 = describe(c);
  c.close();
  // A second client: a confine over a 1,000-rectangle region, the pointer moved over it 5,000 times.
  const d = await client(rig);
  const w = await window(d.c, d.registry);
  const pointer2 = d.c.newId(RawWaylandClient.interface('wl_pointer'));
  d.c.request(w.seat, wl_seat, 'get_pointer', [pointer2]);
  const pc2 = d.c.bind(d.registry, zwp_pointer_constraints_v1);
  const region = d.c.newId(wl_region);
  d.c.request(w.compositor, wl_compositor, 'create_region', [region]);
  for (let i = 0; i < 1000; i++) d.c.request(region, wl_region, 'add', [(i * 7) % 64, (i * 13) % 64, 1, 1]);
  d.c.request(pc2, zwp_pointer_constraints_v1, 'confine_pointer', [d.c.newId(RawWaylandClient.interface('wl_callback')), w.surface, pointer2, region, 2]);
  d.c.request(w.surface, wl_surface, 'commit', []);
  await d.c.roundtrip().catch(() => false);
  rig.cmd(`click ${process.pid}`);
  await rig.waitLine((l) => l.startsWith('C '));
  const [x, y] = at.split(' ').slice(1).map(Number);
  const t0 = Date.now();
  for (let i = 0; i < 5000; i++) rig.cmd(`move ${x! - 40 + (i % 80)} ${y! - 40 + ((i * 3) % 80)}`);
  const s = await rig.stat();
  const err2 = describe(d.c);
  d.c.close();
  void compositor;
  return { outcome: `lock ${locked ? 'active' : 'not active'} then its surface destroyed + 200 moves: ${err1}; confine over a 1,000-rect region + 5,000 moves (${Date.now() - t0} ms, loop lag max ${s?.maxLagMs} ms): ${err2}` };
}

/** A client presses on its window, starts a drag with an icon, then dies (protocol error; and, second round, a plain close) mid-drag; the pointer moves and releases over the bystander. */
async function dragThenDie(rig: Rig): Promise<Outcome> {
  const results: string[] = [];
  for (const how of ['protocol error', 'close']) {
    const { c, registry } = await client(rig);
    const { surface, compositor, seat } = await window(c, registry);
    const mgr = c.bind(registry, wl_data_device_manager);
    const dev = c.newId(wl_data_device);
    c.request(mgr, wl_data_device_manager, 'get_data_device', [dev, seat]);
    c.request(seat, wl_seat, 'get_pointer', [c.newId(RawWaylandClient.interface('wl_pointer'))]);
    const src = c.newId(wl_data_source);
    c.request(mgr, wl_data_device_manager, 'create_data_source', [src]);
    c.request(src, wl_data_source, 'offer', ['text/plain']);
    c.request(src, wl_data_source, 'set_actions', [1]);
    const icon = c.newId(wl_surface);
    c.request(compositor, wl_compositor, 'create_surface', [icon]);
    await c.roundtrip();
    rig.cmd(`click ${process.pid}`);
    const at = await rig.waitLine((l) => l.startsWith('C '));
    const [x, y] = at.split(' ').slice(1).map(Number);
    rig.cmd(`press ${x} ${y}`);
    await c.roundtrip();
    const button = c.events.filter((e) => e.name === 'button').pop();
    c.request(dev, wl_data_device, 'start_drag', [src, surface, icon, (button?.args[0] as number) ?? 0]);
    await c.roundtrip();
    for (let i = 0; i < 20; i++) rig.cmd(`move ${x! + i * 10} ${y! + i * 5} 1`);
    await sleep(100);
    if (how === 'protocol error') {
      c.request(999999, wl_surface, 'commit', []);
      await c.until(() => c.closed, 3000).catch(() => undefined);
    }
    c.close();
    await sleep(100);
    for (let i = 0; i < 50; i++) rig.cmd(`move ${200 + i * 5} ${100 + i * 3} 1`);
    rig.cmd('release 400 250');
    await sleep(200);
    results.push(`${how}: ${c.error ? `error ${c.error.code}` : 'closed'}`);
  }
  // The bystander must still get focus and input.
  rig.cmd(`click ${rig.bystander.pid}`);
  const after = await rig.waitLine((l) => l.startsWith('C '), 5000).catch(() => 'no answer');
  return { outcome: `drag started then the dragging client gone mid-drag (${results.join('; ')}); pointer moved and released; the bystander then clicked: ${after}` };
}

/** fds by every route: 28 fds on requests that take none, create_pool with a socket, /dev/null and a directory, 1,000 get_keyboard read slowly. */
async function fdFloods(rig: Rig): Promise<Outcome> {
  const results: string[] = [];
  // 28 fds on a sync (takes none), 10 times: the server holds them "ahead of their messages" up to its bound.
  {
    const { c } = await client(rig);
    const fds = Array.from({ length: 28 }, () => native.memfdCreate('flood', 4096, 0));
    const m = encodeMessage(1, 0, wl_display.requests[0]!, [c.newId(RawWaylandClient.interface('wl_callback'))]);
    for (let i = 0; i < 10 && !c.closed; i++) {
      try {
        c.sendRaw(m.bytes, fds);
      } catch {
        break;
      }
    }
    await c.until(() => c.closed, 3000).catch(() => undefined);
    for (const fd of fds) native.closeFd(fd);
    results.push(`28 fds x 10 on sync: ${describe(c)}`);
    c.close();
  }
  // create_pool with fds that are not memory.
  for (const [what, open] of [
    ['a socket', () => native.streamPair()[0]!],
    ['/dev/null', () => openSync('/dev/null', 'r+')],
    ['a directory', () => openSync('/tmp', 'r')],
  ] as [string, () => number][]) {
    let fd: number;
    try {
      fd = open();
    } catch (e) {
      results.push(`${what}: could not open (${String(e).slice(0, 60)})`);
      continue;
    }
    const { c, registry } = await client(rig);
    const shm = c.bind(registry, wl_shm);
    const pool = c.newId(wl_shm_pool);
    c.request(shm, wl_shm, 'create_pool', [pool, fd, 4096]);
    const b = c.newId(wl_buffer);
    c.request(pool, wl_shm_pool, 'create_buffer', [b, 0, 16, 16, 64, 1]);
    await c.roundtrip(3000).catch(() => false);
    results.push(`create_pool with ${what}: ${describe(c)}`);
    c.close();
    closeSync(fd);
  }
  return { outcome: results.join('; ') };
}

/**
 * A kiosk's clients all run as one uid: 48 idle connections from it (nothing
 * sent, never cut) and a new real client of that uid (weston-simple-shm) cannot
 * connect.
 */
async function sameUidLockout(rig: Rig): Promise<Outcome> {
  const socks: native.StreamSocket[] = [];
  let refused = 0;
  for (let i = 0; i < 60; i++) {
    try {
      socks.push(native.openStream(native.streamConnect(rig.wayland), () => {}));
    } catch {
      refused++;
    }
  }
  await sleep(500);
  const w = spawn('weston-simple-shm', [], { env: { ...process.env, WAYLAND_DISPLAY: rig.wayland }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  w.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  await sleep(3000);
  const drew = rig.frames.get(w.pid!) ?? 0;
  const exited = w.exitCode;
  w.kill();
  // Are the idle ones ever cut? Wait a little more.
  await sleep(2000);
  const buf = new Uint8Array(64);
  const fds = new Int32Array(native.MAX_FDS_PER_STREAM_SEND);
  const meta = new Int32Array(2);
  let cut = 0;
  for (const s of socks) {
    try {
      if (s.recvStream(buf, fds, meta) < 0) cut++;
    } catch {
      cut++;
    }
  }
  const held = socks.length - cut;
  for (const s of socks) s.close();
  return {
    outcome: `60 idle connections of the kiosk's uid (${refused} refused at connect, ${cut} cut by the server within 5.5 s, ${held} held); a new weston-simple-shm of the same uid drew ${drew} frames${exited !== null ? `, exited ${exited}: ${err.trim().split('\n')[0]?.slice(0, 80)}` : ''}`,
    fail: drew === 0 ? 'a new client of the same uid is locked out by idle connections that are never cut' : undefined,
  };
}

void campaign([
  ['connections: 60 idle connections of the same uid, then a new real client', sameUidLockout],
  ['churn: 300,000 region + surface create/destroy', objectChurn],
  ['churn: 300,000 region + surface create/destroy, again (warm server)', objectChurn],
  ['churn: 300,000 region + surface create/destroy, a third time', objectChurn],
  ['connections: 3,000 connect, bind every global, hang up', connectLoop],
  ['slow-loris: 40 connections holding partial messages', slowLoris],
  ['xdg-activation: 100,000 tokens and 100,000 made-up activations', activationFlood],
  ['text-input v3: 9,000 enabled fields x 4,000-byte surrounding text', textInputHoard],
  ['idle-inhibit: 50,000 create/destroy, 65 held', idleChurn],
  ['pointer constraints: lock then surface destroyed; 1,000-rect confine', constraintRace],
  ['drag and drop: the dragging client dies mid-drag', dragThenDie],
  ['fds: 28-fd floods on sync, create_pool with a socket and /dev/null', fdFloods],
]);
