/**
 * The bufshare wire protocol: every message, its encoding, and the checks a
 * receiver makes before believing any of it.
 *
 * How am I supposed to use this? The transport hands each received message (one
 * SOCK_SEQPACKET packet) to `decodeClientMessage` (server side) or
 * `decodeServerMessage` (client side); they return a typed message or throw
 * ERR_BUFSHARE_PROTOCOL naming the first thing wrong. The `encode*` functions
 * build the bytes to send; fds travel beside the bytes (SCM_RIGHTS), never inside.
 *
 * Layout: a little-endian u32 opcode, then the body. The per-frame messages
 * (submit, release, frame_done, destroy_surface) have fixed binary bodies of u32
 * fields and int32 rectangles, so the hot path never parses text; the rare ones
 * carry a UTF-8 JSON object. Every message is at most MAX_MESSAGE_BYTES.
 *
 * Versioning: the client's `hello` names PROTOCOL_VERSION; a server that speaks
 * another answers with an ERR_BUFSHARE_VERSION_MISMATCH error and disconnects.
 * Opcodes are never reused; a new message gets a new opcode and a version bump.
 *
 * Encoders of the hot messages write into one scratch buffer and return a view of
 * it, valid until the next encode: the transport sends (or copies) it at once.
 *
 * Messages (u32 fields little-endian; "JSON" bodies are UTF-8 objects):
 *
 *   client -> server
 *   1  hello            JSON {protocol: "bufshare", version, name?}          first, once
 *   2  create_surface   JSON {surface, width, height, format, usage, bufferCount}
 *                       surface: an id the client picks (1..2^32-1, unused)
 *   3  submit           u32 surface, u32 buffer, u32 n, n x int32 {x, y, w, h}
 *   4  resize           JSON {surface, width, height}
 *   5  destroy_surface  u32 surface
 *   6  request          JSON {surface?, payload}                             application channel
 *
 *   server -> client
 *   64 welcome          JSON {version, client, limits}
 *   65 surface_buffers  JSON {surface, width, height, format, buffers: [descriptor]}
 *                       + SCM_RIGHTS: each descriptor's fds, in order      on create and resize
 *   66 release          u32 surface, u32 buffer                            the buffer is the client's again
 *   67 frame_done       u32 surface                                        shown: draw the next one
 *   68 event            JSON {surface, payload}                            application channel
 *   69 error            JSON {code, message, fatal, surface?}              fatal: a disconnect follows
 *   70 goodbye          JSON {reason}                                      the server is closing
 *
 * Buffer ids in descriptors are per client (the server's own ids never leak),
 * so a client can only ever name its own buffers; surface ids are the client's.
 */
import { BufshareError } from '../errors';
import { MAX_DIMENSION } from '../layout';
import { jsonTextDepth, MAX_JSON_DEPTH } from './json-limits';

export const PROTOCOL_VERSION = 1;
/** The largest message, either way. SOCK_SEQPACKET keeps it whole or reports it truncated. */
export const MAX_MESSAGE_BYTES = 64 * 1024;
/**
 * The most fds one protocol message may carry (a surface's buffers, each with up to
 * 2 fds). The native socket could pass more (constants.SOCKET_MAX_FDS, its SCM_RIGHTS space).
 */
export const MAX_FDS_PER_MESSAGE = 16;
/** Buffers per surface: 1 (single-buffered) to 4. */
export const MAX_BUFFERS_PER_SURFACE = 4;
/** Ids (surfaces, buffers) are u32 and never 0. */
export const MAX_ID = 0xffffffff;
/** Rectangles that fit one submit message. */
export const MAX_WIRE_RECTS = Math.floor((MAX_MESSAGE_BYTES - 16) / 16);

export const Opcode = {
  // client -> server
  HELLO: 1,
  CREATE_SURFACE: 2,
  SUBMIT: 3,
  RESIZE: 4,
  DESTROY_SURFACE: 5,
  REQUEST: 6,
  // server -> client
  WELCOME: 64,
  SURFACE_BUFFERS: 65,
  RELEASE: 66,
  FRAME_DONE: 67,
  EVENT: 68,
  ERROR: 69,
  GOODBYE: 70,
} as const;

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export type BufferUsageName = 'software' | 'hardware';

