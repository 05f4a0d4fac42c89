/**
 * pixman format codes (what qemu's Scanout and Update say their pixels are) to
 * our DRM formats. A code is PIXMAN_FORMAT(bpp, type, a, r, g, b):
 * bpp << 24 | type << 16 | a << 12 | r << 8 | g << 4 | b, with type ARGB 2,
 * ABGR 3, BGRA 8, RGBA 9 (pixman.h). pixman names a 32-bit word from its high
 * bits down, as DRM does, and both lay words out in the machine's byte order
 * (little-endian here): PIXMAN_x8r8g8b8 is DRM XRGB8888, bytes B, G, R, X.
 */
import { BufshareError } from '../errors';
import { resolveFormat, type FormatInfo, type FormatName } from '../format';

function code(bpp: number, type: number, a: number, r: number, g: number, b: number): number {
  return ((bpp << 24) | (type << 16) | (a << 12) | (r << 8) | (g << 4) | b) >>> 0;
}

const ARGB = 2;
const ABGR = 3;
const BGRA = 8;
const RGBA = 9;

const TABLE = new Map<number, FormatName>([
  [code(32, ARGB, 0, 8, 8, 8), 'XRGB8888'],
  [code(32, ARGB, 8, 8, 8, 8), 'ARGB8888'],
  [code(32, ABGR, 0, 8, 8, 8), 'XBGR8888'],
  [code(32, ABGR, 8, 8, 8, 8), 'ABGR8888'],
  [code(32, BGRA, 0, 8, 8, 8), 'BGRX8888'],
  [code(32, BGRA, 8, 8, 8, 8), 'BGRA8888'],
  [code(32, RGBA, 0, 8, 8, 8), 'RGBX8888'],
  [code(32, RGBA, 8, 8, 8, 8), 'RGBA8888'],
  [code(32, ARGB, 0, 10, 10, 10), 'XRGB2101010'],
  [code(32, ARGB, 2, 10, 10, 10), 'ARGB2101010'],
  [code(24, ARGB, 0, 8, 8, 8), 'RGB888'],
  [code(24, ABGR, 0, 8, 8, 8), 'BGR888'],
  [code(16, ARGB, 0, 5, 6, 5), 'RGB565'],
]);

/** PIXMAN_x8r8g8b8: what qemu's consoles use for 32-bit guest modes. */
export const PIXMAN_X8R8G8B8 = code(32, ARGB, 0, 8, 8, 8);

/** Our format for a pixman code; ERR_BUFSHARE_UNSUPPORTED_FORMAT for one we do not know. */
export function formatFromPixman(pixman: number): FormatInfo {
  const name = TABLE.get(pixman >>> 0);
  if (name === undefined) throw new BufshareError('ERR_BUFSHARE_UNSUPPORTED_FORMAT', `pixman format 0x${(pixman >>> 0).toString(16)} has no DRM format here`);
  return resolveFormat(name);
}
