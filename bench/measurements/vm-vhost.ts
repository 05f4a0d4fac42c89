/**
 * The vhost-user-gpu route (lib/vm/vhost-gpu-source.ts): a 1920x1080 XRGB8888
 * scanout backed by scattered guest pages, the guest updating 10% of it (a
 * 608x342 rectangle) per frame, TRANSFER_TO_HOST_2D then RESOURCE_FLUSH, as
 * Linux's virtio_gpu does.
 *
 * The front-end and guest driver are the tests' stand-in
 * (test/helpers/vhost-frontend.ts: memfd guest RAM, eventfds, a unix socket),
 * in this process: qemu 7.2 serves vhost-user devices only under KVM, and a
 * guest boot is far too slow for a benchmark here. So the latency is the
 * back-end's own: from the guest's kick of the flush to the surface's frame
 * (eventfd wakeup, ring walk, command, frame), not guest user space to screen.
 *
 * Rows: p50 kick-to-frame latency (reported), and bytes copied per frame
 * (target 0: the frame is the guest's own pages).
 */
import type { BenchContext, Measurement } from '../measurement';
import type { Row } from '../result';
import { summarize } from '../stats';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as native from '../../lib/native';
import type { CompositorFrame } from '../../lib/surface-model';
import { VhostGpuServer } from '../../lib/vm/vhost-gpu-source';
import { Cmd, encodeCommand } from '../../lib/vm/virtio-gpu-wire';
import { FakeFrontEnd, IMAGE_GPA } from '../../test/helpers/vhost-frontend';

const W = 1920, H = 1080;
const R = { x: 400, y: 300, w: 608, h: 342 }; // 10.0% of the pixels

export const vmVhost: Measurement = {
  id: 'vm.vhost',
  title: 'VM display, vhost-user-gpu route',
  timeoutSeconds: 120,
  async run(ctx: BenchContext): Promise<Row[]> {
    const frames = ctx.quick ? 30 : 500;
    const dir = mkdtempSync(join(tmpdir(), 'bufshare-bench-vhost-'));
    const server = VhostGpuServer.listen(join(dir, 'gpu.sock'), { width: W, height: H });
    const fe = new FakeFrontEnd(server.path);
    let got: ((f: CompositorFrame, at: number) => void) | undefined;
    server.on('frame', (f) => {
      got?.(f, performance.now()); // the moment a compositor has the frame
      f.release();
    });
    try {
      await fe.start();
      const page = native.pageSize;
      const stride = W * 4;
      const count = Math.ceil((stride * H) / page);
      // Every other page, in reverse: never two adjacent pieces (the worst case for the view).
      const pages = Array.from({ length: count }, (_, i) => IMAGE_GPA + (count - 1 - i) * page * 2);
      const entries = new Uint8Array(16 * count);
      const ev = new DataView(entries.buffer);
      pages.forEach((p, i) => {
        ev.setBigUint64(16 * i, BigInt(p), true);
        ev.setUint32(16 * i + 8, page, true);
      });
      await fe.submit(0, [encodeCommand(Cmd.RESOURCE_CREATE_2D, [1, 2, W, H])], 24);
      await fe.submit(0, [encodeCommand(Cmd.RESOURCE_ATTACH_BACKING, [1, count]), entries], 24);
      await fe.submit(0, [encodeCommand(Cmd.SET_SCANOUT, [0, 0, W, H, 0, 1])], 24);
      const latencies: number[] = [];
      const copied: number[] = [];
      for (let n = 0; n < frames; n++) {
        for (let y = R.y; y < R.y + R.h; y++) {
          const off = y * stride + R.x * 4;
          fe.view.setUint32(pages[Math.floor(off / page)]! + (off % page), n, true); // one word per row: the guest drew
        }
        await fe.submit(0, [encodeCommand(Cmd.TRANSFER_TO_HOST_2D, [R.x, R.y, R.w, R.h, R.y * stride + R.x * 4, 0, 1, 0])], 24);
        const frame = new Promise<[CompositorFrame, number]>((resolve) => (got = (f, at) => resolve([f, at])));
        const t0 = performance.now();
        await fe.submit(0, [encodeCommand(Cmd.RESOURCE_FLUSH, [R.x, R.y, R.w, R.h, 1, 0])], 24);
        const [f, t1] = await frame;
        latencies.push((t1 - t0) * 1000);
        copied.push((f as unknown as { bytesCopied: number }).bytesCopied);
      }
      const lat = summarize(latencies);
      const bytes = summarize(copied);
      const details = { frames, width: W, height: H, update: R, pages: count, zeroCopyResources: server.liveStats.zeroCopyResources };
      return [
        {
          id: 'vm.vhost.latency',
          title: `guest flush (kick) -> host frame, ${W}x${H}, 10% update`,
          baselineTitle: '-',
          unit: 'µs',
          subject: lat,
          status: 'reported',
          reason: `p50 ${lat.median.toFixed(0)} µs over ${frames} frames (stand-in front-end in process)`,
          details,
        },
        {
          id: 'vm.vhost.copied',
          title: 'bytes copied per frame, 10% update (zero copy)',
          baselineTitle: '-',
          unit: 'B',
          subject: bytes,
          targetText: '0 bytes',
          status: bytes.max === 0 ? 'met' : 'missed',
          reason: `${bytes.max} bytes at most; a copying route moves ${(R.w * R.h * 4).toLocaleString('en-US')} per frame`,
          details,
        },
      ];
    } finally {
      fe.close();
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
