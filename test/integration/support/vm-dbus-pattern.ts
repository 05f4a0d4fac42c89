/** What the guest of vm-dbus-display.test.ts draws (and the host expects): no imports, so both sides load it cheaply. */

export function patternPixel(variant: number, x: number, y: number): number {
  const r = (x * 7 + y * 3 + variant * 85) & 255;
  const g = (x * 3 + y * 11 + variant * 40) & 255;
  const b = ((x ^ y) + variant * 17) & 255;
  return (r << 16) | (g << 8) | b;
}

export const RECT_B = { x: 512, y: 384, width: 320, height: 240 };
