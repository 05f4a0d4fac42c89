// A minimal client: a 320x240 surface, ten frames of a colour ramp, each drawn
// when the compositor says it showed the last one.
// Run: npx tsx examples/client.ts [socket-path]   (default $XDG_RUNTIME_DIR/bufshare-0)
import { BufferClient } from 'bufshare';

async function main(): Promise<void> {
  const client = await BufferClient.connect({ path: process.argv[2] });
  const surface = await client.createSurface({ width: 320, height: 240, format: 'XRGB8888', usage: 'software' });
  console.log(`surface: ${surface.kind} buffers, ${surface.access} access`);
  let frame = 0;
  const draw = async (): Promise<void> => {
    const { buffer, region } = await surface.nextBuffer();
    region.pixels32.fill(0xff000000 | (frame * 25) << 16 | (255 - frame * 25));  // red rises, blue falls
    surface.submit(buffer, [{ x: 0, y: 0, width: region.width, height: region.height }]);
    if (++frame === 10) client.close();
  };
  surface.on('frame', () => void draw());  // frame_done: the last one was shown
  client.on('close', (reason) => console.log(`closed: ${reason}`));
  await draw();
}

void main();
