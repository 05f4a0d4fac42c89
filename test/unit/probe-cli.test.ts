import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseProbeArgs, UsageError } from '../../lib/cli/args';
import { renderProbeReport } from '../../lib/cli/probe-report';
import { renderTable, wantsColor } from '../../lib/cli/table';
import { decideAccess, machineVerdict, probeMachine, PROBE_SCHEMA_VERSION, type KindProbe, type PathResult, type ProbeReport } from '../../lib/probe';
import { openFdCount } from '../helpers/fds';

const ROOT = join(__dirname, '..', '..');
const hasDrm = existsSync('/dev/dri');

function probeCli(args: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--require', 'tsx/cjs', join(ROOT, 'lib/cli/bufshare-probe.ts'), ...args], {
    cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 30000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The documented schema (docs/probe-schema.md), checked field by field. */
function checkSchema(r: Record<string, unknown>): void {
  expect(r.tool).to.equal('bufshare-probe');
  expect(r.schemaVersion).to.equal(PROBE_SCHEMA_VERSION);
  expect(r.version).to.be.a('string');
  expect(r.kernel).to.have.keys('release', 'machine');
  expect(r.request).to.deep.equal({ width: 64, height: 32, format: 'RGB565' });
  expect(r.drm).to.have.property('available').that.is.a('boolean');
  expect(r.nodes).to.be.an('array');
  const isPath = (p: unknown): void => {
    expect(p).to.be.an('object').with.property('ok').that.is.a('boolean');
    const o = p as Record<string, unknown>;
    if (!o.ok) expect('skipped' in o || ('call' in o && 'errno' in o), JSON.stringify(o)).to.equal(true);
  };
  const isKind = (k: Record<string, unknown>): void => {
    const c = k.capability as Record<string, unknown>;
    for (const f of ['allocate', 'exportReadWrite', 'exportReadOnly', 'dmabufMmapRead', 'dmabufMmapWrite']) isPath(c[f]);
    const v = k.verdict as Record<string, unknown>;
    expect(v.usable).to.be.a('boolean');
    if (v.usable) expect(v.clientAccess).to.be.oneOf(['direct', 'shadow']);
    else expect(v.reason).to.be.a('string');
  };
  for (const n of r.nodes as Record<string, unknown>[]) {
    expect(n.path).to.match(/^\/dev\//);
    isPath(n.open);
    isKind(n.dumb as Record<string, unknown>);
    isKind(n.gbm as Record<string, unknown>);
  }
  const m = r.machine as Record<string, Record<string, unknown>>;
  isPath(m.memfd);
  isKind(m.udmabuf!);
  isPath(m.dmaHeaps!.available);
  const v = r.verdict as Record<string, unknown>;
  expect(v.hardware).to.be.a('boolean');
  expect(v.software).to.equal((m.memfd as { ok: boolean }).ok);
  expect(v.usable).to.be.an('array');
  if (!v.hardware) expect(v.reason).to.be.a('string').and.not.equal('');
}

describe('bufshare-probe', function () {
  this.timeout(30000);

  describe('arguments', () => {
    it('has defaults and parses every option, with = or a separate value', () => {
      expect(parseProbeArgs([])).to.deep.include({ json: false, width: 256, height: 256 });
      const a = parseProbeArgs(['--json', '--device', '/dev/dri/card1', '--size=640x480', '--format', 'rgb565']);
      expect(a).to.deep.include({ json: true, device: '/dev/dri/card1', width: 640, height: 480 });
      expect(a.format.name).to.equal('RGB565');
      expect(parseProbeArgs(['-h']).help).to.equal(true);
      expect(parseProbeArgs(['--version']).version).to.equal(true);
      expect(parseProbeArgs([]).verbose).to.equal(false);
      expect(parseProbeArgs(['--verbose']).verbose).to.equal(true);
      expect(parseProbeArgs([]).exitZero).to.equal(false);
      expect(parseProbeArgs(['--json', '--exit-zero']).exitZero).to.equal(true);
    });

    it('refuses what it does not understand', () => {
      for (const bad of [['--size', '0x10'], ['--size', '10'], ['--size', '99999x1'], ['--format', 'NV12'], ['--device'], ['--bogus'], ['--json=yes'], ['--exit-zero=1'], ['extra']]) {
        expect(() => parseProbeArgs(bad), bad.join(' ')).to.throw(UsageError);
      }
    });
  });

  describe('verdict', () => {
    const OK: PathResult = { ok: true };
    const working: KindProbe['capability'] = {
      allocate: OK, exportReadWrite: OK, exportReadOnly: { ok: false, skipped: 'rw worked' }, dmabufMmapRead: OK, dmabufMmapWrite: OK, serverMaps: { direct: OK },
    };
    const udmabuf: KindProbe = { capability: working, verdict: decideAccess({ kind: 'udmabuf', driver: '', capability: working }) };
    const memfd: PathResult = OK;

    it('a machine-wide udmabuf counts for the machine, not for a --device scope (a missing card9 is not hardware)', () => {
      expect(machineVerdict({ nodes: [], udmabuf, memfd }).hardware).to.equal(true);
      const scoped = machineVerdict({ nodes: [], udmabuf, memfd, drmReason: 'no /dev/dri/card9', device: '/dev/dri/card9' });
      expect(scoped).to.deep.include({ hardware: false, usable: [], scope: '/dev/dri/card9', reason: 'DRM: no /dev/dri/card9' });
    });

    it('software comes from the memfd probe', () => {
      expect(machineVerdict({ nodes: [], udmabuf, memfd }).software).to.equal(true);
      expect(machineVerdict({ nodes: [], udmabuf, memfd: { ok: false, call: 'memfd_create', errno: 'ENOSYS', message: 'no memfd' } }).software).to.equal(false);
    });
  });

  describe('output', () => {
    it('colours only on a TTY, and never with NO_COLOR', () => {
      expect(wantsColor({ isTTY: true }, {})).to.equal(true);
      expect(wantsColor({ isTTY: true }, { NO_COLOR: '1' })).to.equal(false);
      expect(wantsColor({ isTTY: false }, {})).to.equal(false);
      expect(wantsColor({}, {})).to.equal(false);
      const report = probeMachine({ width: 16, height: 16 });
      expect(renderProbeReport(report, '1.2.3', false)).to.not.match(/\x1b\[/);
      expect(renderProbeReport(report, '1.2.3', true)).to.match(/\x1b\[1mbufshare-probe\x1b\[22m 1\.2\.3/);
    });

    it("hides what libraries write on fd 2 while probing, and restores stderr after (even on a throw)", () => {
      const script = `
        const { writeSync } = require('node:fs');
        const { withQuietStderr } = require('./lib/cli/quiet-stderr');
        withQuietStderr(() => writeSync(2, 'MESA-LOADER: noise\\n'));
        try { withQuietStderr(() => { writeSync(2, 'more noise\\n'); throw new Error('x'); }); } catch {}
        writeSync(2, 'after\\n');`;
      const r = spawnSync(process.execPath, ['--require', 'tsx/cjs', '-e', script], { cwd: ROOT, encoding: 'utf8' });
      expect(r.status, r.stderr).to.equal(0);
      expect(r.stderr).to.equal('after\n');
    });

    it('aligns columns, ignoring colour codes', () => {
      const t = renderTable([['a', 'bb', 'c'], ['\x1b[32mlonger\x1b[39m', 'x', 'y']]);
      expect(t.split('\n').map((l) => l.replace(/\x1b\[[0-9;]*m/g, ''))).to.deep.equal(['a       bb  c', 'longer  x   y']);
    });
  });

  describe('on this machine', () => {
    it('prints a report and exits 0 with hardware paths, 1 without (saying why)', function () {
      const r = probeCli([], { NO_COLOR: '1' });
      expect(r.stdout).to.match(/^bufshare-probe \d+\.\d+\.\d+: kernel /);
      expect(r.stdout).to.match(/software buffers: yes \(sealed memfd\)/);
      expect(r.stdout).to.match(/memfd \+ seals: ok/);
      if (hasDrm) {
        expect(r.status).to.be.oneOf([0, 1]);
      } else {
        expect(r.status, r.stderr).to.equal(1);
        expect(r.stdout).to.match(/DRM: not available: no \/dev\/dri/);
        expect(r.stdout).to.match(/hardware buffers: no: DRM: no \/dev\/dri/);
      }
    });

    it('--json follows the documented, versioned schema', () => {
      const r = probeCli(['--json', '--size', '64x32', '--format', 'RGB565']);
      expect(r.status).to.be.oneOf([0, 1]);
      const json = JSON.parse(r.stdout) as Record<string, unknown>;
      checkSchema(json);
      if (!hasDrm) {
        expect(json.drm).to.deep.equal({ available: false, reason: 'no /dev/dri' });
        expect(json.nodes).to.deep.equal([]);
        expect((json.verdict as ProbeReport['verdict']).hardware).to.equal(false);
      }
    });

    it('--exit-zero: exit 0 whenever the report was produced, with the same report', () => {
      const plain = probeCli(['--json', '--size', '16x16']);
      const zero = probeCli(['--json', '--size', '16x16', '--exit-zero']);
      expect(zero.status, zero.stderr).to.equal(0);
      const [a, b] = [JSON.parse(plain.stdout) as ProbeReport, JSON.parse(zero.stdout) as ProbeReport];
      expect(b.verdict.hardware).to.equal(a.verdict.hardware);
      expect(plain.status).to.equal(a.verdict.hardware ? 0 : 1);
      expect(probeCli(['--device', '/nonexistent/card9', '--exit-zero']).status).to.equal(0);
      expect(probeCli(['--size', 'big', '--exit-zero']).status).to.equal(2); // no report: still a usage error
    });

    it('BUFSHARE_ACCESS=shadow is announced at the top and in the JSON', () => {
      const text = probeCli([], { NO_COLOR: '1', BUFSHARE_ACCESS: 'shadow' });
      expect(text.stdout.split('\n')[1]).to.match(/^shadow forced \(BUFSHARE_ACCESS=shadow\)/);
      expect((JSON.parse(probeCli(['--json'], { BUFSHARE_ACCESS: 'shadow' }).stdout) as ProbeReport).forcedShadow).to.equal('BUFSHARE_ACCESS=shadow');
      expect(probeCli([], { NO_COLOR: '1' }).stdout).to.not.include('shadow forced');
      expect(JSON.parse(probeCli(['--json']).stdout)).to.not.have.property('forcedShadow');
    });

    it('--help, --version exit 0; usage errors exit 2 with the usage on stderr', () => {
      expect(probeCli(['--help'])).to.deep.include({ status: 0 }).and.have.property('stdout').that.match(/^Usage: bufshare-probe/);
      expect(probeCli(['--version']).stdout).to.match(/^bufshare-probe \d+\.\d+\.\d+\n$/);
      const bad = probeCli(['--size', 'big']);
      expect(bad.status).to.equal(2);
      expect(bad.stderr).to.match(/--size must look like 256x256[\s\S]*Usage:/);
      expect(bad.stdout).to.equal('');
    });

    it('a device that is not DRM: a clear failure, no hang', () => {
      for (const device of ['/dev/null', '/nonexistent/card9']) {
        const r = probeCli(['--json', '--device', device]);
        expect(r.status, r.stderr).to.equal(1);
        const json = JSON.parse(r.stdout) as ProbeReport;
        expect(json.verdict).to.deep.include({ hardware: false, scope: device });
        if (device === '/dev/null') {
          expect(json.nodes).to.have.length(1);
          expect(JSON.stringify(json.nodes[0])).to.match(/"ok":false/);
        } else {
          expect(json.drm).to.deep.equal({ available: false, reason: `no ${device}` });
        }
      }
    });

    it('leaves no fd or mapping behind in the probing process', () => {
      probeMachine({ width: 32, height: 32 }); // warm up lazy loads
      const before = openFdCount();
      probeMachine({ width: 32, height: 32 });
      probeMachine({ width: 32, height: 32, device: '/dev/null' });
      expect(openFdCount()).to.equal(before);
    });
  });
});
