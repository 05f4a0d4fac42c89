/**
 * A process for the SIGBUS guard tests.
 *   kill-self   install the guard (map an unsealed buffer), then send itself
 *               SIGBUS with kill(): not a fault in a guarded mapping, so the
 *               guard must hand it to the default action and the process dies.
 *   chain-to-listener  a JS SIGBUS listener first (libuv installs its handler),
 *               then the guard; a SIGBUS sent with kill() must reach the listener.
 */
import { ShmAllocator } from '../../lib';
import * as native from '../../lib/native';

const command = process.argv[2];
if (command === 'kill-self') {
  const b = new ShmAllocator({ forceFallback: true }).allocate({ width: 8, height: 8, format: 'XRGB8888' });
  const region = b.map();
  if (!native.mappingStats().sigbusHandler) throw new Error('guard not installed');
  process.stdout.write('guard installed\n', () => {
    process.kill(process.pid, 'SIGBUS');
    // Not reached when the signal is handled as it should be.
    setTimeout(() => {
      region.unmap();
      process.stdout.write('survived\n');
    }, 2000);
  });
} else if (command === 'chain-to-listener') {
  process.on('SIGBUS', () => {
    process.stdout.write('listener saw SIGBUS\n', () => process.exit(0));
  });
  const b = new ShmAllocator({ forceFallback: true }).allocate({ width: 8, height: 8, format: 'XRGB8888' });
  b.map();
  if (!native.mappingStats().sigbusHandler) throw new Error('guard not installed');
  process.kill(process.pid, 'SIGBUS');
  setTimeout(() => process.stdout.write('listener never ran\n'), 3000);
} else {
  throw new Error(`unknown command ${command}`);
}
