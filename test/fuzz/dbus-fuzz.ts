/**
 * D-Bus fuzzers (lib/dbus).
 *
 * fuzzDBusDecoder: frameLength + decodeMessage against valid messages of many
 * shapes (qemu's Listener calls, property replies with nested variants and
 * dicts, errors, signals, fds), mutated (bit flips, interesting words at
 * aligned offsets, signature characters swapped, truncation, extension, bytes
 * inserted or deleted). A finding is an exception other than
 * ERR_BUFSHARE_DBUS_MALFORMED, an accepted message that does not survive
 * re-encoding, or an input slower than HANG_MS.
 *
 * fuzzDBusLive: DBusConnections (our client side, as on qemu's sockets) whose
 * peer authenticates them and then sends valid calls and one mutated message,
 * with 0-2 fds, in random chunks. A failure is an exception escaping to the
 * loop, a connection closed with an uncoded error, or any fd left once every
 * connection is gone.
 */
import { Socket } from 'node:net';
import { DBusConnection } from '../../lib/dbus';
import { Variant } from '../../lib/dbus/marshal';
import { decodeMessage, encodeMessage, frameLength, MessageType, type OutgoingMessage } from '../../lib/dbus/message';
import { BufshareError } from '../../lib/errors';
import * as native from '../../lib/native';
import { resourceFds } from '../helpers/fds';
import { randInt, rng } from '../helpers/random';

/** As the Wayland fuzzer's: a loaded machine's GC pause alone reached 270 ms. */
const HANG_MS = 1000;
const MAX_BYTES = 1 << 20;
const INTERESTING = [0, 1, 2, 3, 4, 7, 8, 0xff, 0x100, 0xffff, 0x10000, 0x3ffffff, 0x4000000, 0x4000001, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];
const TYPE_CHARS = 'ybnqiuxtdsoghva(){}z';

type Rng = () => number;
const pick = <T>(r: Rng, a: readonly T[]): T => a[Math.floor(r() * a.length)]!;

function corpus(): (OutgoingMessage & { serial: number })[] {
  const pixels = new Uint8Array(64).map((_, i) => i);
  const call = (member: string, signature: string, body: unknown[]): OutgoingMessage & { serial: number } =>
    ({ type: MessageType.METHOD_CALL, serial: 9, path: '/org/qemu/Display1/Listener', interface: 'org.qemu.Display1.Listener', member, signature, body });
  return [
    call('Scanout', 'uuuuay', [4, 4, 16, 0x20020888, pixels]),
    call('Update', 'iiiiuuay', [1, 1, 2, 2, 8, 0x20020888, pixels.subarray(0, 16)]),
    call('CursorDefine', 'iiiiay', [2, 2, 0, 0, pixels.subarray(0, 16)]),
    call('MouseSet', 'iii', [10, 20, 1]),
    call('Disable', '', []),
    call('ScanoutDMABUF', 'huuuutb', [5, 640, 480, 2560, 0x34325258, 0n, true]),
    { type: MessageType.METHOD_RETURN, serial: 3, replySerial: 2, signature: 'v', body: [new Variant('au', [0, 1])] },
    { type: MessageType.METHOD_RETURN, serial: 4, replySerial: 3, signature: 'a{sv}', body: [new Map<string, Variant>([['Label', new Variant('s', 'VGA')], ['Head', new Variant('u', 0)], ['Nested', new Variant('v', new Variant('(ia{sd})', [1, new Map([['x', 1.5]])]))]])] },
    { type: MessageType.ERROR, serial: 5, replySerial: 4, errorName: 'org.freedesktop.DBus.Error.Failed', signature: 's', body: ['nope'] },
    { type: MessageType.SIGNAL, serial: 6, path: '/org/qemu/Display1/Console_0', interface: 'org.freedesktop.DBus.Properties', member: 'PropertiesChanged', signature: 'sa{sv}as', body: ['org.qemu.Display1.Mouse', new Map([['IsAbsolute', new Variant('b', true)]]), []] },
    { type: MessageType.METHOD_CALL, serial: 7, path: '/', member: 'Many', signature: 'a(yqnxtg)aayaasahs', body: [[[1, 2, -3, -4n, 5n, 'ii']], [new Uint8Array(3)], [['a', 'b'], []], [7, 8], 'tail'] },
  ];
}

