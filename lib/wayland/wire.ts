/**
 * The Wayland wire format, both directions: a message is a header of two 32-bit
 * words (object id; size << 16 | opcode) then its arguments, each 32-bit
 * aligned, in host byte order. fds travel out of band (SCM_RIGHTS) and are taken
 * from the connection's queue in message order.
 *
 * Every rule is checked on decode, because the bytes come from a process we do
 * not trust: size at least 8, a multiple of 4 and at most 4096 (libwayland's
 * bound); every argument inside the message and nothing left after the last;
 * strings with their NUL counted, NUL-terminated, no NUL inside, null only where
 * the protocol allows it; object ids non-zero unless nullable; new ids non-zero;
 * an fd for every fd argument. A violation is a WireError: the server answers it
 * with wl_display.error (invalid_method) and disconnects that client.
 */
import type { ArgSpec, MessageSpec } from './spec';

export const HEADER_BYTES = 8;
/** libwayland's bound on one message, header included. */
export const MAX_MESSAGE_BYTES = 4096;

/** A new_id argument whose interface the protocol leaves to the sender (wl_registry.bind). */
export interface DynamicNewId {
  readonly interface: string;
  readonly version: number;
  readonly id: number;
}

export type ArgValue = number | string | null | Uint8Array | DynamicNewId;

export class WireError extends Error {
  override readonly name = 'WireError';
}

export interface Header {
  readonly objectId: number;
  readonly opcode: number;
  readonly size: number;
}

/** The header at `offset`, or undefined when fewer than 8 bytes are there. Throws WireError for a size that can never be valid. */
export function readHeader(bytes: Uint8Array, offset: number, available: number): Header | undefined {
  if (available < HEADER_BYTES) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, HEADER_BYTES);
  const objectId = view.getUint32(0, true);
  const word = view.getUint32(4, true);
  const size = word >>> 16;
  const opcode = word & 0xffff;
  if (size < HEADER_BYTES) throw new WireError(`message size ${size} is smaller than its header`);
  if (size % 4 !== 0) throw new WireError(`message size ${size} is not a multiple of 4`);
  if (size > MAX_MESSAGE_BYTES) throw new WireError(`message size ${size} is over ${MAX_MESSAGE_BYTES}`);
  return { objectId, opcode, size };
}

/** Where decode takes fds from: the connection's queue, in arrival order. */
export interface FdSource {
  /** The next fd, now owned by the caller, or undefined when none has arrived. */
  shift(): number | undefined;
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}

/**
 * Decodes the arguments of `body` (the message without its header). fds taken
 * from `fds` belong to the caller even when this throws: they are returned in
 * `taken` so the caller can close them.
 */
export function decodeArgs(spec: MessageSpec, body: Uint8Array, fds: FdSource, taken: number[] = []): ArgValue[] {
  // No closures here or in encodeInto: this runs for every request, and a
  // closure made per call cost more than the decode itself under tsx (its
  // keepNames wraps each in a defineProperty: 1.2-1.6 us a request, measured).
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const out: ArgValue[] = [];
  let p = 0;
  for (const arg of spec.args) {
    switch (arg.type) {
      case 'int':
        checkWord(spec, body, p, arg.name);
        out.push(view.getInt32(p, true));
        p += 4;
        break;
      case 'uint':
        checkWord(spec, body, p, arg.name);
        out.push(view.getUint32(p, true));
        p += 4;
        break;
      case 'fixed':
        checkWord(spec, body, p, arg.name);
        out.push(view.getInt32(p, true) / 256);
        p += 4;
        break;
      case 'string': {
        const text = readString(spec, body, view, p, arg.name, arg.nullable === true);
        out.push(text);
        p = stringEnd;
        break;
      }
      case 'object': {
        checkWord(spec, body, p, arg.name);
        const id = view.getUint32(p, true);
        p += 4;
        if (id === 0 && !arg.nullable) throw new WireError(`${spec.name}: null object for ${arg.name}`);
        out.push(id);
        break;
      }
      case 'new_id': {
        if (arg.interface === undefined) {
          const iface = readString(spec, body, view, p, `${arg.name} interface`, false);
          p = stringEnd;
          checkWord(spec, body, p, `${arg.name} version`);
          const version = view.getUint32(p, true);
          p += 4;
          checkWord(spec, body, p, arg.name);
          const id = view.getUint32(p, true);
          p += 4;
          if (id === 0) throw new WireError(`${spec.name}: new id 0`);
          out.push({ interface: iface!, version, id });
        } else {
          checkWord(spec, body, p, arg.name);
          const id = view.getUint32(p, true);
          p += 4;
          if (id === 0) throw new WireError(`${spec.name}: new id 0`);
          out.push(id);
        }
        break;
      }
      case 'array': {
        checkWord(spec, body, p, arg.name);
        const length = view.getUint32(p, true);
        p += 4;
        if (length > body.byteLength - p) throw new WireError(`${spec.name}: array ${arg.name} of ${length} bytes overruns the message`);
        out.push(body.slice(p, p + length));
        p += pad4(length);
        if (p > body.byteLength) throw new WireError(`${spec.name}: padding of ${arg.name} overruns the message`);
        break;
      }
      case 'fd': {
        const fd = fds.shift();
        if (fd === undefined) throw new WireError(`${spec.name}: fd ${arg.name} missing`);
        taken.push(fd);
        out.push(fd);
        break;
      }
      default:
        throw new WireError(`${spec.name}: unknown argument type ${arg.type}`);
    }
  }
  if (p !== body.byteLength) throw new WireError(`${spec.name}: ${body.byteLength - p} bytes after the last argument`);
  return out;
}

