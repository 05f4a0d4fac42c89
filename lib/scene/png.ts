/**
 * PNG encoding of an output's pixels with node:zlib only (no PNG dependency at
 * run time): 8-bit RGB, one IDAT, filter type "up" per row (compositor
 * screens are mostly flat areas and repeated rows: about 3x smaller than
 * unfiltered at the same deflate level on the demo's screen).
 */
import { crc32, deflateSync } from 'node:zlib';
import { BufshareError } from '../errors';
import type { GraphicsRegion } from '../mapping/graphics-region';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** A PNG of an XRGB8888 or ARGB8888 region (alpha dropped: an output is opaque). */
export function encodePng(region: GraphicsRegion): Buffer {
  const { width, height, format } = region;
  if (format.name !== 'XRGB8888' && format.name !== 'ARGB8888') {
    throw new BufshareError('ERR_BUFSHARE_UNSUPPORTED_FORMAT', `PNG screenshots take XRGB8888 or ARGB8888, not ${format.name}`);
  }
  const px = region.pixels32;
  const stride = region.stride32;
  const rowBytes = 1 + width * 3;
  const raw = Buffer.alloc(rowBytes * height);
  for (let y = 0; y < height; y++) {
    let o = y * rowBytes;
    raw[o++] = y === 0 ? 0 : 2; // 0: none, 2: up
    const row = y * stride;
    const above = row - stride;
    for (let x = 0; x < width; x++) {
      const p = px[row + x]!;
      if (y === 0) {
        raw[o++] = (p >>> 16) & 0xff;
        raw[o++] = (p >>> 8) & 0xff;
        raw[o++] = p & 0xff;
      } else {
        const q = px[above + x]!;
        raw[o++] = (((p >>> 16) & 0xff) - ((q >>> 16) & 0xff)) & 0xff;
        raw[o++] = (((p >>> 8) & 0xff) - ((q >>> 8) & 0xff)) & 0xff;
        raw[o++] = ((p & 0xff) - (q & 0xff)) & 0xff;
      }
    }
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // RGB
  return Buffer.concat([SIGNATURE, chunk('IHDR', header), chunk('IDAT', deflateSync(raw, { level: 6 })), chunk('IEND', Buffer.alloc(0))]);
}

function chunk(type: string, data: Buffer): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}
