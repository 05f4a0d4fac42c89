/**
 * qemu's D-Bus display as a bufshare surface source, against a real qemu
 * (Debian's 7.2, TCG) booting the VM harness's 6.12 kernel (test/vm/run.sh
 * --display-dbus --qmp). The guest (support/vm-dbus-guest.ts) drives its bochs
 * display with bufshare's own KmsOutput; the host attaches with
 * VmDisplay.attach and checks:
 * - after the first frame, after a partial update and after a guest mode
 *   change, the surface's pixels equal qemu's own screendump, pixel for pixel;
 * - the partial update came as damage (and bytes copied) of part of the screen;
 * - the mode change resized the surface ('resize' 800x600);
 * - a key and a click sent through the surface arrive in the guest's evdev.
 *
 * One boot. Skipped (with the reason) without qemu-system-x86_64 or the
 * harness's cached kernel (test/vm/setup.sh 612 makes it; .ci/run runs it
 * before npm test).
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { VmDisplay, type VmSurface } from '../../lib/vm';
import { Region } from '../../lib/region';
import type { CompositorFrame } from '../../lib/surface-model';
import { patternPixel, RECT_B } from './support/vm-dbus-pattern';

const ROOT = resolve(__dirname, '../..');
const CACHE = process.env.BUFSHARE_VM_CACHE ?? join(homedir(), '.cache/bufshare-vm');

function skipReason(): string | undefined {
  const qemu = ['/usr/bin/qemu-system-x86_64', '/usr/local/bin/qemu-system-x86_64'].some(existsSync);
  if (!qemu) return 'no qemu-system-x86_64';
  if (!existsSync(join(CACHE, '612/initramfs.cpio')) || !existsSync(join(CACHE, '612/kver'))) return `no VM kernel cache in ${CACHE}/612 (run test/vm/setup.sh 612)`;
  if (!existsSync(join(ROOT, 'dist/lib/kms/index.js'))) return 'no dist/ (npm run build): the guest job loads the built library';
  return undefined;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: () => boolean, label: string, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!what()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${label}`);
    await sleep(50);
  }
}

/** A P6 PPM (qemu's screendump) as 0xRRGGBB words. */
function readPpm(path: string): { width: number; height: number; rgb: Uint32Array } {
  const data = readFileSync(path);
  const header = /^P6\s+(\d+)\s+(\d+)\s+255\s/.exec(data.subarray(0, 64).toString('latin1'));
  if (header === null) throw new Error('not a P6 PPM');
  const width = Number(header[1]);
  const height = Number(header[2]);
  const start = header[0].length;
  const rgb = new Uint32Array(width * height);
  for (let i = 0; i < rgb.length; i++) rgb[i] = (data[start + 3 * i]! << 16) | (data[start + 3 * i + 1]! << 8) | data[start + 3 * i + 2]!;
  return { width, height, rgb };
}

