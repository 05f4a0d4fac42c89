/**
 * D-Bus messages: the fixed header, the header fields and the body (the
 * specification's "Message Format").
 *
 * A message on the wire: endianness ('l' or 'B'), type, flags, protocol
 * version 1, body length (u32), serial (u32, non-zero), the header fields
 * a(yv), padding to 8, then the body. `frameLength` tells a stream reader how
 * long the message whose first 16 bytes it holds is; `decodeMessage` checks
 * everything else.
 */
import { BufshareError } from '../errors';
import { Reader, Variant, Writer } from './marshal';
import { malformed, parseSignature } from './signature';

export const MessageType = { METHOD_CALL: 1, METHOD_RETURN: 2, ERROR: 3, SIGNAL: 4 } as const;
export type MessageTypeCode = (typeof MessageType)[keyof typeof MessageType];

export const MessageFlags = { NO_REPLY_EXPECTED: 0x1, NO_AUTO_START: 0x2, ALLOW_INTERACTIVE_AUTHORIZATION: 0x4 } as const;

const FIELD = { PATH: 1, INTERFACE: 2, MEMBER: 3, ERROR_NAME: 4, REPLY_SERIAL: 5, DESTINATION: 6, SENDER: 7, SIGNATURE: 8, UNIX_FDS: 9 } as const;
const FIELD_TYPES: Record<number, string> = { 1: 'o', 2: 's', 3: 's', 4: 's', 5: 'u', 6: 's', 7: 's', 8: 'g', 9: 'u' };

/** The fixed part of the header, before the fields' array: 12 bytes plus the array's length. */
export const FIXED_HEADER_BYTES = 16;

export interface DBusMessage {
  readonly type: MessageTypeCode;
  readonly flags: number;
  readonly serial: number;
  readonly path?: string;
  readonly interface?: string;
  readonly member?: string;
  readonly errorName?: string;
  readonly replySerial?: number;
  readonly destination?: string;
  readonly sender?: string;
  /** The body's signature ('' for none). */
  readonly signature: string;
  readonly body: readonly unknown[];
  /**
   * The fds that came with the message (h values index them). Received: the
   * message owns them until taken (a connection closes those left after the
   * handler); sent: borrowed, dup'ed while queued.
   */
  readonly fds: readonly number[];
}

/** What a caller fills in to send a message; the connection adds the serial. */
export type OutgoingMessage = Omit<DBusMessage, 'serial' | 'body' | 'fds' | 'signature' | 'flags'> & {
  readonly flags?: number;
  readonly signature?: string;
  readonly body?: readonly unknown[];
};

/**
 * The whole message's length from its first 16 bytes, or undefined when fewer
 * are there. Throws ERR_BUFSHARE_DBUS_MALFORMED for a bad endianness byte or
 * version, and for a message longer than `maxBytes`.
 */
export function frameLength(bytes: Uint8Array, offset: number, available: number, maxBytes: number): number | undefined {
  if (available < FIXED_HEADER_BYTES) return undefined;
  const endian = bytes[offset];
  if (endian !== 0x6c && endian !== 0x42) throw malformed(`bad endianness byte 0x${endian!.toString(16)}`);
  if (bytes[offset + 3] !== 1) throw malformed(`protocol version ${bytes[offset + 3]}, not 1`);
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, FIXED_HEADER_BYTES);
  const little = endian === 0x6c;
  const bodyLength = view.getUint32(4, little);
  const fieldsLength = view.getUint32(12, little);
  const headerEnd = FIXED_HEADER_BYTES + fieldsLength;
  const total = headerEnd + ((8 - (headerEnd % 8)) % 8) + bodyLength;
  if (total > maxBytes) throw malformed(`a message of ${total} bytes is over this connection's ${maxBytes}`);
  return total;
}

/**
 * Decodes one whole message (bytes[0, length) as frameLength measured it).
 * `takeFds(n)` hands over the n fds UNIX_FDS says came with it (from the
 * stream's queue; it throws when fewer came): once taken they are the caller's
 * to close, also when decoding then fails. Values of type ay are views into `bytes`.
 */
