import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { Connection } from '../../lib/protocol';
import * as native from '../../lib/native';
import { fdTarget } from '../helpers/fds';

function nextMessage(c: Connection): Promise<{ data: Uint8Array; fds: number[] }> {
  return new Promise((resolve) => c.once('message', (data, fds) => resolve({ data: data.slice(), fds })));
}

describe('IPC transport (SOCK_SEQPACKET on the libuv loop)', () => {
  it('keeps message boundaries and passes fds (received close-on-exec, owned by the listener)', async () => {
    const [a, b] = native.seqpacketPair();
    const left = new Connection(a);
    const right = new Connection(b);
    const memfd = native.memfdCreate('transport-test', 4096, 0);
    const got = nextMessage(right);
    left.send(Uint8Array.of(1, 2, 3), [memfd]);
    native.closeFd(memfd); // the kernel passed its own reference: ours can go
    const { data, fds } = await got;
    expect([...data]).to.deep.equal([1, 2, 3]);
    expect(fds).to.have.length(1);
    expect(fdTarget(fds[0]!)).to.match(/memfd:transport-test/);
    const flags = parseInt(/flags:\s+(\d+)/.exec(readFileSync(`/proc/self/fdinfo/${fds[0]!}`, 'utf8'))![1]!, 8);
    expect(flags & 0o2000000).to.not.equal(0); // O_CLOEXEC
    native.closeFd(fds[0]!);
    const closed = new Promise<string>((r) => right.once('close', r));
    left.close();
    expect(await closed).to.equal('the peer closed the connection');
  });

  it('queues on EAGAIN, dup()s queued fds, and delivers everything in order once the peer reads', async () => {
    const [a, b] = native.seqpacketPair();
    const sender = new Connection(a, { maxQueuedBytes: 64 * 1024 * 1024 });
    const message = new Uint8Array(60000);
    let sent = 0;
    while (sender.pendingBytes === 0) {
      message[0] = sent & 0xff;
      sender.send(message);
      sent++;
      expect(sent).to.be.below(10000);
    }
    // The kernel's queue is full: this one waits in ours, with an fd we close at once.
    const memfd = native.memfdCreate('queued', 4096, 0);
    message[0] = sent & 0xff;
    sender.send(message, [memfd]);
    sent++;
    native.closeFd(memfd);
    const receiver = new Connection(b);
    let received = 0;
    let lastFds: number[] = [];
    await new Promise<void>((resolve) => {
      receiver.on('message', (data, fds) => {
        expect(data[0]).to.equal(received & 0xff);
        expect(data.length).to.equal(60000);
        received++;
        if (received === sent) {
          lastFds = fds;
          resolve();
        } else {
          expect(fds).to.deep.equal([]);
        }
      });
    });
    expect(sender.pendingBytes).to.equal(0);
    expect(lastFds).to.have.length(1);
    expect(fdTarget(lastFds[0]!)).to.match(/memfd:queued/);
    native.closeFd(lastFds[0]!);
    sender.close();
    receiver.close();
  });

  it('drops a peer that lets more than maxQueuedBytes pile up', async () => {
    const [a, b] = native.seqpacketPair();
    const sender = new Connection(a, { maxQueuedBytes: 256 * 1024 });
    const closed = new Promise<[string, { code?: string } | undefined]>((r) => sender.once('close', (reason, err) => r([reason, err])));
    const big = new Uint8Array(60000);
    for (let i = 0; i < 1000 && !sender.closed; i++) sender.send(big);
    const [reason, err] = await closed;
    expect(reason).to.match(/stopped reading/);
    expect(err?.code).to.equal('ERR_BUFSHARE_LIMIT_EXCEEDED');
    native.closeFd(b);
  });

  it('reports an oversized message as malformed, without reading past the buffer', async () => {
    const [a, b] = native.seqpacketPair();
    const raw = native.openSeqPacket(a, () => undefined);
    const receiver = new Connection(b);
    const malformed = new Promise<string>((r) => receiver.once('malformed', r));
    raw.send(new Uint8Array(100000));
    expect(await malformed).to.match(/100000 bytes is over the 65536-byte limit/);
    raw.close();
    receiver.close();
  });

  it("reads a peer's last messages even when it closed with ours unread (ECONNRESET, EPOLLERR)", async () => {
    const [a, b] = native.seqpacketPair();
    const raw = native.openSeqPacket(b, () => undefined);
    const conn = new Connection(a);
    const got: number[] = [];
    conn.on('message', (data) => got.push(data[0]!));
    const closed = new Promise<string>((r) => conn.once('close', r));
    conn.send(Uint8Array.of(1)); // never read by the peer: its close resets us
    raw.send(Uint8Array.of(7));
    raw.send(Uint8Array.of(8));
    raw.close();
    await closed;
    expect(got).to.deep.equal([7, 8]);
  });

  it('end(): the last message reaches a peer whose queue was full, and the peer can send no more', async () => {
    const [a, b] = native.seqpacketPair();
    const server = new Connection(a);
    // The peer does not read yet: the kernel holds a few of our messages, the rest queue here.
    let n = 0;
    while (server.pendingBytes === 0) {
      server.send(Uint8Array.of(n & 0xff, 0));
      n++;
      expect(n).to.be.below(10000);
    }
    server.send(Uint8Array.of(0xee, 0xee)); // "the error", queued behind the others
    const closed = new Promise<string>((r) => server.once('close', r));
    server.end('bad client');
    expect(server.closed).to.equal(true);
    const raw = native.openSeqPacket(b, () => {});
    // shutdown(SHUT_RD) on the server's side: the peer's sends fail now.
    expect(() => raw.send(Uint8Array.of(1))).to.throw().with.property('errno', 'EPIPE');
    const buf = new Uint8Array(64);
    const fds = new Int32Array(16);
    const meta = new Int32Array(3);
    const got: number[] = [];
    for (let spins = 0; spins < 2000; spins++) {
      const r = raw.recv(buf, fds, meta);
      if (r === -1) break;
      if (r === 1) got.push(buf[0]!);
      else await new Promise((res) => setImmediate(res));
    }
    expect(got.length).to.equal(n + 1);
    expect(got[got.length - 1]).to.equal(0xee);
    expect(await closed).to.equal('bad client');
    raw.close();
  });

  it('on EPIPE, everything the peer sent before it went is still delivered (ECONNRESET first)', async () => {
    const [a, b] = native.seqpacketPair();
    const client = new Connection(b);
    const rawServer = native.openSeqPacket(a, () => {});
    const got: number[] = [];
    client.on('message', (data) => got.push(data[0]!));
    client.send(Uint8Array.of(1)); // unread by the server: its close reports ECONNRESET to us
    for (let i = 0; i < 3; i++) rawServer.send(Uint8Array.of(10 + i));
    rawServer.close();
    const reason = await new Promise<string>((r) => {
      client.once('close', r);
      try {
        client.send(Uint8Array.of(2)); // EPIPE: drains, then closes
      } catch {
        // closed already
      }
    });
    expect(got).to.deep.equal([10, 11, 12]);
    expect(reason).to.match(/EPIPE|peer/);
  });
});
