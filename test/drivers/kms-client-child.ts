/**
 * A bufshare client for the direct-scanout test: one fullscreen hardware surface
 * (argv: socket path, width, height, frames), each frame a different pattern
 * (fillPattern with seed = frame number), submitted whole, the next one drawn
 * when the server says frame_done. Prints "done <frames>" at the end.
 */
import { BufferClient } from '../../lib';
import { fillPattern } from '../helpers/pattern';

async function main(): Promise<void> {
  const [path, w, h, n] = process.argv.slice(2);
  const width = Number(w);
  const height = Number(h);
  const client = await BufferClient.connect({ path: path! });
  const surface = await client.createSurface({ width, height, format: 'XRGB8888', usage: 'hardware', bufferCount: 2 });
  for (let frame = 0; frame < Number(n); frame++) {
    const { buffer, region } = await surface.nextBuffer();
    fillPattern(region, frame);
    const done = new Promise<void>((resolve) => surface.once('frame', () => resolve()));
    surface.submit(buffer, [{ x: 0, y: 0, width, height }]);
    await done;
  }
  console.log(`done ${n}`);
  client.close();
}

main().catch((e: unknown) => {
  console.log(`error ${(e as Error).message}`);
  process.exit(1);
});
