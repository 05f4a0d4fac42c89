/**
 * A hostile client for the seal tests: gets a buffer's descriptor in argv[2] and
 * its fd at 3, then attacks the fd as argv[3] says and prints what happened as JSON.
 *   resize   ftruncate to 0, to one page less, to twice the size; add F_SEAL_WRITE;
 *            remove nothing (seals cannot be removed); then draw pattern(argv[4])
 *            through its own mapping, which is allowed
 *   truncate ftruncate to 0 (succeeds only on an unsealed file)
 */
import { BufshareError } from '../../lib';
import { fromDescriptor } from '../../lib';
import * as native from '../../lib/native';
import { fillPattern } from './pattern';

const descriptor = JSON.parse(process.argv[2]!) as { size: number };
const command = process.argv[3];
const fd = 3;

function attempt(fn: () => void): string {
  try {
    fn();
    return 'ok';
  } catch (e) {
    return e instanceof BufshareError && e.errno !== undefined ? e.errno : String(e);
  }
}

if (command === 'resize') {
  const c = native.constants;
  const result = {
    shrinkToZero: attempt(() => native.truncateFd(fd, 0)),
    shrinkByPage: attempt(() => native.truncateFd(fd, descriptor.size - native.pageSize)),
    grow: attempt(() => native.truncateFd(fd, descriptor.size * 2)),
    addWriteSeal: attempt(() => native.addSeals(fd, c.F_SEAL_WRITE)),
    addShrinkSeal: attempt(() => native.addSeals(fd, c.F_SEAL_SHRINK)),
    sizeAfter: native.statFd(fd).size,
  };
  const buffer = fromDescriptor(descriptor, [native.dupFd(fd)]);
  const region = buffer.map({ mode: 'write' });
  fillPattern(region, Number(process.argv[4]));
  region.unmap();
  buffer.destroy();
  process.stdout.write(JSON.stringify(result));
} else if (command === 'truncate') {
  process.stdout.write(JSON.stringify({ truncate: attempt(() => native.truncateFd(fd, 0)) }));
} else {
  throw new Error(`unknown command ${command}`);
}