function mutate(r: Rng, input: Uint8Array): Uint8Array {
  let b = Uint8Array.from(input);
  const rounds = randInt(r, 1, 4);
  for (let i = 0; i < rounds; i++) {
    const k = r();
    if (k < 0.3 && b.byteLength > 0) {
      b[randInt(r, 0, b.byteLength - 1)]! ^= 1 << randInt(r, 0, 7);
    } else if (k < 0.5 && b.byteLength >= 4) {
      const at = randInt(r, 0, (b.byteLength >> 2) - 1) * 4;
      new DataView(b.buffer).setUint32(at, pick(r, INTERESTING), r() < 0.8);
    } else if (k < 0.62) {
      // A signature-looking byte (a letter among the fields) swapped for another type code.
      const at = b.findIndex((c, j) => j > 16 && TYPE_CHARS.includes(String.fromCharCode(c)) && r() < 0.3);
      if (at > 0) b[at] = TYPE_CHARS.charCodeAt(randInt(r, 0, TYPE_CHARS.length - 1));
    } else if (k < 0.74) {
      b = b.slice(0, randInt(r, 0, b.byteLength));
    } else if (k < 0.84) {
      const extra = new Uint8Array(randInt(r, 1, 16)).map(() => randInt(r, 0, 255));
      const c = new Uint8Array(b.byteLength + extra.byteLength);
      c.set(b);
      c.set(extra, b.byteLength);
      b = c;
    } else if (k < 0.92 && b.byteLength > 1) {
      const at = randInt(r, 0, b.byteLength - 1);
      b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + 1)]);
    } else {
      const at = randInt(r, 0, b.byteLength);
      b = Uint8Array.from([...b.subarray(0, at), randInt(r, 0, 255), ...b.subarray(at)]);
    }
  }
  return b;
}

export interface DBusDecoderResult {
  inputs: number;
  accepted: number;
  rejected: number;
  findings: string[];
  slowestMs: number;
}

export function fuzzDBusDecoder(seed: number, inputs: number): DBusDecoderResult {
  const r = rng(seed ^ 0xdb05);
  const seeds = corpus().map((m) => encodeMessage(m).bytes);
  const result: DBusDecoderResult = { inputs, accepted: 0, rejected: 0, findings: [], slowestMs: 0 };
  for (let i = 0; i < inputs; i++) {
    const input = mutate(r, pick(r, seeds));
    const t0 = performance.now();
    try {
      const total = frameLength(input, 0, input.byteLength, MAX_BYTES);
      // A stream hands the decoder exactly the bytes the header claims; a lying header is cut or waits.
      const bytes = total === undefined || total > input.byteLength ? input : input.subarray(0, total);
      const m = decodeMessage(bytes, (n) => {
        if (n > 4) throw new BufshareError('ERR_BUFSHARE_DBUS_MALFORMED', 'more fds than the stream gave');
        return Array.from({ length: n }, (_, k) => 100 + k);
      });
      result.accepted++;
      if (!m.signature.includes('h')) {
        const again = decodeMessage(encodeMessage({ ...m, fds: [] }).bytes);
        if (JSON.stringify(again.body, replacer) !== JSON.stringify(m.body, replacer)) {
          result.findings.push(`input ${i}: re-encoding changed the body (${m.signature})`);
        }
      }
    } catch (e) {
      if (e instanceof BufshareError && e.code === 'ERR_BUFSHARE_DBUS_MALFORMED') result.rejected++;
      else if (result.findings.length < 50) result.findings.push(`input ${i}: ${(e as Error).name}: ${(e as Error).message} (${Buffer.from(input).toString('hex').slice(0, 200)})`);
    }
    const ms = performance.now() - t0;
    result.slowestMs = Math.max(result.slowestMs, ms);
    if (ms > HANG_MS) result.findings.push(`input ${i}: ${ms.toFixed(0)} ms`);
  }
  return result;
}

