/**
 * A BufferServer in its own process, for the tests whose failure would end or
 * stall it (a low fd limit, a huge send queue): listens at argv[2]; prints
 * "listening", then "error <code> <errno> <message>" for its 'error' events.
 * A client's request { burst: n } is answered with n small events, as a
 * compositor broadcasting to a client that may not be reading.
 */
import { BufferServer } from '../../lib';
import { encodeEvent } from '../../lib/ipc/protocol';

async function main(): Promise<void> {
  const server = BufferServer.listen({ path: process.argv[2]! });
  server.on('error', (e) => console.log(`error ${e.code} ${e.errno ?? '-'} ${e.message}`));
  server.on('request', (_surface, client, payload) => {
    const burst = (payload as { burst?: unknown } | null)?.burst;
    if (typeof burst === 'number') for (let i = 0; i < burst; i++) client.sendMessage(encodeEvent(0, i));
  });
  console.log('listening');
}

void main();
