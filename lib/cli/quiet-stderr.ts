/**
 * Runs `fn` with file descriptor 2 pointed at /dev/null, for libraries that write
 * to stderr themselves: Mesa's loader prints "MESA-LOADER: failed to open vgem",
 * "kmsro: driver missing" and the like on every GBM device it opens on a virtual
 * GPU, which buries the probe's own report. Only for synchronous work: nothing of
 * ours writes to stderr in between. Restored even when `fn` throws.
 */
import { closeSync, openSync } from 'node:fs';
import { closeFd, dup2Fd, dupFd } from '../native';

export function withQuietStderr<T>(fn: () => T): T {
  const saved = dupFd(2);
  const devNull = openSync('/dev/null', 'w');
  try {
    dup2Fd(devNull, 2);
    return fn();
  } finally {
    dup2Fd(saved, 2);
    closeFd(saved);
    closeSync(devNull);
  }
}
