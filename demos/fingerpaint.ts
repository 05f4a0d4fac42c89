/**
 * fingerpaint: like Mir's fingerpaint.c. A software buffer; pointer events from
 * the compositor paint smooth strokes with a round brush, and each frame submits
 * only the rectangles that changed. With --scripted (headless runs, where no
 * pointer comes) it paints a stroke of its own.
 *
 *   node --require tsx/cjs demos/fingerpaint.ts [--socket PATH] [--size WxH] [--scripted]
 *
 * The picture lives in the client's own memory (the paper); each buffer from the
 * swapchain is brought up to date from it: only the damage the buffer missed
 * since it was last drawn (buffer age), plus what was painted since.
 */
import { parseArgs } from 'node:util';
import { BufferClient, copyRects, Region, type JsonValue } from '../lib';
import { Framebuffer } from './compositor/framebuffer';
import { Brush, Stroke } from './fingerpaint/brush';
import { BRUSH_RADIUS, scriptedStroke } from './fingerpaint/script';

const { values } = parseArgs({ options: { socket: { type: 'string' }, size: { type: 'string' }, scripted: { type: 'boolean' } } });
const size = /^(\d+)x(\d+)$/.exec(values.size ?? '560x400');
if (!size) throw new Error(`--size must be WxH, got ${values.size}`);
const WIDTH = Number(size[1]);
const HEIGHT = Number(size[2]);
const PAPER = 0xfff4f1ea;
const INK = [0xff2a6fdb, 0xffd9442f, 0xff2f9e5b, 0xff8a3fd1, 0xffe08a1e];

interface PointerEvent {
  readonly action: 'enter' | 'leave' | 'motion' | 'down' | 'up';
  readonly x: number;
  readonly y: number;
  readonly buttons: number;
}

function asPointerEvent(payload: JsonValue): PointerEvent | undefined {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return undefined;
  const { type, action, x, y, buttons } = payload as Record<string, JsonValue>;
  if (type !== 'pointer' || typeof x !== 'number' || typeof y !== 'number' || typeof buttons !== 'number') return undefined;
  if (action !== 'enter' && action !== 'leave' && action !== 'motion' && action !== 'down' && action !== 'up') return undefined;
  return { action, x, y, buttons };
}

/**
 * The scripted stroke as pointer events: a press at the first sample, motion
 * through the rest, and the release where the pointer last was (a release
 * elsewhere would paint a line there).
 */
function* scriptedEvents(): Generator<{ action: 'down' | 'motion' | 'up'; x: number; y: number; buttons: number }> {
  const samples = scriptedStroke(WIDTH, HEIGHT);
  for (const [i, p] of samples.entries()) yield { action: i === 0 ? 'down' : 'motion', x: p.x, y: p.y, buttons: 1 };
  const last = samples[samples.length - 1]!;
  yield { action: 'up', x: last.x, y: last.y, buttons: 0 };
}

async function main(): Promise<void> {
  const paper = new Framebuffer(WIDTH, HEIGHT);
  paper.pixels32.fill(PAPER);
  const canvas = { ...paper.plane, width: WIDTH, height: HEIGHT };
  const brush = new Brush(BRUSH_RADIUS, INK[0]!);
  let strokes = 0;
  let stroke: Stroke | undefined;
  /** Painted on the paper and not yet submitted. */
  let dirty = Region.full(WIDTH, HEIGHT);

  const client = await BufferClient.connect({ path: values.socket, name: 'fingerpaint' });
  const surface = await client.createSurface({ width: WIDTH, height: HEIGHT, format: 'XRGB8888', usage: 'software', bufferCount: 2 });
  console.log(`fingerpaint: pid ${process.pid}, ${WIDTH}x${HEIGHT} XRGB8888, buffer kind ${surface.kind}, access strategy ${surface.access}`);

  const paint = (e: { action: PointerEvent['action']; x: number; y: number; buttons: number }): void => {
    if (e.action === 'down' && (e.buttons & 1) !== 0) {
      brush.color = INK[strokes++ % INK.length]!;
      stroke = new Stroke(canvas, brush);
      dirty = dirty.union(stroke.add(e));
    } else if (e.action === 'motion' && stroke && (e.buttons & 1) !== 0) {
      dirty = dirty.union(stroke.add(e));
    } else if ((e.action === 'up' && (e.buttons & 1) === 0) || (e.action === 'motion' && stroke && (e.buttons & 1) === 0)) {
      if (stroke) dirty = dirty.union(stroke.add(e)).union(stroke.finish());
      stroke = undefined;
    }
    if (dirty.rects.length > 16) dirty = dirty.simplify(8);
    present().catch(fail);
  };

  let waitingForFrame = false;
  let presenting = false;
  let submitted = 0;
  // Draws when there is paint to show and the compositor showed the last frame
  // (frame_done): at most one frame per output frame, however fast the pointer moves.
  const present = async (): Promise<void> => {
    if (waitingForFrame || presenting || dirty.isEmpty) return;
    presenting = true;
    try {
      const { buffer, region, damage } = await surface.nextBuffer();
      // What this buffer lacks: what changed since it was drawn (all of it if its age is 0), and the new paint.
      const changed = dirty;
      dirty = Region.empty;
      copyRects(paper.region, region, damage.union(changed));
      surface.submit(buffer, changed);
      submitted++;
      waitingForFrame = true;
    } finally {
      presenting = false;
    }
  };

  const script = values.scripted ? scriptedEvents() : undefined;
  surface.on('frame', () => {
    waitingForFrame = false;
    if (script) {
      const s = script.next();
      if (!s.done) paint(s.value);
    }
    void present().catch(fail);
  });
  surface.on('event', (payload) => {
    const e = asPointerEvent(payload);
    if (e) paint(e);
  });
  client.on('close', (reason) => {
    console.log(`fingerpaint: closed after ${submitted} frames, ${strokes} strokes (${reason})`);
    process.exit(0);
  });
  const quit = (): void => client.close();
  process.on('SIGINT', quit);
  process.on('SIGTERM', quit);
  await present();
}

function fail(e: unknown): void {
  console.error(`fingerpaint: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
}

main().catch(fail);
