/**
 * Surface-tree and geometry attacks on the compositor (scene-server-child.ts):
 * deep and cyclic subsurface trees, popup chains, huge positioner, viewport and
 * subsurface values, single-pixel buffers stretched to the int32 limit,
 * presentation feedback floods. weston-simple-shm and the bystander must not
 * suffer.
 *
 *   npx tsx test/fuzz/campaign/attack-surfaces.ts [part of a title]
 */
import * as native from '../../../lib/native';
import { wp_presentation } from '../../../lib/wayland/protocol/presentation-time';
import { wp_single_pixel_buffer_manager_v1 } from '../../../lib/wayland/protocol/single-pixel-buffer';
import { wp_viewport, wp_viewporter } from '../../../lib/wayland/protocol/viewporter';
import { wl_buffer, wl_compositor, wl_shm, wl_shm_pool, wl_subcompositor, wl_subsurface, wl_surface } from '../../../lib/wayland/protocol/wayland';
import { xdg_popup, xdg_positioner, xdg_surface, xdg_wm_base } from '../../../lib/wayland/protocol/xdg-shell';
import { RawWaylandClient } from '../../helpers/wayland-client';
import { campaign, sleep, type Outcome, type Rig } from './harness';

const INT_MAX = 0x7fffffff;
const INT_MIN = -0x80000000;

async function client(rig: Rig): Promise<{ c: RawWaylandClient; registry: number }> {
  const c = new RawWaylandClient(rig.wayland);
  c.defaultTimeoutMs = 60000;
  const registry = await c.registry();
  return { c, registry };
}

function shmBuffer(c: RawWaylandClient, shm: number, w: number, h: number, color = 0xffff00ff): number {
  const fd = native.memfdCreate('campaign', w * h * 4, 0);
  const px = new Uint32Array(native.mmapFd(fd, w * h * 4, 0, native.PROT_READ | native.PROT_WRITE));
  px.fill(color);
  native.unmapBuffer(px.buffer as ArrayBuffer);
  const pool = c.newId(wl_shm_pool);
  c.request(shm, wl_shm, 'create_pool', [pool, fd, w * h * 4]);
  const b = c.newId(wl_buffer);
  c.request(pool, wl_shm_pool, 'create_buffer', [b, 0, w, h, w * 4, 1]);
  c.request(pool, wl_shm_pool, 'destroy', []);
  native.closeFd(fd);
  return b;
}

function describe(c: RawWaylandClient): string {
  const e = c.error;
  return e ? `attacker got error ${e.code} on ${e.objectId}: "${e.message.slice(0, 100)}"` : c.closed ? 'attacker closed without an error' : 'attacker served';
}

