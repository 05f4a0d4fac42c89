// The D-Bus wire codec (lib/dbus): round trips of every type, the alignment
// rules byte for byte, both byte orders, and every malformed input refused with
// ERR_BUFSHARE_DBUS_MALFORMED.
import { expect } from 'chai';
import { BufshareError } from '../../lib/errors';
import { Reader, Variant, Writer } from '../../lib/dbus/marshal';
import { decodeMessage, encodeMessage, frameLength, MessageType, type DBusMessage } from '../../lib/dbus/message';
import { parseSignature } from '../../lib/dbus/signature';

function roundTrip(signature: string, values: unknown[]): unknown[] {
  const w = new Writer();
  w.write(signature, values);
  const bytes = w.bytes();
  const r = new Reader(bytes, 0, bytes.byteLength, true, 0, 8);
  const out = r.read(signature);
  expect(r.atEnd).to.equal(true);
  return out;
}

function malformedCode(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    expect(e).to.be.instanceOf(BufshareError);
    return (e as BufshareError).code;
  }
  return undefined;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** A method call as bytes, with its body written by hand: for inputs the encoder would refuse to make. */
function callWithBody(signature: string, body: Uint8Array, fields: { unixFds?: number } = {}): Uint8Array {
  const header = new Writer();
  header.u8(0x6c);
  header.u8(1);
  header.u8(0);
  header.u8(1);
  header.u32(body.byteLength);
  header.u32(5);
  const f: [number, Variant][] = [[1, new Variant('o', '/a')], [3, new Variant('s', 'M')]];
  if (signature !== '') f.push([8, new Variant('g', signature)]);
  if (fields.unixFds !== undefined) f.push([9, new Variant('u', fields.unixFds)]);
  header.write('a(yv)', [f]);
  header.align(8);
  header.raw(body);
  return header.bytes();
}

