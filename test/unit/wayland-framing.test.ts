// The Wayland stream transport's framing: a connection dispatches whole messages
// straight from the shared receive buffer and keeps only the start of a message
// whose end has not arrived. A stream cut anywhere (inside a header, inside a
// string, at message boundaries, one byte at a time) must come out as the same
// messages, in order, with their fds.
import { expect } from 'chai';
import * as native from '../../lib/native';
import { WaylandConnection } from '../../lib/wayland/connection';
import { wl_shm } from '../../lib/wayland/protocol/wayland';
import { xdg_toplevel } from '../../lib/wayland/protocol/xdg-shell';
import { decodeArgs, encodeMessage, MAX_MESSAGE_BYTES } from '../../lib/wayland/wire';
import { randInt, rng, SEED } from '../helpers/random';

const setTitle = { spec: xdg_toplevel.requests.find((m) => m.name === 'set_title')!, opcode: xdg_toplevel.requests.findIndex((m) => m.name === 'set_title') };
const createPool = { spec: wl_shm.requests.find((m) => m.name === 'create_pool')!, opcode: wl_shm.requests.findIndex((m) => m.name === 'create_pool') };
const pause = (): Promise<void> => new Promise((r) => setTimeout(r, 1));

describe('wayland stream framing', function () {
  this.timeout(20000);

  it('messages cut at random points (inside headers and bodies, up to the 4096-byte bound) arrive whole and in order', async () => {
    const r = rng(SEED);
    const titles: string[] = [];
    const parts: Uint8Array[] = [];
    // Sizes from 16 bytes to the bound: the longest title makes a 4096-byte message.
    const longest = MAX_MESSAGE_BYTES - 8 - 4 - 4;
    for (let i = 0; i < 80; i++) {
      const length = i % 10 === 0 ? longest : randInt(r, 1, 3000);
      const title = `${i}:`.padEnd(length, String.fromCharCode(97 + (i % 26)));
      titles.push(title);
      parts.push(encodeMessage(9, setTitle.opcode, setTitle.spec, [title]).bytes);
    }
    const stream = Buffer.concat(parts);
    const [a, b] = native.streamPair();
    const server = new WaylandConnection(a);
    const got: string[] = [];
    server.onMessage = (h, body) => {
      expect([h.objectId, h.opcode]).to.deep.equal([9, setTitle.opcode]);
      got.push(decodeArgs(setTitle.spec, body, server)[0] as string);
    };
    const sender = native.openStream(b, () => {});
    try {
      const boundaries: number[] = [];
      parts.reduce((end, part) => (boundaries.push(end + part.byteLength), end + part.byteLength), 0);
      const nextBoundary = (after: number): number => boundaries.find((x) => x > after) ?? stream.byteLength;
      let p = 0;
      let cuts = 0;
      while (p < stream.byteLength) {
        // In turn: a cut anywhere; at the end of a message (nothing left over); a few
        // bytes past it (a piece of the next header left over); anywhere again.
        const end = [
          p + randInt(r, 1, 2 * MAX_MESSAGE_BYTES),
          nextBoundary(p),
          nextBoundary(p) + randInt(r, 1, 7),
          p + randInt(r, 1, 7),
        ][cuts % 4]!;
        const n = Math.min(stream.byteLength, end) - p;
        let sent = 0;
        while (sent < n) sent += sender.sendStream(stream.subarray(p + sent, p + n));
        p += n;
        cuts++;
        await pause(); // the server reads each piece on its own
      }
      await new Promise((res) => setTimeout(res, 20));
      expect(got.length).to.equal(titles.length);
      expect(got).to.deep.equal(titles);
    } finally {
      sender.close();
      server.close();
    }
  });

  it('a peer closed from inside another connection\'s dispatch (its unread bytes drained) does not disturb the messages being dispatched', async () => {
    const [a, b] = native.streamPair();
    const [c, d] = native.streamPair();
    const first = new WaylandConnection(a);
    const other = new WaylandConnection(c);
    const got: string[] = [];
    first.onMessage = (_h, body) => {
      got.push(decodeArgs(setTitle.spec, body, first)[0] as string);
      if (got.length === 1) other.flushAndClose('closed by a handler of another client');
    };
    const sendFirst = native.openStream(b, () => {});
    const sendOther = native.openStream(d, () => {});
    try {
      // The other peer's bytes wait unread; closing it drains them while the first's batch is being dispatched.
      sendOther.sendStream(encodeMessage(3, setTitle.opcode, setTitle.spec, ['z'.repeat(2000)]).bytes);
      const titles = ['one', 'two'.repeat(300), 'three'.repeat(100)];
      sendFirst.sendStream(Buffer.concat(titles.map((t) => encodeMessage(9, setTitle.opcode, setTitle.spec, [t]).bytes)));
      await new Promise((res) => setTimeout(res, 20));
      expect(got).to.deep.equal(titles);
    } finally {
      sendFirst.close();
      sendOther.close();
      first.close();
      other.close();
    }
  });

  it('a message whose fd came with an earlier piece, cut one byte at a time, gets its fd', async () => {
    const memfd = native.memfdCreate('framing-test', 8192, 0);
    const [a, b] = native.streamPair();
    const server = new WaylandConnection(a);
    const got: number[] = [];
    server.onMessage = (_h, body) => got.push(...(decodeArgs(createPool.spec, body, server) as number[]));
    const sender = native.openStream(b, () => {});
    try {
      const bytes = encodeMessage(5, createPool.opcode, createPool.spec, [77, memfd, 8192]).bytes;
      sender.sendStream(bytes.subarray(0, 1), Int32Array.from([memfd]));
      for (let i = 1; i < bytes.byteLength; i++) {
        await pause();
        expect(got, `nothing before the last byte (${i})`).to.deep.equal([]);
        sender.sendStream(bytes.subarray(i, i + 1));
      }
      await new Promise((res) => setTimeout(res, 20));
      expect(got.length).to.equal(3);
      expect([got[0], got[2]]).to.deep.equal([77, 8192]);
      expect(native.statFd(got[1]!).size).to.equal(8192);
      native.closeFd(got[1]!);
    } finally {
      sender.close();
      server.close();
      native.closeFd(memfd);
    }
  });
  it('a read that finds nothing says so in meta (0 fds): a stale count made the server\'s drain close fds another connection had been handed', () => {
    // Stream and seqpacket alike. Before, EAGAIN left meta as the last read set it, and
    // callers that close meta[0] fds after any call closed the same numbers twice.
    const [a, b] = native.streamPair();
    const sa = native.openStream(a, () => {});
    const sb = native.openStream(b, () => {});
    const sent = [native.memfdCreate('meta', 16, 0), native.memfdCreate('meta', 16, 0)];
    const buf = new Uint8Array(64);
    const fds = new Int32Array(native.MAX_FDS_PER_STREAM_SEND);
    const meta = new Int32Array(2);
    try {
      expect(sa.sendStream(new Uint8Array(8), Int32Array.from(sent))).to.equal(8);
      expect(sb.recvStream(buf, fds, meta)).to.equal(8);
      expect(meta[0]).to.equal(2);
      for (let i = 0; i < 2; i++) native.closeFd(fds[i]!);
      expect(sb.recvStream(buf, fds, meta), 'nothing more to read').to.equal(0);
      expect([...meta], 'no fds, no flags').to.deep.equal([0, 0]);
    } finally {
      for (const fd of sent) native.closeFd(fd);
      sa.close();
      sb.close();
    }
    const [c, d] = native.seqpacketPair();
    const sc = native.openSeqPacket(c, () => {});
    const sd = native.openSeqPacket(d, () => {});
    const fd = native.memfdCreate('meta', 16, 0);
    const meta3 = new Int32Array(3);
    try {
      sc.send(new Uint8Array(8), Int32Array.of(fd));
      expect(sd.recv(buf, fds, meta3)).to.be.above(0);
      expect(meta3[1]).to.equal(1);
      native.closeFd(fds[0]!);
      expect(sd.recv(buf, fds, meta3)).to.equal(0);
      expect([...meta3]).to.deep.equal([0, 0, 0]);
    } finally {
      native.closeFd(fd);
      sc.close();
      sd.close();
    }
  });
});