function checkWord(spec: MessageSpec, body: Uint8Array, p: number, what: string): void {
  if (p + 4 > body.byteLength) throw new WireError(`${spec.name}: message ends before ${what}`);
}

/** Where the last readString ended (a second return value without allocating one). */
let stringEnd = 0;

function readString(spec: MessageSpec, body: Uint8Array, view: DataView, at: number, name: string, nullable: boolean): string | null {
  checkWord(spec, body, at, name);
  const length = view.getUint32(at, true);
  let p = at + 4;
  if (length === 0) {
    if (nullable) {
      stringEnd = p;
      return null;
    }
    throw new WireError(`${spec.name}: null string for ${name}`);
  }
  if (length > body.byteLength - p) throw new WireError(`${spec.name}: string ${name} of ${length} bytes overruns the message`);
  if (body[p + length - 1] !== 0) throw new WireError(`${spec.name}: string ${name} is not NUL-terminated`);
  const text = body.subarray(p, p + length - 1);
  if (text.includes(0)) throw new WireError(`${spec.name}: string ${name} has a NUL inside`);
  p += pad4(length);
  if (p > body.byteLength) throw new WireError(`${spec.name}: padding of ${name} overruns the message`);
  stringEnd = p;
  return Buffer.from(text.buffer, text.byteOffset, text.byteLength).toString('utf8');
}

/** One encoded message and the fds that go with it (the caller's: the connection dups what it queues). */
export interface Encoded {
  readonly bytes: Uint8Array;
  readonly fds: readonly number[];
}

const encoder = new TextEncoder();
const isUint32 = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
const NO_FDS: readonly number[] = Object.freeze([]);

/**
 * Where a message is built before its bytes are copied out, once: every event a
 * compositor sends (a frame's done, release and delete_id; a pointer's motion)
 * goes through here, and building it from a Uint8Array and a DataView per
 * argument cost 0.6-1.7 us and a dozen allocations a message (measured).
 * A call made while another is encoding (a caller's getter or valueOf that
 * sends a message) gets a buffer of its own, so neither overwrites the other.
 */
const scratch = new Uint8Array(MAX_MESSAGE_BYTES);
const scratchView = new DataView(scratch.buffer);
let scratchInUse = false;

/** Encodes a message. Throws WireError for values that do not fit the signature (a bug on our side, not the peer's). */
export function encodeMessage(objectId: number, opcode: number, spec: MessageSpec, args: readonly ArgValue[]): Encoded {
  if (args.length !== spec.args.length) throw new WireError(`${spec.name}: ${args.length} arguments for ${spec.args.length}`);
  if (scratchInUse) {
    const own = new Uint8Array(MAX_MESSAGE_BYTES);
    return encodeInto(own, new DataView(own.buffer), objectId, opcode, spec, args);
  }
  scratchInUse = true;
  try {
    return encodeInto(scratch, scratchView, objectId, opcode, spec, args);
  } finally {
    scratchInUse = false;
  }
}

