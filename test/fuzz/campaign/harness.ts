/**
 * The campaign's rig: the compositor in its own process (scene-server-child.ts),
 * weston-simple-shm drawing throughout, a well-behaved raw bystander in its own
 * process (bystander-child.ts), and the attacks run from this process. For each
 * attack: server alive, the good clients' slowest second, the server's RSS
 * (after a full GC) and fds before and after, who got disconnected and why.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { wl_compositor, wl_region, wl_surface } from '../../../lib/wayland/protocol/wayland';
import { RawWaylandClient } from '../../helpers/wayland-client';

const ROOT = join(__dirname, '..', '..', '..');
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface Stat {
  rssMiB: number;
  heapMiB: number;
  fds: number;
  maxLagMs: number;
}

export interface Outcome {
  /** What the attacker saw. */
  outcome: string;
  /** Attack-specific failure (besides the common checks), or undefined. */
  fail?: string;
  /** RSS growth (MiB) tolerated after the attack; default 24. */
  rssSlackMiB?: number;
}

export class Rig {
  readonly dir = mkdtempSync(join(tmpdir(), 'bufshare-campaign-'));
  readonly wayland = join(this.dir, 'wayland-campaign');
  readonly bufshareSocket = join(this.dir, 'bufshare.sock');
  server!: ChildProcess;
  weston!: ChildProcess;
  bystander!: ChildProcess;
  serverExit: string | undefined;
  westonExit: string | undefined;
  bystanderLines: string[] = [];
  /** Frames per client pid. */
  readonly frames = new Map<number, number>();
  /** "D <pid> reason" and "E ..." lines from the server, in order. */
  readonly disconnects: string[] = [];
  private statWaiters: ((s: Stat) => void)[] = [];
  private lineWaiters: { pred: (l: string) => boolean; resolve: (l: string) => void }[] = [];
  private rtWaiter: ((ms: number) => void) | undefined;

