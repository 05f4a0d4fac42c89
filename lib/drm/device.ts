/**
 * DrmDevice: an open DRM node shared by an allocator and the buffers it made.
 *
 * Ownership: the allocator holds one reference and each buffer one more; the fd
 * is closed when the last is released, so buffers outlive Allocator.close() (the
 * GEM handles and dumb mappings they hold are only valid while the fd is open).
 */
import { BufshareError } from '../errors';
import * as native from '../native';
import { listDrmNodes, openNode, readCaps, readDriver, type DrmCaps, type DrmNode, type DrmNodeDescription, type DrmNodeType } from './nodes';

export class DrmDevice {
  readonly path: string;
  readonly type: DrmNodeType;
  readonly driver: DrmNodeDescription['driver'];
  readonly caps: DrmCaps;
  private fdValue: number;
  private refs = 1;

  private constructor(path: string, fd: number) {
    this.path = path;
    this.type = /\/renderD\d+$/.test(path) ? 'render' : 'card';
    this.fdValue = fd;
    try {
      this.driver = readDriver(fd);
      this.caps = readCaps(fd);
    } catch (e) {
      native.closeFd(fd);
      throw e;
    }
  }

  /** Opens a node; ERR_BUFSHARE_NOT_AVAILABLE when missing or forbidden. The caller owns one reference. */
  static open(path: string): DrmDevice {
    return new DrmDevice(path, openNode(path));
  }

  /** The DRM fd. Valid while any reference is held. */
  get fd(): number {
    if (this.refs <= 0) throw new BufshareError('ERR_BUFSHARE_DESTROYED', `DRM device ${this.path} was closed`);
    return this.fdValue;
  }

  get closed(): boolean {
    return this.refs <= 0;
  }

  ref(): this {
    if (this.refs <= 0) throw new BufshareError('ERR_BUFSHARE_DESTROYED', `DRM device ${this.path} was closed`);
    this.refs++;
    return this;
  }

  /** Drops one reference; the last one closes the fd. */
  unref(): void {
    if (this.refs <= 0) return;
    if (--this.refs === 0) {
      const fd = this.fdValue;
      this.fdValue = -1;
      native.closeFd(fd);
    }
  }

  toString(): string {
    return `${this.path} (${this.driver.name})`;
  }
}

/** Card nodes, in order: the candidates for allocation (render nodes refuse dumb buffers). */
export function cardNodes(): DrmNode[] {
  return listDrmNodes().filter((n) => n.type === 'card');
}
