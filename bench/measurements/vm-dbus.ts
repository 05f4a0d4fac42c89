/**
 * A VM's screen through qemu's D-Bus display (lib/vm VmDisplay), on a real qemu
 * 7.2 (TCG) booting the VM harness's 6.12 kernel (test/vm/run.sh --display-dbus).
 * The guest (test/integration/support/vm-dbus-guest.ts bench) shows a pattern
 * with KmsOutput on bochs at 1024x768 and, at each key press it reads from
 * evdev, repaints a 320x240 rectangle (9.8% of the screen) in the buffer on
 * screen.
 *
 * - latency: the host sends a key through the VM surface (Keyboard.Press), the
 *   guest draws, qemu's display refresh (30 ms timer) finds the dirty pages and
 *   sends Update, the surface emits the frame: host key -> host frame, p50.
 *   It holds the guest frame -> host frame time (at most one refresh period,
 *   plus the copy) and the input path in front of it; reported, no target.
 * - bytes copied per frame for that ~10% update: what the D-Bus route copies
 *   into the surface's buffer (bochs reports dirty pages, so whole rows: 240
 *   rows x 4096 bytes), against the frame's bytes. The vhost-user route's
 *   figure is 0 (it maps guest memory).
 *
 * Boots a VM (~20 s on TCG): full mode only; --quick reports it skipped.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { VmDisplay } from '../../lib/vm';
import type { CompositorFrame } from '../../lib/surface-model';
import type { BenchContext, Measurement } from '../measurement';
import { skippedRow, type Row } from '../result';
import { quantileSorted } from '../stats';

const ROWS = {
  latency: { id: 'vm.dbus.latency', title: 'VM over qemu D-Bus: host key -> guest draws 10% -> host surface frame, p50' },
  bytes: { id: 'vm.dbus.bytes10', title: 'VM over qemu D-Bus: bytes copied per frame for a ~10% guest update' },
};
const ROOT = resolve(__dirname, '../..');
const CACHE = process.env.BUFSHARE_VM_CACHE ?? join(homedir(), '.cache/bufshare-vm');
const RECT_ROWS = 240;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export const vmDbus: Measurement = {
  id: 'vm.dbus',
  title: 'A VM\'s screen over qemu\'s D-Bus display: latency and bytes copied',
  timeoutSeconds: 300,
  async run(ctx: BenchContext): Promise<Row[]> {
    const skip = (reason: string): Row[] => [skippedRow(ROWS.latency.id, ROWS.latency.title, reason), skippedRow(ROWS.bytes.id, ROWS.bytes.title, reason)];
    if (ctx.quick) return skip('boots a VM (~20 s on TCG): full mode only');
    if (!existsSync('/usr/bin/qemu-system-x86_64')) return skip('no qemu-system-x86_64');
    if (!existsSync(join(CACHE, '612/initramfs.cpio'))) return skip(`no VM kernel cache (test/vm/setup.sh 612)`);
    const work = mkdtempSync(join(tmpdir(), 'bufshare-vmbench-'));
    const qmp = join(work, 'qmp.sock');
    const tsx = require.resolve('tsx/cjs', { paths: [ROOT] });
    const child = spawn('bash', [join(ROOT, 'test/vm/run.sh'), '--kernel', '612', '--gpus', 'bochs', '--display-dbus', '--qmp', qmp, '--work', work,
      '--timeout', '280', '--mem', '512', '--', 'node', '--require', tsx, join(ROOT, 'test/integration/support/vm-dbus-guest.ts'), 'bench'], { stdio: 'ignore' });
    const exited = new Promise((r) => child.once('exit', r));
    let vm: VmDisplay | undefined;
    try {
      for (let i = 0; i < 1200 && !existsSync(qmp); i++) await sleep(100);
      // qemu binds the socket a moment before it listens on it.
      for (let tries = 0; vm === undefined; tries++) {
        try {
          vm = await VmDisplay.attach(qmp);
        } catch (e) {
          if (tries > 100 || (e as { errno?: string }).errno !== 'ECONNREFUSED') throw e;
          await sleep(100);
        }
      }
      let frames: CompositorFrame[] = [];
      let lastAt = 0;
      vm.on('surface', (s) => s.on('frame', (f) => {
        frames.push(f);
        lastAt = performance.now();
        f.release();
      }));
      for (let i = 0; i < 1200 && !existsSync(join(work, 'ready')); i++) await sleep(100);
      if (!existsSync(join(work, 'ready'))) throw new Error('the guest never got ready');
      const settle = async (): Promise<void> => {
        while (lastAt === 0 || performance.now() - lastAt < 300) await sleep(20);
      };
      await settle();
      const surface = vm.surfaces[0]!;
      const rounds = 30;
      const latencies: number[] = [];
      const bytes: number[] = [];
      const frameCounts: number[] = [];
      surface.keyboard({ action: 'enter' });
      for (let i = 0; i < rounds; i++) {
        frames = [];
        const before = vm.stats.bytesCopied;
        const t0 = performance.now();
        surface.keyboard({ action: 'key', key: 30, pressed: true });
        while (frames.length === 0 && performance.now() - t0 < 5000) await sleep(1);
        if (frames.length === 0) throw new Error(`round ${i}: no frame in 5 s`);
        latencies.push(lastAt - t0);
        surface.keyboard({ action: 'key', key: 30, pressed: false });
        await settle();
        bytes.push(vm.stats.bytesCopied - before);
        frameCounts.push(frames.length);
        ctx.log(`vm.dbus: round ${i}: ${(lastAt - t0).toFixed(1)} ms, ${bytes[i]} bytes in ${frames.length} frames`);
      }
      const sorted = [...latencies].sort((a, b) => a - b);
      const p50 = quantileSorted(sorted, 0.5);
      const bytesSorted = [...bytes].sort((a, b) => a - b);
      const bytesP50 = quantileSorted(bytesSorted, 0.5);
      const frameBytes = surface.width * surface.height * 4;
      return [
        {
          id: ROWS.latency.id, title: ROWS.latency.title, baselineTitle: '-', unit: 'ms', targetText: 'report (TCG)', status: 'reported',
          reason: `p50 ${p50.toFixed(1)} ms, p90 ${quantileSorted(sorted, 0.9).toFixed(1)} ms over ${rounds} rounds`,
          details: { p50Ms: p50, p90Ms: quantileSorted(sorted, 0.9), minMs: sorted[0], rounds },
        },
        {
          id: ROWS.bytes.id, title: ROWS.bytes.title, baselineTitle: 'the whole frame', unit: 'bytes', targetText: 'report (vhost-user route: 0)', status: 'reported',
          reason: `p50 ${bytesP50} B per update (${(100 * bytesP50 / frameBytes).toFixed(1)}% of a ${frameBytes} B frame; the rectangle's rows: ${RECT_ROWS * surface.width * 4} B)`,
          details: { bytesP50, frameBytes, rectRowBytes: RECT_ROWS * surface.width * 4, framesPerUpdateP50: quantileSorted([...frameCounts].sort((a, b) => a - b), 0.5) },
        },
      ];
    } finally {
      if (existsSync(work)) writeFileSync(join(work, 'go-end'), '');
      vm?.close();
      const timer = setTimeout(() => child.kill('SIGTERM'), 30_000);
      await exited;
      clearTimeout(timer);
      rmSync(work, { recursive: true, force: true });
    }
  },
};
