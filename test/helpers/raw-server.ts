/**
 * A hand-driven server on the native socket API, for tests of what a client
 * does with what a server sends: descriptors of any shape, fds of any number.
 * One connection at a time; received fds are closed at once.
 */
import { decodeClientMessage, type ClientMessage } from '../../lib/protocol';
import * as native from '../../lib/native';

export class RawServer {
  readonly messages: ClientMessage[] = [];
  private readonly listener: native.SeqPacketSocket;
  private peer: native.SeqPacketSocket | undefined;
  private readonly waiters: { op: string; resolve: (m: ClientMessage) => void }[] = [];
  private readonly buf = new Uint8Array(65536);
  private readonly fds = new Int32Array(64);
  private readonly meta = new Int32Array(3);

  constructor(path: string) {
    this.listener = native.openSeqPacket(native.seqpacketListen(path, 4), () => {
      const fd = this.listener.accept();
      if (fd < 0) return;
      this.peer?.close();
      this.peer = native.openSeqPacket(fd, () => this.onReadable());
      this.peer.poll(native.constants.POLL_READABLE);
    });
    this.listener.poll(native.constants.POLL_READABLE);
  }

  send(data: Uint8Array, fds: number[] = []): void {
    this.peer!.send(data, fds.length > 0 ? Int32Array.from(fds) : undefined);
  }

  next<Op extends ClientMessage['op']>(op: Op): Promise<Extract<ClientMessage, { op: Op }>> {
    const i = this.messages.findIndex((m) => m.op === op);
    if (i >= 0) return Promise.resolve(this.messages.splice(i, 1)[0] as Extract<ClientMessage, { op: Op }>);
    return new Promise((resolve) => this.waiters.push({ op, resolve: resolve as (m: ClientMessage) => void }));
  }

  close(): void {
    this.peer?.close();
    this.listener.close();
  }

  private onReadable(): void {
    for (;;) {
      let r: number;
      try {
        r = this.peer!.recv(this.buf, this.fds, this.meta);
      } catch {
        return;
      }
      if (r === 0) return;
      if (r < 0) {
        this.peer!.close();
        return;
      }
      for (let i = 0; i < this.meta[1]!; i++) native.closeFd(this.fds[i]!);
      const m = decodeClientMessage(this.buf.subarray(0, this.meta[0]!));
      const w = this.waiters.findIndex((x) => x.op === m.op);
      if (w >= 0) this.waiters.splice(w, 1)[0]!.resolve(m);
      else this.messages.push(m);
    }
  }
}
