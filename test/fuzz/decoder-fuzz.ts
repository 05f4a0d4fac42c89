/**
 * The in-process fuzzer: protocol decoders and validators against random and
 * mutated messages. A finding is any exception that is not the documented
 * ERR_BUFSHARE_PROTOCOL (or ERR_BUFSHARE_INVALID_DESCRIPTOR for descriptors), a
 * decoded message that breaks an invariant the server relies on, a decoded
 * client message that does not survive re-encoding, or an input that takes
 * longer than HANG_MS.
 */
import { isDeepStrictEqual } from 'node:util';
import { BufshareError } from '../../lib/errors';
import { validateDescriptor } from '../../lib/descriptor';
import { MAX_DIMENSION } from '../../lib/layout';
import { damageFromQuads } from '../../lib/ipc/damage';
import { MAX_JSON_DEPTH } from '../../lib/ipc/json-limits';
import {
  decodeClientMessage, decodeServerMessage, encodeCreateSurface, encodeDestroySurface, encodeRequest, encodeResize,
  encodeSubmit, MAX_BUFFERS_PER_SURFACE, MAX_ID, MAX_WIRE_RECTS, type ClientMessage,
} from '../../lib/ipc/protocol';
import { rng } from '../helpers/random';
import { fuzzInput, validClientMessage, validServerMessage } from './mutate';

export const HANG_MS = 1000;

export interface DecoderFuzzResult {
  seed: number;
  inputs: number;
  /** Inputs the decoders accepted (mutations that stayed valid). */
  accepted: number;
  /** Inputs refused with the documented error code. */
  rejected: number;
  findings: string[];
  slowestMs: number;
  elapsedMs: number;
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.subarray(0, 96)).toString('hex') + (b.length > 96 ? `...(${b.length} bytes)` : '');
}

function isId(v: unknown): boolean {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= MAX_ID;
}

function isDim(v: unknown): boolean {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= MAX_DIMENSION;
}

/** What the server relies on once decodeClientMessage returned; undefined when all holds. */
function clientInvariant(m: ClientMessage): string | undefined {
  switch (m.op) {
    case 'hello': return typeof m.version === 'number' && (m.name === undefined || typeof m.name === 'string') ? undefined : 'hello fields';
    case 'create_surface':
      if (!isId(m.surface) || !isDim(m.width) || !isDim(m.height)) return 'create_surface geometry';
      if (!Number.isInteger(m.bufferCount) || m.bufferCount < 1 || m.bufferCount > MAX_BUFFERS_PER_SURFACE) return 'bufferCount';
      return m.usage === 'software' || m.usage === 'hardware' ? undefined : 'usage';
    case 'submit': {
      if (!isId(m.surface) || !isId(m.buffer) || m.damage.length % 4 !== 0 || m.damage.length > MAX_WIRE_RECTS * 4) return 'submit fields';
      const w = 1 + (m.surface % 300);
      const h = 1 + (m.buffer % 200);
      const region = damageFromQuads(m.damage, w, h, 64);
      if (region.rects.length > 64) return `damage kept ${region.rects.length} rectangles`;
      for (const r of region.rects) {
        if (r.x < 0 || r.y < 0 || r.width < 1 || r.height < 1 || r.x + r.width > w || r.y + r.height > h) return `damage ${JSON.stringify(r)} outside ${w}x${h}`;
      }
      return undefined;
    }
    case 'resize': return isId(m.surface) && isDim(m.width) && isDim(m.height) ? undefined : 'resize fields';
    case 'destroy_surface': return isId(m.surface) ? undefined : 'destroy_surface id';
    case 'request': return m.surface === undefined || isId(m.surface) ? undefined : 'request surface';
  }
}

/** Nesting depth of a decoded value, walked without recursion (a deep one must not overflow the checker). */
function depthOf(v: unknown): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[v, 0]];
  while (stack.length > 0) {
    const [x, d] = stack.pop()!;
    if (typeof x !== 'object' || x === null) continue;
    deepest = Math.max(deepest, d + 1);
    for (const child of Object.values(x)) stack.push([child, d + 1]);
  }
  return deepest;
}

/** Nothing decoded may be nested deeper than the bound both sides promise (the body is one level). */
function depthInvariant(m: object): string | undefined {
  const d = depthOf(m);
  return d > MAX_JSON_DEPTH ? `decoded message nested ${d} levels deep` : undefined;
}

function reencode(m: ClientMessage): Uint8Array | undefined {
  switch (m.op) {
    case 'create_surface': {
      const { op: _op, ...rest } = m;
      return encodeCreateSurface(rest);
    }
    case 'submit': return encodeSubmit(m.surface, m.buffer, m.damage);
    case 'resize': return encodeResize(m.surface, m.width, m.height);
    case 'destroy_surface': return encodeDestroySurface(m.surface);
    case 'request': return encodeRequest(m.surface, m.payload);
    default: return undefined;
  }
}

export function fuzzDecoders(seed: number, inputs: number, onProgress?: (done: number) => void): DecoderFuzzResult {
  const r = rng(seed);
  const result: DecoderFuzzResult = { seed, inputs, accepted: 0, rejected: 0, findings: [], slowestMs: 0, elapsedMs: 0 };
  const started = performance.now();
  const finding = (what: string, input: Uint8Array, e?: unknown): void => {
    if (result.findings.length < 50) result.findings.push(`${what}: ${e instanceof Error ? `${e.name} ${e.message}` : String(e ?? '')} input=${hex(input)}`);
  };
  for (let i = 0; i < inputs; i++) {
    const toServer = (i & 1) === 0;
    const input = fuzzInput(r, toServer ? validClientMessage : validServerMessage);
    const t0 = performance.now();
    try {
      if (toServer) {
        const m = decodeClientMessage(input);
        const broken = clientInvariant(m) ?? (m.op === 'submit' ? undefined : depthInvariant(m));
        if (broken) finding(`invariant (${broken})`, input);
        const again = reencode(m);
        if (again && !isDeepStrictEqual(decodeClientMessage(again), m)) finding('re-encoding changed the message', input);
      } else {
        const m = decodeServerMessage(input);
        const tooDeep = depthInvariant(m);
        if (tooDeep) finding(`invariant (${tooDeep})`, input);
        if (m.op === 'surface_buffers') {
          for (const d of m.buffers) {
            try {
              validateDescriptor(d);
            } catch (e) {
              if (!(e instanceof BufshareError && e.code === 'ERR_BUFSHARE_INVALID_DESCRIPTOR')) finding('descriptor validator threw', input, e);
            }
          }
        }
      }
      result.accepted++;
    } catch (e) {
      if (e instanceof BufshareError && e.code === 'ERR_BUFSHARE_PROTOCOL') result.rejected++;
      else finding('decoder threw', input, e);
    }
    const ms = performance.now() - t0;
    if (ms > result.slowestMs) result.slowestMs = ms;
    if (ms > HANG_MS) finding(`hang (${ms.toFixed(0)} ms)`, input);
    if (onProgress && (i + 1) % 100000 === 0) onProgress(i + 1);
  }
  result.elapsedMs = performance.now() - started;
  return result;
}
