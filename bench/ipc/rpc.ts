/**
 * The benchmark's IPC peers (a bufshare server, bufshare clients, the net
 * baseline) are separate Node processes, as in real use. The runner drives them
 * with request/response calls over Node's fork channel; nothing timed crosses it.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

interface Request {
  readonly id: number;
  readonly cmd: string;
  readonly args: unknown;
}

type Response = { readonly id: number; readonly ok: true; readonly result: unknown } | { readonly id: number; readonly ok: false; readonly error: string };

export interface Peer {
  readonly pid: number;
  call<T>(cmd: string, args?: unknown): Promise<T>;
  /** Asks the peer to close, then kills it if it has not exited within a second. */
  stop(): Promise<void>;
}

/**
 * Starts bench/ipc/peer.ts as `role`. BUFSHARE_BENCH_PEER_ARGS adds Node options
 * to every peer, to profile them: BUFSHARE_BENCH_PEER_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof'.
 */
export function spawnPeer(role: 'server' | 'client', env: NodeJS.ProcessEnv = {}): Peer {
  const extra = (process.env.BUFSHARE_BENCH_PEER_ARGS ?? '').split(/\s+/).filter((a) => a !== '');
  const child: ChildProcess = fork(join(__dirname, 'peer.ts'), [role], {
    execArgv: ['--require', 'tsx/cjs', '--expose-gc', ...extra],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let nextId = 1;
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  let exited: string | undefined;
  const fail = (why: string): void => {
    exited = why;
    for (const p of pending.values()) p.reject(new Error(`${role} peer ${child.pid}: ${why}`));
    pending.clear();
  };
  child.on('message', (m: Response) => {
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.ok) p.resolve(m.result);
    else p.reject(new Error(`${role} peer: ${m.error}`));
  });
  child.on('exit', (code, signal) => fail(`exited (${signal ?? code})`));
  child.on('error', (e) => fail(e.message));
  return {
    pid: child.pid ?? -1,
    call<T>(cmd: string, args: unknown = {}): Promise<T> {
      if (exited) return Promise.reject(new Error(`${role} peer ${child.pid}: ${exited}`));
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        child.send({ id, cmd, args } satisfies Request);
      });
    },
    async stop(): Promise<void> {
      if (exited) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 1000);
      try {
        child.send({ id: nextId++, cmd: 'exit', args: {} } satisfies Request);
      } catch {
        child.kill('SIGKILL');
      }
      await gone;
      clearTimeout(timer);
    },
  };
}

/** The child's side: runs each request's handler, answers with its result or its error. */
export function serveRequests(handlers: Record<string, (args: never) => unknown>): void {
  process.on('message', (m: Request) => {
    if (m.cmd === 'exit') {
      void Promise.resolve(handlers.close?.({} as never)).finally(() => process.exit(0));
      return;
    }
    const handler = handlers[m.cmd];
    Promise.resolve()
      .then(() => {
        if (!handler) throw new Error(`unknown command ${m.cmd}`);
        return handler(m.args as never);
      })
      .then(
        (result) => process.send!({ id: m.id, ok: true, result } satisfies Response),
        (e: unknown) => process.send!({ id: m.id, ok: false, error: e instanceof Error ? e.stack ?? e.message : String(e) } satisfies Response),
      );
  });
  // The runner going away must not leave peers behind.
  process.on('disconnect', () => process.exit(0));
}
