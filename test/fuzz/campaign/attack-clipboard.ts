/**
 * Clipboard, primary selection and drag-and-drop attacks on the compositor
 * (scene-server-child.ts), with weston-simple-shm and a clipboard-aware
 * bystander (bystander-child.ts) as the clients that must not suffer.
 *
 *   npx tsx test/fuzz/campaign/attack-clipboard.ts [part of a title]
 *
 * Prints PASS/FAIL per attack (harness.ts says what is checked).
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as native from '../../../lib/native';
import { zwp_primary_selection_device_manager_v1, zwp_primary_selection_device_v1, zwp_primary_selection_offer_v1, zwp_primary_selection_source_v1 } from '../../../lib/wayland/protocol/primary-selection';
import { wl_data_device, wl_data_device_manager, wl_data_offer, wl_data_source, wl_seat } from '../../../lib/wayland/protocol/wayland';
import { RawWaylandClient } from '../../helpers/wayland-client';
import { campaign, sleep, type Outcome, type Rig } from './harness';

const MIMES = Array.from({ length: 64 }, (_, i) => `application/x-campaign-${i}-${'m'.repeat(220)}`);

/** A raw client with a data device and a primary-selection device on the seat. */
async function clipboardClient(rig: Rig): Promise<{ c: RawWaylandClient; manager: number; device: number; pmanager: number; pdevice: number }> {
  const c = new RawWaylandClient(rig.wayland);
  c.defaultTimeoutMs = 20000;
  const registry = await c.registry();
  const seat = c.bind(registry, wl_seat);
  const manager = c.bind(registry, wl_data_device_manager);
  const device = c.newId(wl_data_device);
  c.request(manager, wl_data_device_manager, 'get_data_device', [device, seat]);
  const pmanager = c.bind(registry, zwp_primary_selection_device_manager_v1);
  const pdevice = c.newId(zwp_primary_selection_device_v1);
  c.request(pmanager, zwp_primary_selection_device_manager_v1, 'get_device', [pdevice, seat]);
  await c.roundtrip();
  return { c, manager, device, pmanager, pdevice };
}

/** Drops the events a long attack piles up in the raw client (they are not needed). */
function trim(c: RawWaylandClient): void {
  c.events.length = 0;
  for (const fd of c.receivedFds.splice(0)) native.closeFd(fd);
}

async function focusBystander(rig: Rig): Promise<void> {
  rig.cmd(`click ${rig.bystander.pid}`);
  await rig.waitLine((l) => l.startsWith('C '));
  await sleep(300);
}

/**
 * An unfocused client sets the selection to one source with 64 long mime types,
 * again and again (12 bytes a request): each set is a fresh offer with 64
 * `offer` events to the focused client.
 */
async function selectionAmplification(rig: Rig, primary: boolean, rounds: number): Promise<Outcome> {
  await focusBystander(rig);
  const a = await clipboardClient(rig);
  const source = primary ? a.c.newId(zwp_primary_selection_source_v1) : a.c.newId(wl_data_source);
  if (primary) a.c.request(a.pmanager, zwp_primary_selection_device_manager_v1, 'create_source', [source]);
  else a.c.request(a.manager, wl_data_device_manager, 'create_data_source', [source]);
  for (const m of MIMES) a.c.request(source, primary ? zwp_primary_selection_source_v1 : wl_data_source, 'offer', [m]);
  for (let i = 0; i < rounds; i += 500) {
    for (let j = 0; j < 500; j++) {
      if (primary) a.c.request(a.pdevice, zwp_primary_selection_device_v1, 'set_selection', [source, 0]);
      else a.c.request(a.device, wl_data_device, 'set_selection', [source, 0]);
    }
    await a.c.roundtrip().catch(() => false);
    trim(a.c);
    if (a.c.closed || rig.bystanderHurt()) break;
  }
  await sleep(1000);
  const err = a.c.error;
  a.c.close();
  return { outcome: `${rounds} set_selection of one 64-mime source from an unfocused client (serial 0); attacker ${err ? `got error ${err.code} "${err.message}"` : a.c.closed ? 'closed' : 'served throughout'}` };
}

/**
 * The bystander owns the selection; the attacker takes the focus, gets the offer,
 * and pastes as fast as it can: every receive hands the owner a pipe fd
 * (wl_data_source.send), 28 fds a sendmsg from the attacker.
 */
