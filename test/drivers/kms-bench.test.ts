/**
 * The KMS benchmark rows (bench/measurements/kms-output.ts) need a display engine,
 * so the host's `npm run bench -- --quick` skips them: here they run on vkms
 * (6.12), in quick form, so that CI keeps them working. Figures are not checked
 * (TCG, quick), only what does not depend on speed: every row ran, and direct
 * scanout of a fullscreen client frame copied 0 bytes while composition copied
 * the whole frame.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { DrmDevice, drmUnavailableReason, listDrmNodes } from '../../lib';
import { runTs } from '../helpers/spawn';

interface BenchRow { id: string; status: string; reason?: string; details?: Record<string, unknown> }

function hasVkms(): boolean {
  return listDrmNodes().filter((n) => n.type === 'card').some((n) => {
    const d = DrmDevice.open(n.path);
    try {
      return d.driver.name === 'vkms';
    } finally {
      d.unref();
    }
  });
}

describe('KMS benchmark rows (npm run bench -- --quick --filter kms)', function () {
  this.timeout(240000);
  const why = drmUnavailableReason();
  if (why) {
    it.skip(`no DRM here (${why})`, () => {});
    return;
  }

  it('vkms: every row runs; direct scanout copies 0 bytes per frame, composition the whole frame', async function () {
    if (!hasVkms()) {
      console.log('      skipped: no vkms on this kernel (the harness builds it for 6.12)');
      this.skip();
    }
    const out = join(tmpdir(), `kms-bench-${process.pid}.json`);
    const r = await runTs('bench/run.ts', ['--quick', '--filter', 'kms', '--out', out]);
    expect(r.code, `bench exit ${r.code}\n${r.stdout}\n${r.stderr}`).to.equal(0);
    expect(r.stdout).to.include('4 passed, 0 failed, 0 skipped');
    const rows = (JSON.parse(readFileSync(out, 'utf8')) as { rows: BenchRow[] }).rows;
    const byId = new Map(rows.map((row) => [row.id, row]));
    expect([...byId.keys()].sort()).to.deep.equal(['kms.damage10', 'kms.direct.bytes', 'kms.direct.cpu', 'kms.flip.latency']);
    const bytes = byId.get('kms.direct.bytes')!;
    expect(bytes.status, bytes.reason).to.equal('met');
    expect(bytes.details!.directBytesPerFrame).to.equal(0);
    expect(bytes.details!.refusals).to.equal(0);
    expect(bytes.details!.compositedBytesPerFrame).to.equal(640 * 480 * 4);
    const latency = byId.get('kms.flip.latency')!;
    expect(latency.details!.flips as number).to.be.greaterThan(0);
    expect(latency.details!.p50Us as number).to.be.greaterThan(0);
  });
});
