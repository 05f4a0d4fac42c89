/**
 * A compositor in its own process, so that a test can run it with a small
 * RLIMIT_NOFILE (prlimit): listens on argv[2] with limits a compositor may
 * raise (4096 surfaces, 16384 buffers a client), prints 'ready', then one line
 * per frame ('frame PIXEL' of pixel 17) and per error it sees ('error ...').
 */
import { BufferServer } from '../../lib';

async function main(): Promise<void> {
  const server = BufferServer.listen({ path: process.argv[2]!, limits: { maxSurfaces: 4096, maxBuffers: 16384 } });
  server.on('frame', (frame) => {
    try {
      process.stdout.write(`frame ${frame.region.pixels32[17]!.toString(16)}\n`);
    } catch (e) {
      process.stdout.write(`error frame.region ${String(e)}\n`);
    }
    frame.release();
  });
  server.on('error', (e) => process.stdout.write(`error server ${String(e)}\n`));
  process.stdout.write('ready\n');
  process.stdin.resume();
  process.stdin.on('end', () => void server.close().then(() => process.exit(0)));
}

process.on('uncaughtException', (e) => {
  process.stdout.write(`error uncaught ${String(e)}\n`);
  process.exit(3);
});
main().catch((e: unknown) => {
  process.stdout.write(`error main ${String(e)}\n`);
  process.exit(2);
});