/** What the server allows each client; sent in `welcome` so clients stay within it. */
export interface ClientLimits {
  /** Live surfaces per client. */
  readonly maxSurfaces: number;
  /** Live buffers per client, all surfaces together. */
  readonly maxBuffers: number;
  /** Bytes of buffer memory per client, all surfaces together. */
  readonly maxBytes: number;
  /** Damage rectangles kept per submit; more are merged (Region.simplify), never dropped. */
  readonly maxRectsPerSubmit: number;
  /** Bytes the server may queue for a client that does not read; past it the client is disconnected. */
  readonly maxQueuedBytes: number;
  /** Milliseconds a new connection has to say hello; a silent one is disconnected (it holds an fd). */
  readonly helloTimeoutMs: number;
}

export const DEFAULT_LIMITS: ClientLimits = Object.freeze({
  maxSurfaces: 64,
  maxBuffers: 192,
  maxBytes: 1024 * 1024 * 1024,
  maxRectsPerSubmit: 64,
  maxQueuedBytes: 4 * 1024 * 1024,
  helloTimeoutMs: 10000,
});

export type ClientMessage =
  | { readonly op: 'hello'; readonly version: number; readonly name: string | undefined }
  | {
      readonly op: 'create_surface'; readonly surface: number; readonly width: number; readonly height: number;
      readonly format: string | number; readonly usage: BufferUsageName; readonly bufferCount: number;
    }
  /** damage: x, y, width, height quadruples, as sent (not yet clipped). */
  | { readonly op: 'submit'; readonly surface: number; readonly buffer: number; readonly damage: Int32Array }
  | { readonly op: 'resize'; readonly surface: number; readonly width: number; readonly height: number }
  | { readonly op: 'destroy_surface'; readonly surface: number }
  | { readonly op: 'request'; readonly surface: number | undefined; readonly payload: JsonValue };

/** One surface's buffers (on creation and after each resize); the fds follow in descriptor order. */
export interface SurfaceBuffersMessage {
  readonly op: 'surface_buffers';
  readonly surface: number;
  readonly width: number;
  readonly height: number;
  /** DRM fourcc. */
  readonly format: number;
  /** Descriptors as received: each is validated by fromDescriptor() with its fds. */
  readonly buffers: readonly unknown[];
}

export type ServerMessage =
  | { readonly op: 'welcome'; readonly version: number; readonly client: number; readonly limits: ClientLimits }
  | SurfaceBuffersMessage
  | { readonly op: 'release'; readonly surface: number; readonly buffer: number }
  | { readonly op: 'frame_done'; readonly surface: number }
  | { readonly op: 'event'; readonly surface: number; readonly payload: JsonValue }
  /** fatal: the server disconnects after sending it. surface: the create/resize that failed, when not fatal. */
  | { readonly op: 'error'; readonly code: string; readonly message: string; readonly fatal: boolean; readonly surface: number | undefined }
  | { readonly op: 'goodbye'; readonly reason: string };

export function protocolError(message: string): BufshareError {
  return new BufshareError('ERR_BUFSHARE_PROTOCOL', message);
}

// ---------------------------------------------------------------------------
// Encoding

const scratch = new Uint8Array(MAX_MESSAGE_BYTES);
const scratchView = new DataView(scratch.buffer);
const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true });

function encodeJson(op: number, body: Record<string, unknown>): Uint8Array {
  let text: string;
  try {
    text = JSON.stringify(body);
  } catch (e) {
    throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', `message is not JSON-serialisable: ${(e as Error).message}`, { cause: e });
  }
  if (jsonTextDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
    throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', `message is nested deeper than ${MAX_JSON_DEPTH} levels (the peer would refuse it)`);
  }
  const out = new Uint8Array(4 + Buffer.byteLength(text));
  if (out.length > MAX_MESSAGE_BYTES) {
    throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', `message of ${out.length} bytes is over the ${MAX_MESSAGE_BYTES}-byte limit`);
  }
  new DataView(out.buffer).setUint32(0, op, true);
  textEncoder.encodeInto(text, out.subarray(4));
  return out;
}

function encodeU32s(op: number, a: number, b?: number): Uint8Array {
  scratchView.setUint32(0, op, true);
  scratchView.setUint32(4, a, true);
  if (b === undefined) return scratch.subarray(0, 8);
  scratchView.setUint32(8, b, true);
  return scratch.subarray(0, 12);
}

