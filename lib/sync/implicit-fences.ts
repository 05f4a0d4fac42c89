/**
 * Waiting for a dma-buf's implicit fences before the CPU touches it.
 *
 * How am I supposed to use this?
 *
 *   await waitForImplicitFences(dmabufFd, { access: 'read', timeoutMs: 1000 });
 *   // now every GPU write to the buffer has landed: map it and read
 *
 * A GPU renders asynchronously: when a client submits a hardware buffer, the
 * rendering into it may still be running, tracked by fences in the dma-buf's
 * reservation object (implicit sync). Reading it with the CPU before they signal
 * shows stale or half-drawn pixels; writing it races with the GPU's reads. The
 * wait is for the fences the buffer has when it starts, a snapshot taken with
 * DMA_BUF_IOCTL_EXPORT_SYNC_FILE (Linux 6.0+): a sync_file of the write fences
 * ('read' access) or of all of them ('write'), polled for POLLIN. Fences a client
 * adds later (its GPU writing a buffer it already committed) are not waited for:
 * with a poll of the dma-buf itself, they would hold the frame until they signal
 * or the wait times out. Where the ioctl is missing, the dma-buf is polled
 * (POLLIN once every write fence has signalled, POLLOUT once every fence has). The
 * wait runs on the event loop (a libuv poll on a dup of the fd), never blocks
 * the process, and always ends: ready, timed out (ERR_BUFSHARE_TIMEOUT), or
 * aborted (rejects with the signal's reason). A buffer with no fences (every
 * CPU-drawn buffer) is ready at once, without touching the loop.
 *
 * Used by the server before it hands out a frame of a hardware buffer; made to be
 * reused for any dma-buf (linux-dmabuf buffers of a Wayland client alike).
 * Ownership: the caller keeps `fd`; it must stay open until the promise settles.
 */
import { BufshareError, fromNativeError } from '../errors';
import * as native from '../native';

export type FenceAccess = 'read' | 'write';

/**
 * Milliseconds a client's buffer's write fences may take before the server ends
 * that client with ERR_BUFSHARE_TIMEOUT (a GPU frame takes a few ms; a fence that
 * never signals must not hold a surface's frames forever). The bufshare server's
 * hardware buffers and the Wayland server's linux-dmabuf buffers alike.
 */
export const DEFAULT_FENCE_TIMEOUT_MS = 2000;

export interface FenceWaitOptions {
  /** 'read': wait for write fences (to read); 'write': wait for every fence (to write). */
  readonly access: FenceAccess;
  /** Give up after this many milliseconds with ERR_BUFSHARE_TIMEOUT. */
  readonly timeoutMs: number;
  /** Stop waiting when aborted; rejects with `signal.reason`. */
  readonly signal?: AbortSignal;
}

function accessBits(access: FenceAccess): number {
  if (access === 'read') return native.FENCE_ACCESS_READ;
  if (access === 'write') return native.FENCE_ACCESS_WRITE;
  throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', `access must be 'read' or 'write', got ${String(access)}`);
}

/** True when `fd`'s fences already allow `access` (poll with no wait). */
export function implicitFencesSignalled(fd: number, access: FenceAccess): boolean {
  return native.dmabufReady(fd, accessBits(access));
}

/** Resolves once `fd`'s implicit fences allow `access` (see the module comment). */
export function waitForImplicitFences(fd: number, options: FenceWaitOptions): Promise<void> {
  const { access, timeoutMs, signal } = options;
  let bits: number;
  try {
    bits = accessBits(access);
    if (!Number.isFinite(timeoutMs) || timeoutMs < 0) {
      throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', `timeoutMs must be a non-negative number, got ${String(timeoutMs)}`);
    }
    signal?.throwIfAborted();
    if (native.dmabufReady(fd, bits)) return Promise.resolve();
  } catch (e) {
    return Promise.reject(e);
  }
  return new Promise<void>((resolve, reject) => {
    let watch: native.FenceWatch | undefined;
    let syncFile = -1;
    const finish = (error?: unknown): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      watch?.cancel();
      watch = undefined;
      if (syncFile >= 0) native.closeFd(syncFile);
      syncFile = -1;
      if (error === undefined) resolve();
      else reject(error);
    };
    const onAbort = (): void => finish(signal!.reason);
    const timer = setTimeout(() => {
      finish(new BufshareError('ERR_BUFSHARE_TIMEOUT', `the dma-buf's ${access === 'read' ? 'write ' : ''}fences did not signal within ${timeoutMs} ms`));
    }, timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      syncFile = native.exportSyncFile(fd, bits);
      // A sync_file is readable once all its fences signalled, whichever access they were taken for.
      watch = native.watchFences(syncFile >= 0 ? syncFile : fd, syncFile >= 0 ? native.FENCE_ACCESS_READ : bits, (status) => {
        watch = undefined; // it stopped itself
        finish(status === 0 ? undefined : new BufshareError('ERR_BUFSHARE_SYSCALL', `polling the dma-buf failed (libuv status ${status})`, { syscall: 'uv_poll' }));
      });
    } catch (e) {
      finish(e instanceof BufshareError ? e : fromNativeError(e));
    }
  });
}
