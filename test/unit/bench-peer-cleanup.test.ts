// The benchmark's server peer leaves no socket directory in the tmp dir, whether
// the runner closes it or tells it to exit.
import { expect } from 'chai';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { spawnPeer } from '../../bench/ipc/rpc';

/** What the peer left in `dir` (tsx keeps its own cache there too). */
const benchDirs = (dir: string): string[] => readdirSync(dir).filter((n) => n.startsWith('bufshare-bench-'));

describe('bench server peer', function () {
  this.timeout(30000);

  it('removes its bufshare-bench-* directory on close and on exit', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'bufshare-peer-tmp-'));
    try {
      const peer = spawnPeer('server', { TMPDIR: tmp });
      try {
        const first = await peer.call<{ path: string }>('start', { mode: 'shm' });
        expect(dirname(first.path).startsWith(join(tmp, 'bufshare-bench-'))).to.equal(true);
        expect(existsSync(first.path)).to.equal(true);
        await peer.call('close');
        expect(benchDirs(tmp)).to.deep.equal([]);
        await peer.call('start', { mode: 'shm' });
        expect(benchDirs(tmp)).to.have.length(1);
      } finally {
        await peer.stop(); // exit without close
      }
      expect(benchDirs(tmp)).to.deep.equal([]);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
