import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { expect } from 'chai';
import { BufferClient } from '../../lib';
import { tempSocketDir } from '../helpers/ipc';

const ROOT = join(__dirname, '..', '..');
const TSX = ['--require', 'tsx/cjs'];

/** Lines a child prints, and a wait for the first one that matches. */
function lines(child: ChildProcess): { all: string[]; waitFor: (re: RegExp) => Promise<string> } {
  const all: string[] = [];
  const waiters: { re: RegExp; resolve: (l: string) => void }[] = [];
  let partial = '';
  child.stdout!.on('data', (d: Buffer) => {
    partial += d.toString();
    const parts = partial.split('\n');
    partial = parts.pop()!;
    for (const l of parts) {
      all.push(l);
      for (const w of waiters.splice(0)) (w.re.test(l) ? w.resolve(l) : waiters.push(w));
    }
  });
  child.on('exit', (code) => {
    for (const w of waiters.splice(0)) w.resolve(`exited ${code} ${all.join(' | ')}`);
  });
  return {
    all,
    waitFor: (re) => {
      const seen = all.find((l) => re.test(l));
      return seen !== undefined ? Promise.resolve(seen) : new Promise((resolve) => waiters.push({ re, resolve }));
    },
  };
}

describe('The process\'s fd table: one client cannot use it up for all', function () {
  this.timeout(120000);

  it('a compositor with 256 fds: a client past its share is refused, another client connects and its frames are read', async () => {
    const sock = tempSocketDir();
    // The compositor raised its per-client limits (16384 buffers) far past what its fd table holds.
    const server = spawn('prlimit', ['--nofile=256:256', process.execPath, ...TSX, join(ROOT, 'test/helpers/fd-share-server-child.ts'), sock.path], {
      cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'],
    });
    const serverOut = lines(server);
    let hog: ChildProcess | undefined;
    try {
      expect(await serverOut.waitFor(/^ready|^error|^exited/)).to.equal('ready');
      hog = spawn(process.execPath, [...TSX, join(ROOT, 'test/helpers/guard-hog-child.ts'), sock.path, '200'], {
        cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'],
      });
      const hogOut = lines(hog);
      const line = await hogOut.waitFor(/^(refused|done|failed|exited)/);
      const [outcome, code, count] = line.split(' ');
      expect(`${outcome} ${code}`, line).to.equal('refused ERR_BUFSHARE_LIMIT_EXCEEDED');
      expect(Number(count)).to.be.at.most(256 / 8);
      // An innocent client still connects and gets buffers, and the compositor reads its frames.
      const client = await BufferClient.connect({ path: sock.path, replyTimeoutMs: 5000 });
      const surface = await client.createSurface({ width: 16, height: 16, format: 'XRGB8888' });
      const { buffer, region } = await surface.nextBuffer();
      region.pixels32.fill(0xff123456);
      surface.submit(buffer, [{ x: 0, y: 0, width: 16, height: 16 }]);
      expect(await serverOut.waitFor(/^frame ff123456|^error|^exited/)).to.equal('frame ff123456');
      client.close();
      expect(serverOut.all.filter((l) => l.startsWith('error'))).to.deep.equal([]);
    } finally {
      hog?.stdin!.end();
      server.stdin!.end();
      await Promise.all([hog ?? server, server].map((c) => new Promise((r) => (c.exitCode === null && c.signalCode === null ? c.on('exit', r) : r(undefined)))));
      sock.cleanup();
    }
  });
});
