/**
 * A scene for testing buffer age and damage: a grid of 16x16 tiles; at frame i
 * tile (i mod tiles) takes a new colour. A client that repaints only the damage
 * it is given (plus the tile it changes) must still produce the exact scene.
 */
import type { GraphicsRegion, Rect, Region } from '../../lib';

export const TILE = 16;

export function tileCount(width: number, height: number): number {
  return Math.ceil(width / TILE) * Math.ceil(height / TILE);
}

export function tileRect(frame: number, width: number, height: number): Rect {
  const cols = Math.ceil(width / TILE);
  const t = frame % tileCount(width, height);
  const x = (t % cols) * TILE;
  const y = Math.floor(t / cols) * TILE;
  return { x, y, width: Math.min(TILE, width - x), height: Math.min(TILE, height - y) };
}

function colourOf(change: number): number {
  return change < 0 ? 0xff202020 : (0xff000000 | (Math.imul(change + 1, 0x9e3779b1) & 0xffffff)) >>> 0;
}

/** The scene's pixel at (x, y) after frame `frame`. */
export function scenePixel(x: number, y: number, frame: number, width: number, height: number): number {
  const cols = Math.ceil(width / TILE);
  const n = tileCount(width, height);
  const t = Math.floor(y / TILE) * cols + Math.floor(x / TILE);
  // The last frame j <= frame with j mod n == t.
  const last = frame - ((((frame - t) % n) + n) % n);
  return colourOf(last);
}

export function paintScene(region: GraphicsRegion, frame: number, area: Region): void {
  const px = region.pixels32;
  const s = region.stride32;
  for (const r of area.rects) {
    for (let y = r.y; y < r.y + r.height; y++) {
      for (let x = r.x; x < r.x + r.width; x++) px[y * s + x] = scenePixel(x, y, frame, region.width, region.height);
    }
  }
}

/** The first pixel that differs from the scene after `frame`, or undefined. */
export function sceneMismatch(region: GraphicsRegion, frame: number): { x: number; y: number; got: number; want: number } | undefined {
  const px = region.pixels32;
  const s = region.stride32;
  for (let y = 0; y < region.height; y++) {
    for (let x = 0; x < region.width; x++) {
      const want = scenePixel(x, y, frame, region.width, region.height);
      const got = px[y * s + x]! >>> 0;
      if (got !== want) return { x, y, got, want };
    }
  }
  return undefined;
}
