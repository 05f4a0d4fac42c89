/**
 * Memory per client against weston: what a Wayland server holds for each client it
 * serves, bufshare's WaylandServer against `weston --backend=headless-backend.so`,
 * with the same clients on both, side by side in the same run.
 *
 * The client is Debian's weston-simple-shm (C, libwayland-client): a real
 * third-party client, tested against bufshare in test/integration/wayland-clients,
 * and a C process costs little, so 32 of them fit on this machine (32 Node bench
 * clients would be 1.5 GB and seconds of start-up each). It draws a 250x250
 * XRGB8888 window, paced by its frame callbacks, one pool per buffer (destroyed
 * once the buffer is made). weston releases each buffer once it has read it
 * (its headless backend's noop renderer reads every committed buffer whole), so
 * the client uses one buffer there; bufshare's compositor keeps the shown frame
 * until the next, so the client uses two.
 *
 * Servers: weston headless (10), and bench/wayland/server.ts: a WaylandServer
 * (the compiled library, dist/, as the package ships it) in its own Node process
 * doing what the demo compositor does per frame (keep the newest frame, release
 * the one before, frame callbacks on a 60 Hz tick), its young generation pinned
 * where a loaded server has it (SEMI_SPACE_MIB). Each
 * run starts both afresh (a server that served these clients before would reuse
 * their freed memory), order alternating, and on each:
 *
 *   0 clients: reading; 1 client: reading (what the first client of a fresh
 *   server costs, first-use costs included); it leaves: reading (0-client state,
 *   first-use costs paid); N clients (32; quick: 4): reading; all killed: the
 *   server's fds must come back to the 0-client count. A reading at N/2 clients
 *   too: the growth from N/2 to N (the marginal cost, in the details) checks that
 *   the figure is per client and not a step.
 *
 * A client counts once it has sent its 4th commit (WAYLAND_DEBUG=client, read
 * from its stderr): the server then answered two frames with buffers, so it holds
 * what it holds in steady state. Before each reading every client is stopped
 * (SIGSTOP: nothing in flight, both servers idle), and the bufshare process runs
 * two full GCs (node --expose-gc) so the reading is what it holds, not garbage
 * not yet collected; weston has no GC. /proc/<pid>/status and /proc/<pid>/fd of
 * both servers are read from this process (bench/ipc/proc-stats.ts).
 *
 * A third server, the same bufshare process with Node's defaults (young
 * generation free), gives a reported row beside: what a user running it with no
 * flags sees, young-generation growth counted per client.
 *
 * Figures per client: (N-client reading - 0-client reading) / N.
 * - RSS beyond buffers: RssAnon + RssFile (heap, native allocations, code).
 *   Target: bufshare <= 2x weston's. A Node server starts bigger (its runtime: the
 *   0-client RSS is in the details), but what each client costs should be of
 *   weston's order: a C server's per-client state is the floor a user compares with.
 * - fds per client. Target: no more than weston's (an fd limit is a hard bound on
 *   clients, and weston holds one per client socket, twice: libwayland's event loop
 *   dups each client fd).
 * - RssShmem, reported apart: client buffer pages the server touched (its mapping
 *   of the client's pool). They are the client's memory, counted in both processes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { fdStats, residentMemory, type FdStats, type ResidentMemory } from '../ipc/proc-stats';
import type { BenchContext, Measurement } from '../measurement';
import { comparedRow, skippedRow, type Row } from '../result';
import { median } from '../stats';
import { exited, startHeadlessWeston } from '../support/weston';

const SERVER = join(__dirname, '..', 'wayland', 'server.ts');
const CLIENT = '/usr/bin/weston-simple-shm';
/** The first commit has no buffer (it asks for configure); the 4th means two frames with buffers were answered. */
const COMMITS_READY = 4;
const CLIENT_TIMEOUT_MS = 30000;
/** After SIGSTOP, time for the servers to finish what was in flight. */
const SETTLE_MS = 150;
const KiB = 1024;

/** V8's figures in the bufshare server process after its GC, bytes. */
interface HeapFigures {
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly external: number;
}

interface Reading {
  readonly memory: ResidentMemory;
  readonly fds: FdStats;
  readonly heap: HeapFigures | undefined;
}

