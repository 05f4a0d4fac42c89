/**
 * ComposePass: the layers of one composition (background patches, opaque
 * surfaces copied, premultiplied translucent ones blended), painted back to front
 * into an XRGB8888 output in one native call. Sources in the other formats the
 * servers offer (XBGR8888 and RGB565 copied, ABGR8888 blended) are converted
 * natively as they are painted, pixel for pixel what converting them to
 * XRGB8888/ARGB8888 first would paint.
 *
 * How am I supposed to use this? Keep one pass and reuse it every frame: `begin`
 * with the output and the background, add the layers bottom first (each with its
 * damaged rectangles in output coordinates and where its pixel (0, 0) lies on
 * the output), then `run`. A compositor's scattered damage is dozens of short
 * rectangles over a few surfaces: a native call per surface (copyRects,
 * blendRects) cost more than copying its pixels, and one call can fetch the
 * next rows while it copies this one. Every rectangle is clipped natively to the
 * output and to its source; nothing is read or written outside any mapping.
 */
import { BufshareError } from './errors';
import { IN_CACHE_COPY } from './damage/cost-model';
import { packedModel } from './damage/plan';
import type { GraphicsRegion } from './mapping/graphics-region';
import { alignedArrayBuffer, composeLayersRaw } from './native';

/** Pixels painted by a pass, by where they came from. */
export interface ComposeCounts {
  /** Copied from opaque layers. */
  copied: number;
  /** Blended from translucent layers. */
  blended: number;
  /** Copied from the background. */
  background: number;
}

const enum Kind {
  CopyBackground = 0,
  Copy = 1,
  CopyComplete = 2,
  Blend = 3,
  BlendOverBackground = 4,
  CopyXbgr = 5,
  CopyRgb565 = 6,
  BlendAbgr = 7,
  BlendAbgrOverBackground = 8,
  CopyScaled = 9,
  CopyScaledXbgr = 10,
  CopyScaledRgb565 = 11,
  BlendScaled = 12,
  BlendScaledAbgr = 13,
}

/** A scaled layer's crop, in source pixels (lib/region's Rect, integers). */
export interface SourceRect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** A scaled layer's destination size bound (the scene's coordinate bound). */
const MAX_SCALED = 1 << 24;

const OP_INTS = 8;
/** The in-cache copy model, as the native plans take it (a compositor's planes stay in the cache). */
const MODEL = packedModel(IN_CACHE_COPY);

export class ComposePass {
  private output: GraphicsRegion | undefined;
  private background: GraphicsRegion | undefined;
  /** A header (the planes' geometry, the row count), then OP_INTS per layer (two rows for a scaled layer: the second its crop and size). */
  private ops: Int32Array<ArrayBuffer> = new Int32Array(OP_INTS * 8);
  private opCount = 0;
  private rects: Int32Array<ArrayBuffer> = new Int32Array(4 * 64);
  private rectInts = 0;
  /** The layers' pixels, `sourceCount` of them (entries past it are undefined: reused, never truncated). */
  private readonly sources: (Uint8Array | undefined)[] = [];
  private sourceCount = 0;
  /** The in-cache cost model (the plans'), then the 3 counts the native call sets. */
  private readonly numbers = new Float64Array(MODEL.length + 3);

  constructor() {
    this.numbers.set(MODEL);
  }

  /** Starts a pass into `output` over `background` (both XRGB8888; the background only read). */
  begin(output: GraphicsRegion, background: GraphicsRegion): this {
    if (output.format.name !== 'XRGB8888' || background.format.name !== 'XRGB8888') {
      throw new BufshareError('ERR_BUFSHARE_UNSUPPORTED_FORMAT', `a compose pass paints XRGB8888 over XRGB8888, not ${output.format.name} over ${background.format.name}`);
    }
    // A 'read' mapping is PROT_READ: a native write into it would kill the process.
    if (output.mode === 'read') throw new BufshareError('ERR_BUFSHARE_READ_ONLY', 'a compose pass into a region mapped for reading');
    this.output = output;
    this.background = background;
    this.clear();
    return this;
  }

  /** Layers queued and not yet painted (a scaled layer counts twice: its two rows). */
  get pending(): number {
    return this.opCount;
  }

  /** The background's pixels in `rects` (`count` quadruples). */
  addBackground(rects: Int32Array, count = rects.length / 4): void {
    this.push(Kind.CopyBackground, -1, 0, 0, 0, 0, 0, rects, count);
  }

