/**
 * The VM harness's stall watchdog (test/vm/stall-watch.js, run.sh --stall-after):
 * what lets CI run the nested KVM guest, which now and then stops the harness VM
 * dead. What CI relies on: a process that uses CPU is left alone; one whose CPU
 * time stops is reported (with what qemu's monitor says of its vCPUs) and killed,
 * and the marker run.sh turns into exit 254 is there. Against a real qemu whose
 * machine never starts (-S): the shape of a stopped VM.
 */
import { expect } from 'chai';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exitedWithin } from '../helpers/spawn';

const QEMU = 'qemu-system-x86_64';
const WATCHDOG = join(__dirname, '..', 'vm', 'stall-watch.js');

describe('VM harness: the stall watchdog', function () {
  this.timeout(30000);
  let tmp: string;
  const children: ChildProcess[] = [];
  const start = (cmd: string, args: string[]): ChildProcess => {
    const child = spawn(cmd, args, { stdio: 'ignore' });
    children.push(child);
    return child;
  };
  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), 'bufshare-stall-'));
  });
  afterEach(() => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
    rmSync(tmp, { recursive: true, force: true });
  });

  it('leaves a busy process alone, then reports and kills it once its CPU time stops', async () => {
    const busy = start(process.execPath, ['-e', 'for (;;) {}']);
    writeFileSync(join(tmp, 'pid'), `${busy.pid}\n`);
    const report = join(tmp, 'report.txt'), marker = join(tmp, 'stalled');
    const watch = start(process.execPath, [WATCHDOG, join(tmp, 'pid'), join(tmp, 'none.sock'), '1', report, marker]);
    await new Promise((r) => setTimeout(r, 3000));
    expect(existsSync(marker), 'a process using CPU is not a stall').to.equal(false);
    expect(busy.exitCode === null && busy.signalCode === null).to.equal(true);

    busy.kill('SIGSTOP');   // its CPU time stops, as a stopped VM's does
    expect(await exitedWithin(busy, 8000), 'the stopped process was killed').to.equal(true);
    expect(busy.signalCode).to.equal('SIGKILL');
    expect(await exitedWithin(watch, 5000)).to.equal(true);
    expect(existsSync(marker)).to.equal(true);
    const text = readFileSync(report, 'utf8');
    expect(text).to.match(new RegExp(`^qemu ${busy.pid}: CPU time stayed at \\d+ ticks for 1 s`));
    expect(text).to.match(/threads:\n {2}\d+ node state=T/);
    expect(text, 'no monitor: said so, report written anyway').to.match(/monitor: cannot talk to/);
  });

  it('asks a stopped qemu\'s monitor what its vCPUs were doing before it kills it', async function () {
    if (spawnSync(QEMU, ['--version']).status !== 0) this.skip();
    const sock = join(tmp, 'qmp.sock'), pidFile = join(tmp, 'qemu.pid');
    const report = join(tmp, 'report.txt'), marker = join(tmp, 'stalled');
    const qemu = start(QEMU, ['-nodefaults', '-no-user-config', '-machine', 'q35', '-accel', 'tcg', '-display', 'none', '-S',
      '-pidfile', pidFile, '-qmp', `unix:${sock},server=on,wait=off`]);
    const watch = start(process.execPath, [WATCHDOG, pidFile, sock, '2', report, marker]);
    expect(await exitedWithin(qemu, 15000), 'qemu was killed').to.equal(true);
    expect(qemu.signalCode).to.equal('SIGKILL');
    expect(await exitedWithin(watch, 5000)).to.equal(true);
    expect(existsSync(marker)).to.equal(true);
    const text = readFileSync(report, 'utf8');
    expect(text).to.match(/### info status\nVM status: paused/);
    expect(text).to.match(/### info registers -a\n[\s\S]*EIP=0000fff0/);   // the reset vector: it never ran
    expect(text).to.match(/### info lapic\n/);
    expect(text).to.match(/qemu-system-x86|qemu-system-x86_64|CPU 0\/TCG/);
    expect(text).not.to.match(/monitor: /);
  });
});
