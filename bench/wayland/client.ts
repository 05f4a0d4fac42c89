/**
 * The benchmark's Wayland client: one process, the same code against any
 * compositor (bufshare's WaylandServer or weston). Made with lib/wayland's codec.
 *
 *   node --require tsx/cjs bench/wayland/client.ts <WAYLAND_DISPLAY path> <frames>
 *
 * A 256x256 XRGB8888 toplevel with two buffers in one pool. Each frame: attach the
 * other buffer, damage_buffer 64x64, a frame callback, commit; then wait for
 * wl_buffer.release of the buffer the previous frame showed (the server is done
 * with it) and for its frame callback, as a real client paces itself. (Committing
 * without waiting for callbacks makes weston's releases slower, 583 µs against 118
 * µs p50 here: it then releases after its repaint.)
 * Prints one JSON line: samples in µs of commit -> release, and of commit -> frame callback.
 */
import * as native from '../../lib/native';
import { WaylandConnection } from '../../lib/wayland/connection';
import * as core from '../../lib/wayland/protocol/wayland';
import * as xdg from '../../lib/wayland/protocol/xdg-shell';
import type { InterfaceSpec } from '../../lib/wayland/spec';
import { decodeArgs, encodeMessage, type ArgValue } from '../../lib/wayland/wire';

const [path, framesArg] = process.argv.slice(2);
const frames = Number(framesArg ?? 500);
const conn = new WaylandConnection(native.streamConnect(path!));
const objects = new Map<number, InterfaceSpec>([[1, core.wl_display]]);
let nextId = 2;
const listeners = new Map<number, (name: string, args: ArgValue[]) => void>();
const received: number[] = [];

conn.onMessage = (h, body) => {
  const spec = objects.get(h.objectId);
  const msg = spec?.events[h.opcode];
  if (!spec || !msg) return;
  const args = decodeArgs(msg, body, conn, received);
  if (spec === core.wl_display && msg.name === 'error') {
    console.error(`wayland error: ${String(args[2])}`);
    process.exit(1);
  }
  listeners.get(h.objectId)?.(msg.name, args);
  for (const w of [...waiters]) w();
};
conn.onClose = (reason) => {
  if (!finished) {
    console.error(`disconnected: ${reason}`);
    process.exit(1);
  }
};
let finished = false;

function create(iface: InterfaceSpec, on?: (name: string, args: ArgValue[]) => void): number {
  const id = nextId++;
  objects.set(id, iface);
  if (on) listeners.set(id, on);
  return id;
}

function send(id: number, iface: InterfaceSpec, name: string, args: ArgValue[]): void {
  const opcode = iface.requests.findIndex((r) => r.name === name);
  conn.queue(encodeMessage(id, opcode, iface.requests[opcode]!, args));
  conn.flush();
}

/** Checks re-run after every event (no polling: the process sleeps in epoll like a C client). */
const waiters = new Set<() => void>();

function waitFor(check: () => boolean): Promise<void> {
  if (check()) return Promise.resolve();
  return new Promise((resolve) => {
    const w = (): void => {
      if (!check()) return;
      waiters.delete(w);
      resolve();
    };
    waiters.add(w);
  });
}

async function main(): Promise<void> {
  const globals = new Map<string, [number, number]>();
  const registry = create(core.wl_registry, (name, args) => {
    if (name === 'global') globals.set(args[1] as string, [args[0] as number, args[2] as number]);
  });
  send(1, core.wl_display, 'get_registry', [registry]);
  let synced = false;
  const sync = create(core.wl_callback, () => (synced = true));
  send(1, core.wl_display, 'sync', [sync]);
  await waitFor(() => synced);
  const bind = (iface: InterfaceSpec, version: number): number => {
    const [name] = globals.get(iface.name)!;
    const id = create(iface);
    send(registry, core.wl_registry, 'bind', [name, { interface: iface.name, version, id }]);
    return id;
  };
  const compositor = bind(core.wl_compositor, 4);
  const shm = bind(core.wl_shm, 1);
  const wm = bind(xdg.xdg_wm_base, 1);
  listeners.set(wm, (name, args) => name === 'ping' && send(wm, xdg.xdg_wm_base, 'pong', [args[0]!]));
  const surface = create(core.wl_surface);
  send(compositor, core.wl_compositor, 'create_surface', [surface]);
  let configureSerial: number | undefined;
  const xs = create(xdg.xdg_surface, (name, args) => (configureSerial = args[0] as number));
  send(wm, xdg.xdg_wm_base, 'get_xdg_surface', [xs, surface]);
  const top = create(xdg.xdg_toplevel);
  send(xs, xdg.xdg_surface, 'get_toplevel', [top]);
  send(top, xdg.xdg_toplevel, 'set_title', ['bench']);
  send(surface, core.wl_surface, 'commit', []);
  await waitFor(() => configureSerial !== undefined);
  send(xs, xdg.xdg_surface, 'ack_configure', [configureSerial!]);

  const size = 256 * 256 * 4;
  const fd = native.memfdCreate('bench-pool', 2 * size, 0);
  const pool = create(core.wl_shm_pool);
  send(shm, core.wl_shm, 'create_pool', [pool, fd, 2 * size]);
  const busy = [false, false];
  const buffers = [0, 1].map((i) => {
    const id = create(core.wl_buffer, () => (busy[i] = false));
    send(pool, core.wl_shm_pool, 'create_buffer', [id, i * size, 256, 256, 1024, 1]);
    return id;
  });
  const release: number[] = [];
  const callback: number[] = [];
  for (let n = 0; n < frames; n++) {
    const i = n % 2;
    await waitFor(() => !busy[i]);
    let done = false;
    const cb = create(core.wl_callback, () => (done = true));
    busy[i] = true;
    const t0 = process.hrtime.bigint();
    send(surface, core.wl_surface, 'attach', [buffers[i]!, 0, 0]);
    send(surface, core.wl_surface, 'damage_buffer', [(n * 8) % 192, 0, 64, 64]);
    send(surface, core.wl_surface, 'frame', [cb]);
    send(surface, core.wl_surface, 'commit', []);
    const other = 1 - i;
    let releasedAt: bigint | undefined;
    let doneAt: bigint | undefined;
    const timeCallback = true;
    await waitFor(() => {
      if (releasedAt === undefined && (n === 0 || !busy[other])) releasedAt = process.hrtime.bigint();
      if (doneAt === undefined && done) doneAt = process.hrtime.bigint();
      return releasedAt !== undefined && (doneAt !== undefined || !timeCallback);
    });
    if (n > 0) release.push(Number(releasedAt! - t0) / 1000);
    if (timeCallback) callback.push(Number(doneAt! - t0) / 1000);
  }
  finished = true;
  console.log(JSON.stringify({ release, callback }));
  conn.close();
  native.closeFd(fd);
  for (const r of received) native.closeFd(r);
  process.exit(0);
}

void main();