/** A chain of `depth` subsurfaces, each the child of the one before, all with buffers, committed leaf first; then the root's commits for a few seconds. */
async function deepTree(rig: Rig, depth: number, sync: boolean): Promise<Outcome> {
  const { c, registry } = await client(rig);
  const shm = c.bind(registry, wl_shm);
  const sub = c.bind(registry, wl_subcompositor);
  const { surface: root } = await c.configuredToplevel(registry);
  const compositor = c.bind(registry, wl_compositor);
  const buf = shmBuffer(c, shm, 4, 4);
  const chain: number[] = [root];
  for (let i = 0; i < depth; i++) {
    const s = c.newId(wl_surface);
    c.request(compositor, wl_compositor, 'create_surface', [s]);
    const ss = c.newId(wl_subsurface);
    c.request(sub, wl_subcompositor, 'get_subsurface', [ss, s, chain[chain.length - 1]!]);
    c.request(ss, wl_subsurface, 'set_position', [1, 1]);
    if (!sync) c.request(ss, wl_subsurface, 'set_desync', []);
    c.request(s, wl_surface, 'attach', [buf, 0, 0]);
    c.request(s, wl_surface, 'damage_buffer', [0, 0, 4, 4]);
    chain.push(s);
    if (i % 500 === 499) await c.roundtrip().catch(() => false);
  }
  for (let i = chain.length - 1; i >= 1; i--) c.request(chain[i]!, wl_surface, 'commit', []);
  c.request(root, wl_surface, 'attach', [shmBuffer(c, shm, 64, 64), 0, 0]);
  c.request(root, wl_surface, 'commit', []);
  const t0 = Date.now();
  const ok = await c.roundtrip().catch(() => false);
  const setup = Date.now() - t0;
  // Keep committing the leaf and the root: a tree walk per commit.
  const t1 = Date.now();
  let n = 0;
  while (Date.now() - t1 < 3000 && !c.closed) {
    c.request(chain[chain.length - 1]!, wl_surface, 'damage_buffer', [0, 0, 4, 4]);
    c.request(chain[chain.length - 1]!, wl_surface, 'commit', []);
    c.request(root, wl_surface, 'commit', []);
    n++;
    if (n % 20 === 0) await c.roundtrip().catch(() => false);
  }
  const rt = Date.now();
  await c.roundtrip().catch(() => false);
  const last = Date.now() - rt;
  const out = `${depth} nested ${sync ? 'sync' : 'desync'} subsurfaces: first roundtrip ${ok ? 'answered' : 'not answered'} in ${setup} ms, ${n} leaf+root commits in 3 s, last roundtrip ${last} ms; ${describe(c)}`;
  // The destroy of the whole tree at once.
  const t2 = Date.now();
  c.close();
  await sleep(200);
  const s = await rig.stat();
  return { outcome: `${out}; torn down (stat answered ${Date.now() - t2} ms after close, loop lag max ${s?.maxLagMs} ms)`, fail: s && s.maxLagMs > 2000 ? `the loop stalled ${s.maxLagMs} ms` : undefined };
}

/** A subsurface made the parent of its own ancestor (a cycle), and a surface its own subsurface's parent. */
async function cycles(rig: Rig): Promise<Outcome> {
  const results: string[] = [];
  for (const kind of ['self', 'grandparent', 'toplevel-under-own-child']) {
    const { c, registry } = await client(rig);
    const sub = c.bind(registry, wl_subcompositor);
    const compositor = c.bind(registry, wl_compositor);
    const a = c.newId(wl_surface);
    const b = c.newId(wl_surface);
    const d = c.newId(wl_surface);
    for (const s of [a, b, d]) c.request(compositor, wl_compositor, 'create_surface', [s]);
    if (kind === 'self') c.request(sub, wl_subcompositor, 'get_subsurface', [c.newId(wl_subsurface), a, a]);
    else {
      c.request(sub, wl_subcompositor, 'get_subsurface', [c.newId(wl_subsurface), b, a]);
      c.request(sub, wl_subcompositor, 'get_subsurface', [c.newId(wl_subsurface), d, b]);
      if (kind === 'grandparent') c.request(sub, wl_subcompositor, 'get_subsurface', [c.newId(wl_subsurface), a, d]);
      else {
        const wm = c.bind(registry, xdg_wm_base);
        const xs = c.newId(xdg_surface);
        c.request(wm, xdg_wm_base, 'get_xdg_surface', [xs, d]);
      }
    }
    c.request(a, wl_surface, 'commit', []);
    await c.roundtrip(5000).catch(() => false);
    results.push(`${kind}: ${c.error ? `error ${c.error.code} "${c.error.message.slice(0, 60)}"` : 'NO error'}`);
    c.close();
  }
  const missing = results.filter((r) => r.includes('NO error') && !r.startsWith('toplevel'));
  return { outcome: results.join('; '), fail: missing.length ? `cycle accepted: ${missing.join(', ')}` : undefined };
}

