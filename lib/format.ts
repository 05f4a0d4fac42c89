/**
 * Pixel formats by DRM fourcc (include/uapi/drm/drm_fourcc.h), with what bufshare
 * needs to lay out and copy them: bytes per pixel, alpha, and the name.
 *
 * Names follow DRM: ARGB8888 is a little-endian 32-bit word [31:0] A:R:G:B, so in
 * memory the bytes are B, G, R, A, and `pixels32[i] = 0xAARRGGBB` on x86/ARM LE.
 */
import { BufshareError } from './errors';

export type FormatName =
  | 'ARGB8888' | 'XRGB8888' | 'ABGR8888' | 'XBGR8888'
  | 'RGBA8888' | 'RGBX8888' | 'BGRA8888' | 'BGRX8888'
  | 'ARGB2101010' | 'XRGB2101010'
  | 'ABGR16161616F' | 'XBGR16161616F'
  | 'RGB888' | 'BGR888' | 'RGB565';

export interface FormatInfo {
  readonly name: FormatName;
  /** DRM fourcc code, as in drm_fourcc.h. */
  readonly fourcc: number;
  /** Bytes per pixel (single plane). */
  readonly bpp: number;
  readonly hasAlpha: boolean;
  /** The format with the same layout and no alpha (itself if it has none). */
  readonly opaque: FormatName;
}

/** The fourcc of four ASCII characters, as the kernel's fourcc_code(). */
export function fourccCode(code: string): number {
  if (code.length !== 4) throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', `fourcc must be 4 characters: ${JSON.stringify(code)}`);
  return (code.charCodeAt(0) | (code.charCodeAt(1) << 8) | (code.charCodeAt(2) << 16) | (code.charCodeAt(3) << 24)) >>> 0;
}

/** The four characters of a fourcc ("XR24"), with unprintable bytes escaped. */
export function fourccToString(fourcc: number): string {
  let s = '';
  for (let i = 0; i < 4; i++) {
    const c = (fourcc >>> (8 * i)) & 0xff;
    s += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`;
  }
  return s;
}

function entry(name: FormatName, code: string, bpp: number, hasAlpha: boolean, opaque: FormatName = name): FormatInfo {
  return Object.freeze({ name, fourcc: fourccCode(code), bpp, hasAlpha, opaque });
}

const TABLE: readonly FormatInfo[] = [
  entry('ARGB8888', 'AR24', 4, true, 'XRGB8888'),
  entry('XRGB8888', 'XR24', 4, false),
  entry('ABGR8888', 'AB24', 4, true, 'XBGR8888'),
  entry('XBGR8888', 'XB24', 4, false),
  entry('RGBA8888', 'RA24', 4, true, 'RGBX8888'),
  entry('RGBX8888', 'RX24', 4, false),
  entry('BGRA8888', 'BA24', 4, true, 'BGRX8888'),
  entry('BGRX8888', 'BX24', 4, false),
  entry('ARGB2101010', 'AR30', 4, true, 'XRGB2101010'),
  entry('XRGB2101010', 'XR30', 4, false),
  entry('ABGR16161616F', 'AB4H', 8, true, 'XBGR16161616F'),
  entry('XBGR16161616F', 'XB4H', 8, false),
  entry('RGB888', 'RG24', 3, false),
  entry('BGR888', 'BG24', 3, false),
  entry('RGB565', 'RG16', 2, false),
];

const BY_FOURCC = new Map(TABLE.map((f) => [f.fourcc, f]));
const BY_NAME = new Map(TABLE.map((f) => [f.name as string, f]));

/** Every format bufshare knows. */
export const formats: readonly FormatInfo[] = TABLE;

/** A format given as a name ('XRGB8888') or a fourcc number. */
export type FormatSpec = FormatName | number;

/** The format's table entry, or undefined. */
export function lookupFormat(spec: FormatSpec | string): FormatInfo | undefined {
  if (typeof spec === 'number') return BY_FOURCC.get(spec >>> 0);
  return BY_NAME.get(spec.toUpperCase());
}

/** The format's table entry; ERR_BUFSHARE_UNSUPPORTED_FORMAT listing the known ones otherwise. */
export function resolveFormat(spec: FormatSpec | string): FormatInfo {
  const f = typeof spec === 'number' || typeof spec === 'string' ? lookupFormat(spec) : undefined;
  if (f) return f;
  const shown = typeof spec === 'number' ? `0x${(spec >>> 0).toString(16)} ('${fourccToString(spec)}')` : JSON.stringify(spec);
  throw new BufshareError('ERR_BUFSHARE_UNSUPPORTED_FORMAT', `unsupported format ${shown}; supported: ${TABLE.map((t) => t.name).join(', ')}`);
}

/** DRM_FORMAT_MOD_LINEAR: rows one after another, stride apart. */
export const MODIFIER_LINEAR = 0n;
/** DRM_FORMAT_MOD_INVALID: "the driver chose an implicit layout". */
export const MODIFIER_INVALID = 0x00ffffffffffffffn;

/** A modifier as it travels in JSON: 16 hex digits with 0x (a u64 does not fit a JS number). */
export function modifierToString(modifier: bigint): string {
  return `0x${modifier.toString(16).padStart(16, '0')}`;
}

export function parseModifier(text: string): bigint | undefined {
  if (!/^0x[0-9a-fA-F]{1,16}$/.test(text)) return undefined;
  return BigInt(text);
}
