/**
 * Recomposition of the damaged part of the output, and nothing else.
 *
 * Front to back, each surface claims the damage it covers that no opaque surface
 * above it hides; the background fills what no opaque surface covers; then back
 * to front, opaque surfaces are copied and ARGB surfaces blended over what is
 * below them, all of it in one native call (bufshare's ComposePass: a call per
 * surface cost more than the pixels of scattered damage). A pixel under an
 * opaque surface is written once.
 */
import { ComposePass, type Region } from '../../lib';
import { fillRect } from './fill';
import type { Framebuffer } from './framebuffer';
import { RectList } from '../../lib/scene/rect-list';
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
 * The layers of a composition, painted in one native call; reused. Only the
 * damaged pixels are written. (Letting the planner join the damaged rows of an
 * opaque surface nothing covers, copying undamaged pixels between them, was
 * slower once the pass fetches each next row ahead: on the benchmark's 16
 * rectangles, 13.9 us for the pass against 12.5 copying exactly.)
 */
const pass = new ComposePass();

/** The surfaces to paint this composition, top first, with their parts; reused like the lists. */
const planned: (SceneSurface | undefined)[] = [];
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
    plannedDirect[plans] = undefined;
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
  pass.begin(output.region, background.region);
  pass.addBackground(uncovered.ints, uncovered.count);
  for (let i = plans - 1; i >= 0; i--) paintSurface(planned[i]!, plannedParts[i]!, plannedDirect[i], output, stats);
  paintQueued(stats);
  // Entries are overwritten, not truncated (setting an array's length was 7% of
  // a small composition); the surfaces are let go of, so that one removed from
  // the scene does not stay reachable (its mapping with it) from here.
  for (let i = 0; i < plans; i++) {
    planned[i] = undefined;
    plannedDirect[i] = undefined;
  }
  return stats;
}

/** Paints the layers queued so far (everything below what is painted next). */
function paintQueued(stats: ComposeStats): void {
  if (pass.pending === 0) return;
  const painted = pass.run();
  stats.copied += painted.copied;
  stats.blended += painted.blended;
  stats.background += painted.background;
}

/** Placeholder fills, in JS: what is queued below them is painted first (a blend above reads them). */
function fill(output: Framebuffer, list: RectList, stats: ComposeStats): void {
  if (list.count === 0) return;
  paintQueued(stats);
  const plane = output.plane;
  for (let i = 0; i < list.count; i++) stats.filled += fillRect(plane, list.rect(i), PLACEHOLDER_COLOR);
}

/**
 * Queues `part` of the surface; `direct` (within part, translucent surfaces only)
 * is where nothing was painted below it, blended over the background itself.
 */
function paintSurface(s: SceneSurface, part: RectList, direct: RectList | undefined, output: Framebuffer, stats: ComposeStats): void {
  const content = s.content!;
  let shown = part;
  if (content.width < s.width || content.height < s.height) {
    // The content may be smaller than the surface (a client mid-resize); what it
    // does not cover shows as placeholder.
    const w = Math.min(s.width, content.width);
    const h = Math.min(s.height, content.height);
    shown = takeList().setClipped(part, s.x, s.y, w, h);
    fill(output, takeList().setSubtracted(part, s.x, s.y, w, h), stats);
  }
  if (shown.count === 0) return;
  switch (s.paintMode) {
    case 'copy':
      pass.addCopy(content, s.x, s.y, shown.ints, shown.count);
      break;
    case 'blend':
      if (direct) {
        pass.addBlend(content, s.x, s.y, direct.ints, direct.count, true);
        shown = shown.subtractList(direct, takeList());
      }
      pass.addBlend(content, s.x, s.y, shown.ints, shown.count);
      break;
    case 'placeholder':
      fill(output, shown, stats);
      break;
  }
}
