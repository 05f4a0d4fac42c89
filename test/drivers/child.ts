/**
 * The client side of the driver round trip, in its own process: rebuilds each
 * buffer from its descriptor and the fds the parent passed (3, 4, ... in job
 * order), then draws a pattern into it or hashes what it reads. Prints one JSON
 * line: per job, the strategy its graphics region used, or the error.
 *
 * argv[2]: JSON Job[].
 */
import { fromDescriptor } from '../../lib';
import { fillPattern, hashPixels } from '../helpers/pattern';

interface Job {
  descriptor: { fds: unknown[] };
  command: 'draw' | 'read';
  seed: number;
}

const jobs = JSON.parse(process.argv[2]!) as Job[];
let next = 3;
const out = jobs.map((job) => {
  const fds = job.descriptor.fds.map(() => next++);
  try {
    const buffer = fromDescriptor(job.descriptor, fds);
    try {
      const region = buffer.map({ mode: job.command === 'draw' ? 'write' : 'read' });
      const strategy = region.strategy;
      let hash: number | undefined;
      if (job.command === 'draw') fillPattern(region, job.seed);
      else hash = hashPixels(region);
      region.unmap();
      return { ok: true, strategy, ...(hash !== undefined ? { hash } : {}) };
    } finally {
      buffer.destroy();
    }
  } catch (e) {
    return { ok: false, error: `${(e as { code?: string }).code ?? ''} ${(e as Error).message}` };
  }
});
process.stdout.write(`${JSON.stringify(out)}\n`);
