/**
 * A BufferServer in its own process, for tests that kill the server: listens at
 * argv[2], releases every frame and acknowledges it with frame_done, and prints
 * "listening" once the socket is up.
 */
import { BufferServer } from '../../lib';

async function main(): Promise<void> {
  const server = BufferServer.listen({ path: process.argv[2]! });
  server.on('frame', (frame) => {
    frame.release();
    frame.surface.frameDone();
  });
  console.log('listening');
}

void main();
