/**
 * Compositor CPU per output frame against weston: the same real clients (four
 * weston-simple-damage, one weston-simple-shm: Debian's, C, libwayland) shown by
 * the demo compositor (headless, its scene composing each frame's damage into its
 * framebuffer, 1280x720 at 60 Hz) and by weston 10 headless with its pixman
 * renderer (`--use-pixman`: without it weston's headless backend renders nothing),
 * same size, side by side in the same run, order alternating.
 *
 * CPU: utime + stime of the compositor process (/proc/<pid>/stat), all threads,
 * over a window after a warm-up (start-up, V8's compiles and the first frames
 * excluded; the demo runs compiled, not through tsx).
 * Output frames: counted the same way on both, as the frame callbacks
 * weston-simple-shm receives (WAYLAND_DEBUG=client): it redraws on every one, so
 * each is one repaint of the output it animates. Figure: CPU ms per output frame.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchContext, Measurement } from '../measurement';
import { comparedRow, skippedRow, type Row } from '../result';
import { compiled } from '../support/compiled';
import { exited } from '../support/weston';

const ID = 'compositor.weston';
const TITLE = 'compositor CPU per output frame: 4 weston-simple-damage + 1 weston-simple-shm, 1280x720';
/** The demo compositor as compiled (see support/compiled.ts: tsx would add work per closure). */
const DEMO = (): string => compiled('demos/compositor.js', ['lib', 'demos']);
const CLIENTS = ['/usr/bin/weston', '/usr/bin/weston-simple-damage', '/usr/bin/weston-simple-shm'];
/** Clock ticks per second of /proc/<pid>/stat (getconf CLK_TCK: 100 on Linux x86 and arm64). */
const TICKS_PER_SECOND = 100;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** utime + stime of a process, in ms. */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may hold spaces: the fields start after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

interface Server {
  readonly pid: number;
  readonly display: string;
  stop(): Promise<void>;
}

async function waitFor(path: string, child: ChildProcess, what: string): Promise<void> {
  const start = Date.now();
  while (!existsSync(path)) {
    if (child.exitCode !== null || Date.now() - start > 20000) throw new Error(`${what} did not start`);
    await sleep(20);
  }
}

async function startWeston(dir: string): Promise<Server> {
  const display = join(dir, 'wayland-weston');
  const child = spawn('weston', ['--backend=headless-backend.so', '--use-pixman', '--width=1280', '--height=720', `--socket=${display}`, '--no-config', '--idle-time=0'], {
    stdio: 'ignore', env: { ...process.env, XDG_RUNTIME_DIR: dir },
  });
  await waitFor(display, child, 'weston --backend=headless-backend.so --use-pixman');
  return { pid: child.pid!, display, stop: async () => { child.kill('SIGTERM'); await exited(child); } };
}

async function startDemo(dir: string): Promise<Server> {
  const display = join(dir, 'wayland-demo');
  const child = spawn(process.execPath, [DEMO(), '--headless', '--size', '1280x720', '--socket', join(dir, 'bufshare-0'),
    '--wayland', display, '--frames', '1000000', '--wait-surfaces', '0', '--screenshot', join(dir, 'unused.png')], {
    stdio: 'ignore', env: { ...process.env, XDG_RUNTIME_DIR: dir },
  });
  await waitFor(display, child, 'the demo compositor');
  return { pid: child.pid!, display, stop: async () => { child.kill('SIGTERM'); await exited(child); } };
}

/** The clients; frames() counts the frame callbacks weston-simple-shm received so far. */
function startClients(display: string, dir: string): { frames: () => number; stop: () => Promise<void> } {
  const env = { ...process.env, WAYLAND_DISPLAY: display, XDG_RUNTIME_DIR: dir };
  const children: ChildProcess[] = [];
  for (let i = 0; i < 4; i++) children.push(spawn('/usr/bin/weston-simple-damage', [], { stdio: 'ignore', env }));
  const shm = spawn('/usr/bin/weston-simple-shm', [], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...env, WAYLAND_DEBUG: 'client' } });
  children.push(shm);
  let frames = 0;
  let tail = '';
  shm.stderr!.on('data', (d: Buffer) => {
    const text = tail + d.toString('latin1');
    const cut = text.lastIndexOf('\n') + 1;
    tail = text.slice(cut);
    for (let at = text.indexOf('wl_callback@'); at >= 0 && at < cut; at = text.indexOf('wl_callback@', at + 1)) {
      const end = text.indexOf('\n', at);
      if (text.slice(at, end).includes('.done(') && !text.slice(Math.max(0, at - 4), at).includes('->')) frames++;
    }
  });
  return {
    frames: () => frames,
    stop: async () => {
      for (const c of children) c.kill('SIGKILL');
      await Promise.all(children.map((c) => exited(c)));
    },
  };
}

/** CPU ms per output frame of one compositor over `windowMs`, after `warmupMs`. */
async function cpuPerFrame(start: (dir: string) => Promise<Server>, warmupMs: number, windowMs: number): Promise<{ ms: number; frames: number; cpu: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'bufshare-bench-cpu-'));
  const server = await start(dir);
  const clients = startClients(server.display, dir);
  try {
    await sleep(warmupMs);
    const cpu0 = cpuMs(server.pid);
    const frames0 = clients.frames();
    await sleep(windowMs);
    const cpu = cpuMs(server.pid) - cpu0;
    const frames = clients.frames() - frames0;
    if (frames === 0) throw new Error('no frame callback reached weston-simple-shm in the window');
    return { ms: cpu / frames, frames, cpu };
  } finally {
    await clients.stop();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export const compositorWeston: Measurement = {
  id: ID,
  title: 'compositor CPU per output frame against weston',
  timeoutSeconds: 300,
  async run(ctx: BenchContext): Promise<Row[]> {
    const missing = CLIENTS.find((c) => !existsSync(c));
    if (missing !== undefined) return [skippedRow(ID, TITLE, `${missing} is not installed (Debian: apt-get install weston)`, { op: '<=', value: 1 })];
    const runs = ctx.quick ? 1 : Math.max(3, Math.min(ctx.runs, 5));
    // Past V8's optimizing compiles: measured per thread, its workers used 30% of the
    // process's CPU in the first seconds and under 10% after 9 s.
    const warmupMs = ctx.quick ? 1500 : 9000;
    const windowMs = ctx.quick ? 1500 : 6000;
    const ours: number[] = [];
    const theirs: number[] = [];
    const details: string[] = [];
    for (let run = 0; run < runs; run++) {
      const order = run % 2 === 0 ? ['bufshare', 'weston'] as const : ['weston', 'bufshare'] as const;
      for (const who of order) {
        ctx.log(`${ID}: run ${run + 1}/${runs}, ${who}`);
        const r = await cpuPerFrame(who === 'bufshare' ? startDemo : startWeston, warmupMs, windowMs);
        (who === 'bufshare' ? ours : theirs).push(r.ms);
        details.push(`${who}: ${r.cpu} ms CPU over ${r.frames} frames`);
      }
    }
    return [comparedRow({
      id: ID, title: TITLE, baselineTitle: 'weston 10 --backend=headless-backend.so --use-pixman, same clients', unit: 'ms/frame',
      subject: ours, baseline: theirs, target: { op: '<=', value: 1 }, details: { windowMs, warmupMs, runs: details },
    })];
  },
};
