import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

/** Whether the child has exited (or does within `ms`): never rejects, so a test can assert on it. */
export function exitedWithin(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a TypeScript file of the project in a new Node process, with `fds` passed
 * at 3, 4, ... (the child's copies; the parent keeps its own).
 */
export function runTs(file: string, args: string[], fds: readonly number[] = [], env: NodeJS.ProcessEnv = {}): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--require', 'tsx/cjs', join(ROOT, file), ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe', ...fds],
      env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

export interface SpawnTsOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Run the child as this uid/gid (the parent must be root). */
  readonly uid?: number;
  readonly gid?: number;
  /** Run the child with RLIMIT_NOFILE at this (soft and hard: Node raises its soft limit to the hard one). */
  readonly nofile?: number;
}

/**
 * Starts a TypeScript file of the project in a new Node process and returns it
 * running (for tests that signal it), with `lines()` resolving each stdout line.
 */
export function spawnTs(file: string, args: string[], options: SpawnTsOptions = {}): RunningChild {
  const node = [process.execPath, '--require', 'tsx/cjs', join(ROOT, file), ...args];
  // prlimit execs the command: the child's pid is node's.
  const argv = options.nofile === undefined ? node : ['prlimit', `--nofile=${options.nofile}:${options.nofile}`, '--', ...node];
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
    ...(options.uid === undefined ? {} : { uid: options.uid }),
    ...(options.gid === undefined ? {} : { gid: options.gid }),
  });
  return new RunningChild(child);
}

export class RunningChild {
  readonly process: ChildProcess;
  stdout = '';
  stderr = '';
  private readonly waiters: { match: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  private readonly seen: string[] = [];
  readonly exited: Promise<ChildResult>;

  constructor(child: ChildProcess) {
    this.process = child;
    let partial = '';
    child.stdout!.on('data', (d: Buffer) => {
      this.stdout += d.toString();
      partial += d.toString();
      const lines = partial.split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        this.seen.push(line);
        for (let i = this.waiters.length - 1; i >= 0; i--) {
          if (this.waiters[i]!.match(line)) this.waiters.splice(i, 1)[0]!.resolve(line);
        }
      }
    });
    child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) => {
        for (const w of this.waiters.splice(0)) w.resolve(`<exited ${code ?? signal}: ${this.stderr.slice(-2000)}>`);
        resolve({ code, signal, stdout: this.stdout, stderr: this.stderr });
      });
    });
  }

  /** The first stdout line (already seen or to come) that starts with `prefix` (or matches it); resolves with a marker if the child exits first. */
  line(prefix: string | RegExp): Promise<string> {
    const match = (l: string): boolean => (typeof prefix === 'string' ? l.startsWith(prefix) : prefix.test(l));
    const found = this.seen.find(match);
    if (found !== undefined) return Promise.resolve(found);
    if (this.process.exitCode !== null || this.process.signalCode !== null) return Promise.resolve(`<exited: ${this.stderr.slice(-2000)}>`);
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }
}
