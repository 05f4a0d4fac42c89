/**
 * wp_linux_drm_syncobj_manager_v1: explicit sync, what NVIDIA's driver and recent
 * Mesa use in place of implicit fences.
 *
 * A client imports DRM syncobj timelines (import_timeline: the syncobj's fd, made
 * a handle on the compositor's DRM fd with DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE) and,
 * with each commit that attaches a dma-buf, names two points: the acquire point,
 * which its GPU signals when the pixels are written, and the release point, which
 * the compositor signals when it no longer reads the buffer for that commit.
 *
 * The commit waits for its acquire point on the event loop: an eventfd the kernel
 * signals (DRM_IOCTL_SYNCOBJ_EVENTFD, Linux 6.6+) polled by libuv, never a
 * blocking wait; later commits of the surface queue behind it (WaylandSurface's
 * present chain), and a point that does not signal within fenceTimeoutMs ends
 * that client alone (ERR_BUFSHARE_TIMEOUT), as implicit fences do. The release
 * point is signalled from the CPU (DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL) when the
 * buffer's last hold ends, with wl_buffer.release, or at once for a commit that
 * never showed (replaced while cached, its wait failed, its surface gone).
 *
 * Advertised only where the compositor's DRM device has timeline syncobjs
 * (DRM_CAP_SYNCOBJ_TIMELINE) and the eventfd ioctl works: the check wlroots and
 * Smithay make (probeExplicitSync).
 */
import { BufshareError, fromNativeError } from '../../errors';
import * as native from '../../native';
import { isDmabufBuffer } from './linux-dmabuf';
import type { Global } from '../global';
import { wp_linux_drm_syncobj_manager_v1, wp_linux_drm_syncobj_surface_v1, wp_linux_drm_syncobj_timeline_v1 } from '../protocol/linux-drm-syncobj';
import type { Resource } from '../resource';
import type { CommitSync, ExplicitSyncSurface, WaylandSurface } from '../surface';
import type { WaylandBuffer } from '../buffer';

const MANAGER_ERROR = wp_linux_drm_syncobj_manager_v1.enums.error as { surface_exists: number; invalid_timeline: number };
export const SYNCOBJ_SURFACE_ERROR = wp_linux_drm_syncobj_surface_v1.enums.error as {
  no_surface: number; unsupported_buffer: number; no_buffer: number; no_acquire_point: number; no_release_point: number; conflicting_points: number;
};

/** The compositor's DRM fd; once closed, no ioctl may go to its number (the process may reuse it). */
interface Device {
  readonly fd: number;
  closed: boolean;
}

/** An imported timeline: its handle lives while the wp_linux_drm_syncobj_timeline_v1 or any point on it does. */
class Timeline {
  private refs = 1;

  constructor(private readonly device: Device, readonly handle: number) {}

  private get drm(): number {
    if (this.device.closed) throw new BufshareError('ERR_BUFSHARE_DESTROYED', 'the explicit sync device was closed');
    return this.device.fd;
  }

  ref(): void {
    this.refs++;
  }

  unref(): void {
    if (--this.refs > 0 || this.device.closed) return;
    try {
      native.syncobjDestroy(this.drm, this.handle);
    } catch {
      // The device went first: nothing left to free.
    }
  }

  signalled(point: bigint): boolean {
    return native.syncobjQuery(this.drm, this.handle) >= point;
  }

  signal(point: bigint): void {
    native.syncobjTimelineSignal(this.drm, this.handle, point);
  }

  /** Resolves once `point` signalled, polled on the loop (an eventfd); see the module comment. */
  wait(point: bigint, timeoutMs: number, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let efd = -1;
      let watch: native.FenceWatch | undefined;
      const finish = (error?: unknown): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        watch?.cancel();
        watch = undefined;
        if (efd >= 0) native.closeFd(efd);
        efd = -1;
        if (error === undefined) resolve();
        else reject(error);
      };
      const onAbort = (): void => finish(signal.reason);
      const timer = setTimeout(() => finish(new BufshareError('ERR_BUFSHARE_TIMEOUT', `the acquire point ${point} did not signal within ${timeoutMs} ms`)), timeoutMs);
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        efd = native.syncobjEventfd(this.drm, this.handle, point);
        watch = native.watchFences(efd, native.FENCE_ACCESS_READ, (status) => {
          watch = undefined;
          finish(status === 0 ? undefined : new BufshareError('ERR_BUFSHARE_SYSCALL', `polling the syncobj eventfd failed (libuv status ${status})`, { syscall: 'uv_poll' }));
        });
      } catch (e) {
        finish(e instanceof BufshareError ? e : fromNativeError(e));
      }
    });
  }
}

interface Point {
  readonly timeline: Timeline;
  readonly point: bigint;
}

function pointOf(timeline: Resource<Timeline>, hi: number, lo: number): Point {
  return { timeline: timeline.data, point: (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0) };
}

/** One commit's points, each timeline held until the release point was signalled. */
class CommitPoints implements CommitSync {
  private done = false;

  constructor(private readonly acquire: Point, private readonly releasePoint: Point) {
    acquire.timeline.ref();
    releasePoint.timeline.ref();
  }

  acquired(timeoutMs: number, signal: AbortSignal): Promise<void> | undefined {
    const { timeline, point } = this.acquire;
    if (timeline.signalled(point)) return undefined;
    return timeline.wait(point, timeoutMs, signal);
  }

  release(): void {
    if (this.done) return;
    this.done = true;
    try {
      this.releasePoint.timeline.signal(this.releasePoint.point);
    } catch {
      // The device is gone: no one can wait on the point any more.
    } finally {
      this.acquire.timeline.unref();
      this.releasePoint.timeline.unref();
    }
  }
}