  /**
   * `src`'s pixels in `rects`, an opaque layer, its pixel (0, 0) at output (x, y):
   * XRGB8888 copied as it is (X byte included), XBGR8888 with red and blue
   * swapped (X byte as it is), RGB565 widened to 8 bits a channel by bit
   * replication (X 0xff). `complete` (XRGB8888 only; the converting copies
   * ignore it): the source holds the layer's whole current image and nothing
   * is painted over it, so the plan may copy undamaged pixels of it where
   * joining rows is cheaper.
   */
  addCopy(src: GraphicsRegion, x: number, y: number, rects: Int32Array, count = rects.length / 4, complete = false): void {
    let kind: Kind;
    switch (src.format.name) {
      case 'XRGB8888':
        kind = complete ? Kind.CopyComplete : Kind.Copy;
        break;
      case 'XBGR8888':
        kind = Kind.CopyXbgr;
        break;
      case 'RGB565':
        kind = Kind.CopyRgb565;
        break;
      default:
        throw new BufshareError('ERR_BUFSHARE_UNSUPPORTED_FORMAT', `cannot copy ${src.format.name} into an XRGB8888 output: the source must be XRGB8888, XBGR8888 or RGB565`);
    }
    this.pushSource(src, kind, x, y, rects, count);
  }

  /**
   * Premultiplied ARGB8888 or ABGR8888 `src` blended (source-over) in `rects`,
   * its pixel (0, 0) at output (x, y): over what the output holds there, or,
   * with `overBackground`, over the background (the output there is only
   * written). An ABGR8888 source blends exactly as its ARGB8888 conversion.
   */
  addBlend(src: GraphicsRegion, x: number, y: number, rects: Int32Array, count = rects.length / 4, overBackground = false): void {
    let kind: Kind;
    switch (src.format.name) {
      case 'ARGB8888':
        kind = overBackground ? Kind.BlendOverBackground : Kind.Blend;
        break;
      case 'ABGR8888':
        kind = overBackground ? Kind.BlendAbgrOverBackground : Kind.BlendAbgr;
        break;
      default:
        throw new BufshareError('ERR_BUFSHARE_UNSUPPORTED_FORMAT', `cannot blend ${src.format.name} over XRGB8888: the source must be premultiplied ARGB8888 or ABGR8888`);
    }
    this.pushSource(src, kind, x, y, rects, count);
  }