/** Popups of popups, `depth` deep, each with positioner values at the int32 edges, then reposition storms. */
async function popupChain(rig: Rig, depth: number): Promise<Outcome> {
  const { c, registry } = await client(rig);
  const shm = c.bind(registry, wl_shm);
  const { surface, xdgSurface, compositor, wm } = await c.configuredToplevel(registry);
  c.request(surface, wl_surface, 'attach', [shmBuffer(c, shm, 64, 64), 0, 0]);
  c.request(surface, wl_surface, 'commit', []);
  const buf = shmBuffer(c, shm, 8, 8);
  const vals = [INT_MAX, INT_MIN, 1, -1, 0x40000000, -0x40000000];
  let parent = xdgSurface;
  const popups: number[] = [];
  const positioners: number[] = [];
  for (let i = 0; i < depth; i++) {
    const pos = c.newId(xdg_positioner);
    c.request(wm, xdg_wm_base, 'create_positioner', [pos]);
    c.request(pos, xdg_positioner, 'set_size', [INT_MAX, INT_MAX]);
    c.request(pos, xdg_positioner, 'set_anchor_rect', [vals[i % 6]!, vals[(i + 1) % 6]!, INT_MAX, INT_MAX]);
    c.request(pos, xdg_positioner, 'set_offset', [vals[(i + 2) % 6]!, vals[(i + 3) % 6]!]);
    c.request(pos, xdg_positioner, 'set_anchor', [1 + (i % 8)]);
    c.request(pos, xdg_positioner, 'set_gravity', [1 + ((i + 3) % 8)]);
    c.request(pos, xdg_positioner, 'set_constraint_adjustment', [0x3f]);
    c.request(pos, xdg_positioner, 'set_parent_size', [INT_MAX, INT_MAX]);
    c.request(pos, xdg_positioner, 'set_reactive', []);
    positioners.push(pos);
    const s = c.newId(wl_surface);
    c.request(compositor, wl_compositor, 'create_surface', [s]);
    const xs = c.newId(xdg_surface);
    c.request(wm, xdg_wm_base, 'get_xdg_surface', [xs, s]);
    c.request(xs, xdg_surface, 'set_window_geometry', [INT_MIN, INT_MIN, INT_MAX, INT_MAX]);
    const p = c.newId(xdg_popup);
    c.request(xs, xdg_surface, 'get_popup', [p, parent, pos]);
    c.request(s, wl_surface, 'commit', []);
    await c.roundtrip().catch(() => false);
    const conf = c.events.filter((e) => e.objectId === xs && e.name === 'configure').pop();
    if (conf) c.request(xs, xdg_surface, 'ack_configure', [conf.args[0] as number]);
    c.request(s, wl_surface, 'attach', [buf, 0, 0]);
    c.request(s, wl_surface, 'commit', []);
    popups.push(p);
    parent = xs;
    if (c.closed) break;
  }
  let reps = 0;
  const t0 = Date.now();
  while (Date.now() - t0 < 2000 && !c.closed) {
    for (let i = 0; i < popups.length; i++) c.request(popups[i]!, xdg_popup, 'reposition', [positioners[(i + reps) % positioners.length]!, reps]);
    reps++;
    await c.roundtrip().catch(() => false);
    c.events.length = 0;
  }
  const out = `${popups.length} nested popups with int32-edge positioners (set_size, anchor rect, offset, parent size INT_MAX), ${reps} reposition rounds of all; ${describe(c)}`;
  c.close();
  return { outcome: out };
}