describe('VM display over qemu D-Bus (real qemu 7.2, TCG guest)', function () {
  this.timeout(180_000);
  const reason = skipReason();
  if (reason !== undefined) {
    it.skip(`skipped: ${reason}`, () => {});
    return;
  }
  let work: string;
  let vmProcess: ChildProcess | undefined;
  let vmExit: Promise<number | null> | undefined;
  let vm: VmDisplay | undefined;
  let surface: VmSurface | undefined;
  let virtio: VmSurface | undefined;
  let last: CompositorFrame | undefined;
  let lastFrameAt = 0;
  const resizes: [number, number][] = [];
  const frames: CompositorFrame[] = [];
  let output = '';

  before(async function () {
    work = mkdtempSync(join(tmpdir(), 'bufshare-vmdbus-'));
    const qmp = join(work, 'qmp.sock');
    const tsx = require.resolve('tsx/cjs', { paths: [ROOT] });
    vmProcess = spawn('bash', [join(ROOT, 'test/vm/run.sh'), '--kernel', '612', '--gpus', 'bochs,virtio', '--display-dbus', '--qmp', qmp,
      '--work', work, '--timeout', '170', '--mem', '512', '--', 'node', '--require', tsx, join(ROOT, 'test/integration/support/vm-dbus-guest.ts')],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, BUFSHARE_VM_ENV: 'UV_THREADPOOL_SIZE', UV_THREADPOOL_SIZE: '8' } });
    vmProcess.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    vmProcess.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    vmExit = new Promise((r) => vmProcess!.once('exit', (code) => r(code)));
    await waitFor(() => existsSync(qmp) || vmProcess!.exitCode !== null, 'qemu\'s QMP socket', 120_000);
    // qemu binds the socket a moment before it listens on it.
    for (let tries = 0; vm === undefined; tries++) {
      try {
        vm = await VmDisplay.attach(qmp);
      } catch (e) {
        if (tries > 100 || vmProcess.exitCode !== null || (e as { errno?: string }).errno !== 'ECONNREFUSED') {
          throw new Error(`attach failed (${(e as Error).message}); the VM said:\n${output}`);
        }
        await sleep(100);
      }
    }
    vm.on('surface', (s) => {
      // Two consoles: bochs (the guest draws there) and virtio-gpu (a size hint goes there); run.sh names them.
      if (s.title === 'virtio') virtio = s as VmSurface;
      if (s.title !== 'bochs') return;
      surface = s as VmSurface;
      s.on('frame', (f) => {
        last?.release();
        last = f;
        frames.push(f);
        lastFrameAt = Date.now();
      });
      s.on('resize', (w, h) => resizes.push([w, h]));
    });
  });

  after(async function () {
    if (work === undefined) return;
    if (existsSync(work)) writeFileSync(join(work, 'go-end'), '');
    vm?.close();
    if (vmProcess !== undefined && vmProcess.exitCode === null) {
      const timer = setTimeout(() => vmProcess!.kill('SIGTERM'), 30_000);
      await vmExit;
      clearTimeout(timer);
    }
    rmSync(work, { recursive: true, force: true });
  });

  /** Starts a guest step and waits until it is done and qemu's updates have stopped. */
  async function step(name: string): Promise<string> {
    writeFileSync(join(work, `go-${name}`), '');
    await waitFor(() => existsSync(join(work, `done-${name}`)) || existsSync(join(work, 'guest-error')) || vmProcess!.exitCode !== null,
      `guest step ${name}\n${output}`, 120_000);
    if (existsSync(join(work, 'guest-error'))) throw new Error(`guest: ${readFileSync(join(work, 'guest-error'), 'utf8')}`);
    if (!existsSync(join(work, `done-${name}`))) throw new Error(`the VM exited:\n${output}`);
    // qemu's display refresh (every 30 ms while a listener is there) sends what the guest drew.
    await waitFor(() => lastFrameAt > 0 && Date.now() - lastFrameAt > 600, 'the updates to settle', 20_000);
    return readFileSync(join(work, `done-${name}`), 'utf8');
  }

  /** The surface's last frame against qemu's screendump, pixel for pixel; and against the pattern the guest drew. */
  async function compare(expected: (x: number, y: number) => number): Promise<void> {
    const dump = join(work, 'dump.ppm');
    await vm!.qmp.execute('screendump', { filename: dump, device: 'bochs' });
    const shot = readPpm(dump);
    const frame = last!;
    expect([frame.region.width, frame.region.height]).to.deep.equal([shot.width, shot.height]);
    const words = frame.region.pixels32;
    const stride = frame.region.stride32;
    let mismatches = 0;
    let first = '';
    for (let y = 0; y < shot.height; y++) {
      for (let x = 0; x < shot.width; x++) {
        const ours = words[y * stride + x]! & 0xffffff;
        const theirs = shot.rgb[y * shot.width + x]!;
        if (ours !== theirs || ours !== expected(x, y)) {
          if (mismatches++ === 0) first = `(${x}, ${y}): ours ${ours.toString(16)}, screendump ${theirs.toString(16)}, drawn ${expected(x, y).toString(16)}`;
        }
      }
    }
    expect(mismatches, first).to.equal(0);
  }

  it('shows the guest\'s first frame pixel-exact, a partial update as partial damage, and a mode change as a resize', async () => {
    expect(await step('a')).to.equal('1024x768');
    expect(surface, 'a surface for the bochs console').to.not.equal(undefined);
    expect([surface!.width, surface!.height]).to.deep.equal([1024, 768]);
    expect(surface!.format.name).to.equal('XRGB8888');
    await compare((x, y) => patternPixel(0, x, y));

    const before = vm!.stats.bytesCopied;
    const framesBefore = frames.length;
    await step('b');
    await compare((x, y) => {
      const inB = x >= RECT_B.x && x < RECT_B.x + RECT_B.width && y >= RECT_B.y && y < RECT_B.y + RECT_B.height;
      return patternPixel(inB ? 1 : 0, x, y);
    });
    // bochs-display tracks dirty pages (a page is a 1024-pixel row here): the damage is the rows the
    // rectangle touched, full width, and only those rows were copied (a refresh that came while the
    // guest was still drawing copies some rows twice).
    const damage = frames.slice(framesBefore).reduce((r, f) => r.union(f.damage), Region.empty);
    expect(damage.bounds).to.deep.equal({ x: 0, y: RECT_B.y, width: 1024, height: RECT_B.height });
    expect(vm!.stats.bytesCopied - before).to.be.at.least(1024 * 4 * RECT_B.height).and.below(2 * 1024 * 4 * RECT_B.height);

    expect(await step('c')).to.equal('800x600');
    expect(resizes).to.deep.include([800, 600]);
    expect([surface!.width, surface!.height]).to.deep.equal([800, 600]);
    await compare((x, y) => patternPixel(2, x, y));
  });

  it('passes a window size to the guest: configure() on the virtio-gpu console becomes its preferred mode', async () => {
    expect(virtio, 'a surface for the virtio-gpu console').to.not.equal(undefined);
    virtio!.configure(800, 600);
    writeFileSync(join(work, 'go-ui'), '');
    await waitFor(() => existsSync(join(work, 'done-ui')), 'the guest to see the new mode', 40_000);
    expect(readFileSync(join(work, 'done-ui'), 'utf8')).to.equal('800x600');
  });

  it('sends a key and a click through the surface to the guest\'s input devices', async () => {
    const devices = await step('input');
    expect(devices).to.match(/event/);
    const s = surface!;
    s.keyboard({ action: 'enter' });
    s.keyboard({ action: 'key', key: 30, pressed: true }); // KEY_A
    s.keyboard({ action: 'key', key: 30, pressed: false });
    s.pointer({ action: 'motion', x: 100, y: 120, buttons: 0 });
    s.pointer({ action: 'down', x: 100, y: 120, buttons: 1, button: 0 });
    s.pointer({ action: 'up', x: 100, y: 120, buttons: 0, button: 0 });
    const file = join(work, 'input.jsonl');
    const events = (): { code: number; value: number }[] =>
      existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l.endsWith('}')).map((l) => JSON.parse(l) as { code: number; value: number }) : [];
    await waitFor(() => events().length >= 4, 'the guest to read 4 key events', 20_000);
    const seen = events().map((e) => `${e.code}:${e.value}`);
    expect(seen).to.include.members(['30:1', '30:0', '272:1', '272:0']); // KEY_A, BTN_LEFT
    expect(seen.indexOf('30:1')).to.be.below(seen.indexOf('30:0'));
    expect(seen.indexOf('272:1')).to.be.below(seen.indexOf('272:0'));
  });
});
