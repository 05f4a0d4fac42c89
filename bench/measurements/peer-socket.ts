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
 *
 * The draw is timed on its own too, and each case has a second row without it
 * (the handoff: submit, frame, release against write, read, copy): the draw of a
 * full frame writes 8.3 MB, which takes what the memory's write bandwidth takes
 * whatever carries the frame afterwards, so it bounds the first row's ratio from
 * below; the reason column says by how much.
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

/** One run of frames: µs per frame, and of its draw, sample by sample. */
interface Split {
  readonly total: number[];
  readonly draw: number[];
}

/** One side's p50s, run by run. */
class Sides {
  readonly total: number[] = [];
  readonly totalP99: number[] = [];
  readonly draw: number[] = [];
  /** Each frame's time beyond its own draw. */
  readonly handoff: number[] = [];

  add(run: Split): void {
    this.total.push(median(run.total));
    this.totalP99.push(quantile(run.total, 0.99));
    this.draw.push(median(run.draw));
    this.handoff.push(median(run.total.map((t, i) => t - run.draw[i]!)));
  }
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
        { id: 'peer.full', title: 'full 1080p frame update, 2 processes: draw, submit, frame, release (p50)', handoffTitle: 'full 1080p frame handoff', rects: [{ x: 0, y: 0, width: WIDTH, height: HEIGHT }], frames: ctx.quick ? 10 : 60, target: { op: '<=' as const, value: 0.05 } },
        { id: 'peer.damage10', title: '10% of a 1080p frame in 16 rects, same (p50)', handoffTitle: '10% in 16 rects, handoff', rects: tenPercentIn16Rects(WIDTH, HEIGHT), frames: ctx.quick ? 20 : 200, target: undefined },
      ];
      const figures = cases.map(() => ({ bufshare: new Sides(), socket: new Sides() }));
      const blocks = cases.flatMap((c, i) => [
        async (): Promise<void> => {
          figures[i]!.bufshare.add(await peer.call<Split>('rttSplit', { frames: c.frames, warmup: 5, rects: c.rects }));
        },
        async (): Promise<void> => {
          figures[i]!.socket.add(await peer.call<Split>('socketFrames', { path: session.frameSinkPath, width: WIDTH, height: HEIGHT, rects: c.rects, frames: c.frames, warmup: 5 }));
        },
      ]);
      for (let run = 0; run < ctx.runs; run++) {
        // Alternate which side goes first, so neither always follows the other.
        for (let i = 0; i < blocks.length; i++) await blocks[(run % 2 === 0 ? i : blocks.length - 1 - i)]!();
      }
      const faster = (row: Row): string => `bufshare ${(1 / row.ratio!.median).toFixed(1)}x faster`;
      return cases.flatMap((c, i) => {
        const { bufshare, socket } = figures[i]!;
        const details = { framesPerRun: c.frames, rects: c.rects.length, bytes: bytesOf(c.rects) };
        const whole = comparedRow({
          id: c.id,
          title: c.title,
          baselineTitle: 'the same pixels written to and read from a net Unix socket, copied into the compositor\'s frame',
          unit: 'µs',
          subject: bufshare.total,
          baseline: socket.total,
          ...(c.target ? { target: c.target } : {}),
          details: { ...details, p99: { bufshare: median(bufshare.totalP99), socket: median(socket.totalP99) }, drawP50: { bufshare: median(bufshare.draw), socket: median(socket.draw) } },
        });
        // With a handoff that cost nothing, bufshare would take its draw alone.
        const ceiling = median(socket.total) / median(bufshare.draw);
        const handoff = comparedRow({
          id: `${c.id}.handoff`,
          title: `${c.handoffTitle}, beyond the draw (p50)`,
          baselineTitle: 'the socket\'s write, read and copy, beyond the same draw',
          unit: 'µs',
          subject: bufshare.handoff,
          baseline: socket.handoff,
          details,
        });
        return [
          { ...whole, reason: `${faster(whole)}; the draw alone takes ${median(bufshare.draw).toFixed(0)} µs of it (${median(socket.draw).toFixed(0)} µs on the socket side): even a free handoff would be at most ${ceiling.toFixed(1)}x faster` },
          { ...handoff, reason: faster(handoff) },
        ];
      });
    } catch (e) {
      if (session.skip) return [skippedRow('peer', this.title, session.skip)];
      throw e;
    } finally {
      await session.close();
    }
  },
};