async function receiveFlood(rig: Rig, primary: boolean, count: number): Promise<Outcome> {
  await focusBystander(rig);
  rig.bystanderCmd('own');
  await sleep(500);
  const a = await clipboardClient(rig);
  // The attacker needs a window to take the focus.
  const registry = await a.c.registry();
  const { surface } = await a.c.configuredToplevel(registry);
  const shm = a.c.bind(registry, RawWaylandClient.interface('wl_shm'));
  const fd = native.memfdCreate('attacker', 64 * 64 * 4, 0);
  const pool = a.c.newId(RawWaylandClient.interface('wl_shm_pool'));
  a.c.request(shm, RawWaylandClient.interface('wl_shm'), 'create_pool', [pool, fd, 64 * 64 * 4]);
  const buffer = a.c.newId(RawWaylandClient.interface('wl_buffer'));
  a.c.request(pool, RawWaylandClient.interface('wl_shm_pool'), 'create_buffer', [buffer, 0, 64, 64, 256, 1]);
  a.c.request(surface, RawWaylandClient.interface('wl_surface'), 'attach', [buffer, 0, 0]);
  a.c.request(surface, RawWaylandClient.interface('wl_surface'), 'commit', []);
  native.closeFd(fd);
  await a.c.roundtrip();
  await sleep(300);
  rig.cmd(`click ${process.pid}`);
  await rig.waitLine((l) => l.startsWith('C '));
  await a.c.roundtrip();
  // The offer: wl_data_device.data_offer decodes (core); the primary one is found by the raw opcode 0 event on pdevice.
  let offer: number | undefined;
  if (!primary) {
    const e = a.c.events.filter((x) => x.objectId === a.device && x.name === 'selection').pop();
    offer = e?.args[0] as number | undefined;
  } else {
    const e = a.c.events.filter((x) => x.objectId === a.pdevice && x.name === 'selection').pop();
    offer = e?.args[0] as number | undefined;
  }
  if (!offer) {
    a.c.close();
    return { outcome: 'no offer reached the attacker (setup failed)', fail: 'setup: no offer' };
  }
  const [r, w] = native.streamPair();
  let sent = 0;
  // 200 at a time: the raw client's own queue holds at most 256 fds.
  for (; sent < count; sent += 200) {
    for (let j = 0; j < 200; j++) {
      if (primary) a.c.request(offer, zwp_primary_selection_offer_v1, 'receive', ['text/plain', w]);
      else a.c.request(offer, wl_data_offer, 'receive', ['text/plain', w]);
    }
    await sleep(0);
    if (sent % 2000 === 0) await a.c.roundtrip().catch(() => false);
    trim(a.c);
    if (a.c.closed || rig.bystanderHurt()) break;
  }
  native.closeFd(r);
  native.closeFd(w);
  await sleep(1000);
  const err = a.c.error;
  a.c.close();
  return { outcome: `${sent} receive() with a pipe fd on the bystander's ${primary ? 'primary ' : ''}selection; attacker ${err ? `got error ${err.code} "${err.message}"` : a.c.closed ? 'closed' : 'served throughout'}` };
}

/**
 * The same amplification against a real client: foot (a terminal, which binds the
 * data device and the primary selection) gets the keyboard focus, and an
 * unfocused attacker sets the selection 20,000 times.
 */
