/**
 * One atomic request: properties set on objects, grouped per object as
 * DRM_IOCTL_MODE_ATOMIC wants them. Build it, TEST_ONLY it, then commit it
 * (wlroots' atomic.c and Smithay's DrmCompositor do the same).
 */
import * as native from '../native';
import type { KmsProperties } from './properties';

export interface CommitOptions {
  readonly testOnly?: boolean;
  readonly nonblock?: boolean;
  readonly pageFlipEvent?: boolean;
  readonly allowModeset?: boolean;
  /** Comes back in the page-flip event. */
  readonly userData?: number;
}

export class AtomicRequest {
  private readonly objects = new Map<number, Map<number, bigint>>();
  private readonly fenceSlots: { objectId: number; propId: number }[] = [];

  /** Sets `name` on the object the properties belong to; throws ERR_BUFSHARE_UNSUPPORTED if it has none. */
  set(props: KmsProperties, name: string, value: bigint | number): this {
    return this.setId(props.objectId, props.id(name), value);
  }

  setId(objectId: number, propId: number, value: bigint | number): this {
    let m = this.objects.get(objectId);
    if (!m) this.objects.set(objectId, (m = new Map()));
    m.set(propId, BigInt(value));
    return this;
  }

  /** An out-fence pointer property (WRITEBACK_OUT_FENCE_PTR, OUT_FENCE_PTR): commit() returns its sync_file fd. */
  outFence(props: KmsProperties, name: string): this {
    const propId = props.id(name);
    this.setId(props.objectId, propId, 0n);
    this.fenceSlots.push({ objectId: props.objectId, propId });
    return this;
  }

  /** Commits (or tests) the request; returns the out-fence fds in outFence() order (the caller owns them). */
  commit(fd: number, options: CommitOptions = {}): number[] {
    const c = native.constants;
    const flags = (options.testOnly ? c.DRM_MODE_ATOMIC_TEST_ONLY : 0) | (options.nonblock ? c.DRM_MODE_ATOMIC_NONBLOCK : 0) |
      (options.pageFlipEvent ? c.DRM_MODE_PAGE_FLIP_EVENT : 0) | (options.allowModeset ? c.DRM_MODE_ATOMIC_ALLOW_MODESET : 0);
    const objs: number[] = [];
    const counts: number[] = [];
    const props: number[] = [];
    const values: bigint[] = [];
    const fenceIndexes: number[] = [];
    for (const [objectId, m] of this.objects) {
      objs.push(objectId);
      counts.push(m.size);
      for (const [propId, value] of m) {
        if (!options.testOnly && this.fenceSlots.some((s) => s.objectId === objectId && s.propId === propId)) fenceIndexes.push(props.length);
        props.push(propId);
        values.push(value);
      }
    }
    // TEST_ONLY with an out-fence pointer would make the kernel create no fence, but it
    // still validates the pointer: leave 0 (no fence wanted) when only testing.
    const fences = native.kmsAtomic(fd, flags, Uint32Array.from(objs), Uint32Array.from(counts), Uint32Array.from(props),
      BigUint64Array.from(values), options.userData ?? 0, fenceIndexes.length > 0 ? Uint32Array.from(fenceIndexes) : undefined);
    return fences ? [...fences] : [];
  }
}
