/**
 * D-Bus type signatures (the D-Bus specification, "Type System"): parsed once
 * into a tree the marshaller walks.
 *
 * The specification's limits hold here: a signature is at most 255 bytes,
 * arrays nest at most 32 deep and structs at most 32 deep; a dict entry lives
 * only directly inside an array and its key is a basic type. Breaking one is a
 * malformed message (ERR_BUFSHARE_DBUS_MALFORMED), whoever wrote it.
 */
import { BufshareError } from '../errors';

export type BasicCode = 'y' | 'b' | 'n' | 'q' | 'i' | 'u' | 'x' | 't' | 'd' | 's' | 'o' | 'g' | 'h';

export type DBusType =
  | { readonly code: BasicCode }
  | { readonly code: 'v' }
  | { readonly code: 'a'; readonly element: DBusType }
  | { readonly code: '('; readonly fields: readonly DBusType[] }
  | { readonly code: '{'; readonly key: DBusType; readonly value: DBusType };

const BASIC = new Set<string>(['y', 'b', 'n', 'q', 'i', 'u', 'x', 't', 'd', 's', 'o', 'g', 'h']);

export const MAX_SIGNATURE_BYTES = 255;
const MAX_ARRAY_DEPTH = 32;
const MAX_STRUCT_DEPTH = 32;

export function malformed(message: string): BufshareError {
  return new BufshareError('ERR_BUFSHARE_DBUS_MALFORMED', message);
}

/** Byte alignment of a value of this type on the wire. */
export function alignmentOf(type: DBusType): number {
  switch (type.code) {
    case 'y': case 'g': case 'v': return 1;
    case 'n': case 'q': return 2;
    case 'b': case 'i': case 'u': case 'h': case 's': case 'o': case 'a': return 4;
    default: return 8; // x t d ( {
  }
}

const cache = new Map<string, readonly DBusType[]>();

/** The complete types of `signature`, in order. Throws ERR_BUFSHARE_DBUS_MALFORMED for an invalid one. */
export function parseSignature(signature: string): readonly DBusType[] {
  const hit = cache.get(signature);
  if (hit !== undefined) return hit;
  if (signature.length > MAX_SIGNATURE_BYTES) throw malformed(`signature longer than ${MAX_SIGNATURE_BYTES} bytes`);
  const types: DBusType[] = [];
  let pos = 0;
  const parse = (arrays: number, structs: number, inArray: boolean): DBusType => {
    const c = signature[pos];
    if (c === undefined) throw malformed(`signature "${signature}" ends inside a type`);
    pos++;
    if (BASIC.has(c)) return { code: c as BasicCode };
    if (c === 'v') return { code: 'v' };
    if (c === 'a') {
      if (arrays + 1 > MAX_ARRAY_DEPTH) throw malformed(`signature "${signature.slice(0, 40)}…" nests arrays deeper than ${MAX_ARRAY_DEPTH}`);
      return { code: 'a', element: parse(arrays + 1, structs, true) };
    }
    if (c === '(') {
      if (structs + 1 > MAX_STRUCT_DEPTH) throw malformed(`signature "${signature.slice(0, 40)}…" nests structs deeper than ${MAX_STRUCT_DEPTH}`);
      const fields: DBusType[] = [];
      while (signature[pos] !== ')') {
        if (pos >= signature.length) throw malformed(`signature "${signature}" has an unclosed struct`);
        fields.push(parse(arrays, structs + 1, false));
      }
      pos++;
      if (fields.length === 0) throw malformed(`signature "${signature}" has an empty struct`);
      return { code: '(', fields };
    }
    if (c === '{') {
      if (!inArray) throw malformed(`signature "${signature}" has a dict entry outside an array`);
      if (structs + 1 > MAX_STRUCT_DEPTH) throw malformed(`signature "${signature.slice(0, 40)}…" nests structs deeper than ${MAX_STRUCT_DEPTH}`);
      const key = parse(arrays, structs + 1, false);
      if (!BASIC.has(key.code)) throw malformed(`signature "${signature}" has a dict key that is not a basic type`);
      if (signature[pos] === '}') throw malformed(`signature "${signature}" has a dict entry without a value`);
      const value = parse(arrays, structs + 1, false);
      if (signature[pos] !== '}') throw malformed(`signature "${signature}" has a dict entry with more than two types`);
      pos++;
      return { code: '{', key, value };
    }
    throw malformed(`signature "${signature}" has an invalid type code ${JSON.stringify(c)}`);
  };
  while (pos < signature.length) types.push(parse(0, 0, false));
  if (cache.size < 256) cache.set(signature, types);
  return types;
}

/** The one complete type `signature` holds (a variant's). */
export function parseSingleType(signature: string): DBusType {
  const types = parseSignature(signature);
  if (types.length !== 1) throw malformed(`a variant's signature must be one complete type, got "${signature}"`);
  return types[0]!;
}

export function signatureOf(type: DBusType): string {
  switch (type.code) {
    case 'a': return `a${signatureOf(type.element)}`;
    case '(': return `(${type.fields.map(signatureOf).join('')})`;
    case '{': return `{${signatureOf(type.key)}${signatureOf(type.value)}}`;
    default: return type.code;
  }
}