interface ServerUnderTest {
  /** bufshare-defaults: the same server with V8's young generation left free (Node's defaults). */
  readonly name: 'bufshare' | 'bufshare-defaults' | 'weston';
  readonly pid: number;
  readonly display: string;
  /** Runs the server's GC where it has one, and returns its heap figures. */
  settle(): Promise<HeapFigures | undefined>;
  stop(): Promise<void>;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Why the row cannot run here, if it cannot. */
function westonMissing(): string | undefined {
  if (!existsSync('/usr/bin/weston')) return 'weston is not installed (Debian: apt-get install weston)';
  if (!existsSync(CLIENT)) return `${CLIENT} is not installed (Debian: apt-get install weston)`;
  return undefined;
}

export async function startWeston(dir: string): Promise<ServerUnderTest | string> {
  const missing = westonMissing();
  if (missing !== undefined) return missing;
  const weston = await startHeadlessWeston(dir);
  if (typeof weston === 'string') return weston;
  return { name: 'weston', pid: weston.pid, display: weston.display, settle: () => Promise.resolve(undefined), stop: () => weston.stop() };
}

/**
 * V8's young generation, per semi-space: pinned at Node's default maximum on
 * 64-bit (16 MiB). V8 shrinks it when a process is idle and grows it back under
 * load (survivors of scavenges), by design; left free, it shrank at the 0-client
 * reading and grew with 32 clients' frames: 65-160 KiB a client from 0 to 32
 * (4 runs here), against 20-35 KiB pinned, where the live JS heap grew 12-18 KiB
 * a client. Pinned where any server under sustained load has it, it is in the
 * 0-client RSS (in the details) and not per client.
 */
const SEMI_SPACE_MIB = 16;

export async function startBufshare(dir: string, youngGeneration: 'pinned' | 'defaults' = 'pinned'): Promise<ServerUnderTest> {
  const display = join(dir, `wayland-bufshare-${youngGeneration}`);
  const nodeFlags = youngGeneration === 'pinned' ? [`--min-semi-space-size=${SEMI_SPACE_MIB}`, `--max-semi-space-size=${SEMI_SPACE_MIB}`] : [];
  const child = spawn(process.execPath, [...nodeFlags, '--expose-gc', '--require', 'tsx/cjs', SERVER, display], { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const lines: Interface = createInterface({ input: child.stdout! });
  const waiting: ((line: string) => void)[] = [];
  lines.on('line', (line) => waiting.shift()?.(line));
  const next = (what: string): Promise<string> => new Promise((resolve, reject) => {
    const onExit = (): void => reject(new Error(`bench Wayland server exited while ${what}: ${err}`));
    child.once('exit', onExit);
    waiting.push((line) => {
      child.off('exit', onExit);
      resolve(line);
    });
  });
  const ready = await next('starting');
  if (!ready.startsWith('ready ')) throw new Error(`bench Wayland server: unexpected "${ready}"`);
  return {
    name: youngGeneration === 'pinned' ? 'bufshare' : 'bufshare-defaults', pid: child.pid!, display,
    settle: async () => {
      const answer = next('settling');
      child.stdin!.write('settle\n');
      return JSON.parse((await answer).slice('settled '.length)) as HeapFigures;
    },
    stop: async () => {
      child.stdin!.end('exit\n');
      await exited(child);
    },
  };
}

/** One weston-simple-shm process, counting the commits it sends. */
class ShmClient {
  readonly child: ChildProcess;
  private commits = 0;
  private tail = '';
  private readonly readyWaiters: (() => void)[] = [];

  constructor(display: string, dir: string) {
    this.child = spawn(CLIENT, [], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, WAYLAND_DISPLAY: display, WAYLAND_DEBUG: 'client', XDG_RUNTIME_DIR: dir },
    });
    this.child.stderr!.on('data', (d: Buffer) => {
      const text = this.tail + d.toString('latin1');
      const cut = text.lastIndexOf('\n') + 1;
      this.tail = text.slice(cut);
      for (let at = text.indexOf('.commit()'); at >= 0 && at < cut; at = text.indexOf('.commit()', at + 1)) this.commits++;
      if (this.commits >= COMMITS_READY) for (const w of this.readyWaiters.splice(0)) w();
    });
  }

  ready(): Promise<void> {
    if (this.commits >= COMMITS_READY) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`weston-simple-shm sent ${this.commits} commits in ${CLIENT_TIMEOUT_MS} ms`)), CLIENT_TIMEOUT_MS);
      const onExit = (code: number | null): void => {
        clearTimeout(timer);
        reject(new Error(`weston-simple-shm exited (${code}) after ${this.commits} commits; last output: ${this.tail.slice(-300)}`));
      };
      this.child.once('exit', onExit);
      this.readyWaiters.push(() => {
        clearTimeout(timer);
        this.child.off('exit', onExit);
        resolve();
      });
    });
  }

  signal(sig: NodeJS.Signals): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(sig);
  }

  async kill(): Promise<void> {
    this.signal('SIGKILL');
    await exited(this.child);
  }
}

