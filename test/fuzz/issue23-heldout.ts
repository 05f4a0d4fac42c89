/**
 * Issue 23's campaign, rerun by hand (not in CI): a WaylandServer in its own
 * process (test/helpers/wayland-server-child.ts, which reads every frame and
 * answers frame callbacks at once), weston-simple-shm drawing against it the whole
 * time, and the issue's attacks one after another from this process. For each:
 * whether the server lived, the attacker's outcome, weston-simple-shm's slowest
 * second (frames), the server's fds and RSS after.
 *
 *   npx tsx test/fuzz/issue23-heldout.ts [part of an attack's title]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as native from '../../lib/native';
import { wl_compositor, wl_display, wl_region, wl_registry, wl_seat, wl_keyboard, wl_shm, wl_shm_pool, wl_surface } from '../../lib/wayland/protocol/wayland';
import { DeafWaylandClient } from '../helpers/wayland-deaf-client';
import { RawWaylandClient } from '../helpers/wayland-client';

const ROOT = join(__dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'bufshare-issue23-'));
const name = join(dir, 'wayland-issue23');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const server = spawn(process.execPath, ['--require', 'tsx/cjs', join(ROOT, 'test/helpers/wayland-server-child.ts'), name], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
let frames = 0;
let listening = false;
let serverExit: string | undefined;
server.stdout!.on('data', (d: Buffer) => {
  const s = d.toString();
  if (s.includes('listening')) listening = true;
  frames += s.split('\nframe ').length - 1 + (s.startsWith('frame ') ? 1 : 0);
});
server.on('exit', (code, sig) => {
  serverExit = `exited ${code ?? sig}`;
});

const pid = (): number => server.pid!;
const fds = (): number => readdirSync(`/proc/${pid()}/fd`).length;
const rssMiB = (): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid()}/status`, 'utf8'))![1]) / 1024;

/** weston-simple-shm's frames per second, sampled every second while `run` runs: the slowest second. */
async function underLoad(run: () => Promise<string>): Promise<{ outcome: string; slowestFps: number; seconds: number }> {
  let slowest = Infinity;
  let last = frames;
  let seconds = 0;
  const t = setInterval(() => {
    slowest = Math.min(slowest, frames - last);
    last = frames;
    seconds++;
  }, 1000);
  const start = Date.now();
  let outcome: string;
  try {
    outcome = await run();
  } catch (e) {
    outcome = `attacker threw: ${String(e)}`;
  }
  await sleep(Math.max(0, 1100 - (Date.now() - start)));
  clearInterval(t);
  return { outcome, slowestFps: slowest === Infinity ? frames - last : slowest, seconds };
}

function memfd(size: number): number {
  return native.memfdCreate('issue23', size, 0);
}

