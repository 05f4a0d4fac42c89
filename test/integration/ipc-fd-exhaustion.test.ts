// The bufshare server's listener out of fds (EMFILE): the connection that finds
// none is accepted on the reserve fd and closed at once, rather than left in the
// backlog while accept() fails every 100 ms; the server goes on.
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RawPeer } from '../helpers/raw-peer';
import { spawnTs } from '../helpers/spawn';

describe('bufshare server: out of fds', function () {
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
});
