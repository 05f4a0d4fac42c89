/**
 * Paints the damaged part of one output from the scene's leaves, and nothing else.
 *
 * Front to back, each leaf claims the damage it covers that no opaque leaf above
 * it hides; the background fills what no opaque leaf covers; then back to front,
 * opaque buffers are copied, translucent ones blended over what is below them,
 * all in one native call (ComposePass: a call per surface cost more than the
 * pixels of scattered damage). A pixel under an opaque leaf is written once.
 * Opaque solid rectangles are filled from JS (a typed-array fill per row);
 * translucent ones are blended from a premultiplied buffer of their colour.
 */
import { BufshareError } from '../errors';
import { ComposePass } from '../compose';
import { resolveFormat } from '../format';
import { GraphicsRegion } from '../mapping/graphics-region';
import { alignedPixelMemory } from '../compose';
import type { Region } from '../region';
import { SceneRect, type LeafPlacement, type SceneBufferNode } from './node';
import { RectList } from './rect-list';

/** What a buffer of a format the output cannot show (none of ARGB/XRGB/ABGR/XBGR8888, RGB565) paints instead, so it still shows where it is. */
export const PLACEHOLDER_COLOR = 0xff5a5f6b;

/** Pixels painted by one render, by where they came from. */
export interface RenderStats {
  copied: number;
  blended: number;
  background: number;
  filled: number;
}

type PaintMode = 'copy' | 'blend' | 'fill' | 'placeholder';

const XRGB = resolveFormat('XRGB8888');
const ARGB = resolveFormat('ARGB8888');

/** An XRGB8888 plane in this process's memory, page-aligned (see alignedPixelMemory). */
export function pixelRegion(width: number, height: number, format: 'XRGB8888' | 'ARGB8888' = 'XRGB8888'): GraphicsRegion {
  const stride = width * 4;
  const memory = alignedPixelMemory(Math.max(1, stride * height));
  return new GraphicsRegion(memory, { width, height, stride, format: format === 'XRGB8888' ? XRGB : ARGB, offset: 0 }, 'readwrite', 'direct', () => {});
}

/** Premultiplied planes of one colour for translucent rectangles, kept while the rectangle lives and keeps its size (in pixels of the output painting it) and colour. */
const solidSources = new WeakMap<SceneRect, { color: number; region: GraphicsRegion }>();

function solidSource(rect: SceneRect, width: number, height: number): GraphicsRegion {
  const cached = solidSources.get(rect);
  if (cached && cached.color === rect.color && cached.region.width === width && cached.region.height === height) return cached.region;
  const region = pixelRegion(width, height, 'ARGB8888');
  region.pixels32.fill(rect.color);
  solidSources.set(rect, { color: rect.color, region });
  return region;
}

function paintModeOf(leaf: LeafPlacement): PaintMode {
  const node = leaf.node;
  if (node instanceof SceneRect) return node.opaque ? 'fill' : 'blend';
  // A viewport's source past its buffer: nothing of the buffer to show there.
  if ((node as SceneBufferNode).viewport !== undefined && (node as SceneBufferNode).sourceRect === undefined) return 'placeholder';
  const format = (node as SceneBufferNode).buffer!.region.format;
  if (format.name === 'XRGB8888' || format.name === 'XBGR8888' || format.name === 'RGB565') return 'copy';
  if (format.name === 'ARGB8888' || format.name === 'ABGR8888') return 'blend';
  return 'placeholder';
}

