/**
 * AcceptReserve: one fd held open on /dev/null so a listener whose process ran
 * out of fds can still take a pending connection off its backlog and close it.
 *
 * How am I supposed to use this? When accept() fails with EMFILE or ENFILE, call
 * `refuse(() => socket.accept())`: it closes the reserve, accepts (the freed slot
 * takes the connection), closes that connection at once and reopens the reserve.
 * Without it the connection stays in the backlog, the listening socket stays
 * readable, and a level-triggered loop spins on the same failing accept while
 * the peer waits forever (the classic libuv/nginx trick; libuv's own
 * uv__emfile_trick is only for uv_tcp/uv_pipe listeners, which we do not use).
 *
 * Ownership: owns the reserve fd; close() closes it.
 */
import { closeSync, openSync } from 'node:fs';
import { BufshareError, isErrno } from './errors';
import * as native from './native';

/** True for the accept() failures that mean "no fd left": this process's table (EMFILE) or the system's (ENFILE). */
export function isFdExhaustion(e: unknown): e is BufshareError {
  return isErrno(e, 'EMFILE', 'ENFILE');
}

export class AcceptReserve {
  private fd = -1;

  constructor() {
    this.reopen();
  }

  /**
   * Spends the reserve to accept one pending connection and close it, then takes
   * the reserve back. Returns 'refused' when a connection was closed this way;
   * 'none' when nothing was pending (a full table makes accept() fail with
   * EMFILE before the kernel looks at the backlog: not an error, and the socket
   * wakes us again when someone connects); 'failed' when there was no reserve
   * to spend or the accept failed anyway: the caller backs off.
   */
  refuse(accept: () => number): 'refused' | 'none' | 'failed' {
    if (this.fd < 0) {
      this.reopen();
      if (this.fd < 0) return 'failed';
    }
    closeSync(this.fd);
    this.fd = -1;
    let outcome: 'refused' | 'none' | 'failed';
    try {
      const fd = accept();
      if (fd >= 0) native.closeFd(fd);
      outcome = fd >= 0 ? 'refused' : 'none';
    } catch {
      // Another thread took the slot first (ENFILE is system-wide): nothing accepted.
      outcome = 'failed';
    }
    this.reopen();
    return outcome;
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  private reopen(): void {
    try {
      this.fd = openSync('/dev/null', 'r');
    } catch {
      // Out of fds ourselves: refuse() tries again next time.
      this.fd = -1;
    }
  }
}