  async start(): Promise<void> {
    this.server = spawn(process.execPath, ['--expose-gc', '--require', 'tsx/cjs', join(__dirname, 'scene-server-child.ts'), this.wayland, this.bufshareSocket], {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    this.server.on('exit', (code, sig) => {
      this.serverExit = `exited ${code ?? sig}`;
    });
    createInterface({ input: this.server.stdout! }).on('line', (l) => this.onServerLine(l));
    await this.waitLine((l) => l.startsWith('listening'), 60000);
    await this.spawnGoodClients();
    await this.warmUp();
  }

  /**
   * A first attack grew the server's RSS 24-29 MiB whatever it was (JIT code,
   * V8's heap pages, malloc arenas), and the same attack run again did not: a
   * benign burst first, so that growth is not counted against the first attack.
   */
  private async warmUp(): Promise<void> {
    const c = new RawWaylandClient(this.wayland);
    c.defaultTimeoutMs = 30000;
    const compositor = c.bind(await c.registry(), wl_compositor);
    const a = c.newId(wl_region);
    const b = c.newId(wl_surface);
    for (let i = 0; i < 100000; i += 2000) {
      for (let j = 0; j < 2000; j++) {
        c.request(compositor, wl_compositor, 'create_region', [a]);
        c.request(a, wl_region, 'add', [j, j, 10, 10]);
        c.request(a, wl_region, 'destroy', []);
        c.request(compositor, wl_compositor, 'create_surface', [b]);
        c.request(b, wl_surface, 'destroy', []);
      }
      await c.roundtrip().catch(() => false);
      c.events.length = 0;
    }
    c.close();
    await sleep(500);
  }

  /** (Re)starts weston-simple-shm and the bystander where they are gone (a previous attack may have cost them their connection). */
  async spawnGoodClients(): Promise<void> {
    if (this.bystander === undefined || this.bystander.exitCode !== null || this.bystanderHurt()) {
      this.bystander?.kill();
      this.bystanderLines = [];
      const b = spawn(process.execPath, ['--require', 'tsx/cjs', join(__dirname, 'bystander-child.ts'), this.wayland], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
      this.bystander = b;
      createInterface({ input: b.stdout! }).on('line', (l) => {
        if (b !== this.bystander) return;
        if (l.startsWith('R ')) this.rtWaiter?.(Number(l.slice(2)));
        else this.bystanderLines.push(l);
      });
      for (let i = 0; i < 600 && !this.bystanderLines.includes('ready'); i++) await sleep(50);
      if (!this.bystanderLines.includes('ready')) throw new Error(`bystander not ready: ${this.bystanderLines.join(' | ')}`);
    }
    if (this.weston === undefined || this.westonExit !== undefined) {
      this.westonExit = undefined;
      const w = spawn('weston-simple-shm', [], { env: { ...process.env, WAYLAND_DISPLAY: this.wayland }, stdio: 'ignore' });
      this.weston = w;
      w.on('exit', (code, sig) => {
        if (w === this.weston) this.westonExit = `exited ${code ?? sig}`;
      });
      await sleep(1500);
    }
  }

  private onServerLine(l: string): void {
    if (l.startsWith('F ')) {
      const pid = Number(l.slice(2));
      this.frames.set(pid, (this.frames.get(pid) ?? 0) + 1);
      return;
    }
    if (l.startsWith('S ')) {
      const [rss, heap, fds, lag] = l.slice(2).split(' ').map(Number);
      this.statWaiters.shift()?.({ rssMiB: rss! / 1024, heapMiB: heap! / 1024, fds: fds!, maxLagMs: lag! });
      return;
    }
    if (l.startsWith('D ') || l.startsWith('E ')) this.disconnects.push(l);
    for (const w of [...this.lineWaiters]) {
      if (w.pred(l)) {
        this.lineWaiters.splice(this.lineWaiters.indexOf(w), 1);
        w.resolve(l);
      }
    }
  }

  waitLine(pred: (l: string) => boolean, timeoutMs = 5000): Promise<string> {
    return new Promise((resolve, reject) => {
      const w = { pred, resolve };
      this.lineWaiters.push(w);
      setTimeout(() => {
        const i = this.lineWaiters.indexOf(w);
        if (i >= 0) {
          this.lineWaiters.splice(i, 1);
          reject(new Error('timed out waiting for the server'));
        }
      }, timeoutMs);
    });
  }

  /** A command to the server (see scene-server-child.ts). */
  cmd(line: string): void {
    this.server.stdin!.write(`${line}\n`);
  }

  async stat(timeoutMs = 60000): Promise<Stat | undefined> {
    if (this.serverExit) return undefined;
    const p = new Promise<Stat>((r) => this.statWaiters.push(r));
    this.cmd('stat');
    return Promise.race([p, sleep(timeoutMs).then(() => undefined)]);
  }

  /** The bystander's slowest roundtrip since the last ask (ms), or -1 if it did not answer. */
  async bystanderRt(): Promise<number> {
    const p = new Promise<number>((r) => (this.rtWaiter = r));
    this.bystander.stdin!.write('rt\n');
    return Promise.race([p, sleep(5000).then(() => -1)]);
  }

  bystanderCmd(line: string): void {
    this.bystander.stdin!.write(`${line}\n`);
  }

  get westonFrames(): number {
    return this.frames.get(this.weston.pid!) ?? 0;
  }

  /** The bystander's error or hang-up, if any. */
  bystanderHurt(): string | undefined {
    return this.bystanderLines.find((l) => l.startsWith('ERR') || l === 'CLOSED' || l.startsWith('CRASHED'));
  }

  async run(title: string, attack: (rig: Rig) => Promise<Outcome>): Promise<boolean> {
    if (this.serverExit) {
      console.log(`SKIP ${title}: the server is gone (${this.serverExit})`);
      return false;
    }
    await this.spawnGoodClients();
    const before = (await this.stat())!;
    const discBefore = this.disconnects.length;
    await this.bystanderRt();
    // The good client's frames, per second, during the attack and 2 s after.
    let slowest = Infinity;
    let last = this.westonFrames;
    const t = setInterval(() => {
      slowest = Math.min(slowest, this.westonFrames - last);
      last = this.westonFrames;
    }, 1000);
    const start = Date.now();
    let r: Outcome;
    try {
      r = await attack(this);
    } catch (e) {
      r = { outcome: `attacker threw: ${String(e).slice(0, 200)}` };
    }
    const took = Date.now() - start;
    const duringSlowest = slowest;
    slowest = Infinity;
    await sleep(2200);
    clearInterval(t);
    const afterSlowest = slowest;
    const rt = await this.bystanderRt();
    // Let what the attacker left settle (closing connections, GC), then measure.
    await sleep(500);
    let after = await this.stat();
    if (after && after.rssMiB - before.rssMiB > (r.rssSlackMiB ?? 24)) {
      await sleep(3000);
      after = await this.stat();
    }
    const problems: string[] = [];
    if (this.serverExit) problems.push(`server ${this.serverExit}`);
    if (after === undefined && !this.serverExit) problems.push('server did not answer stat in 60 s (hung)');
    if (this.westonExit) problems.push(`weston-simple-shm ${this.westonExit}`);
    const hurt = this.bystanderHurt();
    if (hurt) problems.push(`bystander: ${hurt}`);
    const victims = this.disconnects.slice(discBefore).filter((l) => l.startsWith('D ') || l.startsWith('E ')).filter((l) => {
      const pid = Number(l.split(' ')[1]);
      return pid === this.weston.pid || pid === this.bystander.pid;
    });
    if (victims.length > 0) problems.push(`wrong client punished: ${victims.join(' | ')}`);
    if (after && after.fds > before.fds) problems.push(`fds ${before.fds} -> ${after.fds}`);
    if (after && after.rssMiB - before.rssMiB > (r.rssSlackMiB ?? 24)) problems.push(`RSS grew ${before.rssMiB.toFixed(0)} -> ${after.rssMiB.toFixed(0)} MiB and stayed`);
    if (rt < 0 || rt > 2000) problems.push(`bystander roundtrip ${rt} ms`);
    if (r.fail) problems.push(r.fail);
    const fps = `${duringSlowest === Infinity ? '-' : duringSlowest}/${afterSlowest === Infinity ? '-' : afterSlowest}`;
    const ownLines = this.disconnects.slice(discBefore).filter((l) => Number(l.split(' ')[1]) === process.pid);
    const own = `${ownLines.length}${ownLines.length ? ` (first: "${ownLines[0]!.split(' ').slice(2).join(' ').slice(0, 120)}")` : ''}`;
    console.log(
      `${problems.length ? 'FAIL' : 'PASS'} ${title}: ${r.outcome} | ${took} ms; server ${this.serverExit ?? 'alive'}; weston slowest second during/after ${fps} frames; ` +
        `bystander slowest rt ${rt} ms; loop lag max ${after?.maxLagMs ?? '-'} ms; attacker connections ended by server ${own}; ` +
        `RSS ${before.rssMiB.toFixed(0)} -> ${after ? after.rssMiB.toFixed(0) : '-'} MiB, heap ${before.heapMiB.toFixed(0)} -> ${after ? after.heapMiB.toFixed(0) : '-'} MiB, fds ${before.fds} -> ${after?.fds ?? '-'}` +
        (problems.length ? ` | PROBLEMS: ${problems.join('; ')}` : ''),
    );
    return problems.length === 0;
  }

  stop(): void {
    this.weston?.kill();
    this.bystander?.kill();
    this.server?.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Runs `attacks` (those whose title contains argv[2], if given) on one rig; exit code 1 if any failed. */
export async function campaign(attacks: [string, (rig: Rig) => Promise<Outcome>][]): Promise<void> {
  const rig = new Rig();
  const only = process.argv[2];
  let failed = 0;
  try {
    await rig.start();
    const s = await rig.stat();
    console.log(`baseline: server RSS ${s?.rssMiB.toFixed(0)} MiB, fds ${s?.fds}; weston pid ${rig.weston.pid}, bystander pid ${rig.bystander.pid}, attacker pid ${process.pid}`);
    // CAMPAIGN_REPEAT=N runs each attack N times in a row: growth that adds up each time is a leak, a one-time step is not.
    const repeat = Number(process.env.CAMPAIGN_REPEAT ?? 1);
    for (const [title, attack] of attacks.filter(([t]) => only === undefined || t.includes(only))) {
      for (let i = 0; i < repeat && !rig.serverExit; i++) {
        if (!(await rig.run(repeat > 1 ? `${title} (#${i + 1})` : title, attack))) failed++;
      }
      if (rig.serverExit) break;
    }
  } finally {
    rig.stop();
  }
  console.log(`${failed} failed`);
  process.exit(failed ? 1 : 0);
}