async function footVictim(rig: Rig, primary: boolean): Promise<Outcome> {
  const conf = join(rig.dir, 'foot.ini');
  writeFileSync(conf, '[main]\nfont=monospace:size=8\n');
  const foot = spawn('foot', ['-c', conf, 'sh', '-c', 'sleep 60'], { env: { ...process.env, WAYLAND_DISPLAY: rig.wayland }, stdio: 'ignore' });
  let footExit: string | undefined;
  foot.on('exit', (code, sig) => {
    footExit = `exited ${code ?? sig}`;
  });
  for (let i = 0; i < 100 && !rig.frames.get(foot.pid!); i++) await sleep(100);
  if (!rig.frames.get(foot.pid!)) {
    foot.kill();
    return { outcome: 'foot drew nothing (setup failed)', fail: 'setup: foot' };
  }
  rig.cmd(`click ${foot.pid}`);
  await rig.waitLine((l) => l.startsWith('C '));
  await sleep(300);
  const a = await clipboardClient(rig);
  const source = primary ? a.c.newId(zwp_primary_selection_source_v1) : a.c.newId(wl_data_source);
  if (primary) a.c.request(a.pmanager, zwp_primary_selection_device_manager_v1, 'create_source', [source]);
  else a.c.request(a.manager, wl_data_device_manager, 'create_data_source', [source]);
  for (const m of MIMES) a.c.request(source, primary ? zwp_primary_selection_source_v1 : wl_data_source, 'offer', [m]);
  for (let i = 0; i < 20000 && footExit === undefined; i += 500) {
    for (let j = 0; j < 500; j++) {
      if (primary) a.c.request(a.pdevice, zwp_primary_selection_device_v1, 'set_selection', [source, 0]);
      else a.c.request(a.device, wl_data_device, 'set_selection', [source, 0]);
    }
    await a.c.roundtrip().catch(() => false);
    trim(a.c);
    if (a.c.closed) break;
  }
  await sleep(1500);
  const cut = rig.disconnects.find((l) => l.startsWith(`D ${foot.pid} `));
  // Read before the kill below: foot killed exits too (230), which is not the attack's doing.
  const exitDuringAttack = footExit;
  a.c.close();
  foot.kill();
  await sleep(200);
  return {
    outcome: `foot focused; attacker's ${primary ? 'primary ' : ''}set_selection flood: foot ${exitDuringAttack ?? 'still running'}${cut ? `, server: "${cut}"` : ''}`,
    fail: cut || exitDuringAttack ? `foot (focused, well-behaved) was disconnected: ${cut ?? exitDuringAttack}` : undefined,
  };
}

/** Many data sources with 64 long mime types each, never set: what does each cost the server? */
async function sourceHoard(rig: Rig): Promise<Outcome> {
  const cs = [];
  const before = await rig.stat();
  for (let k = 0; k < 1; k++) {
    const a = await clipboardClient(rig);
    cs.push(a);
    for (let i = 0; i < 9990; i++) {
      const s = a.c.newId(wl_data_source);
      a.c.request(a.manager, wl_data_device_manager, 'create_data_source', [s]);
      for (const m of MIMES) a.c.request(s, wl_data_source, 'offer', [m]);
      if (i % 100 === 99) await a.c.roundtrip().catch(() => false);
    }
    await a.c.roundtrip().catch(() => false);
  }
  const s = await rig.stat();
  const errs = cs.filter((a) => a.c.error).map((a) => a.c.error!.message);
  for (const a of cs) a.c.close();
  const grew = (s?.rssMiB ?? 0) - (before?.rssMiB ?? 0);
  // 48 connections of one uid may each do this: past a few GiB the server runs out of V8 heap.
  return {
    outcome: `1 client x 9,990 sources x 64 mime types of 250 bytes: server RSS ${before?.rssMiB.toFixed(0)} -> ${s?.rssMiB.toFixed(0)} MiB (after GC) while held, x48 connections = ${((grew * 48) / 1024).toFixed(1)} GiB; ${errs.length} refused ${errs[0] ?? ''}`,
    fail: grew * 48 > 2048 ? `one client holds ${grew.toFixed(0)} MiB: 48 connections of one uid hold ${((grew * 48) / 1024).toFixed(1)} GiB (no per-client memory bound)` : undefined,
  };
}

void campaign([
  ['clipboard: foot focused, an unfocused client floods set_selection', (rig) => footVictim(rig, false)],
  ['primary: foot focused, an unfocused client floods set_selection', (rig) => footVictim(rig, true)],
  ['clipboard: 20,000 set_selection of a 64-mime source from an unfocused client', (rig) => selectionAmplification(rig, false, 20000)],
  ['primary: 20,000 set_selection of a 64-mime source from an unfocused client', (rig) => selectionAmplification(rig, true, 20000)],
  ['clipboard: 20,000 receive() on the bystander\'s selection (fd to the owner each)', (rig) => receiveFlood(rig, false, 20000)],
  ['primary: 20,000 receive() on the bystander\'s primary selection', (rig) => receiveFlood(rig, true, 20000)],
  ['clipboard: 9,990 sources x 64 long mime types held by one client', sourceHoard],
]);
