/**
 * What the hardware backends (dumb, gbm, udmabuf) share.
 *
 * A RawBuffer is one buffer object as its backend made it: geometry, the dma-buf
 * it exported at creation (read-write first: see exportOnce), and the backend's
 * own server mapping. The probe tries paths on RawBuffers; the allocators wrap
 * one in a HardwareBuffer, which adds the client access decided by
 * decideAccess() (lib/probe/access.ts): direct, or a sealed shm shadow whose
 * damage commitShadow() copies in.
 */
import { copyRects, type CopyOptions } from '../copy';
import { DESCRIPTOR_VERSION, type FdRole, type PlaneLayout, type ShadowLayout } from '../descriptor';
import { BufshareError } from '../errors';
import { modifierToString, type FormatInfo } from '../format';
import { computeLayout, DEFAULT_STRIDE_ALIGN } from '../layout';
import { mapFd } from '../mapping/fd-mapping';
import type { GraphicsRegion, MapMode } from '../mapping/graphics-region';
import * as native from '../native';
import { debug } from '../debug';
import { decideAccess, type AccessVerdict, type HardwareKind, type KindCapability, type ServerMapping } from '../capabilities/access';
import { tryPaths } from '../capabilities/paths';
import { dmabufMmapForbidden } from '../capabilities/quirks';
import { attempt, failed, failureOf, ok, skipped, type PathResult } from '../capabilities/result';
import type { Region } from '../region';
import { BufferBase, closeAll } from './buffer-base';
import { createShmFile, releaseShmFile, type ShmFile } from './shm-file';
import { newBufferId, type ExportedBuffer, type SharedBuffer } from './types';

/**
 * The shadow holds the buffer's complete current image, and outside the damage
 * the buffer already equals it: the damage planner may copy undamaged pixels
 * where joining rows is cheaper (lib/damage/plan.ts). commitShadow still
 * reports the damaged pixels: the rest it may write are unchanged bytes.
 */
const SHADOW_COPY: CopyOptions = { sourceComplete: true };

/** The dma-buf a buffer object exported when it was created, and how each export went. */
export interface BufferExport {
  /** The dma-buf fd, owned by the RawBuffer; undefined when every export failed. */
  readonly fd: number | undefined;
  readonly readWrite: PathResult;
  readonly readOnly: PathResult;
}

export interface RawBuffer {
  readonly kind: HardwareKind;
  /** DRM driver name ('' for udmabuf), for the quirk table. */
  readonly driver: string;
  readonly width: number;
  readonly height: number;
  readonly format: FormatInfo;
  readonly modifier: bigint;
  readonly plane: PlaneLayout;
  /** Planes after the first (a multi-plane format, a modifier's aux planes), in the same dma-buf. */
  readonly extraPlanes?: readonly PlaneLayout[];
  /** Bytes the dma-buf holds (what a client may map). */
  readonly size: number;
  readonly export: BufferExport;
  /** The backend's own server mapping: 'dumb-map', 'gbm-map' or 'direct' (udmabuf's memfd). */
  readonly ownMapping: ServerMapping;
  /**
   * The own mapping is the buffer's memory itself (dumb map, udmabuf's memfd),
   * not a staging copy that reaches the buffer on unmap (gbm_bo_map may be one):
   * it may then stay mapped across commits.
   */
  readonly ownMappingIsDirect: boolean;
  mapOwn(mode: MapMode): GraphicsRegion;
  /** Unmaps nothing (regions are the caller's), closes the dma-buf fd and frees the object. Once. */
  destroy(): void;
}

/**
 * Exports a buffer object's dma-buf once, read-write first. The kernel keeps one
 * dma-buf file per GEM object: whatever is exported first is what every later
 * export returns, so a read-only export (gbm_bo_get_fd) must never come first.
 * A "read-write" export that came back O_RDONLY counts as failed.
 */
