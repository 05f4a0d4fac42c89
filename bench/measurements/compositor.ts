/**
 * A bufshare/scene output (as the demo compositor uses it) repainting 10% of a 1280x720 output,
 * against a memcpy of the whole output: damage tracking should make a small
 * change cost a small fraction of a full repaint (<= 0.2x).
 *
 * The scene is the demo's own benchmark scene: two opaque XRGB8888 clients
 * (copied with native copyRects), one premultiplied ARGB8888 client (blended with
 * native blendRects) and the background. Three kinds of 10% damage, each against the target:
 * inside an opaque client, 16 rectangles spread over the whole output (mostly
 * background and opaque clients, one over the ARGB client), and over the ARGB
 * client. Output, background and clients stay in the cache, as a compositor's
 * working set does; the memcpy is timed in the same state.
 */
import { blendKernel, Region, ShmAllocator, type GraphicsRegion, type Rect, type SharedBuffer } from '../../lib';
import { pixelRegion, Scene, SceneBuffer } from '../../lib/scene';
import { createBackground } from '../../demos/compositor/background';
import type { BenchContext, Measurement } from '../measurement';
import { comparedRow, type Row } from '../result';
import { calibrateReps, medianOfEach } from '../support/timing';
import { tenPercentIn16Rects } from './damage-copy';

const W = 1280;
const H = 720;

interface Case {
  readonly id: string;
  readonly title: string;
  readonly damage: Region;
}

function cases(): Case[] {
  const area = (W * H) / 10;
  const h = Math.round(Math.sqrt(area / (16 / 9)));
  const w = Math.round(area / h);
  return [
    { id: 'compositor.opaque', title: 'recomposite 10% of 720p inside an opaque client', damage: Region.of({ x: 100, y: 100, width: w, height: h }) },
    { id: 'compositor.spread', title: 'recomposite 10% of 720p in 16 rects over the scene', damage: Region.from(tenPercentIn16Rects(W, H)) },
    { id: 'compositor.blend', title: 'recomposite 10% of 720p over an ARGB client (blend)', damage: Region.of({ x: 760, y: 440, width: 400, height: Math.round(area / 400) }) },
  ];
}

export const compositor: Measurement = {
  id: 'compositor',
  title: 'compositor recomposition',
  async run(ctx: BenchContext): Promise<Row[]> {
    const allocator = new ShmAllocator();
    const buffers: SharedBuffer[] = [];
    try {
      // The demo's scene: its wallpaper (a plain buffer at the bottom) and three clients.
      const scene = new Scene();
      const output = scene.addOutput({ width: W, height: H });
      const wallpaper = createBackground(W, H);
      scene.createBuffer(scene.root, new SceneBuffer(wallpaper.region, () => {}));
      const windows = scene.createTree();
      const place = (rect: Rect, format: 'XRGB8888' | 'ARGB8888', color: number): void => {
        const buffer = allocator.allocate({ width: rect.width, height: rect.height, format });
        buffers.push(buffer);
        const region: GraphicsRegion = buffer.map({ mode: 'readwrite' });
        for (let y = 0; y < rect.height; y++) region.pixels32.fill(color, y * region.stride32, y * region.stride32 + rect.width);
        scene.createBuffer(windows, new SceneBuffer(region, () => {})).setPosition(rect.x, rect.y);
      };
      place({ x: 40, y: 60, width: 640, height: 480 }, 'XRGB8888', 0xff336699);
      place({ x: 720, y: 60, width: 480, height: 360 }, 'XRGB8888', 0xff993366);
      place({ x: 760, y: 440, width: 400, height: 240 }, 'ARGB8888', 0x80404040);
      const framebuffer = pixelRegion(W, H);
      output.render(framebuffer, 0);

      const source = new Uint8Array(W * H * 4).fill(7);
      const target = framebuffer.pixels.subarray(0, W * H * 4);
      const memcpy = (): void => target.set(source);
      const blockNs = ctx.quick ? 1e6 : 10e6;
      const all = cases();
      // What a commit does to an output (its damage in layout coordinates), then the frame that repaints it.
      const subjects = all.map((c) => () => {
        output.damageLayout(c.damage.rects);
        output.render(framebuffer, 1);
      });
      const memcpyReps = calibrateReps(memcpy, blockNs);
      const reps = subjects.map((fn) => calibrateReps(fn, blockNs));
      const memcpyNs: number[] = [];
      const caseNs: number[][] = all.map(() => []);
      for (let run = 0; run < ctx.runs; run++) {
        // The baseline goes first on even runs and last on odd ones.
        if (run % 2 === 0) memcpyNs.push(medianOfEach(memcpy, memcpyReps));
        subjects.forEach((fn, i) => caseNs[i]!.push(medianOfEach(fn, reps[i]!)));
        if (run % 2 === 1) memcpyNs.push(medianOfEach(memcpy, memcpyReps));
      }
      return all.map((c, i) =>
        comparedRow({
          id: c.id,
          title: c.title,
          baselineTitle: 'full-output memcpy (3.7 MB)',
          unit: 'µs',
          subject: caseNs[i]!.map((ns) => ns / 1e3),
          baseline: memcpyNs.map((ns) => ns / 1e3),
          target: { op: '<=', value: 0.2 },
          details: { damagedPixels: c.damage.area, rects: c.damage.rects.length, repsPerRun: reps[i], memcpyRepsPerRun: memcpyReps, blendKernel: blendKernel() },
        }),
      );
    } finally {
      for (const b of buffers) b.destroy();
    }
  },
};
