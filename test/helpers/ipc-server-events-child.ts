/**
 * A BufferServer in its own process that prints its 'error' events, for the
 * listener tests that run it under a low fd limit (a failure would end it):
 * listens at argv[2]; prints "listening", then "error <code> <errno> <message>".
 */
import { BufferServer } from '../../lib';

async function main(): Promise<void> {
  const server = await BufferServer.listen({ path: process.argv[2]! });
  server.on('error', (e) => console.log(`error ${e.code} ${e.errno ?? '-'} ${e.message}`));
  console.log('listening');
}

void main();