/** Popups of popups with ordinary positioners (8x8 at +4,+4): the depth alone. */
async function popupChainSane(rig: Rig, depth: number): Promise<Outcome> {
  const { c, registry } = await client(rig);
  const shm = c.bind(registry, wl_shm);
  const { surface, xdgSurface, compositor, wm } = await c.configuredToplevel(registry);
  c.request(surface, wl_surface, 'attach', [shmBuffer(c, shm, 64, 64), 0, 0]);
  c.request(surface, wl_surface, 'commit', []);
  const buf = shmBuffer(c, shm, 8, 8);
  let parent = xdgSurface;
  const t0 = Date.now();
  let worst = 0;
  let made = 0;
  for (let i = 0; i < depth && !c.closed; i++) {
    const pos = c.newId(xdg_positioner);
    c.request(wm, xdg_wm_base, 'create_positioner', [pos]);
    c.request(pos, xdg_positioner, 'set_size', [8, 8]);
    c.request(pos, xdg_positioner, 'set_anchor_rect', [0, 0, 8, 8]);
    c.request(pos, xdg_positioner, 'set_offset', [4, 4]);
    const s = c.newId(wl_surface);
    c.request(compositor, wl_compositor, 'create_surface', [s]);
    const xs = c.newId(xdg_surface);
    c.request(wm, xdg_wm_base, 'get_xdg_surface', [xs, s]);
    const p = c.newId(xdg_popup);
    c.request(xs, xdg_surface, 'get_popup', [p, parent, pos]);
    c.request(s, wl_surface, 'commit', []);
    const r = Date.now();
    await c.roundtrip().catch(() => false);
    const conf = c.events.filter((e) => e.objectId === xs && e.name === 'configure').pop();
    if (conf) c.request(xs, xdg_surface, 'ack_configure', [conf.args[0] as number]);
    c.request(s, wl_surface, 'attach', [buf, 0, 0]);
    c.request(s, wl_surface, 'commit', []);
    await c.roundtrip().catch(() => false);
    worst = Math.max(worst, Date.now() - r);
    c.events.length = 0;
    parent = xs;
    made++;
  }
  const out = `${made} nested popups in ${Date.now() - t0} ms, worst step ${worst} ms; ${describe(c)}`;
  c.close();
  return { outcome: out, fail: worst > 1000 ? `one popup step took ${worst} ms` : undefined };
}

/** A single-pixel buffer (and a 1x1 shm buffer) stretched by a viewport to INT_MAX x INT_MAX, a subsurface at the int32 corners. */
async function hugeViewport(rig: Rig): Promise<Outcome> {
  const { c, registry } = await client(rig);
  const shm = c.bind(registry, wl_shm);
  const sub = c.bind(registry, wl_subcompositor);
  const vp = c.bind(registry, wp_viewporter);
  const spb = c.bind(registry, wp_single_pixel_buffer_manager_v1);
  const { surface, compositor } = await c.configuredToplevel(registry);
  const one = c.newId(wl_buffer);
  c.request(spb, wp_single_pixel_buffer_manager_v1, 'create_u32_rgba_buffer', [one, 0xffffffff, 0, 0, 0x80000000]);
  const v = c.newId(wp_viewport);
  c.request(vp, wp_viewporter, 'get_viewport', [v, surface]);
  c.request(v, wp_viewport, 'set_destination', [INT_MAX, INT_MAX]);
  c.request(surface, wl_surface, 'attach', [one, 0, 0]);
  c.request(surface, wl_surface, 'damage', [0, 0, INT_MAX, INT_MAX]);
  c.request(surface, wl_surface, 'commit', []);
  // Subsurfaces at the int32 corners, each stretched too.
  const corners = [[INT_MAX, INT_MAX], [INT_MIN, INT_MIN], [INT_MAX, INT_MIN], [INT_MIN, INT_MAX]];
  for (const [x, y] of corners) {
    const s = c.newId(wl_surface);
    c.request(compositor, wl_compositor, 'create_surface', [s]);
    const ss = c.newId(wl_subsurface);
    c.request(sub, wl_subcompositor, 'get_subsurface', [ss, s, surface]);
    c.request(ss, wl_subsurface, 'set_position', [x!, y!]);
    c.request(ss, wl_subsurface, 'set_desync', []);
    const sv = c.newId(wp_viewport);
    c.request(vp, wp_viewporter, 'get_viewport', [sv, s]);
    c.request(sv, wp_viewport, 'set_source', [0, 0, 0.00390625, 0.00390625]);
    c.request(sv, wp_viewport, 'set_destination', [INT_MAX, INT_MAX]);
    c.request(s, wl_surface, 'set_buffer_scale', [INT_MAX]);
    c.request(s, wl_surface, 'attach', [shmBuffer(c, shm, 1, 1), 0, 0]);
    c.request(s, wl_surface, 'commit', []);
  }
  c.request(surface, wl_surface, 'commit', []);
  const t0 = Date.now();
  const ok = await c.roundtrip(20000).catch(() => false);
  const took = Date.now() - t0;
  // Keep it on screen for 3 s of output frames.
  for (let i = 0; i < 30 && !c.closed; i++) {
    c.request(surface, wl_surface, 'damage', [0, 0, INT_MAX, INT_MAX]);
    c.request(surface, wl_surface, 'commit', []);
    await sleep(100);
  }
  const s = await rig.stat();
  const out = `viewport destination INT_MAX^2 on a single-pixel buffer, 4 subsurfaces at the int32 corners (sub-pixel source, INT_MAX destination, buffer scale INT_MAX); roundtrip ${ok ? 'answered' : 'NOT answered'} in ${took} ms; loop lag max ${s?.maxLagMs} ms; ${describe(c)}`;
  c.close();
  return { outcome: out, fail: s && s.maxLagMs > 1000 ? `loop stalled ${s.maxLagMs} ms` : undefined };
}

