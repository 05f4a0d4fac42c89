/**
 * A separate process for cross-process tests: rebuilds a buffer from the
 * descriptor in argv[2] and the fds the parent passed at 3, 4, ...; then runs the
 * command in argv[3]:
 *   draw SEED   fill the region with pattern(SEED) and exit
 *   read        print the FNV-1a hash of the visible pixels (row by row, no padding)
 */
import { fromDescriptor } from '../../lib';
import { fillPattern, hashPixels } from './pattern';

const descriptor: unknown = JSON.parse(process.argv[2]!);
const command = process.argv[3];
const fdCount = (descriptor as { fds: unknown[] }).fds.length;
const fds = Array.from({ length: fdCount }, (_, i) => 3 + i);
const buffer = fromDescriptor(descriptor, fds);
if (command === 'draw') {
  const region = buffer.map({ mode: 'write' });
  fillPattern(region, Number(process.argv[4]));
  region.unmap();
  process.stdout.write(JSON.stringify({ ok: true, strategy: region.strategy }));
} else if (command === 'read') {
  const region = buffer.map({ mode: 'read' });
  process.stdout.write(JSON.stringify({ ok: true, hash: hashPixels(region), strategy: region.strategy }));
  region.unmap();
} else {
  throw new Error(`unknown command ${command}`);
}
buffer.destroy();