async function read(server: ServerUnderTest, clients: readonly ShmClient[]): Promise<Reading> {
  for (const c of clients) c.signal('SIGSTOP');
  await sleep(SETTLE_MS);
  const heap = await server.settle();
  const reading = { memory: residentMemory(server.pid), fds: fdStats(server.pid), heap };
  for (const c of clients) c.signal('SIGCONT');
  return reading;
}

interface PerClient {
  /** Bytes per client. */
  readonly beyondBuffers: number;
  readonly shmem: number;
  readonly fds: number;
  readonly fdsByKind: Record<string, number>;
}

function perClient(at: Reading, zero: Reading, clients: number): PerClient {
  const fdsByKind: Record<string, number> = {};
  for (const kind of new Set([...Object.keys(at.fds.byKind), ...Object.keys(zero.fds.byKind)])) {
    const d = ((at.fds.byKind[kind] ?? 0) - (zero.fds.byKind[kind] ?? 0)) / clients;
    if (d !== 0) fdsByKind[kind] = d;
  }
  return {
    beyondBuffers: (at.memory.rssAnon + at.memory.rssFile - zero.memory.rssAnon - zero.memory.rssFile) / clients,
    shmem: (at.memory.rssShmem - zero.memory.rssShmem) / clients,
    fds: (at.fds.total - zero.fds.total) / clients,
    fdsByKind,
  };
}

interface Round {
  /** The first client a fresh server serves: what it costs, first-use costs (code paged in, compiled) included. */
  readonly first: PerClient;
  /** N clients, from the 0-client state after that first client came and went. */
  readonly many: PerClient;
  /** From N/2 to N clients: what each client adds to a server already serving many. */
  readonly marginal: PerClient;
  /** fds still open once every client is gone, beyond the 0-client count (a leak if not 0). */
  readonly fdsLeft: number;
  readonly readings: { readonly fresh: Reading; readonly first: Reading; readonly warm: Reading; readonly half: Reading; readonly many: Reading };
}

/** Kills `clients` and waits (bounded) until the server has closed what it held for them; returns the fds left beyond `zero`. */
async function disconnectAll(server: ServerUnderTest, clients: ShmClient[], zero: Reading): Promise<number> {
  await Promise.all(clients.splice(0).map((c) => c.kill()));
  // The server sees each client's end on its own loop.
  let left = fdStats(server.pid).total - zero.fds.total;
  for (let waited = 0; left > 0 && waited < 5000; waited += 50) {
    await sleep(50);
    left = fdStats(server.pid).total - zero.fds.total;
  }
  return left;
}

/**
 * One run on a server that has served no client yet. The first client's figure
 * includes first-use costs; then, from the state after it left (those costs paid,
 * its freed memory there to reuse, as a long-running server has), N clients.
 */