/** The state of one wp_linux_drm_syncobj_surface_v1 between commits. */
class SyncSurface implements ExplicitSyncSurface {
  acquire: Point | undefined;
  releasePoint: Point | undefined;
  /** Its wp_linux_drm_syncobj_surface_v1, for the errors. */
  resource!: Resource<SyncSurface>;

  commit(buffer: WaylandBuffer | null | undefined): CommitSync | undefined {
    const { acquire, releasePoint } = this;
    this.acquire = undefined;
    this.releasePoint = undefined;
    const r = this.resource;
    if (buffer === undefined || buffer === null) {
      if (acquire !== undefined || releasePoint !== undefined) throw r.error(SYNCOBJ_SURFACE_ERROR.no_buffer, 'timeline points were set but no buffer is attached in this commit');
      return undefined;
    }
    if (!isDmabufBuffer(buffer)) throw r.error(SYNCOBJ_SURFACE_ERROR.unsupported_buffer, 'explicit sync needs a linux-dmabuf buffer');
    if (acquire === undefined) throw r.error(SYNCOBJ_SURFACE_ERROR.no_acquire_point, 'a buffer is attached but no acquire point was set');
    if (releasePoint === undefined) throw r.error(SYNCOBJ_SURFACE_ERROR.no_release_point, 'a buffer is attached but no release point was set');
    if (acquire.timeline === releasePoint.timeline && acquire.point >= releasePoint.point) {
      throw r.error(SYNCOBJ_SURFACE_ERROR.conflicting_points, `on one timeline the acquire point (${acquire.point}) must be below the release point (${releasePoint.point})`);
    }
    return new CommitPoints(acquire, releasePoint);
  }
}

/**
 * Whether explicit sync can be offered on `drmFd`: timeline syncobjs and the
 * eventfd ioctl (Linux 6.6+), tried on a syncobj made for the purpose.
 * A reason string when not.
 */
export function probeExplicitSync(drmFd: number): string | undefined {
  try {
    if (native.drmGetCap(drmFd, native.DRM_CAP_SYNCOBJ_TIMELINE) !== 1) return 'no timeline syncobjs (DRM_CAP_SYNCOBJ_TIMELINE)';
  } catch (e) {
    return `DRM_CAP_SYNCOBJ_TIMELINE: ${(e as Error).message}`;
  }
  let handle: number;
  try {
    handle = native.syncobjCreate(drmFd);
  } catch (e) {
    return (e as Error).message;
  }
  try {
    native.closeFd(native.syncobjEventfd(drmFd, handle, 1n));
    return undefined;
  } catch (e) {
    return `no DRM_IOCTL_SYNCOBJ_EVENTFD (Linux 6.6+): ${(e as Error).message}`;
  } finally {
    native.syncobjDestroy(drmFd, handle);
  }
}

export interface SyncobjGlobal extends Global {
  /** Closes the DRM fd (timelines still imported on it go with it). */
  close(): void;
}

/**
 * The global over `drmFd` (owned from here on: closed by close()); the caller
 * checked probeExplicitSync first.
 */
export function linuxDrmSyncobjGlobal(drmFd: number): SyncobjGlobal {
  const device: Device = { fd: drmFd, closed: false };
  return {
    spec: wp_linux_drm_syncobj_manager_v1,
    version: 1,
    bind(client, id, version) {
      client.create(id, wp_linux_drm_syncobj_manager_v1, version, {
        get_surface: (r, [sid, surfaceId]) => {
          const surface = (client.lookup(surfaceId as number) as Resource<WaylandSurface>).data;
          if (surface.explicitSync !== undefined) throw r.error(MANAGER_ERROR.surface_exists, `wl_surface@${surface.id} already has a wp_linux_drm_syncobj_surface_v1`);
          const live = (r2: Resource<SyncSurface>): SyncSurface => {
            if (surface.destroyed) throw r2.error(SYNCOBJ_SURFACE_ERROR.no_surface, 'the wl_surface of this wp_linux_drm_syncobj_surface_v1 was destroyed');
            return r2.data;
          };
          const set = (which: 'acquire' | 'releasePoint') => (r2: Resource<SyncSurface>, [timeline, hi, lo]: unknown[]): void => {
            const state = live(r2);
            state[which] = pointOf(client.lookup(timeline as number) as Resource<Timeline>, hi as number, lo as number);
          };
          const state = new SyncSurface();
          const res = client.create(sid as number, wp_linux_drm_syncobj_surface_v1, version, {
            set_acquire_point: set('acquire'),
            set_release_point: set('releasePoint'),
          }, state);
          state.resource = res;
          surface.explicitSync = state;
          // Points set since the last commit are dropped with it; committed ones are not.
          res.onDestroy(() => {
            if (surface.explicitSync === state) surface.explicitSync = undefined;
          });
        },
        import_timeline: (r, [tid, fd]) => {
          let handle: number;
          try {
            handle = native.syncobjFdToHandle(drmFd, fd as number);
          } catch (e) {
            throw r.error(MANAGER_ERROR.invalid_timeline, `the fd is not a DRM syncobj: ${(e as Error).message}`);
          } finally {
            native.closeFd(fd as number);
          }
          const timeline = new Timeline(device, handle);
          const res = client.create(tid as number, wp_linux_drm_syncobj_timeline_v1, version, {}, timeline);
          res.onDestroy(() => timeline.unref());
        },
      }, undefined);
    },
    close: () => {
      if (device.closed) return;
      device.closed = true;
      native.closeFd(drmFd);
    },
  };
}
