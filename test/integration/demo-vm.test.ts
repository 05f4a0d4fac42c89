/**
 * The demo with a VM (`npm run demo -- --headless --vm QMP`): a real qemu 7.2 with
 * its D-Bus display and a VGA device, stopped before its firmware runs (-S), so
 * its screen is qemu's own still "not initialized" text. The screenshot shows the
 * VM's console as a window beside the demo's two bufshare clients, and its pixels
 * there equal qemu's screendump (taken on a second monitor) pixel for pixel.
 */
import { expect } from 'chai';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import type { SurfaceInfo } from '../../demos/compositor/viewer-protocol';
import { QmpClient } from '../../lib/vm';
import { startDemo } from '../helpers/demo';

const QEMU = 'qemu-system-x86_64';

describe('demo: a VM beside the clients (headless, --vm)', function () {
  this.timeout(60000);
  if (spawnSync(QEMU, ['--version']).status !== 0) {
    it.skip(`${QEMU} is not installed`, () => {});
    return;
  }
  let dir: string;
  let qemu: ChildProcess;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bufshare-demovm-'));
    qemu = spawn(QEMU, ['-S', '-nodefaults', '-no-user-config', '-machine', 'q35', '-accel', 'tcg', '-m', '64', '-display', 'dbus,p2p=yes',
      '-device', 'VGA', '-qmp', `unix:${join(dir, 'demo.sock')},server=on,wait=off`, '-qmp', `unix:${join(dir, 'test.sock')},server=on,wait=off`], { stdio: 'ignore' });
    for (let i = 0; i < 200 && !(existsSync(join(dir, 'demo.sock')) && existsSync(join(dir, 'test.sock'))); i++) await new Promise((r) => setTimeout(r, 50));
  });

  after(async () => {
    if (qemu.exitCode === null) {
      const exited = new Promise((r) => qemu.once('exit', r));
      qemu.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows the VM\'s console as a window, pixel for pixel qemu\'s screendump, beside basic and fingerpaint', async () => {
    const file = join(dir, 'shot.png');
    // 1920x1080: room for the three windows side by side (tile placement), whatever order they come in.
    const run = startDemo(['--headless', '--frames', '30', '--screenshot', file, '--vm', join(dir, 'demo.sock'), '--size', '1920x1080']);
    try {
      const { code } = await run.exited();
      expect(code, run.lines.join('\n')).to.equal(0);
      const surfaces = JSON.parse((await run.waitFor(/surfaces: (.*)$/))[1]!) as SurfaceInfo[];
      expect(surfaces.map((s) => s.title).sort()).to.deep.equal(['VGA', 'basic', 'fingerpaint']);
      const vga = surfaces.find((s) => s.title === 'VGA')!;
      expect(vga.pid, 'the VM window belongs to qemu').to.equal(qemu.pid);
      const qmp = await QmpClient.connect(join(dir, 'test.sock'));
      await qmp.execute('screendump', { filename: join(dir, 'dump.ppm') });
      qmp.close();
      const ppm = readFileSync(join(dir, 'dump.ppm'));
      const header = /^P6\s+(\d+)\s+(\d+)\s+255\s/.exec(ppm.subarray(0, 32).toString('latin1'))!;
      const [w, h, start] = [Number(header[1]), Number(header[2]), header[0].length];
      expect([vga.width, vga.height]).to.deep.equal([w, h]);
      const png = PNG.sync.read(readFileSync(file));
      const others = surfaces.filter((s) => s !== vga);
      const covered = (x: number, y: number): boolean => others.some((s) => x >= s.x && x < s.x + s.width && y >= s.y && y < s.y + s.height);
      let mismatches = 0;
      let compared = 0;
      let first = '';
      const colors = new Set<number>();
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          if (covered(vga.x + x, vga.y + y) || vga.x + x >= png.width || vga.y + y >= png.height) continue;
          compared++;
          const i = ((vga.y + y) * png.width + vga.x + x) * 4;
          const shown = (png.data[i]! << 16) | (png.data[i + 1]! << 8) | png.data[i + 2]!;
          const o = start + 3 * (y * w + x);
          const dumped = (ppm[o]! << 16) | (ppm[o + 1]! << 8) | ppm[o + 2]!;
          colors.add(dumped);
          if (shown !== dumped && mismatches++ === 0) first = `(${x}, ${y}): shown ${shown.toString(16)}, screendump ${dumped.toString(16)}`;
        }
      }
      expect(compared, `all of the console is in view: ${JSON.stringify(surfaces)}`).to.equal(w * h);
      expect(colors.size, 'the console shows text, not one colour').to.be.above(1);
      expect(mismatches, first).to.equal(0);
    } finally {
      await run.dispose();
    }
  });
});
