/**
 * The IPC hot path, client and server in two processes:
 *
 * - round trip: the client submits (1 small damage rectangle), the server emits
 *   'frame', the compositor releases it and sends frame_done, the client sees
 *   frame_done. Against a Node `net` Unix-socket ping-pong of a message the size
 *   of the submit, between the same two processes: p50 <= 1.5x, p99 reported.
 * - transport alone (reported): the same ping-pong on bufshare's SOCK_SEQPACKET
 *   transport, which splits the round trip into transport and protocol;
 * - rate: one client submitting as fast as buffers come back (3 buffers, no
 *   waiting for frame_done), against the ping-pong's messages per second: >= 0.6x.
 */
import { encodeSubmit } from '../../lib/protocol';
import type { BenchContext, Measurement } from '../measurement';
import { comparedRow, skippedRow, type Row } from '../result';
import { median, quantile } from '../stats';
import { startSession } from '../ipc/session';

const DAMAGE = [{ x: 64, y: 64, width: 64, height: 64 }];

export const ipcRoundTrip: Measurement = {
  id: 'ipc',
  title: 'IPC round trip and submit rate',
  async run(ctx: BenchContext): Promise<Row[]> {
    const session = await startSession('shm');
    try {
      const { peer } = await session.addClients(1, { width: 1920, height: 1080, bufferCount: 3, usage: 'software', fill: false });
      const size = encodeSubmit(1, 1, new Int32Array(4)).byteLength;
      const frames = ctx.quick ? 200 : 3000;
      const rateFrames = ctx.quick ? 500 : 10000;
      const rtt = { p50: [] as number[], p99: [] as number[] };
      const ping = { p50: [] as number[], p99: [] as number[], perSecond: [] as number[] };
      const rate: number[] = [];
      const seq = { p50: [] as number[] };
      const blocks = [
        async (): Promise<void> => {
          const s = await peer.call<number[]>('rtt', { active: 1, frames, warmup: 50, rects: DAMAGE, draw: false });
          rtt.p50.push(median(s));
          rtt.p99.push(quantile(s, 0.99));
        },
        async (): Promise<void> => {
          const r = await peer.call<{ samples: number[]; perSecond: number }>('pingpong', { path: session.echoPath, size, count: frames });
          ping.p50.push(median(r.samples));
          ping.p99.push(quantile(r.samples, 0.99));
          ping.perSecond.push(r.perSecond);
        },
        async (): Promise<void> => {
          rate.push(await peer.call<number>('rate', { frames: rateFrames, rects: DAMAGE }));
        },
        async (): Promise<void> => {
          const r = await peer.call<{ samples: number[] }>('seqpingpong', { path: session.seqEchoPath, size, count: frames });
          seq.p50.push(median(r.samples));
        },
      ];
      for (let run = 0; run < ctx.runs; run++) {
        for (let i = 0; i < blocks.length; i++) await blocks[(run + i) % blocks.length]!();
      }
      return [
        comparedRow({
          id: 'ipc.roundtrip',
          title: 'submit -> frame -> release + frame_done round trip, 2 processes (p50)',
          baselineTitle: `net Unix-socket ping-pong of ${size} bytes`,
          unit: 'µs',
          subject: rtt.p50,
          baseline: ping.p50,
          target: { op: '<=', value: 1.5 },
          details: { messageBytes: size, samplesPerRun: frames, p99: { bufshare: median(rtt.p99), pingpong: median(ping.p99), bufshareRuns: rtt.p99, pingpongRuns: ping.p99 } },
        }),
        comparedRow({
          id: 'ipc.roundtrip.p99',
          title: 'same round trip, p99 (reported)',
          baselineTitle: 'ping-pong p99',
          unit: 'µs',
          subject: rtt.p99,
          baseline: ping.p99,
        }),
        comparedRow({
          id: 'ipc.transport',
          title: 'bufshare transport alone: SOCK_SEQPACKET ping-pong (p50)',
          baselineTitle: 'net ping-pong',
          unit: 'µs',
          subject: seq.p50,
          baseline: ping.p50,
          details: { note: 'splits the round trip: transport (2 packets) vs the full protocol (submit, release, frame_done: 3 packets, decode, swapchain)' },
        }),
        comparedRow({
          id: 'ipc.rate',
          title: 'submits per second, 1 client, small damage, no pacing',
          baselineTitle: 'ping-pong messages per second',
          unit: '/s',
          subject: rate,
          baseline: ping.perSecond,
          target: { op: '>=', value: 0.6 },
          details: { framesPerRun: rateFrames, bufferCount: 3 },
        }),
      ];
    } catch (e) {
      if (session.skip) return [skippedRow('ipc', this.title, session.skip)];
      throw e;
    } finally {
      await session.close();
    }
  },
};