export async function round(server: ServerUnderTest, count: number, dir: string): Promise<Round> {
  const clients: ShmClient[] = [];
  try {
    const fresh = await read(server, []);
    clients.push(new ShmClient(server.display, dir));
    await clients[0]!.ready();
    const first = await read(server, clients);
    const firstLeft = await disconnectAll(server, clients, fresh);
    if (firstLeft !== 0) throw new Error(`${server.name}: ${firstLeft} fds still open after the first client left`);
    const warm = await read(server, []);
    const connect = async (n: number): Promise<void> => {
      while (clients.length < n) clients.push(new ShmClient(server.display, dir));
      await Promise.all(clients.map((c) => c.ready()));
    };
    await connect(count / 2);
    const half = await read(server, clients);
    await connect(count);
    const many = await read(server, clients);
    const fdsLeft = await disconnectAll(server, clients, warm);
    return {
      first: perClient(first, fresh, 1), many: perClient(many, warm, count), marginal: perClient(many, half, count / 2), fdsLeft,
      readings: { fresh, first, warm, half, many },
    };
  } finally {
    await Promise.all(clients.map((c) => c.kill()));
  }
}

const kib = (bytes: number): number => bytes / KiB;

type ServerName = ServerUnderTest['name'];

async function startServer(name: ServerName, dir: string): Promise<ServerUnderTest | string> {
  return name === 'weston' ? startWeston(dir) : startBufshare(dir, name === 'bufshare' ? 'pinned' : 'defaults');
}

