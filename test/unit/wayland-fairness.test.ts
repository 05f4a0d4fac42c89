// Fairness between Wayland clients: each connection dispatches at most
// maxRequestsPerTurn requests per turn of the event loop, so a client sending one
// request waits for the other clients' turns, not for their floods. Before the
// cap a turn was a whole 4 KiB read (341 wl_display.sync), and 45 flooding
// clients left weston-simple-shm beside them 3-9 frames a second (issue 23).
import { expect } from 'chai';
import * as native from '../../lib/native';
import { WaylandConnection } from '../../lib/wayland/connection';
import { wl_display } from '../../lib/wayland/protocol/wayland';
import { decodeArgs, encodeMessage } from '../../lib/wayland/wire';

const sync = { spec: wl_display.requests.find((m) => m.name === 'sync')!, opcode: wl_display.requests.findIndex((m) => m.name === 'sync') };
const pause = (ms = 1): Promise<void> => new Promise((r) => setTimeout(r, ms));

function syncs(first: number, count: number): Uint8Array {
  const one = encodeMessage(1, sync.opcode, sync.spec, [first]).bytes.byteLength;
  const all = new Uint8Array(one * count);
  for (let i = 0; i < count; i++) all.set(encodeMessage(1, sync.opcode, sync.spec, [first + i]).bytes, i * one);
  return all;
}

/** Writes all of `bytes` into the socket as fast as the reader takes them. */
async function writeAll(socket: native.StreamSocket, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.byteLength; ) {
    const n = socket.sendStream(bytes.subarray(at, Math.min(bytes.byteLength, at + 65536)));
    at += n;
    if (n === 0) await pause();
  }
}

describe('wayland fairness between clients', function () {
  this.timeout(20000);

  it('a request waits for the other clients\' turns (64 requests each), not their floods, and every flooded request is dispatched in order', async () => {
    const FLOODERS = 8;
    const PER_FLOODER = 6000; // 72,000 bytes: fits the socket buffer, more than a turn
    const conns: WaylandConnection[] = [];
    const peers: native.StreamSocket[] = [];
    const seen: number[][] = [];
    let floodBeforeGood = -1;
    let floodDispatched = 0;
    for (let i = 0; i < FLOODERS + 1; i++) {
      const [a, b] = native.streamPair();
      const conn = new WaylandConnection(a);
      const got: number[] = [];
      seen.push(got);
      const good = i === FLOODERS;
      conn.onMessage = (h, body) => {
        got.push(decodeArgs(sync.spec, body, conn)[0] as number);
        if (good) floodBeforeGood = floodDispatched;
        else floodDispatched++;
      };
      conns.push(conn);
      peers.push(native.openStream(b, () => {}));
    }
    try {
      // Every flood is in its socket before the loop runs, the good client's one
      // request last: the first loop iteration finds them all readable.
      await Promise.all(peers.slice(0, FLOODERS).map((p, i) => writeAll(p, syncs(i * 100000 + 1, PER_FLOODER))));
      await writeAll(peers[FLOODERS]!, syncs(7, 1));
      const t0 = Date.now();
      while (floodDispatched < FLOODERS * PER_FLOODER && Date.now() - t0 < 10000) await pause(5);
      expect(seen[FLOODERS], 'the good client\'s request').to.deep.equal([7]);
      expect(floodBeforeGood, 'flood requests dispatched before the good client\'s one').to.be.within(0, FLOODERS * 64);
      for (let i = 0; i < FLOODERS; i++) {
        expect(seen[i]!.length, `flooder ${i}: all dispatched`).to.equal(PER_FLOODER);
        expect(seen[i]!.every((v, k) => v === i * 100000 + 1 + k), `flooder ${i}: in order`).to.equal(true);
      }
    } finally {
      for (const c of conns) c.close();
      for (const p of peers) p.close();
    }
  });

  it('a request split across a turn\'s end arrives whole, and every request in order', async () => {
    const [a, b] = native.streamPair();
    const conn = new WaylandConnection(a, { maxRequestsPerTurn: 3 });
    const peer = native.openStream(b, () => {});
    const got: number[] = [];
    conn.onMessage = (_h, body) => {
      got.push(decodeArgs(sync.spec, body, conn)[0] as number);
    };
    try {
      const bytes = syncs(1, 1000);
      // Cut inside a message: 12-byte requests, 4001 bytes.
      await writeAll(peer, bytes.subarray(0, 4001));
      await pause(20);
      await writeAll(peer, bytes.subarray(4001));
      const t0 = Date.now();
      while (got.length < 1000 && Date.now() - t0 < 5000) await pause(5);
      expect(got).to.deep.equal(Array.from({ length: 1000 }, (_, i) => i + 1));
    } finally {
      conn.close();
      peer.close();
    }
  });

  it('maxRequestsPerTurn must be a positive integer: ERR_BUFSHARE_INVALID_ARGUMENT, and the fd is closed', () => {
    const [a, b] = native.streamPair();
    try {
      expect(() => new WaylandConnection(a, { maxRequestsPerTurn: 0 })).to.throw().with.property('code', 'ERR_BUFSHARE_INVALID_ARGUMENT');
      expect(() => native.closeFd(a), 'a was closed by the constructor').to.throw();
    } finally {
      native.closeFd(b);
    }
  });
});
