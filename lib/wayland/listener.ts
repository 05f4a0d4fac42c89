/**
 * WaylandListener: the server's socket at `$XDG_RUNTIME_DIR/<name>`, with
 * `<name>.lock` held by flock, as libwayland does: whoever holds the lock owns
 * the name, so a socket file left by a crashed server (whose lock died with it)
 * is removed, and two servers can never race to replace each other's socket.
 *
 * Out of fds (EMFILE/ENFILE): the pending connection is accepted on the
 * reserve fd and closed at once (accept-reserve.ts), `onError` says so, and the
 * listener goes on; an accept() that fails otherwise pauses it briefly. No
 * accept failure ever throws out of the loop's callback (it used to, and an
 * uncaught EMFILE ended the compositor).
 *
 * Ownership: owns the listening socket, the lock fd and the reserve fd; close()
 * removes both files it made.
 */
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { AcceptReserve, isFdExhaustion } from '../accept-reserve';
import { BufshareError } from '../errors';
import * as native from '../native';
import { checkRuntimeDir } from '../runtime-dir';

/** Connections taken per wakeup: a flood of connects cannot hold the loop (libuv stops at one batch too). */
const ACCEPTS_PER_WAKEUP = 64;
/** Pause after accept() fails with nothing to refuse, so a level-triggered socket does not spin. */
const ACCEPT_RETRY_MS = 100;

export class WaylandListener {
  /** What a client puts in WAYLAND_DISPLAY (an absolute path when one was given). */
  readonly name: string;
  readonly path: string;
  onConnection: (fd: number) => void = (fd) => native.closeFd(fd);
  /** A connection refused for lack of fds, or a failed accept(); the listener goes on. */
  onError: (error: BufshareError) => void = () => {};
  private readonly lockPath: string;
  private lockFd: number;
  private readonly socket: native.StreamSocket;
  private isClosed = false;
  private readonly reserve: AcceptReserve;
  private retryTimer: NodeJS.Timeout | undefined;

  /** `name`: a name in $XDG_RUNTIME_DIR (which must be private, 0700) or an absolute path. */
  constructor(name: string) {
    if (name === '' || (!isAbsolute(name) && name.includes('/'))) {
      throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', `Wayland display name must be a plain name or an absolute path, got '${name}'`);
    }
    let path = name;
    if (!isAbsolute(name)) {
      const dir = process.env.XDG_RUNTIME_DIR;
      if (dir === undefined || dir === '') throw new BufshareError('ERR_BUFSHARE_RUNTIME_DIR', 'XDG_RUNTIME_DIR is not set');
      checkRuntimeDir(dir);
      path = join(dir, name);
    }
    this.name = name;
    this.path = path;
    this.lockPath = `${path}.lock`;
    try {
      this.lockFd = native.lockFile(this.lockPath);
    } catch (e) {
      if (e instanceof BufshareError && (e.errno === 'EWOULDBLOCK' || e.errno === 'EAGAIN')) {
        throw new BufshareError('ERR_BUFSHARE_ADDRESS_IN_USE', `another server holds ${this.lockPath}`, { cause: e });
      }
      throw e;
    }
    let reserve: AcceptReserve | undefined;
    try {
      // We hold the lock: a socket file there is a dead server's.
      try {
        if (lstatSync(path).isSocket()) unlinkSync(path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
      reserve = new AcceptReserve();
      let listening: number;
      try {
        listening = native.streamListen(path, 128);
      } catch (e) {
        // What is there is not a dead server's socket (a file, a directory): never replaced, and said with its path.
        if (e instanceof BufshareError && e.errno === 'EADDRINUSE') {
          throw new BufshareError('ERR_BUFSHARE_ADDRESS_IN_USE', `${path} exists and is not a socket: refusing to replace it`, { cause: e });
        }
        if (!(e instanceof BufshareError)) throw e;
        throw new BufshareError(e.code, `cannot listen at ${path}: ${e.message}`, { cause: e, ...(e.syscall ? { syscall: e.syscall } : {}), ...(e.errno ? { errno: e.errno } : {}) });
      }
      this.socket = native.openStream(listening, (status) => this.onReadable(status));
      chmodSync(path, 0o600);
      this.socket.poll(native.constants.POLL_READABLE);
    } catch (e) {
      reserve?.close();
      native.closeFd(this.lockFd);
      try {
        unlinkSync(this.lockPath);
      } catch {
        // Never made.
      }
      throw e;
    }
    this.reserve = reserve;
  }

  private onReadable(status: number): void {
    if (this.isClosed || status < 0) return;
    for (let i = 0; i < ACCEPTS_PER_WAKEUP && !this.isClosed; i++) {
      let fd: number;
      try {
        fd = this.socket.accept();
      } catch (e) {
        this.acceptFailed(e);
        return;
      }
      if (fd < 0) return;
      this.onConnection(fd);
    }
  }

  private acceptFailed(e: unknown): void {
    const error = e instanceof BufshareError ? e : new BufshareError('ERR_BUFSHARE_SYSCALL', String(e));
    const outcome = isFdExhaustion(e) ? this.reserve.refuse(() => this.socket.accept()) : 'failed';
    if (outcome === 'refused') {
      this.onError(new BufshareError('ERR_BUFSHARE_SYSCALL', `refused a connection: out of fds (${error.errno})`, { syscall: 'accept4', errno: error.errno!, cause: e }));
    }
    // Still readable if more wait: the next wakeup refuses or accepts them.
    if (outcome !== 'failed') return;
    this.onError(error);
    // Nothing could be accepted: pause, so a level-triggered socket does not spin.
    this.socket.poll(0);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.isClosed) this.socket.poll(native.constants.POLL_READABLE);
    }, ACCEPT_RETRY_MS);
    this.retryTimer.unref();
  }

  /** Stops listening and removes the socket and lock files. Idempotent. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.socket.close();
    this.reserve.close();
    for (const p of [this.path, this.lockPath]) {
      try {
        unlinkSync(p);
      } catch {
        // Already gone.
      }
    }
    native.closeFd(this.lockFd);
    this.lockFd = -1;
  }
}
