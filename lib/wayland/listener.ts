/**
 * WaylandListener: the server's socket at `$XDG_RUNTIME_DIR/<name>`, with
 * `<name>.lock` held by flock, as libwayland does: whoever holds the lock owns
 * the name, so a socket file left by a crashed server (whose lock died with it)
 * is removed, and two servers can never race to replace each other's socket.
 *
 * Ownership: owns the listening socket and the lock fd; close() removes both
 * files it made.
 */
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { BufshareError } from '../errors';
import * as native from '../native';
import { checkRuntimeDir } from '../ipc/socket-path';

export class WaylandListener {
  /** What a client puts in WAYLAND_DISPLAY (an absolute path when one was given). */
  readonly name: string;
  readonly path: string;
  onConnection: (fd: number) => void = (fd) => native.closeFd(fd);
  private readonly lockPath: string;
  private lockFd: number;
  private readonly socket: native.StreamSocket;
  private isClosed = false;

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
    try {
      // We hold the lock: a socket file there is a dead server's.
      try {
        if (lstatSync(path).isSocket()) unlinkSync(path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
      this.socket = native.openStream(native.streamListen(path, 128), (status) => this.onReadable(status));
      chmodSync(path, 0o600);
      this.socket.poll(native.constants.POLL_READABLE);
    } catch (e) {
      native.closeFd(this.lockFd);
      try {
        unlinkSync(this.lockPath);
      } catch {
        // Never made.
      }
      throw e;
    }
  }

  private onReadable(status: number): void {
    if (this.isClosed || status < 0) return;
    for (;;) {
      const fd = this.socket.accept();
      if (fd < 0) return;
      this.onConnection(fd);
    }
  }

  /** Stops listening and removes the socket and lock files. Idempotent. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.socket.close();
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
