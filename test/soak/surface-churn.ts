/**
 * One client that creates and destroys surfaces argv[3] times on the server at
 * argv[2]; every 10th surface draws and submits one frame before it goes. Prints
 * "churned N" and exits once the server has answered the last create (so it has
 * handled every destroy before it).
 */
import { BufferClient } from '../../lib';

async function main(): Promise<void> {
  const client = await BufferClient.connect({ path: process.argv[2]!, name: 'surface-churn' });
  const cycles = Number(process.argv[3]);
  for (let i = 0; i < cycles; i++) {
    const surface = await client.createSurface({ width: 32 + (i % 7), height: 24, format: i % 3 === 0 ? 'RGB565' : 'XRGB8888', bufferCount: 1 + (i % 3) as 1 | 2 | 3 });
    if (i % 10 === 0) {
      const { buffer, region } = await surface.nextBuffer();
      region.pixels.fill(i & 0xff);
      surface.submit(buffer, [{ x: 0, y: 0, width: 8, height: 8 }]);
    }
    surface.destroy();
  }
  console.log(`churned ${cycles}`);
  client.close();
}

main().catch((e: unknown) => {
  console.log(`error ${String(e)}`);
  process.exitCode = 1;
});
