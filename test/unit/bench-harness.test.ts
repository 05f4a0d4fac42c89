// The benchmark's own arithmetic and bookkeeping (no timing is asserted anywhere).
import { expect } from 'chai';
import { parseCacheSize } from '../../bench/machine';
import type { BenchContext, Measurement } from '../../bench/measurement';
import { comparedRow } from '../../bench/result';
import { idFilter, runMeasurement, tally } from '../../bench/runner';
import { median, pairedRatios, quantile, summarize } from '../../bench/stats';
import { formatNumber, formatSummary, renderTable } from '../../bench/table';
import { medianOfEach } from '../../bench/support/timing';
import { fdKind } from '../../bench/ipc/proc-stats';
import { tenPercentIn16Bands, tenPercentIn16Rects } from '../../bench/measurements/damage-copy';
import { Region } from '../../lib';

const ctx: BenchContext = {
  quick: true,
  runs: 5,
  machine: { cpuModel: 'test', cores: 1, llcBytes: 0, memoryBytes: 0, kernel: 'Linux', node: 'v20', v8: '', loadAverage: 0, hypervisor: false },
  log: () => {},
};

describe('bench harness', () => {
  it('computes medians, interpolated quantiles and spreads', () => {
    expect(median([5, 1, 3])).to.equal(3);
    expect(median([4, 1, 3, 2])).to.equal(2.5);
    expect(quantile([0, 10], 0.99)).to.be.closeTo(9.9, 1e-9);
    const s = summarize([10, 8, 12, 10, 10]);
    expect(s).to.include({ median: 10, min: 8, max: 12 });
    expect(s.spread).to.be.closeTo(0.4, 1e-12);
    expect(s.values).to.deep.equal([10, 8, 12, 10, 10]);
  });

  it('pairs ratios run by run and judges the median against the target', () => {
    expect(pairedRatios([2, 4], [1, 8])).to.deep.equal([2, 0.5]);
    expect(() => pairedRatios([1], [1, 2])).to.throw(/paired/);
    const row = (subject: number[]) => comparedRow({ id: 'x', title: 'x', baselineTitle: 'b', unit: 'ms', subject, baseline: [10, 10, 10, 10, 10], target: { op: '<=', value: 0.15 } });
    expect(row([1, 1, 1, 2, 2]).status).to.equal('met');
    expect(row([1, 2, 2, 2, 2]).status).to.equal('missed');
    const reported = comparedRow({ id: 'y', title: 'y', baselineTitle: 'b', unit: '', subject: [1], baseline: [2] });
    expect(reported.status).to.equal('reported');
    expect(reported.ratio!.median).to.equal(0.5);
  });

  it('turns a throwing or hanging measurement into a crashed row, and counts rows', async () => {
    const throws: Measurement = { id: 'boom', title: 'boom', run: () => Promise.reject(new Error('kaput')) };
    const hangs: Measurement = { id: 'hang', title: 'hang', timeoutSeconds: 0.05, run: () => new Promise(() => {}) };
    const [a] = await runMeasurement(throws, ctx);
    const [b] = await runMeasurement(hangs, ctx);
    expect(a).to.include({ status: 'crashed', reason: 'kaput' });
    expect(b!.status).to.equal('crashed');
    expect(b!.reason).to.match(/did not finish/);
    const met = comparedRow({ id: 'm', title: 'm', baselineTitle: 'b', unit: '', subject: [1], baseline: [1], target: { op: '>=', value: 0.9 } });
    const t = tally([a!, b!, met, { id: 's', title: 's', baselineTitle: '-', unit: '', status: 'skipped', reason: 'needs hw' }]);
    expect(t).to.deep.equal({ ran: 1, crashed: 2, skipped: 1, met: 1, missed: 0, reported: 0 });
    expect(renderTable([a!, met])).to.match(/\*\*crashed\*\*: kaput/);
  });

  it('filters ids by regular expression', () => {
    expect(idFilter([])('anything')).to.equal(true);
    const f = idFilter(['^copy', 'fill.region']);
    expect(['copy.full', 'fill.region', 'ipc.rtt'].map(f)).to.deep.equal([true, true, false]);
  });

  it('reads sysfs cache sizes', () => {
    expect(parseCacheSize('32768K\n')).to.equal(32 * 2 ** 20);
    expect(parseCacheSize('2M')).to.equal(2 * 2 ** 20);
    expect(parseCacheSize('garbage')).to.equal(0);
  });

  it('damages exactly 10% of a 1080p frame in 16 disjoint rectangles or bands, in four disjoint variants', () => {
    for (const shape of [tenPercentIn16Rects, tenPercentIn16Bands]) {
      const variants = [0, 1, 2, 3].map((shift) => Region.from(shape(1920, 1080, shift)));
      for (const v of variants) {
        expect(v.rects).to.have.length(16);
        expect(v.area).to.equal(1920 * 1080 * 0.1);
        expect(v.clip(1920, 1080).area).to.equal(v.area);
      }
      expect(variants.reduce((u, v) => u.union(v), Region.empty).area).to.equal(4 * 1920 * 1080 * 0.1);
    }
  });

  it('times each call on its own and keeps the median', () => {
    const seen: number[] = [];
    const m = medianOfEach((i) => seen.push(i), 5);
    expect(seen).to.deep.equal([0, 1, 2, 3, 4]);
    expect(m).to.be.at.least(0);
  });

  it('formats figures: integers whole, others to 3 significant digits, single runs without a spread', () => {
    expect(formatNumber(256)).to.equal('256');
    expect(formatNumber(43598.4)).to.equal('43,598');
    expect(formatNumber(9.567)).to.equal('9.57');
    expect(formatNumber(0.0895)).to.equal('0.0895');
    expect(formatSummary(summarize([7]), 'fds')).to.equal('7 fds');
    expect(formatSummary(summarize([9, 10, 11]), 'ms')).to.equal('10 ms ±10%');
  });

  it('classifies fds by what they point to', () => {
    expect(fdKind('socket:[1234]')).to.equal('socket');
    expect(fdKind('/memfd:bufshare-1920x1080 (deleted)')).to.equal('memfd');
    expect(fdKind('anon_inode:dmabuf')).to.equal('dmabuf');
    expect(fdKind('anon_inode:[eventpoll]')).to.equal('anon_inode:[eventpoll]');
    expect(fdKind('/dev/shm/bufshare-x')).to.equal('shm-file');
    expect(fdKind('/work/x.log')).to.equal('file');
  });
});