export function decodeMessage(bytes: Uint8Array, takeFds: (count: number) => readonly number[] = noFds): DBusMessage {
  if (bytes.byteLength < FIXED_HEADER_BYTES) throw malformed(`a message of ${bytes.byteLength} bytes is shorter than its fixed header`);
  if (bytes[0] !== 0x6c && bytes[0] !== 0x42) throw malformed(`bad endianness byte 0x${bytes[0]!.toString(16)}`);
  if (bytes[3] !== 1) throw malformed(`protocol version ${bytes[3]}, not 1`);
  const little = bytes[0] === 0x6c;
  const header = new Reader(bytes, 0, bytes.byteLength, little, 0, 0);
  header.u8();
  const type = header.u8();
  const flags = header.u8();
  header.u8();
  const bodyLength = header.u32();
  const serial = header.u32();
  if (type < 1 || type > 4) throw malformed(`unknown message type ${type}`);
  if (serial === 0) throw malformed('serial 0');
  const fieldsEnd = FIXED_HEADER_BYTES + new DataView(bytes.buffer, bytes.byteOffset + 12, 4).getUint32(0, little);
  if (fieldsEnd > bytes.byteLength) throw malformed(`header fields of ${fieldsEnd - FIXED_HEADER_BYTES} bytes in a message of ${bytes.byteLength}`);
  const fields = new Map<number, unknown>();
  const fieldsReader = new Reader(bytes, 16, fieldsEnd, little, 0, 0);
  while (!fieldsReader.atEnd) {
    fieldsReader.align(8);
    const code = fieldsReader.u8();
    const value = fieldsReader.value({ code: 'v' }, 1) as Variant;
    if (code === 0) throw malformed('header field 0 is invalid');
    const wanted = FIELD_TYPES[code];
    if (wanted === undefined) continue; // unknown fields are ignored, as the specification says
    if (value.signature !== wanted) throw malformed(`header field ${code} has type ${value.signature}, not ${wanted}`);
    fields.set(code, value.value);
  }
  const bodyStart = fieldsEnd + ((8 - (fieldsEnd % 8)) % 8);
  const padding = new Reader(bytes, fieldsEnd, bytes.byteLength, little, 0, 0);
  padding.align(8);
  if (bodyStart + bodyLength !== bytes.byteLength) throw malformed(`body length ${bodyLength} does not match the message's ${bytes.byteLength - bodyStart} bytes`);
  const signature = (fields.get(FIELD.SIGNATURE) as string | undefined) ?? '';
  const unixFds = (fields.get(FIELD.UNIX_FDS) as number | undefined) ?? 0;
  const fds = unixFds === 0 ? [] : takeFds(unixFds);
  const message: DBusMessage = {
    type: type as MessageTypeCode,
    flags,
    serial,
    path: fields.get(FIELD.PATH) as string | undefined,
    interface: fields.get(FIELD.INTERFACE) as string | undefined,
    member: fields.get(FIELD.MEMBER) as string | undefined,
    errorName: fields.get(FIELD.ERROR_NAME) as string | undefined,
    replySerial: fields.get(FIELD.REPLY_SERIAL) as number | undefined,
    destination: fields.get(FIELD.DESTINATION) as string | undefined,
    sender: fields.get(FIELD.SENDER) as string | undefined,
    signature,
    body: [],
    fds,
  };
  checkRequiredFields(message);
  if (bodyLength === 0 && signature !== '') throw malformed(`signature "${signature}" but an empty body`);
  parseSignature(signature);
  const reader = new Reader(bytes, bodyStart, bytes.byteLength, little, bodyStart, fds.length);
  const body = reader.read(signature);
  if (!reader.atEnd) throw malformed(`${bytes.byteLength - reader.position} bytes left after the body's values`);
  return { ...message, body };
}

function noFds(count: number): readonly number[] {
  throw malformed(`UNIX_FDS says ${count} fds, none came with the message`);
}

function checkRequiredFields(m: DBusMessage): void {
  const need = (ok: boolean, what: string): void => {
    if (!ok) throw malformed(`a ${['', 'method call', 'method return', 'error', 'signal'][m.type]} without ${what}`);
  };
  if (m.type === MessageType.METHOD_CALL) {
    need(m.path !== undefined, 'PATH');
    need(m.member !== undefined, 'MEMBER');
  } else if (m.type === MessageType.METHOD_RETURN) {
    need(m.replySerial !== undefined, 'REPLY_SERIAL');
  } else if (m.type === MessageType.ERROR) {
    need(m.errorName !== undefined, 'ERROR_NAME');
    need(m.replySerial !== undefined, 'REPLY_SERIAL');
  } else {
    need(m.path !== undefined, 'PATH');
    need(m.interface !== undefined, 'INTERFACE');
    need(m.member !== undefined, 'MEMBER');
  }
}

/** Encodes a message (little-endian); h values in the body index `fds`, which the returned fds list carries in order. */
export function encodeMessage(m: OutgoingMessage & { readonly serial: number; readonly fds?: readonly number[] }): { bytes: Uint8Array; fds: number[] } {
  const signature = m.signature ?? '';
  const bodyValues = m.body ?? [];
  // h values carry fd numbers in; the body gets their indices, the message the fds in that order.
  const fds: number[] = [];
  const body = new Writer(0, fds);
  body.write(signature, bodyValues);
  const fields: [number, Variant][] = [];
  const add = (code: number, value: unknown): void => {
    if (value !== undefined) fields.push([code, new Variant(FIELD_TYPES[code]!, value)]);
  };
  add(FIELD.PATH, m.path);
  add(FIELD.INTERFACE, m.interface);
  add(FIELD.MEMBER, m.member);
  add(FIELD.ERROR_NAME, m.errorName);
  add(FIELD.REPLY_SERIAL, m.replySerial);
  add(FIELD.DESTINATION, m.destination);
  add(FIELD.SENDER, m.sender);
  if (signature !== '') add(FIELD.SIGNATURE, signature);
  if (fds.length > 0) add(FIELD.UNIX_FDS, fds.length);
  const header = new Writer(0);
  header.u8(0x6c);
  header.u8(m.type);
  header.u8(m.flags ?? 0);
  header.u8(1);
  header.u32(body.length);
  if (!Number.isInteger(m.serial) || m.serial <= 0 || m.serial > 0xffffffff) throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', `serial ${m.serial}`);
  header.u32(m.serial);
  header.write('a(yv)', [fields]);
  header.align(8);
  header.raw(body.bytes());
  return { bytes: header.bytes(), fds };
}