export function exportOnce(exportFd: (readWrite: boolean) => number, readOnlyFallback?: () => number): BufferExport {
  const rw = attempt('ioctl(DRM_IOCTL_PRIME_HANDLE_TO_FD, DRM_RDWR)', () => exportFd(true));
  if (rw.value !== undefined) {
    const mode = native.getFdFlags(rw.value) & native.constants.O_ACCMODE;
    if (mode === native.constants.O_RDWR) return { fd: rw.value, readWrite: rw.result, readOnly: skipped('the read-write export worked') };
    return { fd: rw.value, readWrite: failed('fcntl(F_GETFL)', 'EACCES', 'the buffer was already exported read-only: its dma-buf file is O_RDONLY'), readOnly: { ok: true } };
  }
  let ro = attempt('ioctl(DRM_IOCTL_PRIME_HANDLE_TO_FD)', () => exportFd(false));
  if (ro.value === undefined && readOnlyFallback) ro = attempt('gbm_bo_get_fd', readOnlyFallback);
  return { fd: ro.value, readWrite: rw.result, readOnly: ro.result };
}

/** A live check of the client path on this very buffer: mmap(PROT_READ|PROT_WRITE) of its dma-buf. */
export function tryMmapWrite(fd: number, size: number): PathResult {
  return attempt('mmap', () => native.unmapBuffer(native.mmapFd(fd, size, 0, native.PROT_READ | native.PROT_WRITE))).result;
}

export class HardwareBuffer extends BufferBase implements SharedBuffer {
  readonly verdict: Extract<AccessVerdict, { usable: true }>;
  private readonly raw: RawBuffer;
  private readonly shadowFile: ShmFile | undefined;
  private readonly shadowLayout: ShadowLayout | undefined;
  private shadowRegion: GraphicsRegion | undefined;
  private commitTarget: GraphicsRegion | undefined;
  /** The compositor's persistent read mapping of the shadow (see mapFrameSource). */
  private frameShadow: GraphicsRegion | undefined;

  /** Takes ownership of `raw` (destroyed with this buffer, or here if construction fails). */
  constructor(raw: RawBuffer, verdict: Extract<AccessVerdict, { usable: true }>) {
    let shadowFile: ShmFile | undefined;
    let shadowLayout: ShadowLayout | undefined;
    try {
      if (verdict.clientAccess === 'shadow') {
        const l = computeLayout(raw.width, raw.height, raw.format, DEFAULT_STRIDE_ALIGN, native.pageSize);
        shadowFile = createShmFile(l.size, { name: `bufshare-shadow-${raw.width}x${raw.height}` });
        shadowLayout = { stride: l.stride, size: l.size };
      }
    } catch (e) {
      raw.destroy();
      throw e;
    }
    super({
      id: newBufferId(), width: raw.width, height: raw.height, format: raw.format, modifier: raw.modifier,
      planes: [raw.plane, ...(raw.extraPlanes ?? [])], size: raw.size, kind: raw.kind, access: verdict.clientAccess, readOnly: verdict.readOnly,
    });
    this.raw = raw;
    this.verdict = verdict;
    this.shadowFile = shadowFile;
    this.shadowLayout = shadowLayout;
  }

  /** How the server maps this buffer (map() and commitShadow()). */
  get serverMapping(): ServerMapping {
    return this.verdict.serverMapping;
  }

  /** Why the access is not the best one ([] for a direct buffer mapped by its own backend). */
  get reasons(): readonly string[] {
    return this.verdict.reasons;
  }

  /** The dma-buf fd (owned by the buffer), if the buffer has one. */
  get dmabufFd(): number | undefined {
    return this.raw.export.fd;
  }

  /** The shadow's memfd (owned by the buffer), for shadow access. */
  get shadowFd(): number | undefined {
    return this.shadowFile?.fd;
  }

  export(): ExportedBuffer {
    this.checkAlive();
    const roles: FdRole[] = [];
    const fds: number[] = [];
    if (this.raw.export.fd !== undefined && this.verdict.exportsBuffer) {
      roles.push('buffer');
      fds.push(this.raw.export.fd);
    }
    if (this.shadowFile) {
      roles.push('shadow');
      fds.push(this.shadowFile.fd);
    }
    return {
      descriptor: {
        version: DESCRIPTOR_VERSION, id: this.id, width: this.width, height: this.height, format: this.format.fourcc,
        modifier: modifierToString(this.modifier), planes: this.planes, size: this.size, kind: this.kind,
        access: this.access, readOnly: this.readOnly, fds: roles, ...(this.shadowLayout ? { shadow: this.shadowLayout } : {}),
      },
      fds,
    };
  }

