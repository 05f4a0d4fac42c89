// The bufshare server against clients that exhaust it: its listener out of fds
// (EMFILE) accepts the connection that finds none on the reserve fd and closes
// it at once, rather than leave it in the backlog while accept() fails every
// 100 ms; a client that lets ~90,000 messages pile up and then reads does not
// stall the server while they go out.
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as native from '../../lib/native';
import { encodeHello, encodeRequest } from '../../lib/protocol';
import { RawPeer } from '../helpers/raw-peer';
import { spawnTs } from '../helpers/spawn';

describe('bufshare server: exhaustion', function () {
  this.timeout(20000);

  it('a connection past the fd limit is closed at once, with an error event, and the server accepts again once fds free', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bufshare-ipc-nofile-'));
    const path = join(dir, 'sock');
    // 48 fds: the server's own, then one per connection.
    const child = spawnTs('test/helpers/ipc-server-events-child.ts', [path], { nofile: 48 });
    const peers: RawPeer[] = [];
    try {
      expect(await child.line('listening')).to.equal('listening');
      // More connections than fds left: the ones past the limit are closed by the server.
      const closed = new Set<RawPeer>();
      for (let i = 0; i < 40; i++) {
        const p = new RawPeer(path);
        peers.push(p);
        void p.closed.then(() => closed.add(p));
      }
      const start = Date.now();
      while (closed.size === 0 && Date.now() - start < 2000) await new Promise((r) => setTimeout(r, 10));
      expect(closed.size, 'connections closed by the server').to.be.above(0);
      expect(await child.line('error ')).to.match(/^error ERR_BUFSHARE_SYSCALL EMFILE refused a connection: out of fds/);
      expect(child.process.exitCode).to.equal(null);
      for (const p of peers.splice(0, 20)) p.close();
      await new Promise((r) => setTimeout(r, 100));
      const next = new RawPeer(path);
      peers.push(next);
      const outcome = await Promise.race([next.closed.then(() => 'closed'), new Promise((r) => setTimeout(() => r('open'), 300))]);
      expect(outcome, 'accepted again').to.equal('open');
    } finally {
      for (const p of peers) p.close();
      child.process.kill('SIGTERM');
      await child.exited;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a client that reads only once 90,000 messages are queued gets them within 4 s, and another is served meanwhile', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bufshare-ipc-queue-'));
    const path = join(dir, 'sock');
    const child = spawnTs('test/helpers/ipc-server-events-child.ts', [path]);
    let deaf: native.SeqPacketSocket | undefined;
    let other: RawPeer | undefined;
    try {
      expect(await child.line('listening')).to.equal('listening');
      // Not polled: nothing is read until the test says so.
      deaf = native.openSeqPacket(native.seqpacketConnect(path), () => {});
      const BURST = 90000; // ~37 bytes each: 3.3 MB, under the 4 MiB bound
      deaf.send(encodeHello('deaf'));
      deaf.send(encodeRequest(undefined, { burst: BURST }));
      await new Promise((r) => setTimeout(r, 500));
      const buf = new Uint8Array(65536);
      const fds = new Int32Array(64);
      const meta = new Int32Array(3);
      const start = Date.now();
      let got = 0;
      other = new RawPeer(path);
      other.send(encodeHello('other'));
      other.send(encodeRequest(undefined, { burst: 1 }));
      const otherServed = other.next('event').then(() => Date.now() - start);
      while (got < BURST + 1 && Date.now() - start < 10000) {
        const r = deaf.recv(buf, fds, meta);
        if (r < 0) break;
        if (r === 0) await new Promise((res) => setTimeout(res, 1));
        else got++;
      }
      expect(got, 'welcome + the burst').to.equal(BURST + 1);
      expect(Date.now() - start, 'ms to drain').to.be.below(4000);
      expect(await otherServed, 'ms until the other client was served').to.be.below(2000);
    } finally {
      deaf?.close();
      other?.close();
      child.process.kill('SIGTERM');
      await child.exited;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
