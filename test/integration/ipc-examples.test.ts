import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { tempSocketDir } from '../helpers/ipc';
import { runTs, spawnTs } from '../helpers/spawn';

describe('IPC: the README examples run together', function () {
  this.timeout(30000);

  it('examples/compositor.ts and examples/client.ts exchange ten frames', async () => {
    const sock = tempSocketDir();
    try {
      const compositor = spawnTs('examples/compositor.ts', [sock.path]);
      expect(await compositor.line('listening')).to.equal(`listening on ${sock.path}`);
      const client = await runTs('examples/client.ts', [sock.path]);
      expect(client.code, client.stderr).to.equal(0);
      expect(client.stdout).to.contain('surface: shm buffers, direct access');
      expect(client.stdout).to.contain('closed: closed by the client');
      expect(await compositor.line(/^client \d+: surface/)).to.match(/surface 320x240 XRGB8888 \(shm, direct\)$/);
      expect(await compositor.line(/^client \d+ left/)).to.match(/left: the peer closed the connection$/);
      compositor.process.kill('SIGTERM');
      const res = await compositor.exited;
      expect(res.code, res.stderr).to.equal(0);
      const frames = res.stdout.split('\n').filter((l) => l.startsWith('frame:'));
      expect(frames).to.have.length(10);
      expect(frames[0]).to.equal('frame: 1 rect(s), 76800 px damaged, centre 0xff0000ff');
      expect(frames[9]).to.equal('frame: 1 rect(s), 76800 px damaged, centre 0xffe1001e');
      expect(existsSync(sock.path)).to.equal(false); // the compositor removed its socket on SIGTERM
    } finally {
      sock.cleanup();
    }
  });
});
