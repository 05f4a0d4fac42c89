/**
 * A well-behaved Wayland client in its own process, the victim the campaign
 * watches for wrong-client punishment: a 64x64 toplevel, a seat (pointer and
 * keyboard), a data device and a primary-selection device, as clipboard-aware
 * toolkits have. It behaves as they do: it destroys the previous selection offer
 * when a new one comes, answers wl_data_source.send by writing a few bytes and
 * closing the fd, and reads everything. It round-trips every 100 ms.
 *
 *   node --require tsx/cjs bystander-child.ts <wayland-path>
 *
 * stdout: "ready", "R <maxRoundtripMs since last>" answering "rt", "ERR <obj> <code> <message>"
 * if it ever gets a wl_display.error, "CLOSED" if the server hangs up on it.
 * stdin: "rt", "own" (sets the clipboard and primary selection with its latest serial).
 */
import { writeSync } from 'node:fs';
import { createInterface } from 'node:readline';
import * as native from '../../../lib/native';
import { zwp_primary_selection_device_manager_v1, zwp_primary_selection_device_v1, zwp_primary_selection_offer_v1, zwp_primary_selection_source_v1 } from '../../../lib/wayland/protocol/primary-selection';
import { wl_buffer, wl_data_device, wl_data_device_manager, wl_data_offer, wl_data_source, wl_seat, wl_shm, wl_shm_pool, wl_surface } from '../../../lib/wayland/protocol/wayland';
import { RawWaylandClient } from '../../helpers/wayland-client';

const out = (s: string): void => void process.stdout.write(`${s}\n`);
const c = new RawWaylandClient(process.argv[2]!);
c.defaultTimeoutMs = 30000;
let maxRt = 0;
let serial = 0;
let reported = false;
let lastOffer = 0;
let lastPrimaryOffer = 0;
const sentFds: number[] = [];

async function main(): Promise<void> {
  const registry = await c.registry();
  const shm = c.bind(registry, wl_shm);
  const { surface } = await c.configuredToplevel(registry);
  const fd = native.memfdCreate('bystander', 64 * 64 * 4, 0);
  const px = new Uint32Array(native.mmapFd(fd, 64 * 64 * 4, 0, native.PROT_READ | native.PROT_WRITE));
  px.fill(0xff00ff00);
  native.unmapBuffer(px.buffer as ArrayBuffer);
  const pool = c.newId(wl_shm_pool);
  c.request(shm, wl_shm, 'create_pool', [pool, fd, 64 * 64 * 4]);
  const buffer = c.newId(wl_buffer);
  c.request(pool, wl_shm_pool, 'create_buffer', [buffer, 0, 64, 64, 256, 1]);
  c.request(surface, wl_surface, 'attach', [buffer, 0, 0]);
  c.request(surface, wl_surface, 'commit', []);
  const seat = c.bind(registry, wl_seat);
  c.request(seat, wl_seat, 'get_pointer', [c.newId(RawWaylandClient.interface('wl_pointer'))]);
  c.request(seat, wl_seat, 'get_keyboard', [c.newId(RawWaylandClient.interface('wl_keyboard'))]);
  const manager = c.bind(registry, wl_data_device_manager);
  const device = c.newId(wl_data_device);
  c.request(manager, wl_data_device_manager, 'get_data_device', [device, seat]);
  const pmanager = c.bind(registry, zwp_primary_selection_device_manager_v1);
  const pdevice = c.newId(zwp_primary_selection_device_v1);
  c.request(pmanager, zwp_primary_selection_device_manager_v1, 'get_device', [pdevice, seat]);
  await c.roundtrip();
  out('ready');

  createInterface({ input: process.stdin }).on('line', (line) => {
    if (line === 'rt') {
      out(`R ${maxRt}`);
      maxRt = 0;
    } else if (line === 'own') {
      const source = c.newId(wl_data_source);
      c.request(manager, wl_data_device_manager, 'create_data_source', [source]);
      c.request(source, wl_data_source, 'offer', ['text/plain']);
      c.request(device, wl_data_device, 'set_selection', [source, serial]);
      const psource = c.newId(zwp_primary_selection_source_v1);
      c.request(pmanager, zwp_primary_selection_device_manager_v1, 'create_source', [psource]);
      c.request(psource, zwp_primary_selection_source_v1, 'offer', ['text/plain']);
      c.request(pdevice, zwp_primary_selection_device_v1, 'set_selection', [psource, serial]);
      out(`owned with serial ${serial}`);
    }
  });

  // Events are handled as they come and dropped (a long run must not grow here).
  let seen = 0;
  for (;;) {
    const start = Date.now();
    const ok = await c.roundtrip().catch(() => false);
    maxRt = Math.max(maxRt, Date.now() - start);
    for (const e of c.events.splice(seen)) {
      if (e.name === 'error' && e.objectId === 1 && !reported) {
        reported = true;
        out(`ERR ${String(e.args[0])} ${String(e.args[1])} ${String(e.args[2])}`);
      }
      if (e.name === 'enter' || e.name === 'button' || e.name === 'key') serial = Number(e.name === 'enter' ? e.args[0] : e.args[0]);
      if (e.interface === 'wl_data_device' && e.name === 'data_offer') {
        if (lastOffer) c.request(lastOffer, wl_data_offer, 'destroy', []);
        lastOffer = e.args[0] as number;
      }
      if (e.interface === 'zwp_primary_selection_device_v1' && e.name === 'data_offer') {
        if (lastPrimaryOffer) c.request(lastPrimaryOffer, zwp_primary_selection_offer_v1, 'destroy', []);
        lastPrimaryOffer = e.args[0] as number;
      }
      if (e.interface === 'wl_data_source' && e.name === 'send') sentFds.push(e.args[1] as number);
      if (e.interface === 'wl_data_source' && e.name === 'cancelled') c.request(e.objectId, wl_data_source, 'destroy', []);
    }
    seen = 0;
    c.events.length = 0;
    // The fds are in receivedFds too, closed below.
    for (const f of sentFds.splice(0)) {
      try {
        writeSync(f, 'bystander');
      } catch {
        // the reader went away
      }
    }
    for (const f of c.receivedFds.splice(0)) native.closeFd(f);
    if (c.closed) {
      out('CLOSED');
      process.exit(0);
    }
    if (!ok) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 100));
  }
}

void main().catch((e: unknown) => {
  out(`CRASHED ${String(e)}`);
  process.exit(1);
});
