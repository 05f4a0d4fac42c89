/**
 * bufshare-probe's command line on real drivers (the VM's vgem, virtio, bochs,
 * qxl, cirrus, and their render nodes): what the text report says must be what
 * was tried, one cause gives one line, --device scopes the verdict and the exit
 * status, and BUFSHARE_ACCESS=shadow is announced.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { drmUnavailableReason, listDrmNodes, udmabufUnavailableReason, type probe } from '../../lib';

const ROOT = join(__dirname, '..', '..');
const unavailable = drmUnavailableReason();

function probeCli(args: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--require', 'tsx/cjs', join(ROOT, 'lib/cli/bufshare-probe.ts'), ...args], {
    cwd: ROOT, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', ...env }, timeout: 120000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('bufshare-probe on real drivers', function () {
  this.timeout(240000);
  let text = '';
  let report: probe.ProbeReport;

  before(function () {
    if (unavailable) {
      console.log(`    skipping: DRM not available here (${unavailable}); run it in the VM with npm run test:drivers`);
      this.skip();
    }
    const t = probeCli(['--size', '64x64']);
    expect(t.status, t.stderr).to.be.oneOf([0, 1]);
    text = t.stdout;
    const j = probeCli(['--json', '--size', '64x64']);
    report = JSON.parse(j.stdout) as probe.ProbeReport;
  });

  it('the caps line says what allocation did, not what the cap query said', () => {
    for (const n of report.nodes) {
      const caps = text.split('\n').find((l, i, all) => all[i - 1]?.trimStart().startsWith(`${n.path} `) && l.trimStart().startsWith('caps:'));
      expect(caps, n.path).to.be.a('string');
      const dumb = n.dumb.capability.allocate;
      expect(caps!, n.path).to.include(dumb.ok ? 'dumb yes' : 'dumb no (');
      if (n.caps && n.caps.dumbBuffer !== dumb.ok) expect(caps!, n.path).to.include(`DRM_CAP_DUMB_BUFFER says ${n.caps.dumbBuffer ? 'yes' : 'no'}`);
      if (n.gbm.device.ok) expect(caps!, n.path).to.include(n.gbm.capability.allocate.ok ? 'gbm yes' : 'gbm no (');
      if (n.type === 'render') expect(caps!, n.path).to.match(/dumb no \(EACCES\).*gbm no \(EACCES\)/);
    }
    // vgem fails DRM_CAP_DUMB_BUFFER yet allocates: the line must say so.
    const vgemCard = report.nodes.find((n) => n.type === 'card' && n.driver?.name === 'vgem');
    if (vgemCard) expect(vgemCard.dumb.capability.allocate.ok).to.equal(true);
  });

  it('render nodes carry the "use a card node" hint in the details, the table and the failure line', () => {
    const render = report.nodes.filter((n) => n.type === 'render');
    expect(render.length).to.be.greaterThan(0);
    for (const n of render) {
      const rows = text.split('\n').filter((l) => l.startsWith(`${n.name} `));
      expect(rows.join('\n'), n.name).to.include('unusable (render node: use a card node)');
      const failure = text.split('\n').filter((l) => l.trimStart().startsWith(`${n.path} `) && l.includes('failed:'));
      expect(failure, n.path).to.have.length(1); // one cause (EACCES), one line
      expect(failure[0]).to.include('dumb allocate').and.include('gbm allocate').and.include('use a card node');
    }
  });

  it('one cause, one line: no two failure lines for one node and errno', () => {
    const section = text.slice(text.indexOf('\nFailures\n'), text.indexOf('\nVerdict\n'));
    const keys = section.split('\n').filter((l) => l.includes(' failed: ')).map((l) => {
      const m = /^ {2}(\S+) .* failed: (\S+)/.exec(l);
      return m ? `${m[1]} ${m[2]}` : l;
    });
    expect(keys.length).to.be.greaterThan(0);
    expect(new Set(keys).size, section).to.equal(keys.length);
  });

  it('--device scopes the verdict and the exit status: a missing node exits 1 even where udmabuf works; --exit-zero exits 0', () => {
    const missing = probeCli(['--json', '--device', '/dev/dri/card9']);
    expect(missing.status, missing.stderr).to.equal(1);
    const r = JSON.parse(missing.stdout) as probe.ProbeReport;
    expect(r.verdict).to.deep.include({ hardware: false, scope: '/dev/dri/card9', usable: [] });
    if (!udmabufUnavailableReason()) expect(r.machine.udmabuf.verdict.usable, 'udmabuf works on this kernel').to.equal(true);
    expect(probeCli(['--device', '/dev/dri/card9', '--exit-zero']).status).to.equal(0);

    const card = report.verdict.best?.device;
    expect(card, 'a usable card node').to.be.a('string');
    const scoped = probeCli(['--json', '--size', '64x64', '--device', card!]);
    expect(scoped.status, scoped.stderr).to.equal(0);
    const s = JSON.parse(scoped.stdout) as probe.ProbeReport;
    expect(s.verdict.usable.length).to.be.greaterThan(0);
    for (const u of s.verdict.usable) expect(u.device).to.equal(card);

    const renderNode = listDrmNodes().find((n) => n.type === 'render');
    if (renderNode) expect(probeCli(['--device', renderNode.path]).status, 'a render node refuses every allocation').to.equal(1);
  });

  it('BUFSHARE_ACCESS=shadow: announced at the top, and every usable verdict is shadow', () => {
    const t = probeCli(['--size', '64x64'], { BUFSHARE_ACCESS: 'shadow' });
    expect(t.stdout.split('\n')[1]).to.match(/^shadow forced \(BUFSHARE_ACCESS=shadow\)/);
    const j = JSON.parse(probeCli(['--json', '--size', '64x64'], { BUFSHARE_ACCESS: 'shadow' }).stdout) as probe.ProbeReport;
    expect(j.forcedShadow).to.equal('BUFSHARE_ACCESS=shadow');
    expect(j.verdict.usable.length).to.be.greaterThan(0);
    for (const u of j.verdict.usable) expect(u.clientAccess).to.equal('shadow');
  });

  it('software buffers: the memfd probe decides', () => {
    expect(report.verdict.software).to.equal(report.machine.memfd.ok);
    expect(text).to.include(report.verdict.software ? 'software buffers: yes (sealed memfd)' : 'software buffers: no sealed memfd');
  });
});
