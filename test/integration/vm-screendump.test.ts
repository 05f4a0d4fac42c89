/**
 * The VM harness's readback channel on the host (test/vm/screendump-host.js and
 * the guest helper test/drivers/support/screendump.ts), against a real qemu: a
 * machine that never starts (-S, no kernel) with a bochs display and a qxl device
 * that has no id. What the driver tests rely on: a dump by device id and by PCI
 * address, a clear error for a device qemu does not know, one without an id, a
 * request that is not JSON and an answer that never comes; nothing left in the
 * shared dir; and the watcher exits when qemu does (no process outlives the VM).
 */
import { expect } from 'chai';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hotplugInput, injectInput, keyTaps, parsePpm, screendump } from '../drivers/support/screendump';
import { exitedWithin } from '../helpers/spawn';

const QEMU = 'qemu-system-x86_64';
const WATCHER = join(__dirname, '..', 'vm', 'screendump-host.js');

describe('VM harness: screendump over QMP (host side)', function () {
  this.timeout(30000);
  if (spawnSync(QEMU, ['--version']).status !== 0) {
    it.skip(`${QEMU} is not installed (test/vm/setup.sh and .ci/run install qemu-system-x86)`, () => {});
    return;
  }
  let tmp: string;
  let dir: string;
  let qemu: ChildProcess;
  let watcher: ChildProcess;
  let watcherErr = '';
  const savedEnv = process.env.BUFSHARE_VM_SCREENDUMP;

  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'bufshare-sd-'));
    dir = join(tmp, 'screendump');
    mkdirSync(dir);
    const sock = join(tmp, 'qmp.sock');
    qemu = spawn(QEMU, ['-nodefaults', '-no-user-config', '-machine', 'q35', '-accel', 'tcg', '-display', 'none', '-S',
      '-device', 'bochs-display,id=bochs', '-device', 'qxl', '-qmp', `unix:${sock},server=on,wait=off`], { stdio: 'ignore' });
    watcher = spawn(process.execPath, [WATCHER, sock, dir], { stdio: ['ignore', 'ignore', 'pipe'] });
    watcher.stderr!.on('data', (d: Buffer) => (watcherErr += d.toString()));
    process.env.BUFSHARE_VM_SCREENDUMP = dir;
  });

  after(() => {
    if (savedEnv === undefined) delete process.env.BUFSHARE_VM_SCREENDUMP;
    else process.env.BUFSHARE_VM_SCREENDUMP = savedEnv;
    qemu?.kill('SIGKILL');
    watcher?.kill('SIGKILL');
    rmSync(tmp, { recursive: true, force: true });
  });

  it('dumps a device by its qdev id and by its PCI address (bochs-display: 640x480 before any guest code ran)', async () => {
    const byId = await screendump({ device: 'bochs' });
    expect(byId.device).to.equal('bochs');
    expect([byId.width, byId.height]).to.deep.equal([640, 480]);
    expect(byId.rgb.length).to.equal(640 * 480 * 3);
    // q35 puts the first -device at 00:01.0
    const byPci = await screendump({ pci: '0000:00:01.0' });
    expect(byPci.device).to.equal('bochs');
    expect(Buffer.from(byPci.rgb).equals(Buffer.from(byId.rgb))).to.equal(true);
    expect(readdirSync(dir), 'requests, replies and images are removed').to.deep.equal([]);
  });

  it('a device qemu does not know, a device without an id, a bad head: clear errors', async () => {
    let err = await screendump({ device: 'nope' }).then(() => undefined, (e: Error) => e);
    expect(err?.message).to.match(/Device 'nope' not found/);
    err = await screendump({ pci: '0000:00:02.0' }).then(() => undefined, (e: Error) => e);
    expect(err?.message).to.match(/has no qdev id/);
    err = await screendump({ pci: '0000:00:09.0' }).then(() => undefined, (e: Error) => e);
    expect(err?.message).to.match(/no PCI device at 0000:00:09.0/);
    err = await screendump({ device: 'bochs' }, { head: 99 }).then(() => undefined, (e: Error) => e);
    expect(err?.message).to.match(/bad head/);
    err = await screendump({ device: '../x' }).then(() => undefined, (e: Error) => e);
    expect(err?.message).to.match(/bad device/);
    expect(readdirSync(dir)).to.deep.equal([]);
  });

  it('input: QMP input-send-event takes keys, buttons and motion; bad events, too many, and hotplug of anything but the virtio input devices are refused', async () => {
    const refused = (p: Promise<unknown>): Promise<string | undefined> => p.then(() => undefined, (e: Error) => e.message);
    // The machine never runs (-S): qemu's own answer shows the events reached input-send-event.
    expect(await refused(injectInput([...keyTaps(['a']), { type: 'btn', data: { down: true, button: 'left' } }, { type: 'abs', data: { axis: 'x', value: 100 } }]))).to.match(/input-send-event: .*VM not running/);
    expect(await refused(injectInput([{ type: 'key', data: { down: true, key: { type: 'qcode', data: 'no-such-key' } } }]))).to.match(/no-such-key/);
    expect(await refused(injectInput([{ type: 'msc' } as never]))).to.match(/bad input event/);
    expect(await refused(injectInput([]))).to.match(/1\.\.64 events/);
    expect(await refused(injectInput(keyTaps(Array(33).fill('a'))))).to.match(/1\.\.64 events/);
    expect(await refused(hotplugInput('add', 'x1', 'virtio-gpu-pci' as never))).to.match(/hotplug takes virtio-keyboard-pci/);
    expect(await refused(hotplugInput('add', '../x', 'virtio-keyboard-pci'))).to.match(/bad id/);
    // This machine has no root port hp0 (run.sh --input adds it): qemu says so.
    expect(await refused(hotplugInput('add', 'k1', 'virtio-keyboard-pci'))).to.match(/hp0/);
    expect(await refused(hotplugInput('del', 'nope'))).to.match(/nope/);
    expect(readdirSync(dir)).to.deep.equal([]);
  });

  it('a request that is not JSON gets a reply saying so; the watcher keeps serving', async () => {
    writeFileSync(join(dir, '.raw.tmp'), 'not json');
    renameSync(join(dir, '.raw.tmp'), join(dir, 'raw.req'));
    const deadline = Date.now() + 10000;
    let reply: string | undefined;
    while (Date.now() < deadline) {
      try {
        reply = readFileSync(join(dir, 'raw.reply'), 'utf8');
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    expect(JSON.parse(reply ?? '{}')).to.deep.include({ ok: false });
    expect(reply).to.match(/bad request/);
    rmSync(join(dir, 'raw.reply'));
    expect((await screendump({ device: 'bochs' })).width).to.equal(640);
  });

  it('no answer within the timeout is an error naming the watcher', async () => {
    const empty = mkdtempSync(join(tmp, 'nobody-'));
    process.env.BUFSHARE_VM_SCREENDUMP = empty;
    try {
      const err = await screendump({ device: 'bochs' }, { timeoutMs: 200 }).then(() => undefined, (e: Error) => e);
      expect(err?.message).to.match(/no answer from the host in 200 ms.*screendump-host/);
      expect(readdirSync(empty), 'the request is withdrawn').to.deep.equal([]);
    } finally {
      process.env.BUFSHARE_VM_SCREENDUMP = dir;
    }
  });

  it('parsePpm: comments in the header, and refuses what is not an 8-bit P6', () => {
    const img = parsePpm(Buffer.concat([Buffer.from('P6\n# made here\n2 1\n255\n'), Buffer.from([1, 2, 3, 4, 5, 6])]));
    expect([img.width, img.height, ...img.rgb]).to.deep.equal([2, 1, 1, 2, 3, 4, 5, 6]);
    expect(() => parsePpm(Buffer.from('P5\n2 1\n255\n\x01\x02'))).to.throw(/P6/);
    expect(() => parsePpm(Buffer.from('P6\n2 1\n65535\n'))).to.throw(/maxval 255/);
    expect(() => parsePpm(Buffer.from('P6\n2 2\n255\n\x01\x02\x03'))).to.throw(/bytes of pixels/);
  });

  it('the watcher exits when qemu does', async () => {
    expect(watcher.exitCode, watcherErr).to.equal(null);
    qemu.kill('SIGTERM');
    expect(await exitedWithin(watcher, 5000), 'watcher gone within 5 s of qemu').to.equal(true);
    expect(watcher.exitCode, watcherErr).to.equal(0);
  });
});
