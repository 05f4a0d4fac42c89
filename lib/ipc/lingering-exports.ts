/**
 * Dma-bufs a client may still hold after the server destroyed their buffers.
 *
 * Why: a client keeps the dma-buf fds of its buffers. When the server destroys
 * a buffer (its surface destroyed or resized), the memory stays allocated for as
 * long as any fd or mapping of the dma-buf lives, and that is the client's
 * choice: create, fault in, destroy, keep the fds, repeat would pin memory past
 * the client's byte limit. Unlike a memfd (whose pages the server punches out),
 * a GEM object cannot be taken back. So the bytes stay charged to the client
 * until its export is gone: the server keeps one dup of each such dma-buf and
 * reads the file's reference count from /proc/self/fdinfo (`count:`, printed by
 * the kernel's dma_buf_show_fdinfo); when only our dup is left, nobody else
 * holds the buffer, the dup is closed and the bytes are given back.
 *
 * Ownership: owns the dups; close() closes every one (the client is gone).
 */
import { readFileSync } from 'node:fs';
import * as native from '../native';

interface Lingering {
  readonly fd: number;
  readonly bytes: number;
}

/** The dma-buf file's reference count, or undefined when the kernel does not say. */
function fileCount(fd: number): number | undefined {
  try {
    const m = /^count:\s*(\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

export class LingeringExports {
  private readonly held: Lingering[] = [];
  private total = 0;

  /** Bytes still charged: dma-bufs someone other than us may hold. */
  get bytes(): number {
    return this.total;
  }

  get count(): number {
    return this.held.length;
  }

  /**
   * Starts watching the dma-buf `fd` (of `bytes`) that a client was sent, as the
   * server destroys its buffer. Call before the buffer closes its own fd.
   * Where the kernel gives no count, nothing can be learnt: nothing is kept.
   */
  hold(fd: number, bytes: number): void {
    if (fileCount(fd) === undefined) return;
    this.held.push({ fd: native.dupFd(fd), bytes });
    this.total += bytes;
  }

  /** Gives back the bytes of every dma-buf nobody else holds any more. */
  sweep(): void {
    for (let i = this.held.length - 1; i >= 0; i--) {
      const l = this.held[i]!;
      const count = fileCount(l.fd);
      if (count !== undefined && count > 1) continue;
      this.held.splice(i, 1);
      this.total -= l.bytes;
      native.closeFd(l.fd);
    }
  }

  close(): void {
    for (const l of this.held.splice(0)) native.closeFd(l.fd);
    this.total = 0;
  }
}
