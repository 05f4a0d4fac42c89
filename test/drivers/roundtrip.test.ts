/**
 * Driver round trip, against every DRM card node of this machine (the VM's
 * emulated GPUs, or a user's real one) and udmabuf: for each buffer kind, format
 * and access mode (automatic, and forced shadow), a SEPARATE process rebuilds
 * the buffer from its descriptor and draws a pattern; the server checks it
 * pixel-exact through its own mapping (after commitShadow for shadows, first a
 * partial damage then the rest). Reverse direction for direct buffers: the
 * server draws, the child reads the same pixels.
 *
 * One child per node serves every buffer of that node (Node starts in ~1.5 s in
 * the VM). Results, with the strategy each buffer got, go to
 * test-results/drivers/results-<kernel>.json, build output that is not committed
 * (see table.ts for the README table).
 */
import { expect } from 'chai';
import { mkdirSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import {
  DumbAllocator, GbmAllocator, UdmabufAllocator, Region, rect, describeNode, drmUnavailableReason, listDrmNodes, udmabufUnavailableReason,
  type Allocator, type FormatName, type HardwareBuffer,
} from '../../lib';
import { fillPattern, findMismatch, hashPixels } from '../helpers/pattern';
import { openFds } from '../helpers/fds';
import { runTs } from '../helpers/spawn';
import { RESULTS_DIR } from './table';

const FORMATS: readonly FormatName[] = ['XRGB8888', 'ARGB8888', 'RGB565'];
const MODES = ['auto', 'shadow'] as const;
const WIDTH = 67;
const HEIGHT = 35;
const KERNEL = process.env.BUFSHARE_VM ?? release();

export interface ResultRow {
  node: string;
  driver: string;
  kind: string;
  format: string;
  mode: string;
  access?: string;
  clientStrategy?: string;
  serverMapping?: string;
  readOnly?: boolean;
  reasons?: string[];
  passed: boolean;
  error?: string;
}
const rows: ResultRow[] = [];

interface Case {
  name: string;
  format: FormatName;
  mode: (typeof MODES)[number];
  draw?: HardwareBuffer;
  read?: HardwareBuffer;
  readHash?: number;
  seed?: number;
  allocError?: Error;
  drawResult?: { ok: boolean; strategy?: string; error?: string };
  readResult?: { ok: boolean; strategy?: string; hash?: number; error?: string };
}

function roundTrip(label: string, driver: string, open: () => Allocator, kind: string): void {
  describe(`${label}: ${kind}`, function () {
    this.timeout(180000);
    const cases: Case[] = FORMATS.flatMap((format) => MODES.map((mode) => ({ name: `${format} ${mode}`, format, mode })));
    let allocator: Allocator | undefined;
    let openError: Error | undefined;

    before(async function () {
      try {
        allocator = open();
      } catch (e) {
        openError = e as Error;
        return;
      }
      const jobs: unknown[] = [];
      const fds: number[] = [];
      let seed = 1000;
      for (const c of cases) {
        const request = { width: WIDTH, height: HEIGHT, format: c.format, usage: 'hardware' as const, ...(c.mode === 'shadow' ? { access: 'shadow' as const } : {}) };
        try {
          c.draw = allocator.allocate(request) as HardwareBuffer;
          c.read = allocator.allocate(request) as HardwareBuffer;
        } catch (e) {
          c.allocError = e as Error;
          continue;
        }
        // The server fills the draw buffer first, so partial damage can be told apart.
        const pre = c.draw.map({ mode: 'write' });
        fillPattern(pre, seed + 1 + 5000);
        pre.unmap();
        const drawExport = c.draw.export();
        c.seed = ++seed;
        jobs.push({ descriptor: drawExport.descriptor, command: 'draw', seed: c.seed });
        fds.push(...drawExport.fds);
        if (c.read.access === 'direct') {
          const w = c.read.map({ mode: 'write' });
          fillPattern(w, seed + 7);
          c.readHash = hashPixels(w);
          w.unmap();
          const readExport = c.read.export();
          jobs.push({ descriptor: readExport.descriptor, command: 'read', seed: 0 });
          fds.push(...readExport.fds);
        }
      }
      if (jobs.length === 0) return;
      const res = await runTs('test/drivers/child.ts', [JSON.stringify(jobs)], fds);
      if (res.code !== 0) throw new Error(`child failed (${res.code}): ${res.stderr}`);
      const results = JSON.parse(res.stdout) as NonNullable<Case['drawResult']>[];
      let i = 0;
      for (const c of cases) {
        if (!c.draw) continue;
        c.drawResult = results[i++];
        if (c.read?.access === 'direct') c.readResult = results[i++];
      }
    });

    after(() => {
      for (const c of cases) {
        c.draw?.destroy();
        c.read?.destroy();
      }
      allocator?.close();
    });

    for (const c of cases) {
      it(`${c.name}: a child draws, the server reads it pixel-exact; the server draws, the child reads it`, function () {
        const row: ResultRow = { node: label, driver, kind, format: c.format, mode: c.mode, passed: false };
        rows.push(row);
        try {
          if (openError) throw openError;
          if (c.allocError) {
            // A format the driver does not take is a documented outcome, not a failure,
            // for every format but the one all drivers must do.
            if (c.format === 'XRGB8888' || (c.allocError as { code?: string }).code !== 'ERR_BUFSHARE_UNSUPPORTED_FORMAT') throw c.allocError;
            expect(c.allocError.message).to.match(/supported: .*XRGB8888/);
            Object.assign(row, { access: 'unsupported', passed: true, error: c.allocError.message });
            return;
          }
          const b = c.draw!;
          Object.assign(row, { access: b.access, serverMapping: b.serverMapping, readOnly: b.readOnly, reasons: [...b.reasons] });
          if (c.mode === 'shadow') expect(b.access).to.equal('shadow');
          expect(c.drawResult, 'child result').to.not.equal(undefined);
          expect(c.drawResult!.ok, c.drawResult!.error).to.equal(true);
          row.clientStrategy = c.drawResult!.strategy;
          expect(row.clientStrategy).to.equal(b.access === 'shadow' ? 'shadow' : 'dmabuf-sync');
          const seed = c.seed!;
          if (b.access === 'shadow') {
            // Partial damage first: only the left half may change.
            const half = Math.floor(WIDTH / 2);
            expect(b.commitShadow(Region.from([rect(0, 0, half, HEIGHT)]))).to.equal(half * HEIGHT);
            const r = b.map({ mode: 'read' });
            const left = findMismatch(r, seed);
            expect(left === undefined || left.x >= half, `left half at ${JSON.stringify(left)}`).to.equal(true);
            expect(findMismatch(r, seed + 5000), 'the right half must still hold the server pattern').to.not.equal(undefined);
            r.unmap();
            expect(b.commitShadow(Region.from([rect(half, 0, WIDTH - half, HEIGHT), rect(0, 0, 5, 5)]))).to.equal((WIDTH - half) * HEIGHT + 25);
          } else {
            expect(b.commitShadow(Region.from([rect(0, 0, WIDTH, HEIGHT)]))).to.equal(0);
          }
          const r = b.map({ mode: 'read' });
          expect(findMismatch(r, seed)).to.equal(undefined);
          r.unmap();
          if (c.read!.access === 'direct') {
            expect(c.readResult!.ok, c.readResult!.error).to.equal(true);
            expect(c.readResult!.hash).to.equal(c.readHash);
          }
          row.passed = true;
        } catch (e) {
          row.error = (e as Error).message;
          throw e;
        }
      });
    }
  });
}

describe('hardware buffers on real drivers', function () {
  const unavailable = drmUnavailableReason();
  let fdsBefore: number[] = [];

  before(function () {
    fdsBefore = openFds();
    if (unavailable && udmabufUnavailableReason()) {
      console.log(`    skipping the driver suite: DRM not available here (${unavailable}); run it in the VM with npm run test:drivers`);
      this.skip();
    }
  });

  after(() => {
    if (rows.length === 0) return;
    mkdirSync(RESULTS_DIR, { recursive: true });
    const file = join(RESULTS_DIR, `results-${KERNEL}.json`);
    writeFileSync(file, `${JSON.stringify({ kernel: KERNEL, width: WIDTH, height: HEIGHT, rows }, null, 1)}\n`);
    console.log(`    results: ${file}`);
  });

  if (!unavailable) {
    for (const node of listDrmNodes().filter((n) => n.type === 'card')) {
      let driver = '?';
      try {
        driver = describeNode(node).driver.name;
      } catch {
        // Reported by the tests themselves.
      }
      roundTrip(node.path, driver, () => new DumbAllocator({ device: node.path }), 'dumb');
      roundTrip(node.path, driver, () => new GbmAllocator({ device: node.path }), 'gbm');
    }
  }
  if (!udmabufUnavailableReason()) roundTrip('udmabuf', 'udmabuf', () => new UdmabufAllocator(), 'udmabuf');

  // Last: nested suites run in order, each closing what it opened in its after hook.
  describe('afterwards', () => {
    it('leaves no fd behind', function () {
      if (unavailable && udmabufUnavailableReason()) this.skip();
      expect(openFds().filter((fd) => !fdsBefore.includes(fd))).to.deep.equal([]);
    });
  });
});
