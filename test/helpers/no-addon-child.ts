/**
 * Runs with BUFSHARE_ADDON pointing at a file that does not exist, as on a platform
 * with no prebuilt binary: imports the whole package, uses the pure-JS parts, then
 * the first thing that needs the addon. Prints one JSON line of what happened.
 */
import { computeLayout, lookupFormat, Region, ShmAllocator, BufshareError, PROTOCOL_VERSION } from '../../lib';
import { decodeClientMessage, encodeHello } from '../../lib/protocol';
import * as native from '../../lib/native';

function attempt(fn: () => unknown): { code?: string; message?: string } {
  try {
    fn();
    return {};
  } catch (e) {
    return e instanceof BufshareError ? { code: e.code, message: e.message } : { message: String(e) };
  }
}

const format = lookupFormat('XRGB8888');
const layout = computeLayout(64, 32, format, 64, native.pageSize);
const area = Region.of({ x: 0, y: 0, width: 10, height: 10 }).union({ x: 5, y: 5, width: 10, height: 10 }).area;
const hello = decodeClientMessage(encodeHello('no-addon'));
const first = attempt(() => new ShmAllocator().allocate({ width: 16, height: 16, format: 'XRGB8888' }));
const second = attempt(() => native.memfdCreate('x', 4096, 0));
const constant = attempt(() => native.constants.F_SEAL_SEAL);
console.log(JSON.stringify({ stride: layout.stride, size: layout.size, area, hello, protocol: PROTOCOL_VERSION, first, second, constant, availability: native.nativeAvailability().available }));