function replacer(_key: string, v: unknown): unknown {
  if (typeof v === 'bigint') return `${v}n`;
  if (v instanceof Uint8Array) return Array.from(v);
  if (v instanceof Map) return [...v.entries()];
  return v;
}

export interface DBusLiveResult {
  connections: number;
  closedMalformed: number;
  closedOther: number;
  survived: number;
  failures: string[];
  leakedFds: number;
}

export async function fuzzDBusLive(seed: number, connections: number): Promise<DBusLiveResult> {
  const r = rng(seed ^ 0x11fe);
  const seeds = corpus().map((m) => encodeMessage(m).bytes);
  const result: DBusLiveResult = { connections, closedMalformed: 0, closedOther: 0, survived: 0, failures: [], leakedFds: 0 };
  const baseline = resourceFds();
  const escaped: unknown[] = [];
  const onUncaught = (e: unknown): void => {
    escaped.push(e);
  };
  process.on('uncaughtException', onUncaught);
  try {
    for (let i = 0; i < connections; i++) {
      const [a, b] = native.streamPair();
      const conn = DBusConnection.open(a, { maxMessageBytes: MAX_BYTES });
      conn.exportObject('/org/qemu/Display1/Listener', 'org.qemu.Display1.Listener', {
        methods: { Scanout: () => undefined, Update: () => undefined, MouseSet: () => undefined, Disable: () => undefined, CursorDefine: () => undefined, ScanoutDMABUF: () => undefined },
      });
      let closeError: BufshareError | undefined;
      let closedFlag = false;
      conn.on('close', (_reason, error) => {
        closedFlag = true;
        closeError = error;
      });
      const peer = native.openStream(b, () => {});
      // Our side speaks first; the peer answers without reading (the kernel buffers it).
      peer.sendStream(Buffer.from('OK 0123456789abcdef0123456789abcdef\r\nAGREE_UNIX_FD\r\n'));
      await conn.ready.catch(() => undefined);
      const stream: Uint8Array[] = [];
      for (let k = randInt(r, 0, 2); k > 0; k--) stream.push(pick(r, seeds));
      stream.push(mutate(r, pick(r, seeds)));
      const all = Buffer.concat(stream);
      const fdCount = randInt(r, 0, 2);
      const extra = fdCount > 0 ? native.streamPair() : undefined;
      for (let p = 0; p < all.byteLength;) {
        const n = randInt(r, 1, all.byteLength - p);
        try {
          peer.sendStream(all.subarray(p, p + n), p === 0 && extra ? Int32Array.from(extra.slice(0, fdCount)) : undefined);
        } catch {
          break; // our side closed already
        }
        p += n;
      }
      if (extra) for (const fd of extra) native.closeFd(fd);
      await new Promise((res) => setImmediate(res));
      await new Promise((res) => setTimeout(res, 1));
      if (closedFlag) {
        if (closeError?.code === 'ERR_BUFSHARE_DBUS_MALFORMED' || closeError?.code === 'ERR_BUFSHARE_LIMIT_EXCEEDED') result.closedMalformed++;
        else if (closeError === undefined) result.closedOther++;
        else result.failures.push(`connection ${i}: closed with ${closeError.code}: ${closeError.message}`);
      } else {
        result.survived++;
      }
      conn.close();
      peer.close();
    }
    await new Promise((res) => setTimeout(res, 20));
  } finally {
    process.off('uncaughtException', onUncaught);
  }
  for (const e of escaped.slice(0, 10)) result.failures.push(`escaped: ${(e as Error).stack ?? String(e)}`);
  const left = resourceFds().filter((f) => !baseline.includes(f));
  result.leakedFds = left.length;
  if (left.length > 0) result.failures.push(`fds left: ${left.join(', ')}`);
  return result;
}
