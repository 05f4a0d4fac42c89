import type { GraphicsRegion } from '../../lib';

/** A deterministic pixel for (x, y) and a seed, different in every byte. */
export function patternPixel(x: number, y: number, seed: number): number {
  let h = (x * 73856093) ^ (y * 19349663) ^ (seed * 83492791);
  h = Math.imul(h ^ (h >>> 13), 0x5bd1e995);
  return (h ^ (h >>> 15)) >>> 0;
}

/** Fills the visible pixels (not the row padding) with the pattern, byte-wise for any bpp. */
export function fillPattern(region: GraphicsRegion, seed: number): void {
  const bpp = region.format.bpp;
  const px = region.pixels;
  for (let y = 0; y < region.height; y++) {
    for (let x = 0; x < region.width; x++) {
      const v = patternPixel(x, y, seed);
      const o = y * region.stride + x * bpp;
      for (let b = 0; b < bpp; b++) px[o + b] = (v >>> (8 * b)) & 0xff;
    }
  }
}

/** FNV-1a over the visible bytes of each row. */
export function hashPixels(region: GraphicsRegion): number {
  let h = 0x811c9dc5;
  const rowBytes = region.width * region.format.bpp;
  const px = region.pixels;
  for (let y = 0; y < region.height; y++) {
    const o = y * region.stride;
    for (let i = 0; i < rowBytes; i++) h = Math.imul(h ^ px[o + i]!, 0x01000193);
  }
  return h >>> 0;
}

/** The first pixel where the region differs from pattern(seed), or undefined. */
export function findMismatch(region: GraphicsRegion, seed: number): { x: number; y: number } | undefined {
  const bpp = region.format.bpp;
  const px = region.pixels;
  for (let y = 0; y < region.height; y++) {
    for (let x = 0; x < region.width; x++) {
      const v = patternPixel(x, y, seed);
      const o = y * region.stride + x * bpp;
      for (let b = 0; b < bpp; b++) if (px[o + b] !== ((v >>> (8 * b)) & 0xff)) return { x, y };
    }
  }
  return undefined;
}
