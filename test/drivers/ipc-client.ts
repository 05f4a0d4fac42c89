/**
 * The client side of the driver IPC test, in its own process: for each socket
 * path in argv[2] (JSON string[]), connects, asks for a hardware surface, draws
 * FRAMES frames of pattern(seed + frame), each submitted with the damage the
 * server expects (the whole buffer, then a rectangle), waiting for frame_done in
 * between. Prints one JSON line: per path, the kind and access it got, or the error.
 */
import { BufferClient } from '../../lib';
import { fillPattern } from '../helpers/pattern';

export const WIDTH = 67;
export const HEIGHT = 35;
export const FRAMES = 3;
/** Damage of frame n: all of it first, then a rectangle inside. */
export function damageOf(frame: number): { x: number; y: number; width: number; height: number } {
  return frame === 0 ? { x: 0, y: 0, width: WIDTH, height: HEIGHT } : { x: 5 + frame, y: 3, width: 40, height: 20 };
}

async function run(path: string, seed: number): Promise<Record<string, unknown>> {
  const client = await BufferClient.connect({ path });
  try {
    const surface = await client.createSurface({ width: WIDTH, height: HEIGHT, format: 'XRGB8888', usage: 'hardware', bufferCount: 2 });
    const strategies: string[] = [];
    for (let frame = 0; frame < FRAMES; frame++) {
      const { buffer, region } = await surface.nextBuffer();
      strategies.push(region.strategy);
      fillPattern(region, seed + frame);
      const shown = new Promise<void>((resolve) => surface.once('frame', () => resolve()));
      surface.submit(buffer, [damageOf(frame)]);
      await shown;
    }
    return { ok: true, kind: surface.kind, access: surface.access, strategies };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  } finally {
    client.close();
  }
}

if (require.main === module) {
  void (async () => {
    const paths = JSON.parse(process.argv[2]!) as string[];
    const out = [];
    for (const [i, path] of paths.entries()) out.push(await run(path, 5000 + i * 100));
    process.stdout.write(`${JSON.stringify(out)}\n`);
  })();
}
