/**
 * A framebuffer: XRGB8888 pixels in this process's memory. The output is one
 * (what the compositor composes into, what the viewers and the PNG writer read);
 * the background it is repainted from is another.
 *
 * How am I supposed to use this? `fb.region` is the whole framebuffer;
 * `fb.viewAt(x, y)` is a region whose pixel (0, 0) is the framebuffer's (x, y), so
 * that copyRects (which copies each rectangle to the same coordinates in both
 * regions) can copy a surface's pixels to where the surface sits.
 */
import { alignedPixelMemory, BufshareError, GraphicsRegion, MAX_DIMENSION, resolveFormat } from '../../lib';

export const DEFAULT_OUTPUT_WIDTH = 1280;
export const DEFAULT_OUTPUT_HEIGHT = 720;

export class Framebuffer {
  readonly width: number;
  readonly height: number;
  /** Bytes per row: width * 4 (no padding: the viewer and PNG writer read rows back to back). */
  readonly stride: number;
  readonly region: GraphicsRegion;
  private readonly memory: ArrayBuffer;
  /** Views by origin: surfaces sit still most of the time, and a view costs two typed arrays. */
  private readonly views = new Map<number, GraphicsRegion>();

  constructor(width = DEFAULT_OUTPUT_WIDTH, height = DEFAULT_OUTPUT_HEIGHT) {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || width > MAX_DIMENSION || height > MAX_DIMENSION) {
      throw new BufshareError('ERR_BUFSHARE_INVALID_DIMENSIONS', `framebuffer size ${width}x${height} is out of range`);
    }
    this.width = width;
    this.height = height;
    this.stride = width * 4;
    // One spare row: a view at (x, y) spans stride * (height - y) bytes from its
    // corner, which runs x pixels past the last visible one; GraphicsRegion
    // checks whole strides, so the spare row keeps every view in bounds.
    // On a page: rows then start on cache lines wherever the stride is a multiple
    // of 64 bytes (lib/compose.ts alignedPixelMemory says what that saves).
    this.memory = alignedPixelMemory(this.stride * (height + 1));
    // 'direct': plain memory of this process, there is no access bracket to end.
    this.region = new GraphicsRegion(this.memory, this.geometry(0, 0), 'readwrite', 'direct', noop);
  }

  get pixels32(): Uint32Array {
    return this.region.pixels32;
  }

  /** Rows of 32-bit pixels, for the blend and fill loops. */
  get plane(): { pixels32: Uint32Array; stride32: number } {
    return { pixels32: this.region.pixels32, stride32: this.width };
  }

  /** A view whose pixel (0, 0) is the framebuffer's (x, y), reaching the framebuffer's right and bottom edges. */
  viewAt(x: number, y: number): GraphicsRegion {
    if (!Number.isInteger(x) || !Number.isInteger(y) || x < 0 || y < 0 || x >= this.width || y >= this.height) {
      throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', `view origin (${x}, ${y}) is outside the ${this.width}x${this.height} framebuffer`);
    }
    const key = y * this.width + x;
    let view = this.views.get(key);
    if (!view) {
      if (this.views.size >= MAX_CACHED_VIEWS) this.views.clear();
      view = new GraphicsRegion(this.memory, this.geometry(x, y), 'readwrite', 'direct', noop);
      this.views.set(key, view);
    }
    return view;
  }

  private geometry(x: number, y: number): { width: number; height: number; stride: number; format: ReturnType<typeof resolveFormat>; offset: number } {
    return { width: this.width - x, height: this.height - y, stride: this.stride, format: XRGB, offset: y * this.stride + x * 4 };
  }
}

const XRGB = resolveFormat('XRGB8888');
const MAX_CACHED_VIEWS = 64;

function noop(): void {}