  /**
   * `src`'s crop `source` (whole source pixels, inside `src`) scaled to
   * `width` x `height` output pixels with its top-left at output (x, y),
   * painted in `rects` (output coordinates): opaque formats (XRGB8888,
   * XBGR8888, RGB565) copied, premultiplied ARGB8888/ABGR8888 blended over the
   * output, each converted as addCopy/addBlend convert. Nearest-neighbour:
   * destination pixel (dx, dy) shows source (source.x + floor(dx *
   * source.width / width), source.y + floor(dy * source.height / height)),
   * exact integer math (no filtering: a viewport's scale is shown
   * blocky up and drops pixels down). The source is whole pixels: nearest
   * sampling reads whole pixels anyway, so wp_viewporter's fixed-point
   * source is rounded to whole buffer pixels before it gets here
   * (WaylandSurface.viewport).
   */
  addScaled(src: GraphicsRegion, x: number, y: number, source: SourceRect, width: number, height: number, rects: Int32Array, count = rects.length / 4): void {
    let kind: Kind;
    switch (src.format.name) {
      case 'XRGB8888':
        kind = Kind.CopyScaled;
        break;
      case 'XBGR8888':
        kind = Kind.CopyScaledXbgr;
        break;
      case 'RGB565':
        kind = Kind.CopyScaledRgb565;
        break;
      case 'ARGB8888':
        kind = Kind.BlendScaled;
        break;
      case 'ABGR8888':
        kind = Kind.BlendScaledAbgr;
        break;
      default:
        throw new BufshareError('ERR_BUFSHARE_UNSUPPORTED_FORMAT', `cannot scale ${src.format.name} into an XRGB8888 output`);
    }
    const { x: sx, y: sy, width: sw, height: sh } = source;
    if (![sx, sy, sw, sh].every(Number.isInteger) || sx < 0 || sy < 0 || sw < 1 || sh < 1 || sx + sw > src.width || sy + sh > src.height) {
      throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', `source rectangle ${sw}x${sh}+${sx}+${sy} is empty or outside the ${src.width}x${src.height} source`);
    }
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || width > MAX_SCALED || height > MAX_SCALED) {
      throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', `destination size ${width}x${height} is out of range`);
    }
    if (!this.pushSource(src, kind, x, y, rects, count)) return;
    // The second row (counted as a layer in the header).
    const o = ++this.opCount * OP_INTS;
    const ops = this.ops;
    ops[o] = sx;
    ops[o + 1] = sy;
    ops[o + 2] = sw;
    ops[o + 3] = sh;
    ops[o + 4] = width;
    ops[o + 5] = height;
    ops[o + 6] = 0;
    ops[o + 7] = 0;
  }

  /** Paints the queued layers, bottom first; returns what they painted. The pass stays begun, empty. */
  run(): ComposeCounts {
    const output = this.output;
    const background = this.background;
    if (!output || !background) throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', 'run() before begin()');
    if (this.opCount === 0) return { copied: 0, blended: 0, background: 0 };
    if (!output.mapped || !background.mapped) throw new BufshareError('ERR_BUFSHARE_UNMAPPED', 'a compose pass on an unmapped region');
    try {
      const ops = this.ops;
      ops[0] = output.stride;
      ops[1] = output.width;
      ops[2] = output.height;
      ops[3] = background.stride;
      ops[4] = background.width;
      ops[5] = background.height;
      ops[6] = this.opCount;
      ops[7] = this.sourceCount;
      composeLayersRaw(output.pixels, background.pixels, this.sources as Uint8Array[], ops, this.rects, this.numbers);
    } finally {
      this.clear();
    }
    const n = this.numbers;
    return { copied: n[MODEL.length]!, blended: n[MODEL.length + 1]!, background: n[MODEL.length + 2]! };
  }

  private clear(): void {
    this.opCount = 0;
    this.rectInts = 0;
    // Let go of the sources (a client buffer unmapped must not stay reachable from here).
    for (let i = 0; i < this.sourceCount; i++) this.sources[i] = undefined;
    this.sourceCount = 0;
  }

  /** False when nothing was queued (no rectangles). */
  private pushSource(src: GraphicsRegion, kind: Kind, x: number, y: number, rects: Int32Array, count: number): boolean {
    if (!isInt32(x) || !isInt32(y)) throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', `layer position (${x}, ${y}) must be 32-bit integers`);
    if (!src.mapped) throw new BufshareError('ERR_BUFSHARE_UNMAPPED', 'a compose layer from an unmapped region');
    // A source seen before (two parts of one surface) is passed once.
    const pixels = src.pixels;
    let index = 0;
    while (index < this.sourceCount && this.sources[index] !== pixels) index++;
    if (index === this.sourceCount) this.sources[this.sourceCount++] = pixels;
    return this.push(kind, index, src.stride, src.width, src.height, x, y, rects, count);
  }

  private push(kind: Kind, source: number, stride: number, width: number, height: number, x: number, y: number, rects: Int32Array, count: number): boolean {
    if (!this.output) throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', 'a layer added before begin()');
    if (!Number.isInteger(count) || count < 0 || count * 4 > rects.length) {
      throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', `${count} rectangles asked of a list of ${rects.length / 4}`);
    }
    if (count === 0) return false;
    // Room for the header, this layer and a scaled layer's second row.
    if ((this.opCount + 3) * OP_INTS > this.ops.length) this.ops = grow(this.ops, (this.opCount + 3) * OP_INTS);
    if (this.rectInts + count * 4 > this.rects.length) this.rects = grow(this.rects, this.rectInts + count * 4);
    const o = ++this.opCount * OP_INTS;
    const ops = this.ops;
    ops[o] = kind;
    ops[o + 1] = source;
    ops[o + 2] = stride;
    ops[o + 3] = width;
    ops[o + 4] = height;
    ops[o + 5] = x;
    ops[o + 6] = y;
    ops[o + 7] = count;
    // A loop, not set(subarray()): a view allocated per layer was most of this method's time.
    const into = this.rects;
    const at = this.rectInts;
    for (let i = 0, n = count * 4; i < n; i++) into[at + i] = rects[i]!;
    this.rectInts += count * 4;
    return true;
  }
}

/**
 * `bytes` of zeroed memory starting on a page, for a compositor's output and
 * background: Node's own ArrayBuffers start 16 bytes past a page (malloc's
 * header), so every row start of a 64-byte-multiple stride splits a cache line,
 * which costs short-row copies and 64-byte stores (measured on the benchmark's
 * 16 scattered rectangles: 7.3 us of copies aligned, 9.0 us 16 bytes off).
 * Freed when the ArrayBuffer is collected.
 */
export function alignedPixelMemory(bytes: number): ArrayBuffer {
  if (!Number.isInteger(bytes) || bytes < 1) throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', `cannot allocate ${bytes} bytes`);
  return alignedArrayBuffer(bytes);
}

function grow(a: Int32Array, atLeast: number): Int32Array<ArrayBuffer> {
  const grown = new Int32Array(Math.max(atLeast, a.length * 2));
  grown.set(a);
  return grown;
}

function isInt32(v: number): boolean {
  return Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31;
}
