/**
 * weston with its headless backend, the peer the Wayland rows run beside
 * bufshare's WaylandServer: started on a socket in `dir` (the runtime dir it is
 * given), waited for until that socket exists.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export interface HeadlessWeston {
  readonly pid: number;
  /** The socket's path: WAYLAND_DISPLAY for a client. */
  readonly display: string;
  /** SIGTERM, and waits for it to exit. */
  stop(): Promise<void>;
}

export function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));
}

/** weston, or why it cannot run here. */
export async function startHeadlessWeston(dir: string): Promise<HeadlessWeston | string> {
  if (!existsSync('/usr/bin/weston')) return 'weston is not installed (Debian: apt-get install weston)';
  const display = join(dir, 'wayland-weston');
  const child = spawn('weston', ['--backend=headless-backend.so', `--socket=${display}`, '--no-config', '--idle-time=0'], {
    stdio: 'ignore', env: { ...process.env, XDG_RUNTIME_DIR: dir },
  });
  const start = Date.now();
  while (!existsSync(display)) {
    if (child.exitCode !== null || Date.now() - start > 10000) {
      child.kill('SIGKILL');
      return 'weston --backend=headless-backend.so did not start';
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    pid: child.pid!,
    display,
    stop: async () => {
      child.kill('SIGTERM');
      await exited(child);
    },
  };
}
