/**
 * Input latency on a real kernel: a key injected into the VM's virtio keyboard
 * (QMP input-send-event, through the harness' host channel) to the Wayland
 * client's wl_keyboard.key.
 *
 * One process holds the compositor side (InputDevices grabbing the devices,
 * attachInput into a SceneSeat, a WaylandServer) and a raw Wayland client with a
 * focused window, so one clock serves all the times:
 * - evdev -> client: the kernel's event time (CLOCK_MONOTONIC, EVIOCSCLOCKID) to the
 *   client decoding wl_keyboard.key: our read, framing, seat, Wayland encode, the
 *   socket and the client's decode (the path a kiosk adds to the hardware's);
 * - request -> client: from writing the injection request to the key at the client,
 *   which adds the harness' 9p request and qemu's QMP and virtio path (emulated).
 * While a key travels, the loop is idle (the harness' reply is looked for after it).
 *
 * Needs test/vm/run.sh --input (the virtio keyboard and the host channel): skipped
 * elsewhere with the reason. Emulated (TCG): figures are paths, not speeds.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { attachInput, InputDevices } from '../../lib/input';
import * as native from '../../lib/native';
import { followSource, Scene, SceneSeat } from '../../lib/scene';
import { wl_keyboard, wl_seat, wl_shm, wl_shm_pool, wl_surface } from '../../lib/wayland/protocol/wayland';
import { WaylandServer } from '../../lib/wayland/server';
import { injectInput, keyTaps, screendumpUnavailableReason } from '../../test/drivers/support/screendump';
import { RawWaylandClient } from '../../test/helpers/wayland-client';
import type { BenchContext, Measurement } from '../measurement';
import { skippedRow, type Row } from '../result';
import { quantileSorted } from '../stats';

const ROW = { id: 'input.key.latency', title: 'Input: QMP key -> evdev -> client wl_keyboard.key (VM)' };
const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

function virtioKeyboard(): boolean {
  try {
    return readdirSync('/sys/class/input').some((n) => {
      try {
        return /^event\d+$/.test(n) && readFileSync(`/sys/class/input/${n}/device/name`, 'utf8').trim() === 'QEMU Virtio Keyboard';
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

async function until(predicate: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > end) throw new Error('input latency: timed out waiting for the key');
    await new Promise((r) => setTimeout(r, 1));
  }
}

export const inputLatency: Measurement = {
  id: 'input',
  title: ROW.title,
  timeoutSeconds: 180,
  async run(ctx: BenchContext): Promise<Row[]> {
    const why = screendumpUnavailableReason() ?? (virtioKeyboard() ? undefined : 'no QEMU Virtio Keyboard (test/vm/run.sh --input)');
    if (why) return [skippedRow(ROW.id, ROW.title, why)];
    const dir = mkdtempSync(join(tmpdir(), 'bufshare-bench-input-'));
    const server = WaylandServer.listen({ name: join(dir, 'wayland-input') });
    const scene = new Scene({ background: 0xff000000 });
    scene.addOutput({ width: 640, height: 480 });
    const seat = new SceneSeat(scene, { cursor: false });
    followSource(scene, server, scene.createTree(), (view) => seat.focusKeyboard(view));
    const devices = new InputDevices({ hotplug: false }).start();
    const attached = attachInput(seat, devices, { x: 0, y: 0, width: 640, height: 480 });
    const kernelTimes: number[] = [];
    devices.on('input', (e) => {
      if (e.type === 'key' && e.pressed) kernelTimes.push(e.time);
    });
    const c = new RawWaylandClient(server.path);
    c.defaultTimeoutMs = 30000; // TCG: the first roundtrip compiles the whole path
    const fd = native.memfdCreate('bench-input', 64 * 64 * 4, 0);
    try {
      const registry = await c.registry();
      const { surface } = await c.configuredToplevel(registry);
      const shm = c.bind(registry, wl_shm);
      const pool = c.newId(wl_shm_pool);
      c.request(shm, wl_shm, 'create_pool', [pool, fd, 64 * 64 * 4]);
      const buffer = c.newId(RawWaylandClient.interface('wl_buffer'));
      c.request(pool, wl_shm_pool, 'create_buffer', [buffer, 0, 64, 64, 256, 1]);
      c.request(surface, wl_surface, 'attach', [buffer, 0, 0]);
      c.request(surface, wl_surface, 'commit', []);
      const wlSeat = c.bind(registry, wl_seat);
      const keyboard = c.newId(wl_keyboard);
      c.request(wlSeat, wl_seat, 'get_keyboard', [keyboard]);
      await until(() => c.events.some((e) => e.objectId === keyboard && e.name === 'enter'), 10000);
      // Each key's arrival, stamped as the client decodes it.
      const arrivals: number[] = [];
      const push = c.events.push.bind(c.events);
      c.events.push = (...items) => {
        for (const e of items) if (e.objectId === keyboard && e.name === 'key' && e.args[3] === 1) arrivals.push(nowMs());
        return push(...items);
      };
      const n = ctx.quick ? 5 : 40;
      const fromKernel: number[] = [];
      const fromRequest: number[] = [];
      for (let i = 0; i < n; i++) {
        const t0 = nowMs();
        const arrived = until(() => arrivals.length > i && kernelTimes.length > i, 10000);
        // The reply is looked for after the key arrived: no 9p walk holds the loop meanwhile.
        const sent = injectInput(keyTaps(['a']), arrived);
        await arrived;
        fromKernel.push(arrivals[i]! - kernelTimes[i]!);
        fromRequest.push(arrivals[i]! - t0);
        await sent;
        await new Promise((r) => setTimeout(r, 20));
      }
      const k = [...fromKernel].sort((a, b) => a - b);
      const r = [...fromRequest].sort((a, b) => a - b);
      const p50k = quantileSorted(k, 0.5);
      const p50r = quantileSorted(r, 0.5);
      ctx.log(`input: evdev -> client p50 ${p50k.toFixed(2)} ms, request -> client p50 ${p50r.toFixed(1)} ms (${n} keys)`);
      return [{
        id: ROW.id,
        title: ROW.title,
        baselineTitle: '-',
        unit: 'ms',
        targetText: 'report (emulated: paths, not speeds)',
        status: 'reported',
        reason: `evdev -> client p50 ${p50k.toFixed(2)} ms (p90 ${quantileSorted(k, 0.9).toFixed(2)}); injection request -> client p50 ${p50r.toFixed(1)} ms; ${n} keys`,
        details: { evdevToClientP50Ms: p50k, evdevToClientP90Ms: quantileSorted(k, 0.9), requestToClientP50Ms: p50r, keys: n },
      }];
    } finally {
      c.close();
      native.closeFd(fd);
      attached.detach();
      devices.close();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
