/**
 * Sealed shared-memory files: the memory of software buffers and of shadows.
 *
 * memfd_create(MFD_CLOEXEC | MFD_ALLOW_SEALING), sized, then sealed with
 * F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL: no holder of the fd, a client
 * included, can ever change its size, so a mapping of it can never SIGBUS (the
 * attack wlroots, Mir and Smithay guard against with signal handlers).
 *
 * Fallback, where memfd_create or sealing is unavailable (kernels before 3.17,
 * seccomp sandboxes), or forced with BUFSHARE_SHM_FALLBACK=1: an unlinked file in
 * /dev/shm (or the tmp dir). It cannot be sealed: `sealed` is false and a client
 * that truncates it can make the compositor's reads fault.
 */
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { BufshareError, isErrno } from '../errors';
import * as native from '../native';

/** The seals a shm buffer carries (a function: the addon loads on first use). */
export function shmSeals(): number {
  return native.constants.F_SEAL_SHRINK | native.constants.F_SEAL_GROW | native.constants.F_SEAL_SEAL;
}

export interface ShmFile {
  readonly fd: number;
  readonly size: number;
  /** True when F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL are set. */
  readonly sealed: boolean;
}

export interface ShmFileOptions {
  /** memfd name, shown in /proc/PID/fd and /proc/PID/maps. */
  readonly name?: string;
  /** Skip memfd and use the unsealed fallback (tests; BUFSHARE_SHM_FALLBACK=1 does the same). */
  readonly forceFallback?: boolean;
}

export function fallbackForced(): boolean {
  const v = process.env.BUFSHARE_SHM_FALLBACK;
  return v !== undefined && v !== '' && v !== '0';
}

function fallbackDir(): string {
  return existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
}

export function createShmFile(size: number, options: ShmFileOptions = {}): ShmFile {
  if (!Number.isSafeInteger(size) || size < 1) throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', `shm size must be a positive integer, got ${size}`);
  if (!options.forceFallback && !fallbackForced()) {
    try {
      return { fd: native.memfdCreate(options.name ?? 'bufshare', size, shmSeals()), size, sealed: true };
    } catch (e) {
      // ENOSYS: no memfd; EINVAL: no MFD_ALLOW_SEALING / sealing on this fs. Anything else is real.
      if (!isErrno(e, 'ENOSYS', 'EINVAL', 'EPERM')) throw e;
    }
  }
  return { fd: native.shmFileCreate(fallbackDir(), size), size, sealed: false };
}

/**
 * Frees the memory of a shm file the caller is done with, then closes its fd.
 * The pages are punched out first: a client keeps its own fd to the file, and
 * without this it could keep every page the compositor faulted in alive,
 * outside its byte limit and in nobody's RSS (create, submit, destroy, repeat).
 * Punching works on sealed memfds (only F_SEAL_WRITE forbids it) and on the
 * tmpfs fallback. Only for files nobody else should still read: the server's
 * own buffers and shadows, once destroyed.
 */
export function releaseShmFile(file: ShmFile): void {
  try {
    native.punchHole(file.fd, file.size);
  } catch (e) {
    // A filesystem without hole punching (EOPNOTSUPP) keeps its pages until the
    // last fd closes, as before; closing must happen regardless.
    if (!isErrno(e, 'EOPNOTSUPP', 'ENOSYS')) {
      native.closeFd(file.fd);
      throw e;
    }
  }
  native.closeFd(file.fd);
}