/** The largest destination the scene accepts (2^24 - 1 a side) on a single-pixel buffer and on a 1x1 shm buffer's subsurface, kept on screen 3 s. */
async function bigViewport(rig: Rig): Promise<Outcome> {
  const { c, registry } = await client(rig);
  const shm = c.bind(registry, wl_shm);
  const sub = c.bind(registry, wl_subcompositor);
  const vp = c.bind(registry, wp_viewporter);
  const spb = c.bind(registry, wp_single_pixel_buffer_manager_v1);
  const { surface, compositor } = await c.configuredToplevel(registry);
  const one = c.newId(wl_buffer);
  c.request(spb, wp_single_pixel_buffer_manager_v1, 'create_u32_rgba_buffer', [one, 0xffffffff, 0, 0, 0x80000000]);
  const v = c.newId(wp_viewport);
  c.request(vp, wp_viewporter, 'get_viewport', [v, surface]);
  const BIG = (1 << 24) - 1;
  c.request(v, wp_viewport, 'set_destination', [BIG, BIG]);
  c.request(surface, wl_surface, 'attach', [one, 0, 0]);
  c.request(surface, wl_surface, 'commit', []);
  const s2 = c.newId(wl_surface);
  c.request(compositor, wl_compositor, 'create_surface', [s2]);
  const ss = c.newId(wl_subsurface);
  c.request(sub, wl_subcompositor, 'get_subsurface', [ss, s2, surface]);
  c.request(ss, wl_subsurface, 'set_position', [-(1 << 23), -(1 << 23)]);
  c.request(ss, wl_subsurface, 'set_desync', []);
  const v2 = c.newId(wp_viewport);
  c.request(vp, wp_viewporter, 'get_viewport', [v2, s2]);
  c.request(v2, wp_viewport, 'set_source', [0, 0, 0.00390625, 0.00390625]);
  c.request(v2, wp_viewport, 'set_destination', [BIG, BIG]);
  c.request(s2, wl_surface, 'attach', [shmBuffer(c, shm, 1, 1), 0, 0]);
  c.request(s2, wl_surface, 'commit', []);
  c.request(surface, wl_surface, 'commit', []);
  const ok = await c.roundtrip(20000).catch(() => false);
  for (let i = 0; i < 30 && !c.closed; i++) {
    c.request(surface, wl_surface, 'damage', [0, 0, BIG, BIG]);
    c.request(surface, wl_surface, 'commit', []);
    c.request(s2, wl_surface, 'damage', [0, 0, BIG, BIG]);
    c.request(s2, wl_surface, 'commit', []);
    await sleep(100);
  }
  // The pointer over it (the seat's hit test, local coordinates).
  rig.cmd('move 600 300');
  rig.cmd('press 600 300');
  rig.cmd('release 600 300');
  const s = await rig.stat();
  const out = `viewport destinations of 2^24-1 a side (a single-pixel window, a sub-pixel-source subsurface at -2^23), damaged and committed 30 times; roundtrip ${ok ? 'answered' : 'NOT answered'}; loop lag max ${s?.maxLagMs} ms; ${describe(c)}`;
  c.close();
  return { outcome: out, fail: s && s.maxLagMs > 1000 ? `loop stalled ${s.maxLagMs} ms` : undefined };
}

