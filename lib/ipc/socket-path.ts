/**
 * Where the server's socket lives, and the checks before binding it.
 *
 * The default is `$XDG_RUNTIME_DIR/bufshare-0`, like Wayland's `wayland-0`. The
 * runtime dir must exist, be a directory owned by us and be private (no group or
 * other bits: 0700), because the socket inherits its protection: anyone who can
 * reach the socket can ask the compositor for memory. An explicit `path` only
 * needs an existing directory; its protection is then the caller's choice.
 *
 * A name that is taken: a live server answers a connect (refused, never
 * stolen); a socket nobody answers is stale (a crashed server) and is removed;
 * anything that is not a socket is never touched.
 */
import { checkRuntimeDir } from '../runtime-dir';
import { lstatSync, statSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BufshareError } from '../errors';
import * as native from '../native';

export const DEFAULT_SOCKET_NAME = 'bufshare-0';

/** `$XDG_RUNTIME_DIR/bufshare-0`; ERR_BUFSHARE_RUNTIME_DIR when XDG_RUNTIME_DIR is unset. */
export function defaultSocketPath(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.XDG_RUNTIME_DIR;
  if (dir === undefined || dir === '') {
    throw new BufshareError('ERR_BUFSHARE_RUNTIME_DIR', 'XDG_RUNTIME_DIR is not set: set it (to a private 0700 directory) or pass a socket path');
  }
  return join(dir, DEFAULT_SOCKET_NAME);
}

/** Throws ERR_BUFSHARE_RUNTIME_DIR unless the directory that will hold `path` exists. */
export function checkSocketDir(path: string): void {
  const dir = dirname(path);
  let st;
  try {
    st = statSync(dir);
  } catch (e) {
    throw new BufshareError('ERR_BUFSHARE_RUNTIME_DIR', `socket directory ${dir} does not exist (${(e as NodeJS.ErrnoException).code ?? String(e)})`, { cause: e });
  }
  if (!st.isDirectory()) throw new BufshareError('ERR_BUFSHARE_RUNTIME_DIR', `${dir} is not a directory`);
}

/**
 * Makes `path` free to bind: nothing there, or a stale socket (removed). Throws
 * ERR_BUFSHARE_ADDRESS_IN_USE for a live server or a non-socket file.
 */
export function claimSocketPath(path: string): void {
  let st;
  try {
    st = lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  if (!st.isSocket()) throw new BufshareError('ERR_BUFSHARE_ADDRESS_IN_USE', `${path} exists and is not a socket: refusing to replace it`);
  let probe: number;
  try {
    probe = native.seqpacketConnect(path);
  } catch (e) {
    if (e instanceof BufshareError && e.errno === 'ECONNREFUSED') {
      // Nobody listens: a server died without removing it.
      unlinkSync(path);
      return;
    }
    if (e instanceof BufshareError && e.errno === 'EAGAIN') {
      throw new BufshareError('ERR_BUFSHARE_ADDRESS_IN_USE', `a live server listens at ${path} (its backlog is full)`);
    }
    throw e;
  }
  native.closeFd(probe);
  throw new BufshareError('ERR_BUFSHARE_ADDRESS_IN_USE', `a live server already listens at ${path}`);
}

export { checkRuntimeDir };
