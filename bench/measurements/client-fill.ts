/**
 * A client drawing from JS through its graphics region (the mmap'd memfd, as
 * pixels32), against the same drawing into a plain ArrayBuffer: >= 0.9x proves
 * the region is the memory itself (zero copy) and that reaching it costs nothing
 * per access.
 *
 * Fairness: one drawing function is called with both kinds of Uint32Array, so
 * the JIT compiles one piece of code for both; the two are drawn alternately,
 * frame by frame, each through its own rotation of frames larger than the LLC.
 */
import type { BenchContext, Measurement } from '../measurement';
import { comparedRow, type Row } from '../result';
import { median } from '../stats';
import { allocateFrames, framesToDefeatCache, nowNs } from '../support/frames';

const WIDTH = 1920;
const HEIGHT = 1080;

/** An animated gradient, every pixel computed: what a software client's draw loop looks like. */
export function drawFrame(words: Uint32Array, stride32: number, width: number, height: number, frame: number): void {
  for (let y = 0; y < height; y++) {
    const row = y * stride32;
    const green = ((y + frame) & 0xff) << 8;
    for (let x = 0; x < width; x++) words[row + x] = 0xff000000 | (((x + frame) & 0xff) << 16) | green | ((x ^ y) & 0xff);
  }
}

export const clientFill: Measurement = {
  id: 'fill',
  title: 'client fill through the graphics region',
  async run(ctx: BenchContext): Promise<Row[]> {
    const count = ctx.quick ? 2 : framesToDefeatCache(WIDTH * 4 * HEIGHT, ctx.machine.llcBytes, 8, 2);
    const framesPerRun = ctx.quick ? 2 : count * 2;
    const shm = allocateFrames(count, WIDTH, HEIGHT);
    try {
      const stride32 = shm.regions[0]!.stride32;
      const mapped = shm.regions.map((r) => r.pixels32);
      const plain = mapped.map((m) => new Uint32Array(new ArrayBuffer(m.byteLength)));
      ctx.log(`fill: ${count} mapped and ${count} plain ${WIDTH}x${HEIGHT} frames, ${framesPerRun} of each per run`);
      // Warm-up: the JIT sees both kinds of array before anything is timed, and
      // every plain page is faulted in (the mapped ones already are).
      for (let i = 0; i < count; i++) {
        drawFrame(mapped[i]!, stride32, WIDTH, HEIGHT, i);
        drawFrame(plain[i]!, stride32, WIDTH, HEIGHT, i);
      }
      const mappedMs: number[] = [];
      const plainMs: number[] = [];
      let frame = 0;
      for (let run = 0; run < ctx.runs; run++) {
        const mappedNs: number[] = [];
        const plainNs: number[] = [];
        for (let k = 0; k < framesPerRun; k++, frame++) {
          const i = frame % count;
          // Alternate which goes first, so neither always follows the other.
          const order = frame % 2 === 0 ? [mapped[i]!, plain[i]!] : [plain[i]!, mapped[i]!];
          for (const words of order) {
            const t0 = nowNs();
            drawFrame(words, stride32, WIDTH, HEIGHT, frame);
            const dt = nowNs() - t0;
            (words === mapped[i] ? mappedNs : plainNs).push(dt);
          }
        }
        // Each frame timed on its own; the median keeps a preempted frame from moving the run's figure.
        mappedMs.push(median(mappedNs) / 1e6);
        plainMs.push(median(plainNs) / 1e6);
      }
      const pixelsPerMs = (ms: number): number => (WIDTH * HEIGHT) / ms / 1000; // Mpixel/s
      return [
        comparedRow({
          id: 'fill.region',
          title: 'client fill of 1080p from JS via GraphicsRegion.pixels32',
          baselineTitle: 'same fill into a plain ArrayBuffer',
          unit: 'Mpx/s',
          subject: mappedMs.map(pixelsPerMs),
          baseline: plainMs.map(pixelsPerMs),
          target: { op: '>=', value: 0.9 },
          details: { frames: count, framesPerRun, msPerFrame: { region: mappedMs, plain: plainMs } },
        }),
      ];
    } finally {
      shm.destroy();
    }
  },
};