export function encodeHello(name?: string): Uint8Array {
  return encodeJson(Opcode.HELLO, { protocol: 'bufshare', version: PROTOCOL_VERSION, ...(name === undefined ? {} : { name }) });
}

export function encodeCreateSurface(m: Omit<Extract<ClientMessage, { op: 'create_surface' }>, 'op'>): Uint8Array {
  return encodeJson(Opcode.CREATE_SURFACE, { ...m });
}

/** `damage`: x, y, width, height quadruples, at most MAX_WIRE_RECTS. Returns a scratch view. */
export function encodeSubmit(surface: number, buffer: number, damage: Int32Array): Uint8Array {
  const count = damage.length >>> 2;
  if (count > MAX_WIRE_RECTS || damage.length % 4 !== 0) {
    throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', `damage must be at most ${MAX_WIRE_RECTS} whole rectangles`);
  }
  scratchView.setUint32(0, Opcode.SUBMIT, true);
  scratchView.setUint32(4, surface, true);
  scratchView.setUint32(8, buffer, true);
  scratchView.setUint32(12, count, true);
  for (let i = 0; i < damage.length; i++) scratchView.setInt32(16 + i * 4, damage[i]!, true);
  return scratch.subarray(0, 16 + damage.length * 4);
}

export function encodeResize(surface: number, width: number, height: number): Uint8Array {
  return encodeJson(Opcode.RESIZE, { surface, width, height });
}

export function encodeDestroySurface(surface: number): Uint8Array {
  return encodeU32s(Opcode.DESTROY_SURFACE, surface);
}

export function encodeRequest(surface: number | undefined, payload: JsonValue): Uint8Array {
  return encodeJson(Opcode.REQUEST, surface === undefined ? { payload } : { surface, payload });
}

export function encodeWelcome(client: number, limits: ClientLimits): Uint8Array {
  return encodeJson(Opcode.WELCOME, { version: PROTOCOL_VERSION, client, limits });
}

export function encodeSurfaceBuffers(m: Omit<SurfaceBuffersMessage, 'op'>): Uint8Array {
  return encodeJson(Opcode.SURFACE_BUFFERS, { ...m });
}

/** Returns a scratch view. */
export function encodeRelease(surface: number, buffer: number): Uint8Array {
  return encodeU32s(Opcode.RELEASE, surface, buffer);
}

/** Returns a scratch view. */
export function encodeFrameDone(surface: number): Uint8Array {
  return encodeU32s(Opcode.FRAME_DONE, surface);
}

export function encodeEvent(surface: number, payload: JsonValue): Uint8Array {
  return encodeJson(Opcode.EVENT, { surface, payload });
}

export function encodeError(code: string, message: string, fatal: boolean, surface?: number): Uint8Array {
  // Never let a long message push an error over the size limit.
  return encodeJson(Opcode.ERROR, { code, message: message.slice(0, 1024), fatal, ...(surface === undefined ? {} : { surface }) });
}

export function encodeGoodbye(reason: string): Uint8Array {
  return encodeJson(Opcode.GOODBYE, { reason: reason.slice(0, 1024) });
}

// ---------------------------------------------------------------------------
// Decoding and validation

type JsonObject = Record<string, unknown>;

function opcodeOf(data: Uint8Array): number {
  if (data.length < 4) throw protocolError(`message of ${data.length} bytes is shorter than its 4-byte opcode`);
  if (data.length > MAX_MESSAGE_BYTES) throw protocolError(`message of ${data.length} bytes is over the ${MAX_MESSAGE_BYTES}-byte limit`);
  return view(data).getUint32(0, true);
}

function view(data: Uint8Array): DataView {
  return new DataView(data.buffer, data.byteOffset, data.byteLength);
}

