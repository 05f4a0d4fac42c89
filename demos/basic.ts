/**
 * basic: like Mir's basic.c. Asks for a hardware buffer, animates a full-surface
 * gradient each frame (one frame per frame_done), and prints the buffer kind and
 * access strategy it got. Where the machine has no GPU the server hands out a
 * software buffer, or a shadow for a buffer the client cannot map, and this code
 * runs unchanged.
 *
 *   node --require tsx/cjs demos/basic.ts [--socket PATH] [--size WxH] [--frames N]
 */
import { parseArgs } from 'node:util';
import { BufferClient, type GraphicsRegion } from '../lib';

const { values } = parseArgs({ options: { socket: { type: 'string' }, size: { type: 'string' }, frames: { type: 'string' } } });
const size = /^(\d+)x(\d+)$/.exec(values.size ?? '400x300');
if (!size) throw new Error(`--size must be WxH, got ${values.size}`);
const WIDTH = Number(size[1]);
const HEIGHT = Number(size[2]);
const maxFrames = values.frames === undefined ? Infinity : Number(values.frames);

/** A 512-entry colour ramp for time t: hue turning slowly, brightness waving along the ramp. */
function palette(t: number): Uint32Array {
  const p = new Uint32Array(512);
  for (let i = 0; i < 512; i++) {
    const phase = (i / 512) * 2 * Math.PI;
    const wave = 0.55 + 0.45 * Math.sin(phase * 2 + t * 0.09);
    const hue = t * 0.02 + phase;
    const c = (offset: number): number => Math.round(255 * wave * (0.5 + 0.5 * Math.sin(hue + offset)));
    p[i] = (0xff000000 | (c(0) << 16) | (c(2.1) << 8) | c(4.2)) >>> 0;
  }
  return p;
}

/** The whole surface: a diagonal gradient sliding one step per frame, with a light band sweeping across. */
function draw(region: GraphicsRegion, t: number): void {
  const px = region.pixels32;
  const stride = region.stride32;
  const ramp = palette(t);
  const band = (t * 4) % (region.width + 60) - 30;
  for (let y = 0; y < region.height; y++) {
    const row = y * stride;
    const shift = (y + t * 3) & 511;
    for (let x = 0; x < region.width; x++) px[row + x] = ramp[(x + shift) & 511]!;
    const b0 = Math.max(0, Math.floor(band));
    const b1 = Math.min(region.width, Math.floor(band) + 12);
    if (b1 > b0) px.fill(0xffffffff, row + b0, row + b1);
  }
}

async function main(): Promise<void> {
  const client = await BufferClient.connect({ path: values.socket, name: 'basic' });
  const surface = await client.createSurface({ width: WIDTH, height: HEIGHT, format: 'XRGB8888', usage: 'hardware', bufferCount: 2 });
  console.log(`basic: pid ${process.pid}, ${WIDTH}x${HEIGHT} XRGB8888, buffer kind ${surface.kind}, access strategy ${surface.access}`);
  let frame = 0;
  const next = async (): Promise<void> => {
    const { buffer, region } = await surface.nextBuffer();
    draw(region, frame);
    // Every pixel changed: the damage is the whole surface.
    surface.submit(buffer, [{ x: 0, y: 0, width: region.width, height: region.height }]);
    if (++frame >= maxFrames) client.close();
  };
  surface.on('frame', () => void next().catch(fail));
  client.on('close', (reason) => {
    console.log(`basic: closed after ${frame} frames (${reason})`);
    process.exit(0);
  });
  const quit = (): void => client.close();
  process.on('SIGINT', quit);
  process.on('SIGTERM', quit);
  await next();
}

function fail(e: unknown): void {
  console.error(`basic: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
}

main().catch(fail);
