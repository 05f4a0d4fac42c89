/**
 * DrmDevice: a DRM node fd shared by an allocator, the buffers it made, and a KMS
 * output.
 *
 * How am I supposed to use this?
 * - A compositor that already has the DRM fd (from logind/libseat, or its own
 *   open for KMS) hands it over with `DrmDevice.fromFd(fd)`: the device is
 *   **borrowed**, bufshare never closes it, never changes its master state, and
 *   the caller keeps it open while any allocator, buffer or output made on it lives.
 * - Otherwise `DrmDevice.open(path)` opens the node; bufshare owns that fd and
 *   drops the DRM master the open may have made it (see openNode), unless
 *   `{ master: true }` is asked for (a KMS output that drives the display).
 *
 * Ownership: the creator holds one reference, each allocator and buffer one more;
 * when the last is released an opened fd is closed, a borrowed one is left alone.
 * Buffers outlive Allocator.close() (their GEM handles and dumb mappings are only
 * valid while the fd is open).
 */
import { readlinkSync } from 'node:fs';
import { BufshareError } from '../errors';
import * as native from '../native';
import { listDrmNodes, openNode, readCaps, readDriver, type DrmCaps, type DrmNode, type DrmNodeDescription, type DrmNodeType, type OpenNodeOptions } from './nodes';

function nodeTypeOf(path: string): DrmNodeType {
  return /\/renderD\d+$/.test(path) ? 'render' : 'card';
}

/** The path an fd was opened at, from /proc/self/fd (undefined where /proc is missing). */
function pathOfFd(fd: number): string | undefined {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return undefined;
  }
}

export class DrmDevice {
  readonly path: string;
  readonly type: DrmNodeType;
  readonly driver: DrmNodeDescription['driver'];
  readonly caps: DrmCaps;
  /** true: the fd was handed over with fromFd() and is never closed by bufshare. */
  readonly borrowed: boolean;
  private fdValue: number;
  private refs = 1;
  /** GEM handles bufshare's allocators created on this fd (see claimGemHandle). */
  private readonly claimedHandles = new Set<number>();

  private constructor(path: string, fd: number, borrowed: boolean) {
    this.path = path;
    this.type = nodeTypeOf(path);
    this.fdValue = fd;
    this.borrowed = borrowed;
    try {
      this.driver = readDriver(fd);
      this.caps = readCaps(fd);
    } catch (e) {
      if (borrowed) {
        throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', `fd ${fd} (${path}) is not a DRM device: ${(e as Error).message}`, { cause: e });
      }
      native.closeFd(fd);
      throw e;
    }
  }

  /**
   * Opens a node; ERR_BUFSHARE_NOT_AVAILABLE when missing or forbidden. The caller
   * owns one reference. DRM master gained by the open is dropped unless `master`.
   */
  static open(path: string, options: OpenNodeOptions = {}): DrmDevice {
    return new DrmDevice(path, openNode(path, options), false);
  }

  /**
   * Wraps a DRM fd the caller owns. Borrowed: bufshare never closes it and never
   * sets or drops master on it; the caller must keep it open until every
   * allocator, buffer and output made on this device is destroyed. The caller
   * holds one reference (unref() when done; that never closes the fd).
   * ERR_BUFSHARE_INVALID_ARGUMENT when `fd` is not a DRM device.
   */
  static fromFd(fd: number): DrmDevice {
    if (!Number.isInteger(fd) || fd < 0) throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', `fd must be a non-negative integer, got ${String(fd)}`);
    return new DrmDevice(pathOfFd(fd) ?? `fd ${fd}`, fd, true);
  }

  /** The DRM fd. Valid while any reference is held. */
  get fd(): number {
    if (this.refs <= 0) throw new BufshareError('ERR_BUFSHARE_DESTROYED', `DRM device ${this.path} was closed`);
    return this.fdValue;
  }

  get closed(): boolean {
    return this.refs <= 0;
  }

  /** Whether this fd is DRM master now (a render node never is). */
  get isMaster(): boolean {
    return native.drmIsMaster(this.fd);
  }

  ref(): this {
    if (this.refs <= 0) throw new BufshareError('ERR_BUFSHARE_DESTROYED', `DRM device ${this.path} was closed`);
    this.refs++;
    return this;
  }

  /** Drops one reference; the last one closes the fd, unless it is borrowed. */
  unref(): void {
    if (this.refs <= 0) return;
    if (--this.refs === 0) {
      const fd = this.fdValue;
      this.fdValue = -1;
      if (!this.borrowed) native.closeFd(fd);
    }
  }

  /**
   * Records that an allocator created `handle` on this fd and alone closes it.
   * Why: a PRIME import, on this same open file, of a dma-buf exported from it
   * returns that very handle (the kernel keeps one handle per object per file), so
   * a KMS device that imported a client buffer for scanout must not GEM_CLOSE it.
   */
  claimGemHandle(handle: number): void {
    this.claimedHandles.add(handle);
  }

  /** The allocator is about to close `handle` (DESTROY_DUMB, gbm_bo_destroy). */
  releaseGemHandle(handle: number): void {
    this.claimedHandles.delete(handle);
  }

  /** Whether an allocator created `handle` on this fd (then only it closes it). */
  isClaimedGemHandle(handle: number): boolean {
    return this.claimedHandles.has(handle);
  }

  toString(): string {
    return `${this.path} (${this.driver.name})`;
  }
}

/** Card nodes, in order: the candidates for allocation (render nodes refuse dumb buffers). */
export function cardNodes(): DrmNode[] {
  return listDrmNodes().filter((n) => n.type === 'card');
}
