/**
 * The input benchmark row (bench/measurements/input-latency.ts) needs the VM's
 * virtio keyboard and the harness' QMP channel, so the host's bench skips it:
 * here it runs in quick form, so that CI keeps it working. The figures are
 * reported, not judged (TCG); what is checked: the row ran, with positive figures,
 * the evdev -> client part below the whole request -> client trip.
 */
import { expect } from 'chai';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { runTs } from '../helpers/spawn';
import { screendumpUnavailableReason } from './support/screendump';

interface BenchRow { id: string; status: string; reason?: string; details?: Record<string, number> }

function virtioKeyboard(): boolean {
  if (!existsSync('/sys/class/input')) return false;
  return readdirSync('/sys/class/input').some((n) => /^event\d+$/.test(n) && existsSync(`/sys/class/input/${n}/device/name`) &&
    readFileSync(`/sys/class/input/${n}/device/name`, 'utf8').trim() === 'QEMU Virtio Keyboard');
}

describe('input benchmark row (npm run bench -- --quick --filter input)', function () {
  this.timeout(240000);
  const why = screendumpUnavailableReason() ?? (virtioKeyboard() ? undefined : 'no QEMU Virtio Keyboard (test/vm/run.sh --input)');
  if (why) {
    it.skip(`no injectable input here (${why})`, () => {});
    return;
  }

  it('input.key.latency runs: QMP key -> evdev -> wl_keyboard.key', async () => {
    const out = join(tmpdir(), `input-bench-${process.pid}.json`);
    const r = await runTs('bench/run.ts', ['--quick', '--filter', 'input', '--out', out]);
    expect(r.code, `bench exit ${r.code}\n${r.stdout}\n${r.stderr}`).to.equal(0);
    const rows = (JSON.parse(readFileSync(out, 'utf8')) as { rows: BenchRow[] }).rows;
    const row = rows.find((x) => x.id === 'input.key.latency');
    expect(row?.status, row?.reason).to.equal('reported');
    const d = row!.details!;
    expect(d.evdevToClientP50Ms).to.be.greaterThan(0);
    expect(d.requestToClientP50Ms).to.be.greaterThan(d.evdevToClientP50Ms!);
    console.log(`      ${row!.reason}`);
  });
});