export const waylandMemory: Measurement = {
  id: 'wayland.memory',
  title: 'Wayland server memory and fds per client vs weston',
  timeoutSeconds: 300,
  async run(ctx: BenchContext): Promise<Row[]> {
    const count = ctx.quick ? 4 : 32;
    // Quick: one run of 4 clients (CI proves the row runs; its figures mean nothing there).
    const runs = ctx.quick ? 1 : ctx.runs;
    const rssId = 'wayland.memory.rss';
    const rssTitle = `Wayland server RSS beyond buffers per client (RssAnon + RssFile), ${count} weston-simple-shm clients`;
    const fdsId = 'wayland.memory.fds';
    const fdsTitle = `Wayland server open fds per client, ${count} weston-simple-shm clients`;
    const missing = westonMissing();
    if (missing !== undefined) return [skippedRow(rssId, rssTitle, missing, { op: '<=', value: 2 }), skippedRow(fdsId, fdsTitle, missing, { op: '<=', value: 1 })];
    const dir = mkdtempSync(join(tmpdir(), 'bufshare-bench-wlmem-')); // 0700
    const rounds: Record<ServerName, Round[]> = { bufshare: [], 'bufshare-defaults': [], weston: [] };
    try {
      for (let run = 0; run < runs; run++) {
        // Fresh servers each run: a server that served these clients before would reuse their freed memory.
        const order: ServerName[] = run % 2 === 0 ? ['bufshare', 'weston', 'bufshare-defaults'] : ['bufshare-defaults', 'weston', 'bufshare'];
        for (const name of order) {
          const server = await startServer(name, dir);
          if (typeof server === 'string') {
            return [skippedRow(rssId, rssTitle, server, { op: '<=', value: 2 }), skippedRow(fdsId, fdsTitle, server, { op: '<=', value: 1 })];
          }
          try {
            rounds[name].push(await round(server, count, dir));
          } finally {
            await server.stop();
          }
        }
        const b = rounds.bufshare.at(-1)!.many;
        const w = rounds.weston.at(-1)!.many;
        ctx.log(`wayland.memory: run ${run + 1}/${runs}: per client at ${count}: bufshare ${kib(b.beyondBuffers).toFixed(1)} KiB, ${b.fds} fds; weston ${kib(w.beyondBuffers).toFixed(1)} KiB, ${w.fds} fds`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const pick = (who: ServerName, f: (r: Round) => number): number[] => rounds[who].map(f);
    const fdKinds = (who: ServerName): Record<string, number> => {
      const rs = rounds[who];
      const kinds = new Set(rs.flatMap((r) => Object.keys(r.many.fdsByKind)));
      return Object.fromEntries([...kinds].map((k) => [k, median(rs.map((r) => r.many.fdsByKind[k] ?? 0))]));
    };
    const heapPerClientKiB = rounds.bufshare.map((r) => kib((r.readings.many.heap!.heapUsed - r.readings.warm.heap!.heapUsed) / count));
    const clients = `weston-simple-shm (250x250 XRGB8888, paced by frame callbacks), ${count} clients, fresh servers each run`;
    return [
      comparedRow({
        id: rssId,
        title: rssTitle,
        baselineTitle: 'weston 10 --backend=headless-backend.so, same clients',
        unit: 'KiB',
        subject: pick('bufshare', (r) => kib(r.many.beyondBuffers)),
        baseline: pick('weston', (r) => kib(r.many.beyondBuffers)),
        target: { op: '<=', value: 2 },
        details: {
          clients,
          runs,
          bufshareJsHeapPerClientKiB: median(heapPerClientKiB),
          marginalPerClientKiB: {
            bufshare: median(pick('bufshare', (r) => kib(r.marginal.beyondBuffers))),
            weston: median(pick('weston', (r) => kib(r.marginal.beyondBuffers))),
          },
          semiSpacePinnedMiB: SEMI_SPACE_MIB,
          bufshareRssAnonPerClientKiB: median(pick('bufshare', (r) => kib((r.readings.many.memory.rssAnon - r.readings.warm.memory.rssAnon) / count))),
          westonRssAnonPerClientKiB: median(pick('weston', (r) => kib((r.readings.many.memory.rssAnon - r.readings.warm.memory.rssAnon) / count))),
          serverRssAt0ClientsKiB: { bufshare: median(pick('bufshare', (r) => kib(r.readings.warm.memory.rss))), weston: median(pick('weston', (r) => kib(r.readings.warm.memory.rss))) },
          serverRssAtNClientsKiB: { bufshare: median(pick('bufshare', (r) => kib(r.readings.many.memory.rss))), weston: median(pick('weston', (r) => kib(r.readings.many.memory.rss))) },
        },
      }),
      comparedRow({
        id: 'wayland.memory.rss-defaults',
        title: `The same with Node's defaults (reported): V8's young generation shrinks when idle and grows under load, counted here per client, ${count} clients`,
        baselineTitle: 'weston headless, same clients',
        unit: 'KiB',
        subject: pick('bufshare-defaults', (r) => kib(r.many.beyondBuffers)),
        baseline: pick('weston', (r) => kib(r.many.beyondBuffers)),
        details: {
          marginalPerClientKiB: median(pick('bufshare-defaults', (r) => kib(r.marginal.beyondBuffers))),
          jsHeapPerClientKiB: median(rounds['bufshare-defaults'].map((r) => kib((r.readings.many.heap!.heapUsed - r.readings.warm.heap!.heapUsed) / count))),
          serverRssAt0ClientsKiB: median(pick('bufshare-defaults', (r) => kib(r.readings.warm.memory.rss))),
          serverRssAtNClientsKiB: median(pick('bufshare-defaults', (r) => kib(r.readings.many.memory.rss))),
        },
      }),
      comparedRow({
        id: 'wayland.memory.first',
        title: 'Wayland server RSS beyond buffers for the first client of a fresh server (reported: first-use costs, code paged in and compiled, included)',
        baselineTitle: 'weston headless, same client',
        unit: 'KiB',
        subject: pick('bufshare', (r) => kib(r.first.beyondBuffers)),
        baseline: pick('weston', (r) => kib(r.first.beyondBuffers)),
        details: { fdsForTheFirstClient: { bufshare: median(pick('bufshare', (r) => r.first.fds)), weston: median(pick('weston', (r) => r.first.fds)) } },
      }),
      comparedRow({
        id: fdsId,
        title: fdsTitle,
        baselineTitle: 'weston headless, same clients',
        unit: 'fds',
        subject: pick('bufshare', (r) => r.many.fds),
        baseline: pick('weston', (r) => r.many.fds),
        target: { op: '<=', value: 1 },
        details: {
          byKind: { bufshare: fdKinds('bufshare'), weston: fdKinds('weston') },
          fdsLeftAfterAllClientsLeft: { bufshare: pick('bufshare', (r) => r.fdsLeft), weston: pick('weston', (r) => r.fdsLeft) },
        },
      }),
      comparedRow({
        id: 'wayland.memory.shmem',
        title: `Wayland server RssShmem per client: client buffer pages it touched (reported), ${count} clients`,
        baselineTitle: 'weston headless, same clients',
        unit: 'KiB',
        subject: pick('bufshare', (r) => kib(r.many.shmem)),
        baseline: pick('weston', (r) => kib(r.many.shmem)),
      }),
    ];
  },
};
