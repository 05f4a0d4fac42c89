/**
 * Against what a TypeScript author would write without bufshare: ship the pixels
 * through a Node `net` Unix socket. Two processes, the same client and server
 * processes for both, side by side in each run:
 *
 * - bufshare: draw into the buffer, submit, the compositor gets 'frame' (the
 *   pixels already in its mapping), releases it, frame_done back to the client;
 * - socket: draw into the client's own canvas, write the damaged pixels (with a
 *   small header) to the socket; the compositor reads them and copies each row
 *   into its frame, then replies one byte (bench/ipc/peer.ts receiveFrames).
 *
 * Both draw the same rectangles the same way (a fill per row), so the drawing is
 * in both figures; a full 1080p frame (target: bufshare >= 20x faster, so a time
 * ratio <= 0.05x) and 10% of it in 16 rectangles (reported). The time is the
 * client's, from before drawing to frame_done or the reply; p50 of each run.
 */
import type { Rect } from '../../lib';
import type { BenchContext, Measurement } from '../measurement';
import { comparedRow, skippedRow, type Row } from '../result';
import { median, quantile } from '../stats';
import { startSession } from '../ipc/session';
import { tenPercentIn16Rects } from './damage-copy';

function bytesOf(rects: readonly Rect[]): number {
  return rects.reduce((n, r) => n + r.width * r.height * 4, 0);
}

const WIDTH = 1920;
const HEIGHT = 1080;

export const peerSocket: Measurement = {
  id: 'peer',
  title: 'frame updates: bufshare against pixels through a net Unix socket',
  async run(ctx: BenchContext): Promise<Row[]> {
    const session = await startSession('shm');
    try {
      const { peer } = await session.addClients(1, { width: WIDTH, height: HEIGHT, bufferCount: 3, usage: 'software', fill: true });
      const cases = [
        { id: 'peer.full', title: 'full 1080p frame update, 2 processes: draw, submit, frame, release (p50)', rects: [{ x: 0, y: 0, width: WIDTH, height: HEIGHT }], frames: ctx.quick ? 10 : 60, target: { op: '<=' as const, value: 0.05 } },
        { id: 'peer.damage10', title: '10% of a 1080p frame in 16 rects, same (p50)', rects: tenPercentIn16Rects(WIDTH, HEIGHT), frames: ctx.quick ? 20 : 200, target: undefined },
      ];
      const figures = cases.map(() => ({ bufshare: [] as number[], socket: [] as number[], bufshareP99: [] as number[], socketP99: [] as number[] }));
      const blocks = cases.flatMap((c, i) => [
        async (): Promise<void> => {
          const s = await peer.call<number[]>('rtt', { active: 1, frames: c.frames, warmup: 5, rects: c.rects, draw: true });
          figures[i]!.bufshare.push(median(s));
          figures[i]!.bufshareP99.push(quantile(s, 0.99));
        },
        async (): Promise<void> => {
          const s = await peer.call<number[]>('socketFrames', { path: session.frameSinkPath, width: WIDTH, height: HEIGHT, rects: c.rects, frames: c.frames, warmup: 5 });
          figures[i]!.socket.push(median(s));
          figures[i]!.socketP99.push(quantile(s, 0.99));
        },
      ]);
      for (let run = 0; run < ctx.runs; run++) {
        // Alternate which side goes first, so neither always follows the other.
        for (let i = 0; i < blocks.length; i++) await blocks[(run % 2 === 0 ? i : blocks.length - 1 - i)]!();
      }
      return cases.map((c, i) => {
        const f = figures[i]!;
        const row = comparedRow({
          id: c.id,
          title: c.title,
          baselineTitle: 'the same pixels written to and read from a net Unix socket, copied into the compositor\'s frame',
          unit: 'µs',
          subject: f.bufshare,
          baseline: f.socket,
          ...(c.target ? { target: c.target } : {}),
          details: { framesPerRun: c.frames, rects: c.rects.length, bytes: bytesOf(c.rects), p99: { bufshare: median(f.bufshareP99), socket: median(f.socketP99) } },
        });
        return { ...row, reason: `${row.status === 'reported' ? '' : `${row.status}: `}bufshare ${(1 / row.ratio!.median).toFixed(1)}x faster` };
      }).map((r) => ({ ...r, reason: r.reason.replace(/^(met|missed): /, '') }));
    } catch (e) {
      if (session.skip) return [skippedRow('peer', this.title, session.skip)];
      throw e;
    } finally {
      await session.close();
    }
  },
};