  commitShadow(damage: Region): number {
    this.checkAlive();
    if (!this.shadowFile || !this.shadowLayout) return 0;
    // The shadow stays mapped for the buffer's life: it is sealed memfd memory,
    // so no client can shrink it under this mapping.
    this.shadowRegion ??= mapFd({
      fd: this.shadowFile.fd, size: this.shadowLayout.size, mode: 'read', strategy: 'shadow', dmabuf: false,
      width: this.width, height: this.height, stride: this.shadowLayout.stride, format: this.format, offset: 0,
    });
    // A direct own mapping stays mapped too: mapping per commit costs an mmap
    // and a page fault per 4 KiB touched. Measured (host, memfd-backed, 2 busy
    // cores): full 1080p commit 7.5 ms per-commit map vs 0.6-1.6 ms kept mapped;
    // a 64x64 damage 0.2-0.6 ms vs 1.4-6.6 us. A gbm map is redone per commit:
    // it may be a staging copy that only reaches the buffer on unmap.
    if (this.raw.ownMappingIsDirect && this.verdict.serverMapping === this.raw.ownMapping) {
      this.commitTarget ??= this.raw.mapOwn('readwrite');
      copyRects(this.shadowRegion, this.commitTarget, damage, SHADOW_COPY);
      return damage.clip(this.width, this.height).area;
    }
    const target = this.mapServer('readwrite');
    try {
      copyRects(this.shadowRegion, target, damage, SHADOW_COPY);
      return damage.clip(this.width, this.height).area;
    } finally {
      target.unmap();
    }
  }

  protected mapRegion(mode: MapMode): GraphicsRegion {
    return this.mapServer(mode);
  }

  /**
   * Where a compositor reads one frame of this buffer, and whether that mapping
   * is only right for this frame. Each source's coherence rule (Mir-style):
   *
   * - shadow access: the shadow, a sealed memfd in cached RAM, the very memory
   *   the client drew into. Coherent by construction (one CPU cache domain), so
   *   the mapping is kept across frames. It is also why the hardware buffer is
   *   never the read source here: it may be write-combined (CPU reads about 40x
   *   slower) or tiled, and the shadow holds the same pixels, linear.
   * - dumb-map, direct (udmabuf's memfd): the buffer's own pages, coherent with
   *   the client's dma-buf mapping on every driver measured (DESIGN.md): kept.
   * - gbm-map: gbm_bo_map may hand out a staging copy made at map time (tiled
   *   or VRAM buffers on real GPUs), which would go stale: mapped per frame,
   *   unmapped at release, never reused for reading across frames.
   * - dmabuf-sync: mapFd opens DMA_BUF_IOCTL_SYNC START(READ) at map and END at
   *   unmap, so a per-frame mapping brackets exactly the compositor's reads
   *   (START when the frame is handed out, END when it is released).
   */
  mapFrameSource(): { readonly region: GraphicsRegion; readonly perFrame: boolean } {
    this.checkAlive();
    if (this.shadowFile && this.shadowLayout) {
      if (!this.frameShadow?.mapped) {
        this.frameShadow = mapFd({
          fd: this.shadowFile.fd, size: this.shadowLayout.size, mode: 'read', strategy: 'shadow', dmabuf: false,
          width: this.width, height: this.height, stride: this.shadowLayout.stride, format: this.format, offset: 0,
        });
      }
      return { region: this.frameShadow, perFrame: false };
    }
    const mapping = this.verdict.serverMapping;
    const persistent = (mapping === 'dumb-map' || mapping === 'direct') && this.raw.ownMappingIsDirect;
    return { region: this.map({ mode: 'read' }), perFrame: !persistent };
  }

  private mapServer(mode: MapMode): GraphicsRegion {
    if (this.verdict.serverMapping !== 'dmabuf-sync') return this.raw.mapOwn(mode);
    const fd = this.raw.export.fd;
    if (fd === undefined) throw new BufshareError('ERR_BUFSHARE_UNSUPPORTED', `buffer ${this.id} has no dma-buf to map`);
    const plane = this.planes[0]!;
    return mapFd({
      fd, size: this.size, mode, strategy: 'dmabuf-sync', dmabuf: true,
      width: this.width, height: this.height, stride: plane.stride, format: this.format, offset: plane.offset,
    });
  }

