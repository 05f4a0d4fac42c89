/**
 * The human form of a probe report: one row per node and buffer kind with the
 * outcome of each path, then the failures with the call and errno, then the
 * verdict. Meant to be pasted into bug reports, so it says what failed and how,
 * not only that it did.
 */
import { describeResult, verdictLabel, type KindProbe, type NodeProbe, type PathResult, type ProbeReport } from '../probe';
import { painter, renderTable, type Painter } from './table';

/** A path in one table cell: ok, the errno, or '-' when not tried. */
function cell(r: PathResult | undefined, p: Painter): string {
  if (r === undefined) return p.paint('-', 'dim');
  if (r.ok) return p.paint('ok', 'ok');
  if ('skipped' in r) return p.paint('-', 'dim');
  return p.paint(r.errno, 'fail');
}

function exportCell(k: KindProbe, p: Painter): string {
  const c = k.capability;
  if (c.exportReadWrite.ok) return p.paint('rw', 'ok');
  if (c.exportReadOnly.ok) return p.paint('ro', 'warn');
  return cell(c.exportReadWrite.ok ? c.exportReadWrite : 'skipped' in c.exportReadWrite ? c.exportReadOnly : c.exportReadWrite, p);
}

function serverMapCell(k: KindProbe, p: Painter): string {
  const maps = Object.entries(k.capability.serverMaps).filter(([name]) => name !== 'dmabuf-sync');
  if (maps.length === 0) return p.paint('-', 'dim');
  return maps.map(([name, r]) => (r!.ok ? p.paint(name, 'ok') : `${name} ${cell(r, p)}`)).join(' ');
}

function verdictCell(k: KindProbe, p: Painter): string {
  const v = k.verdict;
  if (!v.usable) return p.paint('unusable', 'fail');
  return p.paint(v.clientAccess, v.clientAccess === 'direct' ? 'ok' : 'warn') + (v.readOnly ? p.paint(' (read-only dma-buf)', 'dim') : '');
}

function kindRow(first: readonly string[], kind: string, k: KindProbe, p: Painter): string[] {
  const c = k.capability;
  return [...first, kind, cell(c.allocate, p), exportCell(k, p), cell(c.dmabufMmapRead, p), cell(c.dmabufMmapWrite, p), serverMapCell(k, p), verdictCell(k, p)];
}

/** Every failure worth reading, as "where: what failed: errno (message)". */
function failures(report: ProbeReport): string[] {
  const out: string[] = [];
  const add = (where: string, name: string, r: PathResult | undefined): void => {
    if (r && !r.ok && !('skipped' in r)) out.push(`${where} ${name}: ${r.call} failed: ${r.errno}${r.message && !r.message.includes(r.errno) ? ` (${r.message})` : ''}`);
  };
  const kind = (where: string, k: KindProbe): void => {
    const c = k.capability;
    add(where, 'allocate', c.allocate);
    add(where, 'export rw', c.exportReadWrite);
    add(where, 'export ro', c.exportReadOnly);
    add(where, 'dma-buf mmap read', c.dmabufMmapRead);
    add(where, 'dma-buf mmap write', c.dmabufMmapWrite);
    for (const [name, r] of Object.entries(c.serverMaps)) add(where, name, r);
  };
  for (const n of report.nodes) {
    add(n.path, 'open', n.open);
    kind(`${n.path} dumb`, n.dumb);
    add(`${n.path} gbm`, 'device', n.gbm.device);
    add(`${n.path} gbm`, 'scanout', n.gbm.scanout);
    kind(`${n.path} gbm`, n.gbm);
  }
  add('machine', 'memfd', report.machine.memfd);
  kind('machine udmabuf', report.machine.udmabuf);
  for (const h of report.machine.dmaHeaps.heaps) add(`dma-heap ${h.name}`, 'allocate+map', h.result);
  return out;
}

function nodeTitle(n: NodeProbe): string {
  return n.driver ? `${n.driver.name} ${n.driver.version}` : n.open.ok ? '?' : 'not DRM';
}

