/**
 * The system page size without the addon: the kernel hands every process its page
 * size in the auxiliary vector (AT_PAGESZ), readable at /proc/self/auxv. It is not
 * always 4096 (arm64 kernels may use 16 KiB or 64 KiB pages), and buffer sizes are
 * rounded to it, so it is read, never assumed.
 */
import * as fs from 'node:fs';
import { BufshareError } from './errors';

const AT_NULL = 0n;
const AT_PAGESZ = 6n;

/** Reads AT_PAGESZ from /proc/self/auxv (pairs of native-endian unsigned longs; 64-bit here). */
export function readPageSize(auxvPath = '/proc/self/auxv'): number {
  let auxv: Buffer;
  try {
    auxv = fs.readFileSync(auxvPath);
  } catch (e) {
    throw new BufshareError('ERR_BUFSHARE_NOT_AVAILABLE', `cannot read the page size from ${auxvPath}: ${(e as Error).message}`, { cause: e });
  }
  const little = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  for (let at = 0; at + 16 <= auxv.length; at += 16) {
    const type = little ? auxv.readBigUInt64LE(at) : auxv.readBigUInt64BE(at);
    if (type === AT_NULL) break;
    if (type === AT_PAGESZ) return Number(little ? auxv.readBigUInt64LE(at + 8) : auxv.readBigUInt64BE(at + 8));
  }
  throw new BufshareError('ERR_BUFSHARE_NOT_AVAILABLE', `${auxvPath} has no AT_PAGESZ entry`);
}
