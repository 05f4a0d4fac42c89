// A Wayland client that never reads: what it sends goes out as raw bytes (made with
// the codec), and nothing the server sends it is read until ended() drains it.
import * as native from '../../lib/native';
import type { InterfaceSpec } from '../../lib/wayland/spec';
import { encodeMessage, MAX_MESSAGE_BYTES, type ArgValue } from '../../lib/wayland/wire';

export class DeafWaylandClient {
  private readonly socket: native.StreamSocket;
  private pending: Uint8Array[] = [];

  constructor(path: string) {
    // Never polled: the socket is only written to, and read by ended().
    this.socket = native.openStream(native.streamConnect(path), () => {});
  }

  /** Adds request `name` of object `id` to what send() sends. */
  request(id: number, iface: InterfaceSpec, name: string, args: ArgValue[]): void {
    const opcode = iface.requests.findIndex((r) => r.name === name);
    if (opcode < 0) throw new Error(`${iface.name} has no request ${name}`);
    const m = encodeMessage(id, opcode, iface.requests[opcode]!, args);
    if (m.fds.length > 0) throw new Error('a deaf client sends no fds');
    this.pending.push(m.bytes.slice());
  }

  /** Adds `count` copies of request `name` (its encoding with `args`) to what send() sends: floods without encoding each. */
  repeat(id: number, iface: InterfaceSpec, name: string, args: ArgValue[], count: number): void {
    this.request(id, iface, name, args);
    const one = this.pending.pop()!;
    const all = new Uint8Array(one.byteLength * count);
    for (let i = 0; i < count; i++) all.set(one, i * one.byteLength);
    this.pending.push(all);
  }

  /** Sends what request() queued, waiting out a full socket. Throws if the server hung up (EPIPE). */
  async send(): Promise<void> {
    let total = 0;
    for (const b of this.pending) total += b.byteLength;
    const all = new Uint8Array(total);
    let p = 0;
    for (const b of this.pending.splice(0)) {
      all.set(b, p);
      p += b.byteLength;
    }
    for (let at = 0; at < total; ) {
      const n = this.socket.sendStream(all.subarray(at, Math.min(total, at + 4 * MAX_MESSAGE_BYTES)));
      at += n;
      if (n === 0) await new Promise((r) => setTimeout(r, 1));
    }
  }

  /** Reads (and drops) what the server sent until the end of the stream: true, or false if it has not ended within timeoutMs. */
  async ended(timeoutMs = 3000): Promise<boolean> {
    const buf = new Uint8Array(MAX_MESSAGE_BYTES);
    const fds = new Int32Array(native.MAX_FDS_PER_STREAM_SEND);
    const meta = new Int32Array(2);
    const start = Date.now();
    for (;;) {
      let n: number;
      try {
        n = this.socket.recvStream(buf, fds, meta);
      } catch {
        return true; // ECONNRESET: ended too
      }
      for (let i = 0; i < meta[0]!; i++) native.closeFd(fds[i]!);
      if (n < 0) return true;
      if (n === 0) {
        if (Date.now() - start > timeoutMs) return false;
        await new Promise((r) => setTimeout(r, 5));
      }
    }
  }

  /** Reads (and drops) what the server sent until `bytes` have come, the stream ended, or timeoutMs: the bytes read. */
  async read(bytes: number, timeoutMs = 3000): Promise<number> {
    const buf = new Uint8Array(4 * MAX_MESSAGE_BYTES);
    const fds = new Int32Array(native.MAX_FDS_PER_STREAM_SEND);
    const meta = new Int32Array(2);
    const start = Date.now();
    let got = 0;
    while (got < bytes && Date.now() - start <= timeoutMs) {
      const n = this.socket.recvStream(buf, fds, meta);
      for (let i = 0; i < meta[0]!; i++) native.closeFd(fds[i]!);
      if (n < 0) break;
      got += n;
      if (n === 0) await new Promise((r) => setTimeout(r, 1));
    }
    return got;
  }

  close(): void {
    this.socket.close();
  }
}
