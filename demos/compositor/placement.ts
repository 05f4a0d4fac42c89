/**
 * Where a new surface goes on the output. Pure functions over rectangles, so the
 * policy is tested without a scene.
 *
 * - tile: the first free spot in reading order (left to right, top to bottom) where
 *   the surface, its title bar and a gap fit on the output without overlapping any
 *   other; cascade when no such spot is left.
 * - cascade: each surface a step right and down from the last, wrapping back to
 *   the corner before it would leave the output.
 */
import { rectsOverlap, type Rect } from '../../lib/region';

export type PlacementPolicy = 'tile' | 'cascade';

export interface PlacementOptions {
  /** Space kept free around each surface, in pixels. */
  readonly gap: number;
  /** Height of the title bar the viewer draws above each surface. */
  readonly titleHeight: number;
  /** Cascade step. */
  readonly step: number;
}

export const DEFAULT_PLACEMENT: PlacementOptions = { gap: 24, titleHeight: 22, step: 40 };

/** The grid tile placement scans; coarse enough to stay cheap with many surfaces. */
const SCAN_STEP = 8;

export function placeSurface(
  policy: PlacementPolicy, output: { width: number; height: number }, existing: readonly Rect[],
  size: { width: number; height: number }, options: PlacementOptions = DEFAULT_PLACEMENT,
): { x: number; y: number } {
  // An output-sized surface is a fullscreen one: at the origin, where it covers
  // the output and a KMS output can scan its buffer out directly.
  if (size.width === output.width && size.height === output.height) return { x: 0, y: 0 };
  if (policy === 'tile') {
    const spot = findFreeSpot(output, existing, size, options);
    if (spot) return spot;
  }
  return cascadeSpot(output, existing.length, size, options);
}

function findFreeSpot(
  output: { width: number; height: number }, existing: readonly Rect[],
  size: { width: number; height: number }, { gap, titleHeight }: PlacementOptions,
): { x: number; y: number } | undefined {
  // The frame a surface occupies: its title bar above it, and the gap around both.
  const frameOf = (r: Rect): Rect => ({ x: r.x - gap, y: r.y - titleHeight - gap, width: r.width + 2 * gap, height: r.height + titleHeight + 2 * gap });
  const others = existing.map(frameOf);
  const top = gap + titleHeight;
  for (let y = top; y + size.height + gap <= output.height; y += SCAN_STEP) {
    for (let x = gap; x + size.width + gap <= output.width; x += SCAN_STEP) {
      const mine: Rect = { x, y: y - titleHeight, width: size.width, height: size.height + titleHeight };
      if (!others.some((o) => rectsOverlap(o, mine))) return { x, y };
    }
  }
  return undefined;
}

function cascadeSpot(
  output: { width: number; height: number }, index: number, size: { width: number; height: number },
  { gap, titleHeight, step }: PlacementOptions,
): { x: number; y: number } {
  const x0 = gap;
  const y0 = gap + titleHeight;
  const roomX = Math.max(0, output.width - size.width - x0);
  const roomY = Math.max(0, output.height - size.height - y0);
  const steps = Math.max(1, Math.min(Math.floor(roomX / step), Math.floor(roomY / step)) + 1);
  const i = index % steps;
  return { x: x0 + i * step, y: y0 + i * step };
}