  /** Also true when the shadow (the server's own mapping of it) faulted: a truncated fallback shm file. */
  override get faulted(): boolean {
    return super.faulted || this.shadowRegion?.faulted === true;
  }

  protected releaseResources(): void {
    const errors: unknown[] = [];
    for (const region of [this.shadowRegion, this.commitTarget, this.frameShadow]) {
      try {
        region?.unmap();
      } catch (e) {
        errors.push(e);
      }
    }
    try {
      if (this.shadowFile) releaseShmFile(this.shadowFile); // its pages too: the client keeps an fd
    } catch (e) {
      errors.push(e);
    }
    try {
      this.raw.destroy();
    } catch (e) {
      errors.push(e);
    }
    if (errors.length > 0) throw errors[0];
  }
}

/** Probe geometry for an allocator's per-format capability check: small, so it costs little. */
export const CAPABILITY_PROBE_SIZE = 64;

/**
 * What one kind can do on a device for `format`, tried once on a small buffer
 * and remembered: the allocators' half of the probe (lib/probe/paths.ts).
 */
export class CapabilityCache {
  private readonly byFormat = new Map<number, KindCapability>();

  constructor(private readonly make: (width: number, height: number, format: FormatInfo) => RawBuffer) {}

  get(format: FormatInfo): KindCapability {
    let cap = this.byFormat.get(format.fourcc);
    if (!cap) {
      cap = probeCapability(() => this.make(CAPABILITY_PROBE_SIZE, CAPABILITY_PROBE_SIZE, format));
      this.byFormat.set(format.fourcc, cap);
    }
    return cap;
  }
}

/** Makes a buffer object with `make`, tries its paths, destroys it. */
export function probeCapability(make: () => RawBuffer): KindCapability {
  let raw: RawBuffer;
  try {
    raw = make();
  } catch (e) {
    const f = failureOf('allocate', e);
    const none = skipped('allocation failed');
    return { allocate: f, exportReadWrite: none, exportReadOnly: none, dmabufMmapRead: none, dmabufMmapWrite: none, serverMaps: {} };
  }
  try {
    return tryPaths(raw);
  } finally {
    raw.destroy();
  }
}

/**
 * Wraps a new buffer object: its own exports, the capability `probed` for its
 * kind, and a live mmap of its dma-buf go through decideAccess(). A failed mmap
 * here means shadow access, not an error. Takes ownership of `raw`.
 */
export function createHardwareBuffer(raw: RawBuffer, probed: KindCapability, forceShadow: string | undefined): HardwareBuffer {
  let verdict: AccessVerdict;
  try {
    const fd = raw.export.fd;
    let write: PathResult;
    if (!raw.export.readWrite.ok || fd === undefined) write = skipped('no read-write dma-buf');
    else if (!probed.dmabufMmapWrite.ok) write = probed.dmabufMmapWrite;
    else if (dmabufMmapForbidden(raw.driver)) write = skipped('quirk');
    else write = tryMmapWrite(fd, raw.size);
    const capability: KindCapability = {
      allocate: ok(), exportReadWrite: raw.export.readWrite, exportReadOnly: raw.export.readOnly,
      dmabufMmapRead: probed.dmabufMmapRead, dmabufMmapWrite: write,
      serverMaps: { ...probed.serverMaps, 'dmabuf-sync': write },
    };
    verdict = decideAccess({
      kind: raw.kind, driver: raw.driver, capability, layout: { modifier: raw.modifier, planes: 1 + (raw.extraPlanes?.length ?? 0) }, ...(forceShadow ? { forceShadow } : {}),
    });
  } catch (e) {
    raw.destroy();
    throw e;
  }
  if (!verdict.usable) {
    raw.destroy();
    throw new BufshareError('ERR_BUFSHARE_UNSUPPORTED', `${raw.kind} buffers${raw.driver ? ` on ${raw.driver}` : ''} cannot be used: ${verdict.reason}`);
  }
  const v = verdict;
  debug('access', () => `${raw.kind} ${raw.width}x${raw.height} ${raw.format.name}${raw.driver ? ` on ${raw.driver}` : ''}: client ${v.clientAccess}, server ${v.serverMapping}${v.readOnly ? ', read-only dma-buf' : ''}${v.reasons.length ? ` because ${v.reasons.join('; ')}` : ''}`);
  return new HardwareBuffer(raw, v);
}
