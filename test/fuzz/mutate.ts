/**
 * Seeded message generators for the protocol fuzzers: valid messages of every
 * opcode (the corpus), and mutations of them (bit flips, interesting integers,
 * truncation, extension, splices, JSON field swaps), plus purely random bytes.
 * Everything comes from one mulberry32 stream, so a seed reproduces a run.
 */
import {
  encodeCreateSurface, encodeDestroySurface, encodeError, encodeEvent, encodeFrameDone, encodeGoodbye, encodeHello,
  encodeRelease, encodeRequest, encodeResize, encodeSubmit, encodeSurfaceBuffers, encodeWelcome, DEFAULT_LIMITS,
  MAX_MESSAGE_BYTES, Opcode,
} from '../../lib/ipc/protocol';
import { randInt } from '../helpers/random';
import { jsonTextDepth } from '../../lib/ipc/json-limits';

export type Rng = () => number;

const INTERESTING_32 = [0, 1, 2, 3, 4, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 16384, 16385,
  0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 64, 65, 4095, 4096, 4097];
const INTERESTING_JSON: unknown[] = [0, -1, 1.5, -0, 1e308, -1e308, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 64, null, true, false, '', 'x'.repeat(300),
  [], {}, [1, 2], { x: 1 }, 'XRGB8888', 'hardware', 'software', '\u0000', '\ud800', 4294967295, 4294967296, 16384, 16385];

function pick<T>(r: Rng, a: readonly T[]): T {
  return a[Math.floor(r() * a.length)]!;
}

function randomRects(r: Rng, n: number): Int32Array {
  const a = new Int32Array(n * 4);
  for (let i = 0; i < a.length; i++) {
    a[i] = r() < 0.2 ? pick(r, INTERESTING_32) | 0 : randInt(r, -100, 5000);
  }
  return a;
}

/** A valid message a client may send (as bytes; copied, never a scratch view). */
export function validClientMessage(r: Rng): Uint8Array {
  const id = r() < 0.5 ? randInt(r, 1, 4) : randInt(r, 1, 0xffffffff);
  switch (randInt(r, 0, 5)) {
    case 0: return encodeHello(r() < 0.5 ? undefined : `fuzz-${randInt(r, 0, 99)}`).slice();
    case 1: return encodeCreateSurface({
      surface: id, width: randInt(r, 1, 256), height: randInt(r, 1, 256), format: pick(r, ['XRGB8888', 'ARGB8888', 'RGB565', 0x34325258]),
      usage: pick(r, ['software', 'hardware'] as const), bufferCount: randInt(r, 1, 4),
    }).slice();
    case 2: return encodeSubmit(id, randInt(r, 1, 8), randomRects(r, randInt(r, 0, r() < 0.05 ? 4000 : 8))).slice();
    case 3: return encodeResize(id, randInt(r, 1, 512), randInt(r, 1, 512)).slice();
    case 4: return encodeDestroySurface(id).slice();
    default: return encodeRequest(r() < 0.5 ? undefined : id, { frame: randInt(r, 0, 100), tag: 'fuzz', list: [1, 2, 3] }).slice();
  }
}

/** A valid message a server may send. */
export function validServerMessage(r: Rng): Uint8Array {
  const id = randInt(r, 1, 16);
  switch (randInt(r, 0, 6)) {
    case 0: return encodeWelcome(randInt(r, 1, 100), DEFAULT_LIMITS).slice();
    case 1: return encodeSurfaceBuffers({
      surface: id, width: 64, height: 32, format: 0x34325258,
      buffers: [{ version: 1, id: 1, width: 64, height: 32, format: 0x34325258, modifier: '0x0000000000000000', planes: [{ offset: 0, stride: 256 }], size: 8192, kind: 'shm', access: 'direct', readOnly: false, fds: ['buffer'] }],
    }).slice();
    case 2: return encodeRelease(id, randInt(r, 1, 4)).slice();
    case 3: return encodeFrameDone(id).slice();
    case 4: return encodeEvent(id, { key: 'a', n: randInt(r, 0, 9) }).slice();
    case 5: return encodeError('ERR_BUFSHARE_PROTOCOL', 'fuzz', r() < 0.5, r() < 0.5 ? id : undefined).slice();
    default: return encodeGoodbye('bye').slice();
  }
}

const DEEP_MARK = '\u0000deep\u0000';

