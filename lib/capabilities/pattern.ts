/**
 * The probe's check pattern: distinct in every byte of the visible pixels, so a
 * read-back through another mapping proves the two see the same memory (and not
 * merely that mmap returned).
 */
import type { GraphicsRegion } from '../mapping/graphics-region';

function patternByte(x: number, y: number, b: number, seed: number): number {
  let h = Math.imul(x + 1, 0x9e3779b1) ^ Math.imul(y + 7, 0x85ebca77) ^ Math.imul(seed + b, 0xc2b2ae3d);
  h ^= h >>> 15;
  return Math.imul(h, 0x27d4eb2f) >>> 24;
}

export function fillCheckPattern(region: GraphicsRegion, seed: number): void {
  const { width, height, stride } = region;
  const bpp = region.format.bpp;
  const px = region.pixels;
  for (let y = 0; y < height; y++) {
    const row = y * stride;
    for (let x = 0; x < width; x++) for (let b = 0; b < bpp; b++) px[row + x * bpp + b] = patternByte(x, y, b, seed);
  }
}

/** The first pixel that differs from the pattern, or undefined. */
export function checkPattern(region: GraphicsRegion, seed: number): { x: number; y: number } | undefined {
  const { width, height, stride } = region;
  const bpp = region.format.bpp;
  const px = region.pixels;
  for (let y = 0; y < height; y++) {
    const row = y * stride;
    for (let x = 0; x < width; x++) {
      for (let b = 0; b < bpp; b++) if (px[row + x * bpp + b] !== patternByte(x, y, b, seed)) return { x, y };
    }
  }
  return undefined;
}