function nodeDetails(n: NodeProbe, p: Painter): string {
  const id = [n.sysfs.bus, n.sysfs.busId, n.sysfs.pciId, n.sysfs.driver && n.sysfs.driver !== n.driver?.name ? `sysfs driver ${n.sysfs.driver}` : undefined].filter(Boolean).join(' ');
  const caps = n.caps
    ? `dumb ${n.caps.dumbBuffer ? 'yes' : 'no'}, prime ${[n.caps.primeImport && 'import', n.caps.primeExport && 'export'].filter(Boolean).join('+') || 'none'}, addfb2 modifiers ${n.caps.addfb2Modifiers ? 'yes' : 'no'}`
    : describeResult(n.open);
  const quirks = n.quirks.length ? `; quirks: ${n.quirks.map((q) => q.reason).join('; ')}` : '';
  const gbm = n.gbm.backend ? `; gbm backend ${n.gbm.backend}` : '';
  return `  ${p.paint(n.path, 'bold')}  ${n.type}  ${n.driver ? `${n.driver.name} ${n.driver.version} (${n.driver.description})` : ''}${id ? `  [${id}]` : ''}\n    caps: ${caps}${gbm}${quirks}`;
}

export function renderProbeReport(report: ProbeReport, version: string, color: boolean): string {
  const p = painter(color);
  const lines: string[] = [];
  lines.push(`${p.paint('bufshare-probe', 'bold')} ${version}: kernel ${report.kernel.release} ${report.kernel.machine}, test buffers ${report.request.width}x${report.request.height} ${report.request.format}`);
  lines.push('');
  if (!report.drm.available) {
    lines.push(`DRM: ${p.paint(`not available: ${report.drm.reason ?? 'unknown'}`, 'warn')}`);
  } else {
    lines.push(p.paint('DRM nodes', 'bold'));
    for (const n of report.nodes) lines.push(nodeDetails(n, p));
  }
  lines.push('');
  const header = ['NODE', 'DRIVER', 'KIND', 'ALLOC', 'EXPORT', 'MMAP-R', 'MMAP-W', 'SERVER-MAP', 'CLIENT ACCESS'].map((h) => p.paint(h, 'dim'));
  const rows: string[][] = [header];
  for (const n of report.nodes) {
    rows.push(kindRow([n.name, nodeTitle(n)], 'dumb', n.dumb, p));
    rows.push(kindRow(['', ''], 'gbm', n.gbm, p));
  }
  rows.push(kindRow(['(machine)', ''], 'udmabuf', report.machine.udmabuf, p));
  lines.push(renderTable(rows));
  lines.push('');
  const heaps = report.machine.dmaHeaps;
  lines.push(`memfd + seals: ${cell(report.machine.memfd, p)}   dma-buf heaps: ${heaps.available.ok ? heaps.heaps.map((h) => `${h.name} ${cell(h.result, p)}`).join(', ') || 'none' : p.paint(describeResult(heaps.available), 'dim')}`);
  const fails = failures(report);
  if (fails.length) {
    lines.push('');
    lines.push(p.paint('Failures', 'bold'));
    for (const f of fails) lines.push(`  ${f}`);
  }
  lines.push('');
  lines.push(p.paint('Verdict', 'bold'));
  const v = report.verdict;
  if (v.best) {
    const b = v.best;
    lines.push(`  hardware buffers: ${p.paint('yes', 'ok')}; best: ${b.kind}${b.device ? ` on ${b.device}` : ''}${b.driver ? ` (${b.driver})` : ''}, client ${b.clientAccess}, server ${b.serverMapping}`);
    for (const u of v.usable.slice(1)) lines.push(`    also: ${u.kind}${u.device ? ` on ${u.device}` : ''}${u.driver ? ` (${u.driver})` : ''}, client ${u.clientAccess}, server ${u.serverMapping}`);
    for (const n of report.nodes) {
      for (const k of [n.dumb, n.gbm]) if (k.verdict.usable && k.verdict.reasons.length) lines.push(`    ${n.name} ${k.verdict.kind}: ${verdictLabel(k.verdict)}: ${k.verdict.reasons.join('; ')}`);
    }
  } else {
    lines.push(`  hardware buffers: ${p.paint('no', 'fail')}: ${v.reason ?? 'none usable'}`);
  }
  lines.push(`  software buffers: ${v.software ? p.paint('yes', 'ok') + ' (sealed memfd)' : p.paint('no', 'fail')}`);
  return lines.join('\n');
}
