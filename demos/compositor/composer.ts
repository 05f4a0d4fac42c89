/**
 * Recomposition of the damaged part of the output, and nothing else.
 *
 * Front to back, each surface claims the damage it covers that no opaque surface
 * above it hides; the background fills what no opaque surface covers; then back
 * to front, opaque surfaces are copied with native copyRects (memcpy per row) and
 * ARGB surfaces blended over what is below them with native blendRects. A pixel
 * under an opaque surface is written once.
 */
import { blendRects, copyRects, IN_CACHE_COPY, type CopyOptions, type Region } from '../../lib';
import { fillRect, type PixelPlane } from './fill';
import type { Framebuffer } from './framebuffer';
import { RectList } from './rect-list';
import type { Scene, SceneSurface } from './scene';

/** What a surface whose pixels cannot be shown (another format, too small a buffer) shows instead. */
export const PLACEHOLDER_COLOR = 0xff5a5f6b;

export interface ComposeStats {
  /** Pixels copied from opaque surfaces. */
  copied: number;
  /** Pixels blended from ARGB surfaces. */
  blended: number;
  /** Pixels copied from the background. */
  background: number;
  /** Pixels of placeholder fill. */
  filled: number;
}

/**
 * Scratch rectangle lists, reused from one composition to the next: compose()
 * runs to completion and keeps none of them; each composition hands them out
 * again from the first.
 */
const scratch: RectList[] = [];
let scratchUsed = 0;

function takeList(): RectList {
  const list = (scratch[scratchUsed] ??= new RectList());
  scratchUsed++;
  return list.clear();
}

/**
 * Copy plans (lib/damage/plan.ts) with the in-cache cost model: the output and
 * the surfaces a compositor shows stay in the cache. `alone`: an opaque surface
 * no shown surface overlaps from above, whose buffer holds its complete current
 * image (no larger than the surface), so wherever the copy reaches inside it the
 * output shows exactly that buffer: the planner may copy undamaged pixels there
 * when joining rows is cheaper. Elsewhere only the damaged pixels are written.
 */
const EXACT: CopyOptions = { model: IN_CACHE_COPY };
const ALONE: CopyOptions = { model: IN_CACHE_COPY, sourceComplete: true };

/** The surfaces to paint this composition, top first, with their parts; reused like the lists. */
const planned: SceneSurface[] = [];
const plannedAlone: boolean[] = [];
const plannedParts: RectList[] = [];
const plannedDirect: (RectList | undefined)[] = [];

/**
 * Repaints `damage` (output coordinates, clipped to it) of `output` from the scene
 * over `background` (a framebuffer of the output's size).
 */
