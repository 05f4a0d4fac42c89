/**
 * Runs `demos/demo.ts` (compositor + basic + fingerpaint) as a real process tree
 * for the demo tests, in a private temp dir (0700) that holds the runtime dir and
 * the socket, and checks that stopping it leaves nothing behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const ROOT = join(__dirname, '..', '..');

export interface DemoRun {
  readonly process: ChildProcess;
  /** Private temp dir the launcher makes its runtime dir in (TMPDIR). */
  readonly tmp: string;
  readonly lines: string[];
  /** Resolves with the first output line matching `re` (already printed or to come). */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The pids of the compositor and the clients, from their output. */
  pids(): number[];
  /** SIGTERM (unless it exited), and wait for the exit. */
  stop(): Promise<void>;
  /** stop(), then remove the temp dir. */
  dispose(): Promise<void>;
}

export function startDemo(args: string[]): DemoRun {
  const tmp = mkdtempSync(join(tmpdir(), 'bufshare-demo-test-'));
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', join(ROOT, 'demos', 'demo.ts'), ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TMPDIR: tmp },
  });
  const lines: string[] = [];
  const waiters: { re: RegExp; resolve: (m: RegExpExecArray) => void }[] = [];
  const onLine = (line: string): void => {
    lines.push(line);
    for (const w of [...waiters]) {
      const m = w.re.exec(line);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  };
  createInterface({ input: child.stdout! }).on('line', onLine);
  createInterface({ input: child.stderr! }).on('line', (l) => onLine(`stderr: ${l}`));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return {
    process: child,
    tmp,
    lines,
    waitFor(re, timeoutMs = 30000) {
      for (const l of lines) {
        const m = re.exec(l);
        if (m) return Promise.resolve(m);
      }
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no line matching ${re} within ${timeoutMs} ms; output:\n${lines.join('\n')}`)), timeoutMs);
        waiters.push({ re, resolve: (m) => { clearTimeout(timer); resolve(m); } });
      });
    },
    exited: () => exit,
    pids() {
      const out: number[] = [];
      for (const l of lines) {
        const m = /compositor pid (\d+)|\] (?:basic|fingerpaint): pid (\d+)/.exec(l);
        if (m) out.push(Number(m[1] ?? m[2]));
      }
      return out;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exit;
    },
    async dispose() {
      await this.stop();
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Runtime dirs the launcher left in its temp dir (with the socket in them); tsx's own cache dir aside. */
export function leftovers(run: DemoRun): string[] {
  return readdirSync(run.tmp).filter((name) => name.startsWith('bufshare-'));
}
