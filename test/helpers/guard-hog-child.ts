/**
 * A client that tries to fill the server's SIGBUS guard table (run with
 * BUFSHARE_SHM_FALLBACK=1 on the server: unsealed shm buffers each need a slot
 * once mapped): tiny surfaces of 4 buffers, each buffer submitted so that the
 * compositor maps it, until the server refuses one or argv[3] surfaces exist.
 * Prints 'refused CODE BUFFERS' or 'done BUFFERS', then waits for stdin to close.
 */
import { BufferClient, BufshareError } from '../../lib';

async function main(): Promise<void> {
  const client = await BufferClient.connect({ path: process.argv[2]! });
  const maxSurfaces = Number(process.argv[3]);
  let buffers = 0;
  let outcome = 'done';
  for (let i = 0; i < maxSurfaces; i++) {
    try {
      const surface = await client.createSurface({ width: 4, height: 4, format: 'XRGB8888', bufferCount: 4 });
      for (let b = 0; b < 4; b++) {
        const { buffer } = await surface.nextBuffer();
        surface.submit(buffer, [{ x: 0, y: 0, width: 4, height: 4 }]);
        buffers++;
      }
    } catch (e) {
      outcome = `refused ${e instanceof BufshareError ? e.code : String(e)}`;
      break;
    }
  }
  process.stdout.write(`${outcome} ${buffers}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => client.close());
  process.stdin.on('close', () => client.close());
}

main().catch((e: unknown) => {
  process.stdout.write(`failed ${String(e)}\n`);
  process.exitCode = 1;
});
