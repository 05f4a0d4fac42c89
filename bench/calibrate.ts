/**
 * npm run calibrate [-- --in-cache] [-- --runs N]: measures the damage planner's
 * cost model on this machine (lib/damage/calibrate.ts) N times and prints each
 * fit and their median, the figures lib/damage/cost-model.ts states.
 */
import { cpus, loadavg } from 'node:os';
import { calibrateCopyCost } from '../lib/damage/calibrate';

const args = process.argv.slice(2);
const inCache = args.includes('--in-cache');
const runsAt = args.indexOf('--runs');
const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : 7;
const median = (v: number[]): number => [...v].sort((a, b) => a - b)[v.length >> 1]!;

process.stdout.write(`${cpus()[0]?.model ?? '?'}, load ${loadavg()[0]!.toFixed(2)}, ${inCache ? 'in cache (1280x720, 1 pair)' : 'out of cache (1920x1080, 4x a 32 MiB LLC)'}\n`);
const fits = [];
for (let i = 0; i < runs; i++) {
  const c = inCache ? calibrateCopyCost({ width: 1280, height: 720, frames: 1, samples: 64 }) : calibrateCopyCost();
  fits.push(c.model);
  process.stdout.write(`run ${i + 1}: rectNs ${c.model.rectNs.toFixed(0)} (${c.nsPerScatteredPixel.toFixed(0)} ns per isolated pixel), rowNs ${c.model.rowNs.toFixed(1)}, rowByteNs ${c.model.rowByteNs.toFixed(4)}, contiguousByteNs ${c.model.contiguousByteNs.toFixed(4)}, planRectNs ${c.model.planRectNs.toFixed(1)} (${c.contiguousGBps.toFixed(1)} GB/s); ns per row by bytes: ${c.rows.map((r) => `${r.bytes}:${r.nsPerRow.toFixed(0)}`).join(' ')}; streamed: ${c.streamedRows.map((r) => `${r.bytes}:${r.nsPerRow.toFixed(0)}`).join(' ')}, streamByteNs ${(c.model.streamByteNs ?? 0).toFixed(4)}\n`);
}
process.stdout.write(`median: { rectNs: ${median(fits.map((f) => f.rectNs)).toFixed(0)}, rowNs: ${median(fits.map((f) => f.rowNs)).toFixed(1)}, rowByteNs: ${median(fits.map((f) => f.rowByteNs)).toFixed(4)}, contiguousByteNs: ${median(fits.map((f) => f.contiguousByteNs)).toFixed(4)}, planRectNs: ${median(fits.map((f) => f.planRectNs)).toFixed(1)}, streamByteNs: ${median(fits.map((f) => f.streamByteNs ?? f.rowByteNs)).toFixed(4)} }\n`);
