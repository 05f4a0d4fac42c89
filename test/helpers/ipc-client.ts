/**
 * A bufshare client in its own process, for the IPC tests. argv[2] is a JSON
 * ClientScript. It prints one line per milestone:
 *   ready {...}     surfaces created
 *   hanging         mid-frame (a buffer acquired, not submitted), waiting to be killed
 *   done {...}      every frame submitted; then it closes and exits 0
 *   closed REASON   the server closed the connection
 *   error CODE MSG  something failed (exit 1)
 * Before each submit it sends surface.request({ frame, seed }) so the server
 * knows what the frame must contain.
 */
import { BufferClient, BufshareError, Region, type Surface } from '../../lib';
import { fillPattern } from './pattern';
import { paintScene, tileRect } from './tiles';

export interface ClientScript {
  path: string;
  /** Connections in this process; default 1. */
  clients?: number;
  width: number;
  height: number;
  format?: 'XRGB8888' | 'ARGB8888' | 'RGB565';
  bufferCount?: 1 | 2 | 3 | 4;
  usage?: 'software' | 'hardware';
  frames: number;
  /** 'pattern': every frame fully redrawn with pattern(seed); 'tiles': only damage + the changed tile redrawn. */
  scene: 'pattern' | 'tiles';
  seed: number;
  /** Wait for frame_done before drawing the next frame; default true. */
  paced?: boolean;
  /** After this many frames, acquire a buffer, print 'hanging' and wait to be killed. */
  hangAfter?: number;
  /** Resize before this frame. */
  resize?: { atFrame: number; width: number; height: number };
}

interface Result {
  ages: number[];
  damageAreas: number[];
  frameEvents: number;
  events: unknown[];
}

const script = JSON.parse(process.argv[2]!) as ClientScript;

interface Running {
  readonly client: BufferClient;
  readonly surface: Surface;
  readonly result: Result;
  frameDone: (() => void) | undefined;
}

async function setUp(index: number): Promise<Running> {
  const client = await BufferClient.connect({ path: script.path, name: `test-${index}` });
  client.on('close', (reason) => console.log(`closed ${reason}`));
  const surface = await client.createSurface({
    width: script.width, height: script.height, format: script.format ?? 'XRGB8888', usage: script.usage ?? 'software', bufferCount: script.bufferCount ?? 2,
  });
  const running: Running = { client, surface, result: { ages: [], damageAreas: [], frameEvents: 0, events: [] }, frameDone: undefined };
  surface.on('event', (p) => running.result.events.push(p));
  surface.on('frame', () => {
    running.result.frameEvents++;
    running.frameDone?.();
  });
  return running;
}

async function run(r: Running, index: number): Promise<Result> {
  for (let i = 0; i < script.frames; i++) {
    if (script.resize && script.resize.atFrame === i) await r.surface.resize(script.resize.width, script.resize.height);
    if (script.hangAfter === i) {
      await r.surface.nextBuffer();
      hanging();
      await new Promise(() => undefined);
    }
    const done = script.paced === false ? undefined : new Promise<void>((resolve) => (r.frameDone = resolve));
    await drawFrame(r.surface, i, index, r.result);
    await done;
  }
  r.client.close();
  return r.result;
}

async function drawFrame(surface: Surface, i: number, index: number, result: Result): Promise<void> {
  const { buffer, region, age, damage } = await surface.nextBuffer();
  result.ages.push(age);
  result.damageAreas.push(damage.area);
  const seed = script.seed + index * 1000 + i;
  surface.request({ frame: i, seed, width: surface.width, height: surface.height });
  if (script.scene === 'pattern') {
    fillPattern(region, seed);
    surface.submit(buffer, [{ x: 0, y: 0, width: surface.width, height: surface.height }]);
  } else {
    const tile = tileRect(i, surface.width, surface.height);
    paintScene(region, i, (age === 0 ? Region.full(surface.width, surface.height) : damage).union(tile));
    surface.submit(buffer, [tile]);
  }
}

let hangingCount = 0;
function hanging(): void {
  if (++hangingCount === (script.clients ?? 1)) console.log('hanging');
}

async function main(): Promise<void> {
  const count = script.clients ?? 1;
  // Every client connects and creates its surface before any draws, so the server sees them all at once.
  const running = await Promise.all(Array.from({ length: count }, (_, i) => setUp(i)));
  console.log(`ready ${JSON.stringify({ pid: process.pid, clients: count })}`);
  const results = await Promise.all(running.map((r, i) => run(r, i)));
  console.log(`done ${JSON.stringify(results)}`);
}

main().catch((e: unknown) => {
  const code = e instanceof BufshareError ? e.code : 'ERROR';
  console.log(`error ${code} ${(e as Error).message}`);
  process.exitCode = 1;
});
