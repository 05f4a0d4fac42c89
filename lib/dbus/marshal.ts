/**
 * The D-Bus wire format (the specification's "Marshaling"): values to bytes and
 * back, with every alignment, padding and length rule checked on the way in.
 *
 * JS values by type code:
 *   y n q i u h: number (h: an index into the message's fds)   x t: bigint
 *   d: number   b: boolean   s o g: string   v: Variant
 *   ay: Uint8Array (reading: a view into the message, valid while it is)
 *   a{kv}: Map   other arrays: Array   (...): Array of the fields
 *
 * We write little-endian; we read both byte orders. Reading never goes past the
 * bytes it was given, and every violation is ERR_BUFSHARE_DBUS_MALFORMED.
 */
import { BufshareError } from '../errors';
import { alignmentOf, malformed, parseSignature, parseSingleType, signatureOf, type DBusType } from './signature';

/** A value of type v: its own signature (one complete type) and the value. */
export class Variant {
  constructor(readonly signature: string, readonly value: unknown) {}
}

/** How deep containers (arrays, structs, dict entries, variants) may nest in one message: the specification's 64. */
export const MAX_NESTING = 64;
/** The specification's bound on one array's bytes (2^26). */
export const MAX_ARRAY_BYTES = 64 * 1024 * 1024;

const OBJECT_PATH = /^\/$|^(\/[A-Za-z0-9_]+)+$/;

