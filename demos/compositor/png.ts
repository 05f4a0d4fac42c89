/** The headless output: a framebuffer written as a PNG (pngjs, pure JS, no native dependency). */
import { writeFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import type { Framebuffer } from './framebuffer';

/** RGBA bytes from XRGB8888 words (0xXXRRGGBB), alpha opaque. */
export function toRgba(fb: Framebuffer): Buffer {
  const src = fb.pixels32;
  const out = Buffer.alloc(fb.width * fb.height * 4);
  const dst = new Uint32Array(out.buffer, out.byteOffset, fb.width * fb.height);
  for (let i = 0; i < dst.length; i++) {
    const p = src[i]!;
    // Little-endian RGBA bytes are the word 0xAABBGGRR.
    dst[i] = 0xff000000 | ((p & 0xff) << 16) | (p & 0xff00) | ((p >>> 16) & 0xff);
  }
  return out;
}

export function encodePng(fb: Framebuffer): Buffer {
  return PNG.sync.write({ width: fb.width, height: fb.height, data: toRgba(fb) } as PNG, { colorType: 2 });
}

export function writePng(fb: Framebuffer, path: string): void {
  writeFileSync(path, encodePng(fb));
}