function encodeInto(buffer: Uint8Array, view: DataView, objectId: number, opcode: number, spec: MessageSpec, args: readonly ArgValue[]): Encoded {
  let p = HEADER_BYTES;
  let fds = NO_FDS as number[];
  for (let i = 0; i < spec.args.length; i++) {
    const arg = spec.args[i]!;
    const v = args[i];
    switch (arg.type) {
      case 'int':
        if (typeof v !== 'number' || !Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) badValue(spec, arg, v);
        p = putU32(spec, view, p, (v as number) | 0);
        break;
      case 'uint':
      case 'object':
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) badValue(spec, arg, v);
        if (arg.type === 'object' && v === 0 && !arg.nullable) badValue(spec, arg, v);
        p = putU32(spec, view, p, v as number);
        break;
      case 'fixed':
        if (typeof v !== 'number' || !Number.isFinite(v)) badValue(spec, arg, v);
        p = putU32(spec, view, p, Math.round((v as number) * 256) | 0);
        break;
      case 'string':
        if (v === null && arg.nullable) p = putU32(spec, view, p, 0);
        else if (typeof v === 'string' && !v.includes('\0')) p = putString(spec, buffer, view, p, v);
        else badValue(spec, arg, v);
        break;
      case 'new_id':
        if (arg.interface === undefined) {
          if (typeof v !== 'object' || v === null || v instanceof Uint8Array) return badValue(spec, arg, v);
          // Each field read once, checked before anything is written.
          const { interface: name, version, id } = v;
          if (typeof name !== 'string' || name.includes('\0') || !isUint32(version) || !isUint32(id) || id === 0) return badValue(spec, arg, v);
          p = putString(spec, buffer, view, p, name);
          p = putU32(spec, view, p, version);
          p = putU32(spec, view, p, id);
        } else {
          if (typeof v !== 'number' || v <= 0) badValue(spec, arg, v);
          p = putU32(spec, view, p, v as number);
        }
        break;
      case 'array':
        if (!(v instanceof Uint8Array)) return badValue(spec, arg, v);
        p = putBytes(spec, buffer, view, p, v, false);
        break;
      case 'fd':
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) badValue(spec, arg, v);
        if (fds === NO_FDS) fds = [];
        fds.push(v as number);
        break;
      default:
        badValue(spec, arg, v);
    }
  }
  view.setUint32(0, objectId, true);
  view.setUint32(4, ((p << 16) | opcode) >>> 0, true);
  return { bytes: buffer.slice(0, p), fds };
}

function badValue(spec: MessageSpec, arg: ArgSpec, v: unknown): never {
  throw new WireError(`${spec.name}: bad value for ${arg.name} (${arg.type}): ${String(v)}`);
}

function tooLong(spec: MessageSpec, bytes: number): never {
  throw new WireError(`${spec.name}: ${bytes} bytes is over ${MAX_MESSAGE_BYTES}`);
}

/** Writes a 32-bit word at p: the position after it. */
function putU32(spec: MessageSpec, view: DataView, p: number, v: number): number {
  if (p + 4 > MAX_MESSAGE_BYTES) tooLong(spec, p + 4);
  view.setUint32(p, v >>> 0, true);
  return p + 4;
}

/** Length, then the bytes (a string's NUL counted), zero-padded to 32 bits: the position after them. */
function putBytes(spec: MessageSpec, buffer: Uint8Array, view: DataView, p: number, data: Uint8Array, withNul: boolean): number {
  const length = data.byteLength + (withNul ? 1 : 0);
  if (p + 4 + pad4(length) > MAX_MESSAGE_BYTES) tooLong(spec, p + 4 + pad4(length));
  p = putU32(spec, view, p, length);
  buffer.set(data, p);
  buffer.fill(0, p + data.byteLength, p + pad4(length));
  return p + pad4(length);
}

function putString(spec: MessageSpec, buffer: Uint8Array, view: DataView, p: number, v: string): number {
  // A string of ASCII is its own UTF-8 (every string a compositor sends here is).
  let ascii = v.length + 4 + HEADER_BYTES <= MAX_MESSAGE_BYTES;
  for (let i = 0; ascii && i < v.length; i++) ascii = v.charCodeAt(i) < 0x80;
  if (!ascii) return putBytes(spec, buffer, view, p, encoder.encode(v), true);
  const length = v.length + 1;
  if (p + 4 + pad4(length) > MAX_MESSAGE_BYTES) tooLong(spec, p + 4 + pad4(length));
  p = putU32(spec, view, p, length);
  for (let i = 0; i < v.length; i++) buffer[p + i] = v.charCodeAt(i);
  buffer.fill(0, p + v.length, p + pad4(length));
  return p + pad4(length);
}
