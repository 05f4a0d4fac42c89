/**
 * ShmAllocator: software buffers in sealed shared memory (see shm-file.ts).
 * Always available; the hardware backends fall back to it.
 */
import { BufshareError } from '../errors';
import { modifierToString, MODIFIER_INVALID, MODIFIER_LINEAR, resolveFormat } from '../format';
import { computeLayout, DEFAULT_STRIDE_ALIGN } from '../layout';
import { mapFd } from '../mapping/fd-mapping';
import type { GraphicsRegion, MapMode } from '../mapping/graphics-region';
import * as native from '../native';
import type { Region } from '../region';
import { DESCRIPTOR_VERSION } from '../descriptor';
import { BufferBase } from './buffer-base';
import { createShmFile, releaseShmFile, type ShmFile } from './shm-file';
import { newBufferId, type AllocateRequest, type Allocator, type ExportedBuffer, type SharedBuffer } from './types';

export interface ShmAllocatorOptions {
  /** Stride alignment in bytes, a power of two; default 64. */
  readonly strideAlign?: number;
  /** Use the unsealed /dev/shm fallback even where memfd works (tests). */
  readonly forceFallback?: boolean;
}

/** Shm buffers are linear: only LINEAR (or INVALID, "don't care") can be honoured. */
export function checkLinearModifiers(modifiers: readonly bigint[] | undefined, backend: string): void {
  if (modifiers === undefined || modifiers.length === 0) return;
  if (!modifiers.some((m) => m === MODIFIER_LINEAR || m === MODIFIER_INVALID)) {
    throw new BufshareError('ERR_BUFSHARE_UNSUPPORTED_MODIFIER',
      `${backend} buffers are linear; none of the requested modifiers (${modifiers.map(modifierToString).join(', ')}) is LINEAR`);
  }
}

export class ShmBuffer extends BufferBase implements SharedBuffer {
  private readonly file: ShmFile;

  constructor(request: AllocateRequest, options: ShmAllocatorOptions = {}) {
    const format = resolveFormat(request.format);
    const { stride, size } = computeLayout(request.width, request.height, format, options.strideAlign ?? DEFAULT_STRIDE_ALIGN, native.pageSize);
    checkLinearModifiers(request.modifiers, 'shm');
    if (request.access === 'shadow') {
      throw new BufshareError('ERR_BUFSHARE_UNSUPPORTED', 'shm buffers are always mapped directly: a shadow of shared memory would only add a copy');
    }
    const file = createShmFile(size, { name: `bufshare-${request.width}x${request.height}`, forceFallback: options.forceFallback ?? false });
    super({
      id: newBufferId(), width: request.width, height: request.height, format, modifier: MODIFIER_LINEAR,
      planes: [{ offset: 0, stride }], size, kind: 'shm', access: 'direct', readOnly: false,
    });
    this.file = file;
    this.closeFdsIfForgotten([file.fd]);
  }

  /** The memfd (or fallback file). Owned by the buffer. */
  get fd(): number {
    return this.file.fd;
  }

  /** False only for the unsealed fallback. */
  get sealed(): boolean {
    return this.file.sealed;
  }

  export(): ExportedBuffer {
    this.checkAlive();
    return {
      descriptor: {
        version: DESCRIPTOR_VERSION, id: this.id, width: this.width, height: this.height, format: this.format.fourcc,
        modifier: modifierToString(this.modifier), planes: this.planes, size: this.size, kind: 'shm', access: 'direct',
        readOnly: false, fds: ['buffer'],
      },
      fds: [this.file.fd],
    };
  }

  commitShadow(_damage: Region): number {
    this.checkAlive();
    return 0;
  }

  protected mapRegion(mode: MapMode): GraphicsRegion {
    const plane = this.planes[0]!;
    return mapFd({
      fd: this.file.fd, size: this.size, mode, strategy: 'direct', dmabuf: false,
      width: this.width, height: this.height, stride: plane.stride, format: this.format, offset: plane.offset,
    });
  }

  protected releaseResources(): void {
    releaseShmFile(this.file);
  }
}

export class ShmAllocator implements Allocator {
  readonly name = 'shm' as const;
  private readonly options: ShmAllocatorOptions;

  constructor(options: ShmAllocatorOptions = {}) {
    this.options = { ...options };
  }

  allocate(request: AllocateRequest): ShmBuffer {
    return new ShmBuffer(request, this.options);
  }

  close(): void {
    // Nothing of its own to release.
  }
}
