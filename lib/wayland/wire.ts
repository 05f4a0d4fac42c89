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
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const out: ArgValue[] = [];
  let p = 0;
  const word = (what: string): number => {
    if (p + 4 > body.byteLength) throw new WireError(`${spec.name}: message ends before ${what}`);
    const v = view.getUint32(p, true);
    p += 4;
    return v;
  };
  const string = (arg: ArgSpec | { name: string; nullable?: true }): string | null => {
    const length = word(arg.name);
    if (length === 0) {
      if (arg.nullable) return null;
      throw new WireError(`${spec.name}: null string for ${arg.name}`);
    }
    if (length > body.byteLength - p) throw new WireError(`${spec.name}: string ${arg.name} of ${length} bytes overruns the message`);
    if (body[p + length - 1] !== 0) throw new WireError(`${spec.name}: string ${arg.name} is not NUL-terminated`);
    const text = body.subarray(p, p + length - 1);
    if (text.includes(0)) throw new WireError(`${spec.name}: string ${arg.name} has a NUL inside`);
    p += pad4(length);
    if (p > body.byteLength) throw new WireError(`${spec.name}: padding of ${arg.name} overruns the message`);
    return Buffer.from(text.buffer, text.byteOffset, text.byteLength).toString('utf8');
  };
  for (const arg of spec.args) {
    switch (arg.type) {
      case 'int':
        out.push(view.getInt32((word(arg.name), p - 4), true));
        break;
      case 'uint':
        out.push(word(arg.name));
        break;
      case 'fixed':
        out.push(view.getInt32((word(arg.name), p - 4), true) / 256);
        break;
      case 'string':
        out.push(string(arg));
        break;
      case 'object': {
        const id = word(arg.name);
        if (id === 0 && !arg.nullable) throw new WireError(`${spec.name}: null object for ${arg.name}`);
        out.push(id);
        break;
      }
      case 'new_id': {
        if (arg.interface === undefined) {
          const iface = string({ name: `${arg.name} interface` });
          const version = word(`${arg.name} version`);
          const id = word(arg.name);
          if (id === 0) throw new WireError(`${spec.name}: new id 0`);
          out.push({ interface: iface!, version, id });
        } else {
          const id = word(arg.name);
          if (id === 0) throw new WireError(`${spec.name}: new id 0`);
          out.push(id);
        }
        break;
      }
      case 'array': {
        const length = word(arg.name);
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
  const tooLong = (bytes: number): never => {
    throw new WireError(`${spec.name}: ${bytes} bytes is over ${MAX_MESSAGE_BYTES}`);
  };
  const u32 = (v: number): void => {
    if (p + 4 > MAX_MESSAGE_BYTES) tooLong(p + 4);
    view.setUint32(p, v >>> 0, true);
    p += 4;
  };
  // Length, then the bytes (a string's NUL counted), zero-padded to 32 bits.
  const bytesArg = (data: Uint8Array, withNul: boolean): void => {
    const length = data.byteLength + (withNul ? 1 : 0);
    if (p + 4 + pad4(length) > MAX_MESSAGE_BYTES) tooLong(p + 4 + pad4(length));
    u32(length);
    buffer.set(data, p);
    buffer.fill(0, p + data.byteLength, p + pad4(length));
    p += pad4(length);
  };
  const stringArg = (v: string): void => {
    // A string of ASCII is its own UTF-8 (every string a compositor sends here is).
    let ascii = v.length + 4 + HEADER_BYTES <= MAX_MESSAGE_BYTES;
    for (let i = 0; ascii && i < v.length; i++) ascii = v.charCodeAt(i) < 0x80;
    if (!ascii) {
      bytesArg(encoder.encode(v), true);
      return;
    }
    const length = v.length + 1;
    if (p + 4 + pad4(length) > MAX_MESSAGE_BYTES) tooLong(p + 4 + pad4(length));
    u32(length);
    for (let i = 0; i < v.length; i++) buffer[p + i] = v.charCodeAt(i);
    buffer.fill(0, p + v.length, p + pad4(length));
    p += pad4(length);
  };
  for (let i = 0; i < spec.args.length; i++) {
    const arg = spec.args[i]!;
    const v = args[i];
    const bad = (): never => {
      throw new WireError(`${spec.name}: bad value for ${arg.name} (${arg.type}): ${String(v)}`);
    };
    switch (arg.type) {
      case 'int':
        if (typeof v !== 'number' || !Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) bad();
        u32((v as number) | 0);
        break;
      case 'uint':
      case 'object':
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) bad();
        if (arg.type === 'object' && v === 0 && !arg.nullable) bad();
        u32(v as number);
        break;
      case 'fixed':
        if (typeof v !== 'number' || !Number.isFinite(v)) bad();
        u32(Math.round((v as number) * 256) | 0);
        break;
      case 'string':
        if (v === null && arg.nullable) u32(0);
        else if (typeof v === 'string' && !v.includes('\0')) stringArg(v);
        else bad();
        break;
      case 'new_id':
        if (arg.interface === undefined) {
          if (typeof v !== 'object' || v === null || v instanceof Uint8Array) return bad();
          // Each field read once, checked before anything is written.
          const { interface: name, version, id } = v;
          if (typeof name !== 'string' || name.includes('\0') || !isUint32(version) || !isUint32(id) || id === 0) return bad();
          stringArg(name);
          u32(version);
          u32(id);
        } else {
          if (typeof v !== 'number' || v <= 0) bad();
          u32(v as number);
        }
        break;
      case 'array':
        if (!(v instanceof Uint8Array)) return bad();
        bytesArg(v, false);
        break;
      case 'fd':
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) bad();
        if (fds === NO_FDS) fds = [];
        fds.push(v as number);
        break;
      default:
        bad();
    }
  }
  view.setUint32(0, objectId, true);
  view.setUint32(4, ((p << 16) | opcode) >>> 0, true);
  return { bytes: buffer.slice(0, p), fds };
}
