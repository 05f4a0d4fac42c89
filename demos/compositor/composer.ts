/**
 * Recomposition of the damaged part of the output, and nothing else.
 *
 * Front to back, each surface claims the damage it covers that no opaque surface
 * above it hides; the background fills what no opaque surface covers; then back
 * to front, opaque surfaces are copied with native copyRects (memcpy per row) and
 * ARGB surfaces are blended over what is below them. A pixel under an opaque
 * surface is written once.
 */
import { copyRects, Region } from '../../lib';
import { blendRect, fillRect, type PixelPlane } from './blend';
import type { Framebuffer } from './framebuffer';
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
 * Repaints `damage` (output coordinates, clipped to it) of `output` from the scene
 * over `background` (a framebuffer of the output's size).
 */
export function compose(scene: Scene, output: Framebuffer, background: Framebuffer, damage: Region): ComposeStats {
  const stats: ComposeStats = { copied: 0, blended: 0, background: 0, filled: 0 };
  if (damage.isEmpty) return stats;
  const plans: { surface: SceneSurface; part: Region }[] = [];
  let uncovered = damage;
  const stack = scene.surfaces;
  for (let i = stack.length - 1; i >= 0 && !uncovered.isEmpty; i--) {
    const s = stack[i]!;
    if (!s.shown) continue;
    const part = uncovered.intersect(s.rect);
    if (part.isEmpty) continue;
    plans.push({ surface: s, part });
    if (s.opaque) uncovered = uncovered.subtract(s.rect);
  }
  const plane = output.plane;
  if (!uncovered.isEmpty) stats.background += copyRects(background.region, output.region, uncovered);
  for (let i = plans.length - 1; i >= 0; i--) paintSurface(plans[i]!.surface, plans[i]!.part, output, plane, stats);
  return stats;
}

function paintSurface(s: SceneSurface, part: Region, output: Framebuffer, plane: PixelPlane, stats: ComposeStats): void {
  const content = s.content!;
  // The content may be smaller than the surface (never larger: the server checks);
  // what it does not cover shows as placeholder.
  const shown = part.intersect({ x: s.x, y: s.y, width: Math.min(s.width, content.width), height: Math.min(s.height, content.height) });
  const missing = part.subtract(shown);
  for (const r of missing.rects) stats.filled += fillRect(plane, r, PLACEHOLDER_COLOR);
  if (shown.isEmpty) return;
  switch (s.paintMode) {
    case 'copy':
      stats.copied += copyRects(content, output.viewAt(s.x, s.y), shown.translate(-s.x, -s.y));
      break;
    case 'blend': {
      const src = { pixels32: content.pixels32, stride32: content.stride32 };
      for (const r of shown.rects) stats.blended += blendRect(src, s.x, s.y, plane, r);
      break;
    }
    case 'placeholder':
      for (const r of shown.rects) stats.filled += fillRect(plane, r, PLACEHOLDER_COLOR);
      break;
  }
}