/** A leaf's place in the output's pixels: layout units less the output's corner, times its scale. */
interface PixelRect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * A buffer leaf that is not its buffer's pixels 1:1 on this output: cropped,
 * or scaled (a viewport, a buffer scale other than the output's).
 */
function isScaled(leaf: LeafPlacement, px: PixelRect): boolean {
  if (leaf.node.constructor === SceneRect) return false;
  const node = leaf.node as SceneBufferNode;
  const b = node.buffer!;
  const src = node.sourceRect;
  if (src === undefined) return false; // the placeholder
  return src.x !== 0 || src.y !== 0 || src.width !== b.width || src.height !== b.height || b.width !== px.width || b.height !== px.height;
}

function isOpaque(mode: PaintMode): boolean {
  return mode !== 'blend';
}

/**
 * One output's painter; keeps its scratch lists and native pass from one frame
 * to the next (a render runs to completion and holds nothing after it).
 */
export class SceneRenderer {
  private readonly pass = new ComposePass();
  private readonly scratch: RectList[] = [];
  private used = 0;
  private readonly parts: RectList[] = [];
  private readonly direct: (RectList | undefined)[] = [];
  private readonly planned: (LeafPlacement | undefined)[] = [];
  private readonly modes: PaintMode[] = [];
  private readonly pixelRects: PixelRect[] = [];

  /**
   * Repaints `damage` (output pixels, inside the output) of `target` from
   * `leaves` (bottom to top, layout coordinates) as seen by an output whose
   * top-left corner is layout (ox, oy) and which has `scale` pixels per layout
   * unit, over `background` (the output's size).
   */
  render(leaves: readonly LeafPlacement[], ox: number, oy: number, scale: number, target: GraphicsRegion, background: GraphicsRegion, damage: Region): RenderStats {
    const stats: RenderStats = { copied: 0, blended: 0, background: 0, filled: 0 };
    if (damage.isEmpty) return stats;
    if (target.format.name !== 'XRGB8888') throw new BufshareError('ERR_BUFSHARE_UNSUPPORTED_FORMAT', `a scene output paints XRGB8888, not ${target.format.name}`);
    this.used = 0;
    let uncovered = this.take().setRects(damage.rects);
    let spare = this.take();
    let plans = 0;
    for (let i = leaves.length - 1; i >= 0 && uncovered.count > 0; i--) {
      const leaf = leaves[i]!;
      if (leaf.node.constructor !== SceneRect && !(leaf.node as SceneBufferNode).buffer!.region.mapped) continue;
      const r = leaf.rect;
      const px = (this.pixelRects[plans] ??= { x: 0, y: 0, width: 0, height: 0 });
      px.x = (r.x - ox) * scale;
      px.y = (r.y - oy) * scale;
      px.width = r.width * scale;
      px.height = r.height * scale;
      const part = this.take().setClipped(uncovered, px.x, px.y, px.width, px.height);
      if (part.count === 0) {
        this.used--;
        continue;
      }
      const mode = paintModeOf(leaf);
      this.planned[plans] = leaf;
      this.modes[plans] = mode;
      this.parts[plans] = part;
      this.direct[plans] = undefined;
      plans++;
      if (isOpaque(mode)) {
        spare.setSubtracted(uncovered, px.x, px.y, px.width, px.height);
        [uncovered, spare] = [spare, uncovered];
      }
    }
    // Where a translucent leaf lies straight on the background (nothing painted
    // below it there), it is blended over the background into the output in one
    // pass instead of the background being copied first and read back.
    for (let k = 0; k < plans; k++) {
      // (Not for a scaled blend: the pass scales over the output only.)
      if (this.modes[k] !== 'blend' || isScaled(this.planned[k]!, this.pixelRects[k]!)) continue;
      let direct = this.take().setCopy(this.parts[k]!);
      let spare1 = this.take();
      for (let j = k + 1; j < plans && direct.count > 0; j++) {
        const rest = direct.subtractList(this.parts[j]!, spare1);
        if (rest === spare1) spare1 = direct;
        direct = rest;
      }
      if (direct.count === 0) continue;
      this.direct[k] = direct;
      const rest = uncovered.subtractList(direct, spare);
      if (rest === spare) spare = uncovered;
      uncovered = rest;
    }
    const pass = this.pass;
    pass.begin(target, background);
    pass.addBackground(uncovered.ints, uncovered.count);
    try {
      for (let i = plans - 1; i >= 0; i--) this.paint(this.planned[i]!, this.pixelRects[i]!, this.modes[i]!, this.parts[i]!, this.direct[i], target, stats);
      this.flush(stats);
    } finally {
      for (let i = 0; i < plans; i++) {
        this.planned[i] = undefined;
        this.direct[i] = undefined;
      }
    }
    return stats;
  }

  private paint(leaf: LeafPlacement, px: PixelRect, mode: PaintMode, part: RectList, direct: RectList | undefined, target: GraphicsRegion, stats: RenderStats): void {
    const { x, y } = px;
    switch (mode) {
      case 'copy':
        if (isScaled(leaf, px)) this.addScaled(leaf, px, part);
        else this.pass.addCopy((leaf.node as SceneBufferNode).buffer!.region, x, y, part.ints, part.count);
        break;
      case 'blend': {
        if (isScaled(leaf, px)) {
          this.addScaled(leaf, px, part);
          break;
        }
        const src = leaf.node instanceof SceneRect ? solidSource(leaf.node, px.width, px.height) : leaf.node.buffer!.region;
        let rest = part;
        if (direct) {
          this.pass.addBlend(src, x, y, direct.ints, direct.count, true);
          rest = part.subtractList(direct, this.take());
        }
        this.pass.addBlend(src, x, y, rest.ints, rest.count);
        break;
      }
      case 'fill':
        this.fill(target, part, (leaf.node as SceneRect).color, stats);
        break;
      case 'placeholder':
        this.fill(target, part, PLACEHOLDER_COLOR, stats);
        break;
    }
  }

  /** A cropped or scaled leaf: its source scaled to the leaf's size in pixels (copied or blended by format). */
  private addScaled(leaf: LeafPlacement, px: PixelRect, part: RectList): void {
    const node = leaf.node as SceneBufferNode;
    this.pass.addScaled(node.buffer!.region, px.x, px.y, node.sourceRect!, px.width, px.height, part.ints, part.count);
  }

  /** Flat fills, in JS: what is queued below them is painted first (a blend above reads them). */
  private fill(target: GraphicsRegion, list: RectList, color: number, stats: RenderStats): void {
    if (list.count === 0) return;
    this.flush(stats);
    const px = target.pixels32;
    const stride = target.stride32;
    const d = list.ints;
    for (let i = 0; i < list.count * 4; i += 4) {
      const x = d[i]!;
      const w = d[i + 2]!;
      for (let y = d[i + 1]!, end = y + d[i + 3]!; y < end; y++) px.fill(color, y * stride + x, y * stride + x + w);
      stats.filled += w * d[i + 3]!;
    }
  }

  private flush(stats: RenderStats): void {
    if (this.pass.pending === 0) return;
    const painted = this.pass.run();
    stats.copied += painted.copied;
    stats.blended += painted.blended;
    stats.background += painted.background;
  }

  private take(): RectList {
    const list = (this.scratch[this.used] ??= new RectList());
    this.used++;
    return list.clear();
  }
}
