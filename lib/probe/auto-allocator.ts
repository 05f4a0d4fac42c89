/**
 * AutoAllocator: the allocator a compositor normally uses.
 *
 * - `usage: 'software'` (the default): shm.
 * - `usage: 'hardware'`: the best of gbm, dumb and udmabuf this machine can
 *   really do, chosen from the probe (lib/probe: the same ranking and the same
 *   access decision the probe CLI reports), resolved once, on the first hardware
 *   request. Where none works: shm, and `fallbackReason` (and debug output) says why.
 *
 * Explicit choice: `{ allocator: 'gbm' }`, or BUFSHARE_ALLOCATOR=gbm|dumb|udmabuf|shm;
 * an explicit hardware backend that is unavailable throws instead of falling back.
 * Forced shadow: `{ access: 'shadow' }`, or BUFSHARE_ACCESS=shadow.
 */
import { debug } from '../debug';
import type { ClientAccess } from '../descriptor';
import { BufshareError } from '../errors';
import { probeMachine, type HardwareChoice } from './probe';
import { DrmDevice } from '../drm/device';
import type { DrmDeviceOption } from '../allocator/device-option';
import { DumbAllocator } from '../allocator/dumb';
import { allocatorFromEnv, deviceFromEnv, type AllocatorChoice } from '../allocator/env';
import { GbmAllocator } from '../allocator/gbm';
import { ShmAllocator } from '../allocator/shm';
import type { AllocateRequest, Allocator, SharedBuffer } from '../allocator/types';
import { UdmabufAllocator } from '../allocator/udmabuf';

export interface AutoAllocatorOptions {
  /** Backend for hardware requests; default BUFSHARE_ALLOCATOR, else 'auto'. */
  readonly allocator?: AllocatorChoice;
  /**
   * DRM node for dumb/gbm; default BUFSHARE_DEVICE, else chosen by the probe. A
   * DrmDevice (e.g. DrmDevice.fromFd on the compositor's fd) is allocated on as
   * given: borrowed, never closed by the allocator.
   */
  readonly device?: DrmDeviceOption;
  /** 'shadow' forces shadow access on every hardware buffer. */
  readonly access?: ClientAccess | 'auto';
}

export class AutoAllocator implements Allocator {
  readonly name = 'auto' as const;
  readonly shm = new ShmAllocator();
  private readonly options: AutoAllocatorOptions;
  private hardware: Allocator | null | undefined;
  private reason: string | undefined;
  private choice: HardwareChoice | undefined;

  constructor(options: AutoAllocatorOptions = {}) {
    this.options = { ...options };
    allocatorFromEnv(); // a malformed override fails here, not at the first hardware request
  }

  /** The hardware backend in use (resolving it if needed), or null when hardware requests get shm. */
  get hardwareAllocator(): Allocator | null {
    if (this.hardware === undefined) this.hardware = this.resolve();
    return this.hardware;
  }

  /** Why hardware requests get shm, when they do. */
  get fallbackReason(): string | undefined {
    void this.hardwareAllocator;
    return this.reason;
  }

  /** What the probe chose ('auto' mode only). */
  get hardwareChoice(): HardwareChoice | undefined {
    void this.hardwareAllocator;
    return this.choice;
  }

  allocate(request: AllocateRequest): SharedBuffer {
    if ((request.usage ?? 'software') === 'software') return this.shm.allocate(request);
    const hw = this.hardwareAllocator;
    const req: AllocateRequest = this.options.access === 'shadow' ? { ...request, access: 'shadow' } : request;
    if (hw) return hw.allocate(req);
    debug('auto', () => `hardware buffer requested, allocating shm: ${this.reason}`);
    const { access: _access, ...rest } = req;
    return this.shm.allocate(rest);
  }

  close(): void {
    this.hardware?.close();
    this.hardware = null;
    this.shm.close();
  }

  private resolve(): Allocator | null {
    const choice = this.options.allocator ?? allocatorFromEnv() ?? 'auto';
    const given = this.options.device ?? deviceFromEnv();
    const drm = given !== undefined ? { device: given } : {};
    const device = given instanceof DrmDevice ? given.path : given;
    switch (choice) {
      case 'shm':
        this.reason = this.options.allocator ? "allocator: 'shm' was chosen" : 'BUFSHARE_ALLOCATOR=shm';
        return null;
      case 'gbm':
        return new GbmAllocator(drm);
      case 'dumb':
        return new DumbAllocator(drm);
      case 'udmabuf':
        return new UdmabufAllocator();
      case 'auto':
        break;
    }
    const report = probeMachine({ width: 64, height: 64, ...(device ? { device } : {}) });
    const best = report.verdict.best;
    if (!best) {
      this.reason = report.verdict.reason ?? 'no hardware buffer kind works here';
      debug('auto', `no hardware allocator: ${this.reason}`);
      return null;
    }
    this.choice = best;
    debug('auto', `hardware allocator: ${best.kind}${best.device ? ` on ${best.device} (${best.driver})` : ''}, client access ${best.clientAccess}`);
    try {
      const on = given instanceof DrmDevice ? given : best.device!;
      if (best.kind === 'gbm') return new GbmAllocator({ device: on });
      if (best.kind === 'dumb') return new DumbAllocator({ device: on });
      return new UdmabufAllocator();
    } catch (e) {
      throw new BufshareError('ERR_BUFSHARE_NOT_AVAILABLE', `the probe chose ${best.kind} but it could not be opened: ${(e as Error).message}`, { cause: e });
    }
  }
}

/** The allocator most programs want: see AutoAllocator. */
export function createAllocator(options: AutoAllocatorOptions = {}): AutoAllocator {
  return new AutoAllocator(options);
}
