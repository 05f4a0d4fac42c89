/**
 * The benchmark's bufshare Wayland server process: WaylandServer (compiled, from
 * dist/) and the work the demo compositor does per frame, alone in its process, so that what its
 * /proc/<pid> shows is the server's (the memory row reads it from outside, as it
 * reads weston's).
 *
 *   node --expose-gc --require tsx/cjs bench/wayland/server.ts <socket path>
 *
 * Per frame, as the demo: keep the newest frame of each surface and release the
 * one before; frame callbacks fire on a 60 Hz output tick (the demo's FramePacer,
 * and weston's headless repaint), not at once: a client that is paced by its
 * callbacks then draws at the output's rate on both servers.
 *
 * stdin, one command a line: "settle" runs two full GCs (what V8 can free is
 * freed: the reading is what the server holds, not garbage not yet collected)
 * and answers "settled <JSON>" (frames so far, V8's heap figures after the GC);
 * "exit" closes the server and exits.
 * stdout: "ready <pid>" once listening.
 */
import { createInterface } from 'node:readline';
import { getHeapSpaceStatistics } from 'node:v8';
import type { CompositorFrame, CompositorSurface } from '../../lib/surface-model';
import { compiled } from '../support/compiled';

function loadWaylandServer(): typeof import('../../lib/wayland/server').WaylandServer {
  return (require(compiled('lib/wayland/server.js')) as typeof import('../../lib/wayland/server')).WaylandServer;
}

const REFRESH_MS = 1000 / 60;

const path = process.argv[2];
if (path === undefined) {
  process.stderr.write('usage: server.ts <socket path>\n');
  process.exit(2);
}
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) {
  process.stderr.write('server.ts needs node --expose-gc: its readings are taken after a full GC\n');
  process.exit(2);
}

/**
 * V8 allocates short-lived objects linearly through its young generation (pinned
 * by the bench, see SEMI_SPACE_MIB in bench/measurements/wayland-memory.ts), whose
 * 256 KiB pages become resident as allocation first reaches them, and stay. A busy
 * server has them all resident; a fresh one only some, and the first clients'
 * frames touched the rest: measured, 13 such pages (3.3 MiB, 100 KiB "per client")
 * appeared between the 0- and 32-client readings, while the live JS heap grew
 * 23 KiB a client. They are no client's: allocating garbage through the young
 * generation once, at start, puts the server in its busy state before the first
 * reading.
 */
function touchYoungGeneration(): void {
  const young = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 16 * 1024 * 1024;
  // Stored, so the optimizer cannot drop the allocations; each slot's object dies at the next write.
  const sink: (number[] | undefined)[] = new Array(64).fill(undefined);
  for (let i = 0; i < (4 * young) / 64; i++) sink[i & 63] = [i, i, i, i];
}

let WaylandServer: ReturnType<typeof loadWaylandServer>;
try {
  WaylandServer = loadWaylandServer();
} catch (e) {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exit(2);
}
const server = WaylandServer.listen({ name: path, dmabufDevice: false });
const shown = new Map<CompositorSurface, CompositorFrame>();
const owed = new Set<CompositorSurface>();
let frames = 0;
server.on('frame', (f) => {
  frames++;
  shown.get(f.surface)?.release();
  shown.set(f.surface, f);
  owed.add(f.surface);
});
server.on('surfaceDestroyed', (s) => {
  shown.get(s)?.release();
  shown.delete(s);
  owed.delete(s);
});
const tick = setInterval(() => {
  for (const s of owed) s.frameDone();
  owed.clear();
}, REFRESH_MS);

const commands = createInterface({ input: process.stdin });
commands.on('line', (line) => {
  if (line === 'settle') {
    gc();
    gc();
    const m = process.memoryUsage();
    process.stdout.write(`settled ${JSON.stringify({ frames, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external })}\n`);
  } else if (line === 'exit') {
    commands.close();
  }
});
commands.on('close', () => {
  clearInterval(tick);
  void server.close().then(() => process.exit(0));
});
touchYoungGeneration();
gc();
gc();
process.stdout.write(`ready ${process.pid}\n`);