/** Replaces one JSON field's value (or adds/removes one) in a JSON-bodied message. */
function mutateJson(r: Rng, msg: Uint8Array): Uint8Array | undefined {
  if (msg.length < 6 || msg[4] !== 0x7b /* { */) return undefined;
  let body: Record<string, unknown>;
  const source = Buffer.from(msg.subarray(4)).toString('utf8');
  if (jsonTextDepth(source, 1000) > 1000) return undefined; // already deep: JSON.stringify would overflow re-writing it
  try {
    body = JSON.parse(source) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const keys = Object.keys(body);
  const choice = r();
  let deep: string | undefined;
  if (choice < 0.1) {
    // Nesting: a request or event payload (or any field) as deep as a message
    // allows, written as text (JSON.stringify itself overflows the stack on it).
    const levels = r() < 0.5 ? randInt(r, 1, 64) : randInt(r, 64, 20000);
    const kinds = Array.from({ length: levels }, () => r() < 0.5);
    deep = kinds.map((array) => (array ? '[' : '{"k":')).join('') + JSON.stringify(pick(r, INTERESTING_JSON)) + kinds.reverse().map((array) => (array ? ']' : '}')).join('');
    body[keys.length > 0 && r() < 0.5 ? pick(r, keys) : 'payload'] = DEEP_MARK;
  } else if (choice < 0.7 && keys.length > 0) body[pick(r, keys)] = pick(r, INTERESTING_JSON);
  else if (choice < 0.85 && keys.length > 0) delete body[pick(r, keys)];
  else body[pick(r, ['surface', 'width', 'height', 'version', 'protocol', 'payload', '__proto__', 'constructor', 'bufferCount', 'format'])] = pick(r, INTERESTING_JSON);
  const json = JSON.stringify(body);
  const text = Buffer.from(deep === undefined ? json : json.replace(JSON.stringify(DEEP_MARK), deep));
  const out = new Uint8Array(4 + text.length);
  out.set(msg.subarray(0, 4));
  out.set(text, 4);
  return out;
}

/** One mutation of `msg` (a new array). */
export function mutate(r: Rng, msg: Uint8Array, other: () => Uint8Array): Uint8Array {
  const kind = randInt(r, 0, 9);
  let out: Uint8Array = msg.slice();
  switch (kind) {
    case 0: { // bit flips
      const n = randInt(r, 1, 8);
      for (let i = 0; i < n && out.length > 0; i++) out[randInt(r, 0, out.length - 1)]! ^= 1 << randInt(r, 0, 7);
      break;
    }
    case 1: { // an interesting u32 at an aligned offset
      if (out.length >= 4) new DataView(out.buffer).setUint32(4 * randInt(r, 0, (out.length >> 2) - 1), pick(r, INTERESTING_32), true);
      break;
    }
    case 2: // truncate
      out = out.slice(0, randInt(r, 0, out.length));
      break;
    case 3: { // extend with random bytes
      const extra = new Uint8Array(randInt(r, 1, 64)).map(() => randInt(r, 0, 255));
      const grown = new Uint8Array(out.length + extra.length);
      grown.set(out);
      grown.set(extra, out.length);
      out = grown;
      break;
    }
    case 4: { // splice: head of this, tail of another
      const b = other();
      const cut = randInt(r, 0, out.length);
      const from = randInt(r, 0, b.length);
      const spliced = new Uint8Array(cut + b.length - from);
      spliced.set(out.subarray(0, cut));
      spliced.set(b.subarray(from), cut);
      out = spliced;
      break;
    }
    case 5: // another opcode on this body
      if (out.length >= 4) new DataView(out.buffer).setUint32(0, r() < 0.7 ? pick(r, Object.values(Opcode)) : randInt(r, 0, 0xffffffff), true);
      break;
    case 6: // random bytes overwritten in a run
      for (let i = randInt(r, 0, out.length), n = randInt(r, 1, 16); n > 0 && i < out.length; i++, n--) out[i] = randInt(r, 0, 255);
      break;
    case 7:
    case 8:
      out = mutateJson(r, out) ?? out;
      break;
    default: { // the rect count of a submit made inconsistent
      if (out.length >= 16) new DataView(out.buffer).setUint32(12, pick(r, INTERESTING_32), true);
      break;
    }
  }
  return out.length > MAX_MESSAGE_BYTES + 64 ? out.slice(0, MAX_MESSAGE_BYTES + 64) : out;
}

/** Random bytes: an opcode-shaped prefix half the time. */
export function randomMessage(r: Rng): Uint8Array {
  const out = new Uint8Array(randInt(r, 0, r() < 0.01 ? MAX_MESSAGE_BYTES + 16 : 80)).map(() => randInt(r, 0, 255));
  if (out.length >= 4 && r() < 0.5) new DataView(out.buffer).setUint32(0, pick(r, Object.values(Opcode)), true);
  return out;
}

/** An input for the decoders: mostly mutations of valid messages, some random, some mutated twice. */
export function fuzzInput(r: Rng, valid: (r: Rng) => Uint8Array): Uint8Array {
  const x = r();
  if (x < 0.1) return randomMessage(r);
  if (x < 0.15) return valid(r);
  let m = mutate(r, valid(r), () => valid(r));
  if (x > 0.8) m = mutate(r, m, () => valid(r));
  return m;
}