/** The body of a JSON message: UTF-8, at most MAX_JSON_DEPTH levels deep (json-limits.ts), an object. */
function jsonBody(data: Uint8Array, what: string): JsonObject {
  let text: string;
  try {
    text = textDecoder.decode(data.subarray(4));
  } catch {
    throw protocolError(`${what}: body is not UTF-8 JSON`);
  }
  if (jsonTextDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) throw protocolError(`${what}: body is nested deeper than ${MAX_JSON_DEPTH} levels`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw protocolError(`${what}: body is not UTF-8 JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw protocolError(`${what}: body is not a JSON object`);
  return value as JsonObject;
}

function fixedLength(data: Uint8Array, length: number, what: string): DataView {
  if (data.length !== length) throw protocolError(`${what}: must be ${length} bytes, got ${data.length}`);
  return view(data);
}

function intField(o: JsonObject, key: string, min: number, max: number, what: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw protocolError(`${what}: ${key} must be an integer in ${min}..${max}, got ${describe(v)}`);
  }
  return v;
}

function id(v: number, key: string, what: string): number {
  if (v === 0) throw protocolError(`${what}: ${key} must not be 0`);
  return v;
}

function stringField(o: JsonObject, key: string, maxLength: number, what: string): string {
  const v = o[key];
  if (typeof v !== 'string' || v.length > maxLength) throw protocolError(`${what}: ${key} must be a string of at most ${maxLength} characters`);
  return v;
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.slice(0, 40));
  if (typeof v === 'object' && v !== null) return Array.isArray(v) ? 'an array' : 'an object';
  return String(v);
}

/**
 * True when every number in `v` is finite. JSON.parse turns a number too large
 * for a double (`1e999`) into Infinity, which JSON.stringify then writes as
 * null: refusing it keeps a payload exactly what re-sending it gives. (Found by
 * the decoder fuzzer.)
 */
function allFinite(v: unknown): boolean {
  const stack: unknown[] = [v];
  while (stack.length > 0) {
    const x = stack.pop();
    if (typeof x === 'number') {
      if (!Number.isFinite(x)) return false;
    } else if (typeof x === 'object' && x !== null) {
      for (const child of Object.values(x)) stack.push(child);
    }
  }
  return true;
}

/** The JSON payload of an event or request: present, and JSON by construction (it came from JSON.parse), with finite numbers only. */
function payloadField(o: JsonObject, what: string): JsonValue {
  if (!('payload' in o)) throw protocolError(`${what}: payload is missing`);
  if (!allFinite(o.payload)) throw protocolError(`${what}: payload has a number out of the double range`);
  return o.payload as JsonValue;
}

/** Decodes and validates a message a client sent. Throws ERR_BUFSHARE_PROTOCOL. */
export function decodeClientMessage(data: Uint8Array): ClientMessage {
  const op = opcodeOf(data);
  switch (op) {
    case Opcode.HELLO: {
      const o = jsonBody(data, 'hello');
      if (o.protocol !== 'bufshare') throw protocolError(`hello: protocol must be "bufshare", got ${describe(o.protocol)}`);
      const version = intField(o, 'version', 0, MAX_ID, 'hello');
      const name = o.name === undefined ? undefined : stringField(o, 'name', 256, 'hello');
      return { op: 'hello', version, name };
    }
    case Opcode.CREATE_SURFACE: {
      const w = 'create_surface';
      const o = jsonBody(data, w);
      const surface = id(intField(o, 'surface', 0, MAX_ID, w), 'surface', w);
      const width = intField(o, 'width', 1, MAX_DIMENSION, w);
      const height = intField(o, 'height', 1, MAX_DIMENSION, w);
      const format = o.format;
      if (!(typeof format === 'string' && format.length <= 32) && !(typeof format === 'number' && Number.isInteger(format) && format >= 0 && format <= MAX_ID)) {
        throw protocolError(`${w}: format must be a format name or a fourcc, got ${describe(format)}`);
      }
      const usage = o.usage;
      if (usage !== 'software' && usage !== 'hardware') throw protocolError(`${w}: usage must be "software" or "hardware", got ${describe(usage)}`);
      const bufferCount = intField(o, 'bufferCount', 1, MAX_BUFFERS_PER_SURFACE, w);
      return { op: 'create_surface', surface, width, height, format, usage, bufferCount };
    }
    case Opcode.SUBMIT: {
      if (data.length < 16) throw protocolError(`submit: must be at least 16 bytes, got ${data.length}`);
      const v = view(data);
      const surface = id(v.getUint32(4, true), 'surface', 'submit');
      const buffer = id(v.getUint32(8, true), 'buffer', 'submit');
      const count = v.getUint32(12, true);
      if (count > MAX_WIRE_RECTS || data.length !== 16 + count * 16) {
        throw protocolError(`submit: ${count} rectangles need ${16 + count * 16} bytes, got ${data.length}`);
      }
      const damage = new Int32Array(count * 4);
      for (let i = 0; i < damage.length; i++) damage[i] = v.getInt32(16 + i * 4, true);
      return { op: 'submit', surface, buffer, damage };
    }
    case Opcode.RESIZE: {
      const o = jsonBody(data, 'resize');
      const surface = id(intField(o, 'surface', 0, MAX_ID, 'resize'), 'surface', 'resize');
      return { op: 'resize', surface, width: intField(o, 'width', 1, MAX_DIMENSION, 'resize'), height: intField(o, 'height', 1, MAX_DIMENSION, 'resize') };
    }
    case Opcode.DESTROY_SURFACE: {
      const v = fixedLength(data, 8, 'destroy_surface');
      return { op: 'destroy_surface', surface: id(v.getUint32(4, true), 'surface', 'destroy_surface') };
    }
    case Opcode.REQUEST: {
      const o = jsonBody(data, 'request');
      const surface = o.surface === undefined ? undefined : id(intField(o, 'surface', 0, MAX_ID, 'request'), 'surface', 'request');
      return { op: 'request', surface, payload: payloadField(o, 'request') };
    }
    default:
      throw protocolError(`unknown client opcode ${op}`);
  }
}

function limitsField(o: JsonObject): ClientLimits {
  const l = o.limits;
  if (typeof l !== 'object' || l === null || Array.isArray(l)) throw protocolError('welcome: limits must be an object');
  const lo = l as JsonObject;
  const n = (key: keyof ClientLimits): number => intField(lo, key, 1, Number.MAX_SAFE_INTEGER, 'welcome.limits');
  return {
    maxSurfaces: n('maxSurfaces'), maxBuffers: n('maxBuffers'), maxBytes: n('maxBytes'),
    maxRectsPerSubmit: n('maxRectsPerSubmit'), maxQueuedBytes: n('maxQueuedBytes'), helloTimeoutMs: n('helloTimeoutMs'),
  };
}

/** Decodes and validates a message the server sent. Throws ERR_BUFSHARE_PROTOCOL. */
export function decodeServerMessage(data: Uint8Array): ServerMessage {
  const op = opcodeOf(data);
  switch (op) {
    case Opcode.WELCOME: {
      const o = jsonBody(data, 'welcome');
      return { op: 'welcome', version: intField(o, 'version', 0, MAX_ID, 'welcome'), client: intField(o, 'client', 0, MAX_ID, 'welcome'), limits: limitsField(o) };
    }
    case Opcode.SURFACE_BUFFERS: {
      const w = 'surface_buffers';
      const o = jsonBody(data, w);
      const buffers = o.buffers;
      if (!Array.isArray(buffers) || buffers.length < 1 || buffers.length > MAX_BUFFERS_PER_SURFACE) {
        throw protocolError(`${w}: buffers must be an array of 1..${MAX_BUFFERS_PER_SURFACE} descriptors`);
      }
      return {
        op: 'surface_buffers', surface: id(intField(o, 'surface', 0, MAX_ID, w), 'surface', w),
        width: intField(o, 'width', 1, MAX_DIMENSION, w), height: intField(o, 'height', 1, MAX_DIMENSION, w),
        format: intField(o, 'format', 0, MAX_ID, w), buffers,
      };
    }
    case Opcode.RELEASE: {
      const v = fixedLength(data, 12, 'release');
      return { op: 'release', surface: v.getUint32(4, true), buffer: v.getUint32(8, true) };
    }
    case Opcode.FRAME_DONE: {
      const v = fixedLength(data, 8, 'frame_done');
      return { op: 'frame_done', surface: v.getUint32(4, true) };
    }
    case Opcode.EVENT: {
      const o = jsonBody(data, 'event');
      return { op: 'event', surface: intField(o, 'surface', 0, MAX_ID, 'event'), payload: payloadField(o, 'event') };
    }
    case Opcode.ERROR: {
      const o = jsonBody(data, 'error');
      const fatal = o.fatal;
      if (typeof fatal !== 'boolean') throw protocolError('error: fatal must be a boolean');
      return {
        op: 'error', code: stringField(o, 'code', 64, 'error'), message: stringField(o, 'message', 4096, 'error'), fatal,
        surface: o.surface === undefined ? undefined : intField(o, 'surface', 0, MAX_ID, 'error'),
      };
    }
    case Opcode.GOODBYE: {
      const o = jsonBody(data, 'goodbye');
      return { op: 'goodbye', reason: stringField(o, 'reason', 4096, 'goodbye') };
    }
    default:
      throw protocolError(`unknown server opcode ${op}`);
  }
}
