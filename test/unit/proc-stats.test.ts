// The benchmark's /proc reader on another process (bench/ipc/proc-stats.ts): a real
// child opens fds of known kinds and touches memory of known kinds; the reader,
// from this process, must see exactly those fds and at least that memory, and
// see them go when the child closes them.
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fdStats, residentMemory, type FdStats } from '../../bench/ipc/proc-stats';

const MiB = 1024 * 1024;
const NATIVE = join(__dirname, '..', '..', 'lib', 'native');

// On "open": 3 memfds (one mapped and written whole: 8 MiB of shmem), a socket
// pair, /dev/null, and 32 MiB of anonymous memory written whole. On "close": all
// of it closed or dropped.
const CHILD = `
const native = require(${JSON.stringify(NATIVE)});
const fs = require('node:fs');
let held;
require('node:readline').createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'open') {
    const memfds = [0, 1, 2].map(() => native.memfdCreate('proc-stats-test', 8 * 1024 * 1024, 0));
    const mapping = native.mmapFd(memfds[0], 8 * 1024 * 1024, 0, native.PROT_READ | native.PROT_WRITE);
    new Uint8Array(mapping).fill(1);
    const anon = Buffer.alloc(32 * 1024 * 1024, 2);
    held = { memfds, mapping, pair: native.streamPair(), nul: fs.openSync('/dev/null', 'r'), anon };
  } else if (line === 'close') {
    for (const fd of [...held.memfds, ...held.pair, held.nul]) native.closeFd(fd);
    native.unmapBuffer(held.mapping);
    held = undefined;
  }
  process.stdout.write(line + ' done\\n');
});
process.stdout.write('ready\\n');
`;

class Child {
  readonly process: ChildProcess;
  private readonly lines: string[] = [];
  private wake: (() => void) | undefined;

  constructor() {
    this.process = spawn(process.execPath, ['--require', 'tsx/cjs', '-e', CHILD], { stdio: ['pipe', 'pipe', 'inherit'] });
    createInterface({ input: this.process.stdout! }).on('line', (l) => {
      this.lines.push(l);
      this.wake?.();
    });
  }

  async expectLine(line: string): Promise<void> {
    while (this.lines.length === 0) await new Promise<void>((r) => (this.wake = r));
    expect(this.lines.shift()).to.equal(line);
  }

  async command(c: 'open' | 'close'): Promise<void> {
    this.process.stdin!.write(`${c}\n`);
    await this.expectLine(`${c} done`);
  }
}

/** The child's fds once they stop changing (tsx closes a socket of its own shortly after start). */
async function settledFds(pid: number): Promise<FdStats> {
  let last = fdStats(pid);
  for (let same = 0, tries = 0; same < 4 && tries < 100; tries++) {
    await new Promise((r) => setTimeout(r, 50));
    const now = fdStats(pid);
    same = JSON.stringify(now) === JSON.stringify(last) ? same + 1 : 0;
    last = now;
  }
  return last;
}

describe('bench /proc reader of another process', function () {
  this.timeout(20000);

  it('counts the fds a child opened, by kind, and its anonymous and shared memory', async () => {
    const child = new Child();
    const pid = child.process.pid!;
    try {
      await child.expectLine('ready');
      const fds0 = await settledFds(pid);
      const mem0 = residentMemory(pid);
      expect(fds0.total).to.be.greaterThan(2);
      expect(mem0.rss).to.be.greaterThan(0);

      await child.command('open');
      const fds1 = fdStats(pid);
      const mem1 = residentMemory(pid);
      const grew = (kind: string): number => (fds1.byKind[kind] ?? 0) - (fds0.byKind[kind] ?? 0);
      expect(grew('memfd'), 'memfds').to.equal(3);
      expect(grew('socket'), 'sockets').to.equal(2);
      expect(grew('/dev/null'), '/dev/null').to.equal(1);
      expect(fds1.total - fds0.total, 'fds in all').to.equal(6);
      // Pages written by the child, read from here (V8 may also free or grow some of its own).
      expect(mem1.rssShmem - mem0.rssShmem, 'RssShmem').to.be.at.least(8 * MiB);
      expect(mem1.rssAnon - mem0.rssAnon, 'RssAnon').to.be.at.least(30 * MiB);
      expect(mem1.rss).to.equal(mem1.rssAnon + mem1.rssFile + mem1.rssShmem);

      await child.command('close');
      const fds2 = fdStats(pid);
      expect(fds2.byKind).to.deep.equal(fds0.byKind);
      expect(residentMemory(pid).rssShmem - mem0.rssShmem, 'RssShmem after unmap').to.be.below(MiB);
    } finally {
      child.process.kill('SIGKILL');
      await new Promise((r) => child.process.once('exit', r));
    }
    // Gone (reaped): a clear throw, never figures of 0 that would read as a saving.
    expect(() => residentMemory(pid)).to.throw(/ENOENT/);
    expect(() => fdStats(pid)).to.throw(/ENOENT/);
  });
});