describe('D-Bus wire format', () => {
  it('round-trips every basic type at its limits', () => {
    const values = [0, 255, true, false, -32768, 32767, 0, 65535, -2147483648, 2147483647, 0, 4294967295,
      -(2n ** 63n), 2n ** 63n - 1n, 0n, 2n ** 64n - 1n, -1.5, Number.MAX_VALUE, '', 'héllo ☃', '/', '/org/qemu/Display1_x', '', 'a{sv}(iu)'];
    const sig = 'yybbnnqqiiuuxxttddssoogg';
    expect(roundTrip(sig, values)).to.deep.equal(values);
    expect(roundTrip('h', [3])).to.deep.equal([0]); // h: the fd becomes its index in the message's fds
  });

  it('round-trips containers: arrays, byte arrays, structs, dicts, variants, nested', () => {
    const dict = new Map<string, Variant>([['a', new Variant('u', 1)], ['b', new Variant('as', ['x', 'y'])], ['c', new Variant('v', new Variant('t', 9n))]]);
    const values = [[1, 2, 3], new Uint8Array([9, 8, 7]), [7, 'x', [1n, true]], dict, new Map([[1, [[2.5]]]]), [], new Uint8Array(0), [[]]];
    const out = roundTrip('aiay(is(tb))a{sv}a{ua(d)}asayaai', values);
    expect(out).to.deep.equal(values);
  });

  it('aligns as the specification says: each value to its size, structs and dict entries to 8, arrays to their element even when empty', () => {
    const w = new Writer();
    w.write('yuyt', [1, 2, 3, 4n]);
    expect(hex(w.bytes())).to.equal('01000000' + '02000000' + '03000000' + '00000000' + '0400000000000000');
    const e = new Writer();
    e.write('ya(t)y', [1, [], 2]);
    // y, pad to 4, length 0, pad to 8 (the element's alignment) though there are no elements, then y.
    expect(hex(e.bytes())).to.equal('01000000' + '00000000' + '02');
    const s = new Writer();
    s.write('sg', ['ab', 'i']);
    expect(hex(s.bytes())).to.equal('02000000' + '616200' + '016900');
    const v = new Writer();
    v.write('yv', [1, new Variant('t', 1n)]);
    // y, signature "t" (1 byte length, "t", NUL), pad to 8, the value.
    expect(hex(v.bytes())).to.equal('01' + '017400' + '00000000' + '0100000000000000');
  });

  it('encodes a method call as the specification lays it out, and decodes it back', () => {
    const { bytes, fds } = encodeMessage({ type: MessageType.METHOD_CALL, serial: 7, path: '/org/qemu/Display1/VM', interface: 'org.freedesktop.DBus.Properties',
      member: 'Get', destination: 'org.qemu', signature: 'ss', body: ['org.qemu.Display1.VM', 'ConsoleIDs'] });
    expect(fds).to.deep.equal([]);
    expect(hex(bytes.subarray(0, 12))).to.equal('6c010001' + '2b000000' + '07000000');
    expect(frameLength(bytes, 0, bytes.byteLength, 1 << 20)).to.equal(bytes.byteLength);
    const m = decodeMessage(bytes);
    expect(m).to.include({ type: 1, serial: 7, path: '/org/qemu/Display1/VM', interface: 'org.freedesktop.DBus.Properties', member: 'Get', destination: 'org.qemu', signature: 'ss' });
    expect(m.body).to.deep.equal(['org.qemu.Display1.VM', 'ConsoleIDs']);
  });

  it('reads big-endian messages', () => {
    // A signal by hand, in big-endian: path /a, interface a.b, member C, signature u, body 0x01020304.
    const w: number[] = [0x42, 4, 0, 1, 0, 0, 0, 4, 0, 0, 0, 9];
    const fields: number[] = [];
    const field = (code: number, sig: string, value: number[]): void => {
      while (fields.length % 8) fields.push(0);
      fields.push(code, 1, sig.charCodeAt(0), 0, ...value);
    };
    const str = (s: string): number[] => [0, 0, 0, s.length, ...Buffer.from(s), 0];
    field(1, 'o', str('/a'));
    field(2, 's', str('a.b'));
    field(3, 's', str('C'));
    field(8, 'g', [1, 0x75, 0]);
    const all = [...w, ...[0, 0, 0, fields.length], ...fields];
    while (all.length % 8) all.push(0);
    all.push(1, 2, 3, 4);
    const m = decodeMessage(Uint8Array.from(all));
    expect(m).to.include({ type: MessageType.SIGNAL, serial: 9, path: '/a', interface: 'a.b', member: 'C' });
    expect(m.body).to.deep.equal([0x01020304]);
  });

  it('passes fds as indices: the encoder lists them in order, the decoder takes UNIX_FDS of them', () => {
    const { bytes, fds } = encodeMessage({ type: MessageType.METHOD_CALL, serial: 1, path: '/a', member: 'M', signature: 'hah', body: [40, [41, 42]] });
    expect(fds).to.deep.equal([40, 41, 42]);
    let asked = 0;
    const m = decodeMessage(bytes, (n) => {
      asked = n;
      return [100, 101, 102];
    });
    expect(asked).to.equal(3);
    expect(m.body).to.deep.equal([0, [1, 2]]);
    expect(m.fds).to.deep.equal([100, 101, 102]);
  });

  it('refuses invalid signatures', () => {
    for (const sig of ['z', '(', '(i', '()', 'a', '{is}', 'a{vs}', 'a{i}', 'a{iss}', 'a'.repeat(33) + 'i', '('.repeat(33) + 'i' + ')'.repeat(33), 'i'.repeat(256)]) {
      expect(malformedCode(() => parseSignature(sig)), sig).to.equal('ERR_BUFSHARE_DBUS_MALFORMED');
    }
    expect(() => parseSignature('a'.repeat(32) + 'i')).to.not.throw();
  });

  const good = (): Uint8Array => encodeMessage({ type: MessageType.METHOD_CALL, serial: 3, path: '/org/x', interface: 'a.b', member: 'Update',
    signature: 'iiiiuuay', body: [1, 2, 3, 4, 5, 6, new Uint8Array(37).fill(9)] }).bytes;

  it('refuses every truncation of a valid message', () => {
    const bytes = good();
    for (let n = 0; n < bytes.byteLength; n++) {
      const cut = bytes.slice(0, n);
      const total = n < 16 ? undefined : frameLength(cut, 0, n, 1 << 20);
      if (total !== undefined) expect(total).to.be.greaterThan(n);
      // Decoded as if whole (a peer lying about lengths): always a coded error.
      expect(malformedCode(() => decodeMessage(cut)), `first ${n} bytes`).to.equal('ERR_BUFSHARE_DBUS_MALFORMED');
    }
  });

  it('refuses an oversized message from its first 16 bytes, before reading it', () => {
    const header = good().slice(0, 16);
    new DataView(header.buffer).setUint32(4, 100 * 1024 * 1024, true);
    expect(malformedCode(() => frameLength(header, 0, 16, 64 * 1024 * 1024))).to.equal('ERR_BUFSHARE_DBUS_MALFORMED');
    new DataView(header.buffer).setUint32(4, 0xffffffff, true);
    new DataView(header.buffer).setUint32(12, 0xffffffff, true);
    expect(malformedCode(() => frameLength(header, 0, 16, 128 * 1024 * 1024))).to.equal('ERR_BUFSHARE_DBUS_MALFORMED');
  });

  it('refuses bad header bytes, missing fields, wrong field types and serial 0', () => {
    const cases: [string, (b: Uint8Array) => void][] = [
      ['endianness', (b) => (b[0] = 0x78)],
      ['version', (b) => (b[3] = 2)],
      ['type 0', (b) => (b[1] = 0)],
      ['type 5', (b) => (b[1] = 5)],
      ['serial 0', (b) => new DataView(b.buffer).setUint32(8, 0, true)],
      ['body length', (b) => new DataView(b.buffer).setUint32(4, new DataView(b.buffer).getUint32(4, true) - 4, true)],
      ['a method return without REPLY_SERIAL', (b) => (b[1] = MessageType.METHOD_RETURN)],
      ['a signal without...', (b) => (b[1] = MessageType.ERROR)],
    ];
    for (const [name, mutate] of cases) {
      const b = good();
      mutate(b);
      expect(malformedCode(() => {
        frameLength(b, 0, b.byteLength, 1 << 20);
        decodeMessage(b);
      }), name).to.equal('ERR_BUFSHARE_DBUS_MALFORMED');
    }
    // PATH (field 1) carried as a string instead of an object path.
    const w = new Writer();
    w.u8(0x6c); w.u8(1); w.u8(0); w.u8(1); w.u32(0); w.u32(1);
    w.write('a(yv)', [[[1, new Variant('s', '/a')], [3, new Variant('s', 'M')]]]);
    w.align(8);
    expect(malformedCode(() => decodeMessage(w.bytes()))).to.equal('ERR_BUFSHARE_DBUS_MALFORMED');
  });

  it('refuses bad values in the body: padding, booleans, strings, paths, array lengths, fd indices, leftovers', () => {
    const u32 = (...v: number[]): number[] => v.flatMap((x) => [x & 255, (x >> 8) & 255, (x >> 16) & 255, (x >>> 24) & 255]);
    const cases: [string, string, number[], number?][] = [
      ['non-zero padding', 'yu', [1, 0, 9, 0, ...u32(1)]],
      ['boolean 2', 'b', u32(2)],
      ['string without NUL', 's', [...u32(2), 0x61, 0x62, 0x63]],
      ['NUL inside a string', 's', [...u32(2), 0x61, 0, 0]],
      ['invalid UTF-8', 's', [...u32(2), 0xc3, 0x28, 0]],
      ['bad object path', 'o', [...u32(3), 0x2f, 0x61, 0x2f, 0]],
      ['bad signature value', 'g', [1, 0x7a, 0]],
      ['array past the body', 'ai', [...u32(64), ...u32(1)]],
      ['array element past its length', 'a(ii)', [...u32(4), 0, 0, 0, 0, ...u32(1), ...u32(2)]],
      ['array over 64 MiB', 'ay', u32(64 * 1024 * 1024 + 1)],
      ['fd index out of range', 'h', u32(1), 1],
      ['bytes after the values', 'u', [...u32(1), 0, 0, 0, 0]],
      ['variant with two types', 'v', [2, 0x69, 0x69, 0, ...u32(1), ...u32(2)]],
    ];
    for (const [name, sig, body, fds] of cases) {
      const bytes = callWithBody(sig, Uint8Array.from(body), fds === undefined ? {} : { unixFds: fds });
      expect(malformedCode(() => decodeMessage(bytes, (n) => new Array<number>(n).fill(-1))), name).to.equal('ERR_BUFSHARE_DBUS_MALFORMED');
    }
  });

  it('refuses values nested deeper than 64, and a message whose UNIX_FDS the stream cannot give', () => {
    // 63 variants in variants are fine; 70 are past 64 (each signature alone is one valid type).
    let v = new Variant('u', 1);
    for (let i = 0; i < 62; i++) v = new Variant('v', v);
    expect(() => roundTrip('v', [v])).to.not.throw();
    for (let i = 0; i < 8; i++) v = new Variant('v', v);
    expect(() => new Writer().write('v', [v])).to.throw(BufshareError).with.property('code', 'ERR_BUFSHARE_INVALID_ARGUMENT');
    const body: number[] = [];
    for (let i = 0; i < 70; i++) body.push(1, 0x76, 0);
    body.push(1, 0x75, 0, 0, ...[1, 0, 0, 0]);
    const bytes = callWithBody('v', Uint8Array.from(body));
    expect(malformedCode(() => decodeMessage(bytes))).to.equal('ERR_BUFSHARE_DBUS_MALFORMED');
    // UNIX_FDS 2 with no fds from the stream (the default takeFds).
    const withFds = callWithBody('', new Uint8Array(0), { unixFds: 2 });
    expect(malformedCode(() => decodeMessage(withFds))).to.equal('ERR_BUFSHARE_DBUS_MALFORMED');
  });

  it('the encoder refuses values that do not fit their type (ERR_BUFSHARE_INVALID_ARGUMENT)', () => {
    for (const [sig, v] of [['y', 256], ['i', 2 ** 31], ['u', -1], ['t', -1n], ['x', 2n ** 63n], ['s', 'a\0b'], ['o', 'a/b'], ['b', 1], ['(ii)', [1]], ['v', 1]] as [string, unknown][]) {
      expect(() => new Writer().write(sig, [v]), sig).to.throw(BufshareError).with.property('code', 'ERR_BUFSHARE_INVALID_ARGUMENT');
    }
  });

  it('decodes what the encoder makes for every message type', () => {
    const kinds: Parameters<typeof encodeMessage>[0][] = [
      { type: MessageType.METHOD_RETURN, serial: 2, replySerial: 1, signature: 'as', body: [['x']] },
      { type: MessageType.ERROR, serial: 3, replySerial: 1, errorName: 'org.x.Error', signature: 's', body: ['why'] },
      { type: MessageType.SIGNAL, serial: 4, path: '/p', interface: 'a.b', member: 'S', sender: ':1.2' },
    ];
    for (const k of kinds) {
      const m: DBusMessage = decodeMessage(encodeMessage(k).bytes);
      expect(m.type).to.equal(k.type);
      expect(m.body).to.deep.equal(k.body ?? []);
    }
  });
});
