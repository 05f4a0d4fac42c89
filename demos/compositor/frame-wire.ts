/**
 * The viewer's frame message: the damaged rectangles of the output and their
 * pixels, nothing else, as one binary WebSocket message.
 *
 *   u32 magic 'BSF1', u32 sequence, u32 rectangle count,
 *   then per rectangle: u32 x, y, width, height, and width * height XRGB8888
 *   words, row after row (little-endian, as in memory: bytes B, G, R, X).
 *
 * The page converts to RGBA as it draws; the compositor only copies rows.
 */
import type { Region } from '../../lib';
import type { Framebuffer } from './framebuffer';

export const FRAME_MAGIC = 0x31465342; // 'BSF1' little-endian
const HEADER_WORDS = 3;
const RECT_WORDS = 4;

export function encodeFrame(fb: Framebuffer, damage: Region, sequence: number): Buffer {
  const rects = damage.clip(fb.width, fb.height).rects;
  let words = HEADER_WORDS;
  for (const r of rects) words += RECT_WORDS + r.width * r.height;
  const out = Buffer.allocUnsafe(words * 4);
  const w = new Uint32Array(out.buffer, out.byteOffset, words);
  w[0] = FRAME_MAGIC;
  w[1] = sequence >>> 0;
  w[2] = rects.length;
  let o = HEADER_WORDS;
  const src = fb.pixels32;
  for (const r of rects) {
    w[o++] = r.x;
    w[o++] = r.y;
    w[o++] = r.width;
    w[o++] = r.height;
    for (let y = r.y; y < r.y + r.height; y++) {
      const row = y * fb.width + r.x;
      w.set(src.subarray(row, row + r.width), o);
      o += r.width;
    }
  }
  return out;
}

export interface DecodedRect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly pixels: Uint32Array;
}

/** The inverse, for tests (the page has its own copy in viewer.js). */
export function decodeFrame(message: Uint8Array): { sequence: number; rects: DecodedRect[] } {
  if (message.byteLength % 4 !== 0 || message.byteLength < HEADER_WORDS * 4) throw new Error('frame message too short');
  const copy = new Uint8Array(message);
  const w = new Uint32Array(copy.buffer, 0, copy.byteLength / 4);
  if (w[0] !== FRAME_MAGIC) throw new Error('bad frame magic');
  const rects: DecodedRect[] = [];
  let o = HEADER_WORDS;
  for (let i = 0; i < w[2]!; i++) {
    const [x, y, width, height] = [w[o]!, w[o + 1]!, w[o + 2]!, w[o + 3]!];
    o += RECT_WORDS;
    rects.push({ x, y, width, height, pixels: w.subarray(o, o + width * height) });
    o += width * height;
  }
  if (o !== w.length) throw new Error('frame message length does not match its rectangles');
  return { sequence: w[1]!, rects };
}