export function isObjectPath(s: string): boolean {
  return OBJECT_PATH.test(s);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

function invalid(message: string): BufshareError {
  return new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', message);
}

export class Writer {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  private pos: number;
  /** fds referenced by h values, in order (indices are positions here). */
  readonly fds: number[];

  /** `base`: the offset this writer's byte 0 has in the message (alignment is relative to the message start). */
  constructor(private readonly base = 0, fds: number[] = []) {
    this.pos = 0;
    this.fds = fds;
  }

  get length(): number {
    return this.pos;
  }

  bytes(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  private reserve(n: number): void {
    if (this.pos + n <= this.buf.byteLength) return;
    let size = this.buf.byteLength * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  align(n: number): void {
    const pad = (n - ((this.base + this.pos) % n)) % n;
    this.reserve(pad);
    this.buf.fill(0, this.pos, this.pos + pad);
    this.pos += pad;
  }

  u8(v: number): void {
    this.reserve(1);
    this.buf[this.pos++] = v;
  }

  u32(v: number): void {
    this.align(4);
    this.reserve(4);
    this.view.setUint32(this.pos, v, true);
    this.pos += 4;
  }

  /** Overwrites a u32 written earlier (an array's length). */
  patchU32(at: number, v: number): void {
    this.view.setUint32(at, v, true);
  }

  raw(bytes: Uint8Array): void {
    this.reserve(bytes.byteLength);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.byteLength;
  }

  /** Writes values of `signature`. Throws ERR_BUFSHARE_INVALID_ARGUMENT for a value that does not fit its type. */
  write(signature: string, values: readonly unknown[]): void {
    const types = parseSignature(signature);
    if (types.length !== values.length) throw invalid(`signature "${signature}" has ${types.length} types, got ${values.length} values`);
    for (let i = 0; i < types.length; i++) this.value(types[i]!, values[i], 0);
  }

  private int(type: DBusType, v: unknown, min: number, max: number): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw invalid(`${type.code}: ${String(v)} is not an integer in [${min}, ${max}]`);
    return v;
  }

  private string(s: unknown, what: string): Uint8Array {
    if (typeof s !== 'string') throw invalid(`${what}: expected a string, got ${typeof s}`);
    if (s.includes('\0')) throw invalid(`${what}: a D-Bus string holds no NUL`);
    return encoder.encode(s);
  }

  private value(type: DBusType, v: unknown, depth: number): void {
    switch (type.code) {
      case 'y': this.u8(this.int(type, v, 0, 0xff)); return;
      case 'b':
        if (typeof v !== 'boolean') throw invalid(`b: expected a boolean, got ${typeof v}`);
        this.u32(v ? 1 : 0);
        return;
      case 'n': case 'q': {
        const n = type.code === 'n' ? this.int(type, v, -0x8000, 0x7fff) : this.int(type, v, 0, 0xffff);
        this.align(2);
        this.reserve(2);
        this.view.setUint16(this.pos, n & 0xffff, true);
        this.pos += 2;
        return;
      }
      case 'i': this.u32(this.int(type, v, -0x80000000, 0x7fffffff) >>> 0); return;
      case 'u': case 'h': {
        const n = this.int(type, v, 0, 0xffffffff);
        if (type.code === 'h') {
          // h carries an index into the fds sent with the message.
          this.u32(this.fds.length);
          this.fds.push(n);
          return;
        }
        this.u32(n);
        return;
      }
      case 'x': case 't': {
        const big = typeof v === 'number' && Number.isInteger(v) ? BigInt(v) : v;
        if (typeof big !== 'bigint') throw invalid(`${type.code}: expected a bigint, got ${typeof v}`);
        const ok = type.code === 'x' ? BigInt.asIntN(64, big) === big : BigInt.asUintN(64, big) === big;
        if (!ok) throw invalid(`${type.code}: ${big} is out of range`);
        this.align(8);
        this.reserve(8);
        this.view.setBigUint64(this.pos, BigInt.asUintN(64, big), true);
        this.pos += 8;
        return;
      }
      case 'd':
        if (typeof v !== 'number') throw invalid(`d: expected a number, got ${typeof v}`);
        this.align(8);
        this.reserve(8);
        this.view.setFloat64(this.pos, v, true);
        this.pos += 8;
        return;
      case 's': case 'o': {
        if (type.code === 'o' && (typeof v !== 'string' || !isObjectPath(v))) throw invalid(`o: ${JSON.stringify(v)} is not an object path`);
        const bytes = this.string(v, type.code);
        this.u32(bytes.byteLength);
        this.raw(bytes);
        this.u8(0);
        return;
      }
      case 'g': {
        const bytes = this.string(v, 'g');
        parseSignature(v as string);
        this.u8(bytes.byteLength);
        this.raw(bytes);
        this.u8(0);
        return;
      }
      case 'v': {
        if (!(v instanceof Variant)) throw invalid('v: expected a Variant');
        if (depth + 1 > MAX_NESTING) throw invalid(`values nest deeper than ${MAX_NESTING}`);
        const inner = parseSingleType(v.signature);
        this.value({ code: 'g' }, v.signature, depth);
        this.value(inner, v.value, depth + 1);
        return;
      }
      case '(': {
        if (!Array.isArray(v) || v.length !== type.fields.length) throw invalid(`${signatureOf(type)}: expected an array of ${type.fields.length} fields`);
        this.align(8);
        for (let i = 0; i < type.fields.length; i++) this.value(type.fields[i]!, v[i], depth + 1);
        return;
      }
      case '{': {
        const entry = v as readonly unknown[];
        this.align(8);
        this.value(type.key, entry[0], depth + 1);
        this.value(type.value, entry[1], depth + 1);
        return;
      }
      case 'a': {
        this.u32(0);
        const lengthAt = this.pos - 4;
        this.align(alignmentOf(type.element));
        const start = this.pos;
        const element = type.element;
        if (element.code === 'y' && v instanceof Uint8Array) {
          this.raw(v);
        } else if (element.code === '{') {
          const entries = v instanceof Map ? [...v.entries()] : v;
          if (!Array.isArray(entries)) throw invalid(`${signatureOf(type)}: expected a Map`);
          for (const e of entries) this.value(element, e, depth + 1);
        } else {
          if (!Array.isArray(v)) throw invalid(`${signatureOf(type)}: expected an array`);
          for (const e of v) this.value(element, e, depth + 1);
        }
        const length = this.pos - start;
        if (length > MAX_ARRAY_BYTES) throw invalid(`an array of ${length} bytes is over D-Bus's ${MAX_ARRAY_BYTES}`);
        this.patchU32(lengthAt, length);
        return;
      }
    }
  }
}

export class Reader {
  private readonly view: DataView;
  private pos: number;

  /**
   * Reads bytes[start, end) of a message whose byte 0 is bytes[origin]
   * (alignment is relative to it). `fdCount`: how many fds came with the message.
   */
  constructor(private readonly bytes: Uint8Array, start: number, private readonly end: number, private readonly littleEndian: boolean,
    private readonly origin = 0, private readonly fdCount = 0) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = start;
  }

  get position(): number {
    return this.pos;
  }

  get atEnd(): boolean {
    return this.pos === this.end;
  }

  private need(n: number, what: string): void {
    if (this.pos + n > this.end) throw malformed(`truncated: ${what} needs ${n} bytes at offset ${this.pos - this.origin}, ${this.end - this.pos} left`);
  }

  align(n: number): void {
    const pad = (n - ((this.pos - this.origin) % n)) % n;
    this.need(pad, 'padding');
    for (let i = 0; i < pad; i++) {
      if (this.bytes[this.pos + i] !== 0) throw malformed(`padding byte at offset ${this.pos + i - this.origin} is not zero`);
    }
    this.pos += pad;
  }

  u8(): number {
    this.need(1, 'a byte');
    return this.bytes[this.pos++]!;
  }

  u32(): number {
    this.align(4);
    this.need(4, 'a 32-bit value');
    const v = this.view.getUint32(this.pos, this.littleEndian);
    this.pos += 4;
    return v;
  }

  /** Reads values of `signature` (already validated or to be validated here). */
  read(signature: string): unknown[] {
    const types = parseSignature(signature);
    const out: unknown[] = [];
    for (const t of types) out.push(this.value(t, 0));
    return out;
  }

  private text(length: number, what: string): string {
    this.need(length + 1, what);
    const bytes = this.bytes.subarray(this.pos, this.pos + length);
    if (bytes.includes(0)) throw malformed(`${what} holds a NUL byte`);
    if (this.bytes[this.pos + length] !== 0) throw malformed(`${what} is not NUL-terminated`);
    let s: string;
    try {
      s = utf8.decode(bytes);
    } catch {
      throw malformed(`${what} is not valid UTF-8`);
    }
    this.pos += length + 1;
    return s;
  }

  value(type: DBusType, depth: number): unknown {
    switch (type.code) {
      case 'y': return this.u8();
      case 'b': {
        const v = this.u32();
        if (v > 1) throw malformed(`a boolean holds ${v}`);
        return v === 1;
      }
      case 'n': case 'q': {
        this.align(2);
        this.need(2, 'a 16-bit value');
        const v = type.code === 'n' ? this.view.getInt16(this.pos, this.littleEndian) : this.view.getUint16(this.pos, this.littleEndian);
        this.pos += 2;
        return v;
      }
      case 'i': {
        this.align(4);
        this.need(4, 'a 32-bit value');
        const v = this.view.getInt32(this.pos, this.littleEndian);
        this.pos += 4;
        return v;
      }
      case 'u': return this.u32();
      case 'h': {
        const index = this.u32();
        if (index >= this.fdCount) throw malformed(`fd index ${index}, but the message carries ${this.fdCount} fds`);
        return index;
      }
      case 'x': case 't': {
        this.align(8);
        this.need(8, 'a 64-bit value');
        const v = type.code === 'x' ? this.view.getBigInt64(this.pos, this.littleEndian) : this.view.getBigUint64(this.pos, this.littleEndian);
        this.pos += 8;
        return v;
      }
      case 'd': {
        this.align(8);
        this.need(8, 'a double');
        const v = this.view.getFloat64(this.pos, this.littleEndian);
        this.pos += 8;
        return v;
      }
      case 's': case 'o': {
        const length = this.u32();
        const s = this.text(length, type.code === 's' ? 'a string' : 'an object path');
        if (type.code === 'o' && !isObjectPath(s)) throw malformed(`${JSON.stringify(s.slice(0, 64))} is not an object path`);
        return s;
      }
      case 'g': {
        const length = this.u8();
        const s = this.text(length, 'a signature');
        parseSignature(s);
        return s;
      }
      case 'v': {
        if (depth + 1 > MAX_NESTING) throw malformed(`values nest deeper than ${MAX_NESTING}`);
        const signature = this.value({ code: 'g' }, depth) as string;
        const inner = parseSingleType(signature);
        return new Variant(signature, this.value(inner, depth + 1));
      }
      case '(': case '{': {
        if (depth + 1 > MAX_NESTING) throw malformed(`values nest deeper than ${MAX_NESTING}`);
        this.align(8);
        if (type.code === '{') return [this.value(type.key, depth + 1), this.value(type.value, depth + 1)];
        return type.fields.map((f) => this.value(f, depth + 1));
      }
      case 'a': {
        if (depth + 1 > MAX_NESTING) throw malformed(`values nest deeper than ${MAX_NESTING}`);
        const length = this.u32();
        if (length > MAX_ARRAY_BYTES) throw malformed(`an array of ${length} bytes is over D-Bus's ${MAX_ARRAY_BYTES}`);
        this.align(alignmentOf(type.element));
        this.need(length, 'an array');
        const end = this.pos + length;
        const element = type.element;
        if (element.code === 'y') {
          const v = this.bytes.subarray(this.pos, end);
          this.pos = end;
          return v;
        }
        const out: unknown[] = [];
        while (this.pos < end) {
          out.push(this.value(element, depth + 1));
          if (this.pos > end) throw malformed('an array element runs past the array\'s length');
        }
        if (element.code === '{') return new Map(out as [unknown, unknown][]);
        return out;
      }
    }
  }
}
