/**
 * What every buffer implementation shares: identity, geometry, the regions it has
 * handed out (unmapped on destroy, so a destroyed buffer leaves no mapping
 * behind), and exactly-once destruction.
 */
import { BufshareError } from '../errors';
import * as native from '../native';
import type { ClientAccess, BufferKind, PlaneLayout } from '../descriptor';
import type { FormatInfo } from '../format';
import { checkMapMode, GraphicsRegion, type MapMode } from '../mapping/graphics-region';
import type { BufferInfo, MapOptions } from './types';

/** What a buffer is, fixed at creation: BufferInfo's fields less its behaviour. */
export type BufferGeometry = Pick<BufferInfo, 'id' | 'width' | 'height' | 'format' | 'modifier' | 'planes' | 'size' | 'kind' | 'access' | 'readOnly'>;

/**
 * Closes the fds of buffers the program dropped without destroy(): a compositor
 * runs for days, and an fd per forgotten buffer would run it out of fds. The held
 * value never references the buffer (or it could never be collected).
 */
const forgotten = new FinalizationRegistry<readonly number[]>((fds) => {
  for (const fd of fds) {
    try {
      native.closeFd(fd);
    } catch {
      // Nothing left to leak.
    }
  }
});

export abstract class BufferBase implements BufferInfo {
  readonly id: number;
  readonly width: number;
  readonly height: number;
  readonly format: FormatInfo;
  readonly modifier: bigint;
  readonly planes: readonly PlaneLayout[];
  readonly size: number;
  readonly kind: BufferKind;
  readonly access: ClientAccess;
  readonly readOnly: boolean;
  private readonly regions = new Set<GraphicsRegion>();
  private isDestroyed = false;
  private sawFault = false;
  private goneListeners: (() => void)[] = [];

  protected constructor(g: BufferGeometry) {
    this.id = g.id;
    this.width = g.width;
    this.height = g.height;
    this.format = g.format;
    this.modifier = g.modifier;
    this.planes = g.planes;
    this.size = g.size;
    this.kind = g.kind;
    this.access = g.access;
    this.readOnly = g.readOnly;
  }

  get destroyed(): boolean {
    return this.isDestroyed;
  }

  /**
   * True once any mapping of this buffer faulted: its file was truncated under
   * it (possible only for unsealed shm files) and the SIGBUS guard replaced the
   * pages with zeros. See GraphicsRegion.faulted.
   */
  get faulted(): boolean {
    if (!this.sawFault) {
      for (const r of this.regions) {
        if (r.faulted) {
          this.sawFault = true;
          break;
        }
      }
    }
    return this.sawFault;
  }

  /** Regions mapped and not yet unmapped. */
  get mappedRegions(): number {
    return this.regions.size;
  }

  map(options: MapOptions = {}): GraphicsRegion {
    this.checkAlive();
    const mode = checkMapMode(options.mode ?? 'readwrite');
    const region = this.mapRegion(mode);
    this.regions.add(region);
    // Forget the region when the program unmaps it, so destroy() only unmaps live ones.
    const unmap = region.unmap.bind(region);
    region.unmap = (): void => {
      this.regions.delete(region);
      unmap();
      if (region.faulted) this.sawFault = true;
    };
    return region;
  }

  destroy(): void {
    if (this.isDestroyed) return;
    this.isDestroyed = true;
    forgotten.unregister(this);
    const errors: unknown[] = [];
    for (const r of [...this.regions]) {
      try {
        r.unmap();
      } catch (e) {
        errors.push(e);
      }
    }
    this.regions.clear();
    try {
      this.releaseResources();
    } catch (e) {
      errors.push(e);
    }
    for (const listener of this.goneListeners.splice(0)) {
      try {
        listener();
      } catch (e) {
        errors.push(e);
      }
    }
    if (errors.length > 0) throw errors[0];
  }

  /** Calls `listener` once the buffer is destroyed (at once if it is): see ScanoutSource.onceGone. */
  onceGone(listener: () => void): void {
    if (this.isDestroyed) listener();
    else this.goneListeners.push(listener);
  }

  /**
   * For buffers whose only resources are fds: close these if the buffer is
   * garbage collected without destroy(). (Hardware buffers also own GEM handles
   * and driver mappings whose teardown order matters: they must be destroyed.)
   */
  protected closeFdsIfForgotten(fds: readonly number[]): void {
    forgotten.register(this, [...fds], this);
  }

  protected checkAlive(): void {
    if (this.isDestroyed) throw new BufshareError('ERR_BUFSHARE_DESTROYED', `buffer ${this.id} was destroyed`);
  }

  /** Maps the pixels for `mode`; the returned region's release must undo everything it did. */
  protected abstract mapRegion(mode: MapMode): GraphicsRegion;

  /** Closes every fd and handle the buffer owns. Called once. */
  protected abstract releaseResources(): void;
}

/** Closes each fd, all of them even if one fails; rethrows the first failure. */
export function closeAll(fds: readonly number[], close: (fd: number) => void): void {
  let first: unknown;
  for (const fd of fds) {
    try {
      close(fd);
    } catch (e) {
      first ??= e;
    }
  }
  if (first !== undefined) throw first;
}
