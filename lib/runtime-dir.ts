/**
 * $XDG_RUNTIME_DIR's rules, shared below both protocols (bufshare's socket and
 * Wayland's): a socket there is only as private as its directory.
 */
import { statSync } from 'node:fs';
import { BufshareError } from './errors';

/** Throws ERR_BUFSHARE_RUNTIME_DIR unless `dir` is a directory owned by this uid with mode 0700 (no group/other bits). */
export function checkRuntimeDir(dir: string): void {
  let st;
  try {
    st = statSync(dir);
  } catch (e) {
    throw new BufshareError('ERR_BUFSHARE_RUNTIME_DIR', `runtime dir ${dir} does not exist or cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`, { cause: e });
  }
  if (!st.isDirectory()) throw new BufshareError('ERR_BUFSHARE_RUNTIME_DIR', `runtime dir ${dir} is not a directory`);
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) {
    throw new BufshareError('ERR_BUFSHARE_RUNTIME_DIR', `runtime dir ${dir} belongs to uid ${st.uid}, not to us (uid ${uid})`);
  }
  if ((st.mode & 0o077) !== 0) {
    throw new BufshareError('ERR_BUFSHARE_RUNTIME_DIR',
      `runtime dir ${dir} has mode 0${(st.mode & 0o777).toString(8)}; it must be 0700 so that only its owner can reach the socket`);
  }
}