/** 64 presentation feedbacks per commit on 2,000 surfaces that never show, and on a shown one every frame. */
async function feedbackFlood(rig: Rig): Promise<Outcome> {
  const { c, registry } = await client(rig);
  const pres = c.bind(registry, wp_presentation);
  const compositor = c.bind(registry, wl_compositor);
  const shm = c.bind(registry, wl_shm);
  const { surface } = await c.configuredToplevel(registry);
  c.request(surface, wl_surface, 'attach', [shmBuffer(c, shm, 32, 32), 0, 0]);
  c.request(surface, wl_surface, 'commit', []);
  const feedbackSpec = RawWaylandClient.interface('wl_callback');
  let made = 0;
  const t0 = Date.now();
  while (Date.now() - t0 < 4000 && !c.closed) {
    for (let k = 0; k < 100; k++) {
      c.request(pres, wp_presentation, 'feedback', [surface, c.newId(feedbackSpec)]);
      made++;
    }
    c.request(surface, wl_surface, 'damage', [0, 0, 32, 32]);
    c.request(surface, wl_surface, 'commit', []);
    await c.roundtrip().catch(() => false);
    c.events.length = 0;
  }
  void compositor;
  const out = `${made} presentation feedbacks (100 per commit) on a shown surface in 4 s; ${describe(c)}`;
  c.close();
  return { outcome: out };
}

/**
 * A chain of subsurfaces, each at +2^24 (the scene's per-node limit) from its
 * parent: 260 of them put the leaf past 2^32 in layout coordinates (every node's
 * own position is legal), the next at -2^24 ... brings a sibling chain back near
 * the output. Do the renderer's sums wrap (int32) or stay exact?
 */
async function farChain(rig: Rig): Promise<Outcome> {
  const { c, registry } = await client(rig);
  const shm = c.bind(registry, wl_shm);
  const sub = c.bind(registry, wl_subcompositor);
  const { surface: root, compositor } = await c.configuredToplevel(registry);
  const buf = shmBuffer(c, shm, 64, 64, 0xffff0000);
  c.request(root, wl_surface, 'attach', [shmBuffer(c, shm, 64, 64, 0xff0000ff), 0, 0]);
  let parent = root;
  const STEP = 1 << 24;
  // 256 steps: exactly 2^32 from the root, plus 10: where an int32 sum would wrap onto the output.
  for (let i = 0; i < 257; i++) {
    const s = c.newId(wl_surface);
    c.request(compositor, wl_compositor, 'create_surface', [s]);
    const ss = c.newId(wl_subsurface);
    c.request(sub, wl_subcompositor, 'get_subsurface', [ss, s, parent]);
    c.request(ss, wl_subsurface, 'set_position', i === 256 ? [10, 10] : [STEP, STEP]);
    c.request(ss, wl_subsurface, 'set_desync', []);
    c.request(s, wl_surface, 'attach', [buf, 0, 0]);
    c.request(s, wl_surface, 'damage_buffer', [0, 0, 64, 64]);
    c.request(s, wl_surface, 'commit', []);
    parent = s;
  }
  c.request(root, wl_surface, 'commit', []);
  const ok = await c.roundtrip(20000).catch(() => false);
  for (let i = 0; i < 20 && !c.closed; i++) {
    c.request(parent, wl_surface, 'damage_buffer', [0, 0, 64, 64]);
    c.request(parent, wl_surface, 'commit', []);
    c.request(root, wl_surface, 'commit', []);
    await sleep(100);
  }
  // The pointer over where a wrapped leaf would be, and a click there.
  rig.cmd('press 40 40');
  rig.cmd('release 40 40');
  const s = await rig.stat();
  const out = `257 nested subsurfaces at +2^24 each (leaf at ~2^32 + 10 in layout); roundtrip ${ok ? 'answered' : 'NOT answered'}; loop lag max ${s?.maxLagMs} ms; ${describe(c)}`;
  c.close();
  return { outcome: out };
}