export function compose(scene: Scene, output: Framebuffer, background: Framebuffer, damage: Region): ComposeStats {
  const stats: ComposeStats = { copied: 0, blended: 0, background: 0, filled: 0 };
  if (damage.isEmpty) return stats;
  // Flat rectangle lists, not Regions or Rect arrays: a Region validates and
  // rebuilds on every operation, and Rect objects plus an Int32Array per surface
  // per frame were most of the JS time for scattered damage.
  // Reset here, not only at the end: a composition that threw must not leave
  // the next one another surface's rectangles.
  scratchUsed = 0;
  planned.length = 0;
  plannedAlone.length = 0;
  plannedParts.length = 0;
  plannedDirect.length = 0;
  let uncovered = takeList().setRects(damage.rects);
  let spare = takeList();
  let plans = 0;
  const stack = scene.surfaces;
  for (let i = stack.length - 1; i >= 0 && uncovered.count > 0; i--) {
    const s = stack[i]!;
    if (!s.shown) continue;
    const part = takeList().setClipped(uncovered, s.x, s.y, s.width, s.height);
    if (part.count === 0) {
      scratchUsed--;
      continue;
    }
    planned[plans] = s;
    plannedAlone[plans] = s.opaque && nothingShownAbove(stack, i);
    plannedParts[plans] = part;
    plans++;
    if (s.opaque) {
      spare.setSubtracted(uncovered, s.x, s.y, s.width, s.height);
      [uncovered, spare] = [spare, uncovered];
    }
  }
  // Where a translucent surface lies straight on the background (no surface
  // painted below it there), it is blended over the background into the output
  // in one pass, instead of the background being copied into the output first
  // and then read back: for 10% of the output under a translucent client, the
  // copy was a quarter of the composition's time.
  for (let k = 0; k < plans; k++) {
    if (planned[k]!.paintMode !== 'blend') continue;
    let direct = takeList().setCopy(plannedParts[k]!);
    let spare1 = takeList();
    for (let j = k + 1; j < plans && direct.count > 0; j++) {
      // The difference lands in either list: the other is the next one's spare
      // (subtracting a list from itself as its own spare leaves nothing).
      const rest = direct.subtractList(plannedParts[j]!, spare1);
      if (rest === spare1) spare1 = direct;
      direct = rest;
    }
    if (direct.count === 0) continue;
    plannedDirect[k] = direct;
    const rest = uncovered.subtractList(direct, spare);
    if (rest === spare) spare = uncovered;
    uncovered = rest;
  }
  if (uncovered.count > 0) stats.background += copyRects(background.region, output.region, uncovered.quads(), EXACT);
  const plane = output.plane;
  for (let i = plans - 1; i >= 0; i--) paintSurface(planned[i]!, plannedParts[i]!, plannedDirect[i], plannedAlone[i]!, output, background, plane, stats);
  planned.length = 0;
  plannedAlone.length = 0;
  plannedParts.length = 0;
  plannedDirect.length = 0;
  return stats;
}

/** Whether no shown surface above stack[index] overlaps it. */
function nothingShownAbove(stack: readonly SceneSurface[], index: number): boolean {
  const s = stack[index]!;
  for (let j = index + 1; j < stack.length; j++) {
    const t = stack[j]!;
    if (t.shown && t.x < s.x + s.width && s.x < t.x + t.width && t.y < s.y + s.height && s.y < t.y + t.height) return false;
  }
  return true;
}

/**
 * Paints `part` of the surface; `direct` (within part, translucent surfaces only)
 * is where nothing was painted below it, blended over the background itself.
 */
function paintSurface(s: SceneSurface, part: RectList, direct: RectList | undefined, alone: boolean, output: Framebuffer, background: Framebuffer, plane: PixelPlane, stats: ComposeStats): void {
  const content = s.content!;
  let shown = part;
  if (content.width < s.width || content.height < s.height) {
    // The content may be smaller than the surface (a client mid-resize); what it
    // does not cover shows as placeholder.
    const w = Math.min(s.width, content.width);
    const h = Math.min(s.height, content.height);
    shown = takeList().setClipped(part, s.x, s.y, w, h);
    const rest = takeList().setSubtracted(part, s.x, s.y, w, h);
    for (let i = 0; i < rest.count; i++) stats.filled += fillRect(plane, rest.rect(i), PLACEHOLDER_COLOR);
  }
  if (shown.count === 0) return;
  switch (s.paintMode) {
    case 'copy':
      // copyRects stays inside the content, so `alone` also needs content no larger than the surface.
      stats.copied += copyRects(content, output.viewAt(s.x, s.y), shown.translate(-s.x, -s.y).quads(),
        alone && content.width <= s.width && content.height <= s.height ? ALONE : EXACT);
      break;
    case 'blend':
      if (direct) {
        stats.blended += blendRects(content, output.region, direct.quads(), s, background.region);
        shown = shown.subtractList(direct, takeList());
      }
      if (shown.count > 0) stats.blended += blendRects(content, output.region, shown.quads(), s);
      break;
    case 'placeholder':
      for (let i = 0; i < shown.count; i++) stats.filled += fillRect(plane, shown.rect(i), PLACEHOLDER_COLOR);
      break;
  }
}