const attacks: [string, () => Promise<string>][] = [
  ['keymap fds, never read (10,000 get_keyboard)', async () => {
    const probe = new RawWaylandClient(name);
    await probe.registry();
    const [seatName, seatVersion] = probe.globals.get('wl_seat')!;
    const deaf = new DeafWaylandClient(name);
    deaf.request(1, wl_display, 'get_registry', [2]);
    deaf.request(2, wl_registry, 'bind', [seatName, { interface: 'wl_seat', version: seatVersion, id: 3 }]);
    for (let i = 0; i < 10000; i++) {
      deaf.request(3, wl_seat, 'get_keyboard', [4]);
      deaf.request(4, wl_keyboard, 'release', []);
    }
    await deaf.send().catch(() => undefined);
    const ended = await deaf.ended(5000);
    const served = await probe.roundtrip();
    probe.close();
    return `${ended ? 'disconnected' : 'NOT disconnected'}; another client ${served ? 'served' : 'NOT served'}`;
  }],
  ['45 connections that never read, ~4 MiB queued each (wl_display.sync)', async () => {
    const deaf = Array.from({ length: 45 }, () => new DeafWaylandClient(name));
    // The callback id is free again once the server destroyed it (delete_id).
    for (const d of deaf) d.repeat(1, wl_display, 'sync', [2], 170000);
    await Promise.all(deaf.map((d) => d.send().catch(() => undefined)));
    let cut = 0;
    for (const d of deaf) if (await d.ended(200)) cut++;
    const rss = rssMiB();
    for (const d of deaf) {
      try {
        d.close();
      } catch {
        // ended() closed it
      }
    }
    return `${cut} of 45 disconnected, server RSS ${rss.toFixed(0)} MiB with them connected`;
  }],
  ['guard table: 40 connections x 128 unsealed pools, then a later client', async () => {
    const fd = memfd(4096);
    const hogs: RawWaylandClient[] = [];
    let refused = 0;
    for (let i = 0; i < 40; i++) {
      const c = new RawWaylandClient(name);
      hogs.push(c);
      const shm = c.bind(await c.registry(), wl_shm);
      for (let p = 0; p < 128; p++) {
        const pool = c.newId(wl_shm_pool);
        c.request(shm, wl_shm, 'create_pool', [pool, fd, 4096]);
        c.request(pool, wl_shm_pool, 'create_buffer', [c.newId(RawWaylandClient.interface('wl_buffer')), 0, 16, 16, 64, 1]);
        c.request(pool, wl_shm_pool, 'destroy', []);
      }
      await c.roundtrip(10000);
      if (c.error) refused++;
    }
    const good = new RawWaylandClient(name);
    const shm = good.bind(await good.registry(), wl_shm);
    good.request(shm, wl_shm, 'create_pool', [good.newId(wl_shm_pool), fd, 4096]);
    await good.roundtrip();
    const verdict = good.error ? `the later client was refused: ${good.error.message}` : 'the later client maps its pool';
    for (const c of [...hogs, good]) c.close();
    native.closeFd(fd);
    return `${refused} of 40 hogs refused; ${verdict}`;
  }],
  ['wl_region.subtract over a 300 x 300 grid', async () => {
    const c = new RawWaylandClient(name);
    const compositor = c.bind(await c.registry(), wl_compositor);
    const region = c.newId(wl_region);
    c.request(compositor, wl_compositor, 'create_region', [region]);
    c.request(region, wl_region, 'add', [0, 0, 600, 600]);
    for (let y = 0; y < 300; y++) for (let x = 0; x < 300; x++) c.request(region, wl_region, 'subtract', [2 * x, 2 * y, 1, 1]);
    const start = Date.now();
    await c.until(() => c.closed, 60000).catch(() => undefined);
    const out = c.closed ? `ended after ${Date.now() - start} ms: ${c.error?.message ?? 'no error'}` : 'still running after 60 s';
    c.close();
    return out;
  }],
  ['1,000,000 wl_display.sync never read', async () => {
    const before = rssMiB();
    const d = new DeafWaylandClient(name);
    d.repeat(1, wl_display, 'sync', [2], 1000000);
    await d.send().catch(() => undefined);
    const ended = await d.ended(5000);
    await sleep(2000);
    return `${ended ? 'disconnected' : 'NOT disconnected'}; server RSS ${before.toFixed(0)} -> ${rssMiB().toFixed(0)} MiB 2 s later`;
  }],
  ['63 connections of one uid', async () => {
    const cs = Array.from({ length: 63 }, () => new RawWaylandClient(name));
    const results = await Promise.all(cs.map((c) => c.roundtrip(3000).catch(() => false)));
    const served = results.filter(Boolean).length;
    for (const c of cs) c.close();
    return `${served} served, ${63 - served} refused (the rest of the 64 kept for other uids)`;
  }],
];

async function main(): Promise<void> {
  for (let i = 0; i < 200 && !listening; i++) await sleep(50);
  if (!listening) throw new Error('the server did not start');
  const simple = spawn('weston-simple-shm', [], { env: { ...process.env, WAYLAND_DISPLAY: name, XDG_RUNTIME_DIR: dir }, stdio: 'ignore' });
  await sleep(2000);
  const idle = await underLoad(async () => {
    await sleep(2000);
    return 'idle';
  });
  const baseFds = fds();
  console.log(`baseline: weston-simple-shm ${idle.slowestFps} frames in its slowest second; server fds ${baseFds}, RSS ${rssMiB().toFixed(0)} MiB`);
  const only = process.argv[2];
  for (const [title, run] of attacks.filter(([t]) => only === undefined || t.includes(only))) {
    const r = await underLoad(run);
    await sleep(500);
    const alive = serverExit === undefined && simple.exitCode === null;
    console.log(`${alive ? 'PASS' : 'FAIL'} ${title}: ${r.outcome}; weston-simple-shm slowest second ${r.slowestFps} frames over ${r.seconds} s; server ${serverExit ?? 'alive'}, fds ${serverExit ? '-' : fds()} (baseline ${baseFds}), RSS ${serverExit ? '-' : rssMiB().toFixed(0)} MiB`);
    if (serverExit) break;
  }
  simple.kill();
  server.kill();
  rmSync(dir, { recursive: true, force: true });
}

void main().catch((e: unknown) => {
  console.error(e);
  server.kill();
  process.exitCode = 1;
});
