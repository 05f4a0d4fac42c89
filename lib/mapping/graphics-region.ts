/**
 * GraphicsRegion: the pixels of a buffer, mapped for the CPU, zero copy.
 *
 * How am I supposed to use this? `const region = buffer.map({ mode: 'write' })`,
 * draw through `region.pixels32` (row y starts at `y * region.stride / 4`), then
 * `region.unmap()`. Writes are visible to every other mapping of the buffer once
 * the region is unmapped (for dma-bufs, unmap ends the CPU access bracket; for a
 * shadow, the server copies the damage you submit).
 *
 * Ownership: the region owns its mapping. unmap() detaches the memory first, so
 * every view taken from `pixels`/`pixels32` drops to length 0 before the range is
 * released: no view can ever reach unmapped memory. A region the program forgets
 * is unmapped when its memory is garbage collected.
 */
import { BufshareError } from '../errors';
import type { FormatInfo } from '../format';

export type MapMode = 'read' | 'write' | 'readwrite';

/**
 * How the CPU reaches the pixels, and each one's coherence rule (when writes
 * made through one mapping are seen through another):
 * - direct: mmap of a shared-memory file (shm buffers, udmabuf's memfd). One CPU
 *   cache domain: a write is visible to every other mapping at once; a mapping
 *   may be kept for the buffer's life.
 * - dmabuf-sync: mmap of the dma-buf. Coherent only inside a DMA_BUF_IOCTL_SYNC
 *   bracket: START (opened by the map) makes the device's writes visible, END
 *   (at unmap, or a swapchain's submit) makes ours visible to the device. The
 *   server brackets once per frame: START when the frame is handed out, END at
 *   release. START waits for the buffer's fences (lib/sync waits first, on the loop).
 * - gbm-map: gbm_bo_map (server side). May be a staging copy made at map time
 *   and written back at unmap (tiled or VRAM buffers on real GPUs): right for
 *   one frame only, never reused across frames for reading.
 * - dumb-map: DRM_IOCTL_MODE_MAP_DUMB + mmap of the card node (server side).
 *   The buffer's own linear pages, coherent with a dma-buf mapping of it on
 *   every driver measured: kept.
 * - shadow: a shm copy of the geometry (cached RAM); the server copies submitted
 *   damage into the buffer, and reads frames from the shadow, never from the
 *   (maybe write-combined) buffer. Coherent like direct.
 * See HardwareBuffer.mapFrameSource and docs/reliability.md (section 8).
 */
export type MappingStrategy = 'direct' | 'dmabuf-sync' | 'gbm-map' | 'dumb-map' | 'shadow';

export interface RegionGeometry {
  readonly width: number;
  readonly height: number;
  readonly stride: number;
  readonly format: FormatInfo;
  /** Byte offset of pixel (0, 0) in the mapped memory. */
  readonly offset: number;
}

export function modeAllowsWrite(mode: MapMode): boolean {
  return mode !== 'read';
}

export function checkMapMode(mode: unknown): MapMode {
  if (mode === 'read' || mode === 'write' || mode === 'readwrite') return mode;
  throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', `map mode must be 'read', 'write' or 'readwrite', got ${String(mode)}`);
}

export class GraphicsRegion {
  readonly width: number;
  readonly height: number;
  readonly stride: number;
  readonly format: FormatInfo;
  readonly mode: MapMode;
  readonly strategy: MappingStrategy;
  private readonly bytes: Uint8Array;
  private readonly words: Uint32Array | undefined;
  private release: (() => void) | undefined;
  private readonly faultProbe: (() => boolean) | undefined;
  private sawFault = false;

  /**
   * @param memory the mapped memory (an external ArrayBuffer from the addon, or a
   *   shadow's); must hold offset + stride x height bytes
   * @param release ends access and unmaps; called once, by unmap()
   * @param faultProbe for a mapping the SIGBUS guard watches: true once its file
   *   shrank under it (see `faulted`)
   */
  constructor(memory: ArrayBuffer, geometry: RegionGeometry, mode: MapMode, strategy: MappingStrategy, release: () => void,
    faultProbe?: () => boolean) {
    const { width, height, stride, format, offset } = geometry;
    const length = stride * height;
    if (stride < width * format.bpp || offset < 0 || offset + length > memory.byteLength) {
      throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT',
        `region ${width}x${height} stride ${stride} at offset ${offset} does not fit a ${memory.byteLength}-byte mapping`);
    }
    this.width = width;
    this.height = height;
    this.stride = stride;
    this.format = format;
    this.mode = mode;
    this.strategy = strategy;
    this.bytes = new Uint8Array(memory, offset, length);
    this.words = offset % 4 === 0 && length % 4 === 0 ? new Uint32Array(memory, offset, length / 4) : undefined;
    this.release = release;
    this.faultProbe = faultProbe;
  }

  /**
   * True once the memory under this region vanished: another holder of an
   * unsealed file truncated it, and the SIGBUS guard replaced the pages with
   * zeros so that reading them could not kill the process. The pixels are no
   * longer the buffer's; drop it (a server disconnects the client that did it).
   * Stays true after unmap. A dma-buf can fault too (its exporter lost the pages:
   * purged, unplugged); a sealed memfd never does.
   */
  get faulted(): boolean {
    if (!this.sawFault && this.release !== undefined && this.faultProbe?.() === true) this.sawFault = true;
    return this.sawFault;
  }

  /**
   * True when the SIGBUS guard watches this mapping (its file is unsealed and
   * could shrink): it holds one slot of the guard's process-wide table.
   */
  get guarded(): boolean {
    return this.faultProbe !== undefined;
  }

  /** The pixel bytes, row y at `y * stride`. Length 0 once unmapped. */
  get pixels(): Uint8Array {
    return this.bytes;
  }

  /**
   * The pixels as 32-bit words (native endianness: 0xAARRGGBB for ARGB8888),
   * row y at `y * stride / 4`. Length 0 once unmapped.
   */
  get pixels32(): Uint32Array {
    if (!this.words) {
      throw new BufshareError('ERR_BUFSHARE_UNSUPPORTED', `pixels32 needs a stride and offset that are multiples of 4 (stride ${this.stride})`);
    }
    return this.words;
  }

  /** Pixels per row in pixels32 (stride / 4). */
  get stride32(): number {
    return this.stride / 4;
  }

  get mapped(): boolean {
    return this.release !== undefined;
  }

  /** Ends CPU access and releases the mapping. Idempotent. */
  unmap(): void {
    const release = this.release;
    if (!release) return;
    void this.faulted; // remember a fault past the unmap
    this.release = undefined;
    release();
  }

  [Symbol.dispose](): void {
    this.unmap();
  }
}
