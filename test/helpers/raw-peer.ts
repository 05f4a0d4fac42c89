/**
 * A hand-driven client on the native socket API, for sending the server what no
 * BufferClient would: garbage, oversized or out-of-order messages, fds.
 * Every fd it receives is closed at once (it only records the messages).
 */
import { decodeServerMessage, type ServerMessage } from '../../lib/protocol';
import * as native from '../../lib/native';

export class RawPeer {
  readonly messages: ServerMessage[] = [];
  /** Resolves with the messages received, when the server closes the connection. */
  readonly closed: Promise<ServerMessage[]>;
  private readonly socket: native.SeqPacketSocket;
  private readonly waiters: { match: (m: ServerMessage) => boolean; resolve: (m: ServerMessage) => void }[] = [];
  private done!: (m: ServerMessage[]) => void;
  private isClosed = false;
  private readonly buf = new Uint8Array(65536);
  private readonly fds = new Int32Array(64);
  private readonly meta = new Int32Array(3);

  constructor(path: string) {
    this.closed = new Promise((r) => (this.done = r));
    this.socket = native.openSeqPacket(native.seqpacketConnect(path), () => this.onReadable());
    this.socket.poll(native.constants.POLL_READABLE);
  }

  send(data: Uint8Array, fds: number[] = []): void {
    this.socket.send(data, fds.length > 0 ? Int32Array.from(fds) : undefined);
  }

  /** The first message (received or to come) with this op. */
  next<Op extends ServerMessage['op']>(op: Op): Promise<Extract<ServerMessage, { op: Op }>> {
    const match = (m: ServerMessage): boolean => m.op === op;
    const seen = this.messages.find(match);
    if (seen) return Promise.resolve(seen as Extract<ServerMessage, { op: Op }>);
    return new Promise((resolve) => this.waiters.push({ match, resolve: resolve as (m: ServerMessage) => void }));
  }

  /** The fatal error the server sent before it closed the connection. */
  async fatalError(): Promise<{ code: string; message: string }> {
    const messages = await this.closed;
    const error = messages.find((m): m is Extract<ServerMessage, { op: 'error' }> => m.op === 'error' && m.fatal);
    if (!error) throw new Error(`the server closed without an error; got ${JSON.stringify(messages.map((m) => m.op))}`);
    return error;
  }

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.socket.close();
    this.done(this.messages);
  }

  private onReadable(): void {
    let errors = 0;
    for (;;) {
      let r: number;
      try {
        r = this.socket.recv(this.buf, this.fds, this.meta);
      } catch {
        // ECONNRESET: what the server sent is still queued behind it; a second error is final.
        if (++errors > 1) {
          this.close();
          return;
        }
        continue;
      }
      if (r === 0) return;
      if (r < 0) {
        this.close();
        return;
      }
      for (let i = 0; i < this.meta[1]!; i++) native.closeFd(this.fds[i]!);
      const m = decodeServerMessage(this.buf.subarray(0, this.meta[0]!));
      this.messages.push(m);
      for (let i = this.waiters.length - 1; i >= 0; i--) if (this.waiters[i]!.match(m)) this.waiters.splice(i, 1)[0]!.resolve(m);
    }
  }
}
