/**
 * Wayland wl_shm frame round trip: the same client process (bench/wayland/client.ts)
 * against bufshare's WaylandServer and against `weston --backend=headless-backend.so`
 * in the same run.
 *
 * - round trip (target <= 1.5x weston): commit of a new buffer -> wl_buffer.release
 *   of the buffer the previous frame showed, p50. Both servers release it as soon as
 *   the new one is committed (weston's headless backend has no renderer; the bench
 *   compositor here keeps the newest frame and releases the one before, as the demo).
 * - frame callback (reported): commit -> wl_callback.done. Not comparable: weston
 *   fires it from its output's repaint timer, the bench compositor calls frameDone()
 *   at once.
 * - the bridge copies no pixels: every frame's region is a view of the client's pool
 *   mapping (the same ArrayBuffer, the pool's size), and no mapping is made per frame.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as native from '../../lib/native';
import type { CompositorFrame } from '../../lib/surface-model';
import { WaylandServer } from '../../lib/wayland/server';
import type { BenchContext, Measurement } from '../measurement';
import { comparedRow, skippedRow, type Row } from '../result';
import { median } from '../stats';
import { startHeadlessWeston } from '../support/weston';

const CLIENT = join(__dirname, '..', 'wayland', 'client.ts');
const FRAME_BYTES = 256 * 256 * 4;

interface ClientSamples {
  release: number[];
  callback: number[];
}

function runClient(display: string, frames: number): Promise<ClientSamples> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--require', 'tsx/cjs', CLIENT, display, String(frames)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`bench client exited ${code}: ${err}`));
      else resolve(JSON.parse(out) as ClientSamples);
    });
  });
}

export const wayland: Measurement = {
  id: 'wayland',
  title: 'Wayland wl_shm frame round trip vs weston',
  timeoutSeconds: 300,
  async run(ctx: BenchContext): Promise<Row[]> {
    const dir = mkdtempSync(join(tmpdir(), 'bufshare-bench-wl-')); // 0700
    const weston = await startHeadlessWeston(dir);
    if (typeof weston === 'string') {
      rmSync(dir, { recursive: true, force: true });
      return [skippedRow('wayland.roundtrip', 'Wayland wl_shm commit -> release round trip vs weston (p50)', weston, { op: '<=', value: 1.5 })];
    }
    const server = WaylandServer.listen({ name: join(dir, 'wayland-bufshare') });
    const held = new Map<unknown, CompositorFrame>();
    const views = new Set<ArrayBufferLike>();
    let frames = 0;
    let viewBytes = 0;
    server.on('frame', (f) => {
      frames++;
      views.add(f.region.pixels.buffer);
      viewBytes = f.region.pixels.buffer.byteLength;
      held.get(f.surface)?.release();
      held.set(f.surface, f);
      f.surface.frameDone();
    });
    server.on('surfaceDestroyed', (s) => held.get(s)?.release());
    // Weston fires frame callbacks from its repaint timer (~25 ms here): 200 frames is ~5 s a run.
    const frameCount = ctx.quick ? 20 : 200;
    const ours = { release: [] as number[], callback: [] as number[] };
    const theirs = { release: [] as number[], callback: [] as number[] };
    const mappingsBefore = native.mappingStats().created;
    let framesMeasured = 0;
    try {
      for (let run = 0; run < ctx.runs; run++) {
        const order = run % 2 === 0 ? ['bufshare', 'weston'] : ['weston', 'bufshare'];
        for (const who of order) {
          const s = await runClient(who === 'bufshare' ? server.path : weston.display, frameCount);
          const into = who === 'bufshare' ? ours : theirs;
          into.release.push(median(s.release));
          into.callback.push(median(s.callback));
          if (who === 'bufshare') framesMeasured += frameCount;
        }
        ctx.log(`wayland: run ${run + 1}/${ctx.runs}: bufshare ${ours.release.at(-1)!.toFixed(1)} µs, weston ${theirs.release.at(-1)!.toFixed(1)} µs`);
      }
    } finally {
      await server.close();
      await weston.stop();
      rmSync(dir, { recursive: true, force: true });
    }
    // One pool per client run: one mapping each, none per frame; every frame a view of its pool.
    const mappingsMade = native.mappingStats().created - mappingsBefore;
    const copiedPerFrame = views.size <= ctx.runs && viewBytes === 2 * FRAME_BYTES ? 0 : FRAME_BYTES;
    return [
      comparedRow({
        id: 'wayland.roundtrip',
        title: 'Wayland wl_shm commit -> wl_buffer.release round trip, 1 client process (p50)',
        baselineTitle: 'weston 10 --backend=headless-backend.so, same client',
        unit: 'µs',
        subject: ours.release,
        baseline: theirs.release,
        target: { op: '<=', value: 1.5 },
        details: { framesPerRun: frameCount, buffer: '256x256 XRGB8888, 2 buffers, 64x64 damage_buffer' },
      }),
      comparedRow({
        id: 'wayland.callback',
        title: 'Wayland commit -> frame callback (reported; weston paces it by its repaint timer)',
        baselineTitle: 'weston headless, same client',
        unit: 'µs',
        subject: ours.callback,
        baseline: theirs.callback,
      }),
      comparedRow({
        id: 'wayland.copies',
        title: 'Wayland bridge: pixel bytes copied per frame (the compositor reads the client\'s pool)',
        baselineTitle: 'a copying bridge: one buffer per frame',
        unit: 'B',
        subject: Array.from({ length: ctx.runs }, () => copiedPerFrame),
        baseline: Array.from({ length: ctx.runs }, () => FRAME_BYTES),
        target: { op: '<=', value: 0 },
        details: { framesSeen: frames, framesMeasured, mappingsMade, distinctPoolViews: views.size, viewBytes },
      }),
    ];
  },
};