/** `n` sibling subsurfaces under one window, then the parent restacks one (place_above) and commits, again and again for 5 s. */
async function wideRestack(rig: Rig, n: number): Promise<Outcome> {
  const { c, registry } = await client(rig);
  const shm = c.bind(registry, wl_shm);
  const sub = c.bind(registry, wl_subcompositor);
  const { surface: root, compositor } = await c.configuredToplevel(registry);
  const buf = shmBuffer(c, shm, 4, 4);
  c.request(root, wl_surface, 'attach', [shmBuffer(c, shm, 64, 64), 0, 0]);
  const subs: number[] = [];
  const kids: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = c.newId(wl_surface);
    c.request(compositor, wl_compositor, 'create_surface', [s]);
    const ss = c.newId(wl_subsurface);
    c.request(sub, wl_subcompositor, 'get_subsurface', [ss, s, root]);
    c.request(ss, wl_subsurface, 'set_position', [(i * 3) % 60, (i * 7) % 60]);
    c.request(s, wl_surface, 'attach', [buf, 0, 0]);
    c.request(s, wl_surface, 'commit', []);
    subs.push(ss);
    kids.push(s);
    if (i % 500 === 499) await c.roundtrip().catch(() => false);
  }
  c.request(root, wl_surface, 'commit', []);
  const t0 = Date.now();
  await c.roundtrip().catch(() => false);
  const first = Date.now() - t0;
  let rounds = 0;
  let worst = 0;
  const t1 = Date.now();
  while (Date.now() - t1 < 5000 && !c.closed) {
    const i = rounds % n;
    c.request(subs[i]!, wl_subsurface, 'place_above', [kids[(i * 7919) % n]! === kids[i] ? root : kids[(i * 7919) % n]!]);
    c.request(subs[(i + 1) % n]!, wl_subsurface, 'set_position', [rounds % 50, rounds % 40]);
    c.request(root, wl_surface, 'commit', []);
    rounds++;
    const r = Date.now();
    await c.roundtrip().catch(() => false);
    worst = Math.max(worst, Date.now() - r);
    c.events.length = 0;
  }
  const out = `${n} sibling subsurfaces: first commit ${first} ms; ${rounds} restack+move+commit rounds in 5 s, worst roundtrip ${worst} ms; ${describe(c)}`;
  c.close();
  return { outcome: out, fail: worst > 1000 ? `one restack commit took ${worst} ms of the server's loop` : undefined };
}

void campaign([
  ['subsurfaces: 3,000 siblings, restack and commit storms', (rig) => wideRestack(rig, 3000)],
  ['popups: 300 nested at sane positions (depth cost)', (rig) => popupChainSane(rig, 300)],
  ['popups: 1,500 nested at sane positions (no depth bound like subsurfaces\' 64?)', (rig) => popupChainSane(rig, 1500)],
  ['subsurfaces: depth probe 250 sync', (rig) => deepTree(rig, 250, true)],
  ['subsurfaces: depth probe 500 sync', (rig) => deepTree(rig, 500, true)],
  ['subsurfaces: depth probe 1000 sync', (rig) => deepTree(rig, 1000, true)],
  ['subsurfaces: 1,500 nested, desynchronized (below the stack limit): cost', (rig) => deepTree(rig, 1500, false)],
  ['subsurfaces: 257 nested at +2^24 each (layout past 2^32)', farChain],
  ['subsurfaces: 4,000 nested, synchronized', (rig) => deepTree(rig, 4000, true)],
  ['subsurfaces: 4,000 nested, desynchronized', (rig) => deepTree(rig, 4000, false)],
  ['subsurfaces: cycles (self, grandparent, toplevel role under its own child)', cycles],
  ['popups: 500 nested with int32-edge positioners and reposition storms', (rig) => popupChain(rig, 500)],
  ['viewporter/single-pixel: INT_MAX destinations, int32-corner subsurfaces', hugeViewport],
  ['presentation: 100 feedbacks a commit for 4 s', feedbackFlood],
  ['viewporter: 2^24-1 destinations on screen', bigViewport],
]);
