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

function verdictCell(k: KindProbe, p: Painter, renderNode = false): string {
  const v = k.verdict;
  if (!v.usable) return p.paint('unusable', 'fail') + (renderNode ? p.paint(' (render node: use a card node)', 'dim') : '');
  return p.paint(v.clientAccess, v.clientAccess === 'direct' ? 'ok' : 'warn') + (v.readOnly ? p.paint(' (read-only dma-buf)', 'dim') : '');
}

function kindRow(first: readonly string[], kind: string, k: KindProbe, p: Painter, renderNode = false): string[] {
  const c = k.capability;
  return [...first, kind, cell(c.allocate, p), exportCell(k, p), cell(c.dmabufMmapRead, p), cell(c.dmabufMmapWrite, p), serverMapCell(k, p), verdictCell(k, p, renderNode)];
}

/** Why a render node refused an allocation, in words a user can act on. */
export const RENDER_NODE_HINT = 'render nodes refuse dumb buffers (and gbm needs them here): use a card node (/dev/dri/card*)';

function renderNodeRefused(n: NodeProbe): boolean {
  const refused = (r: PathResult): boolean => !r.ok && 'errno' in r && r.errno === 'EACCES';
  return n.type === 'render' && (refused(n.dumb.capability.allocate) || refused(n.gbm.capability.allocate));
}

interface FailureGroup {
  where: string;
  errno: string;
  names: string[];
  calls: string[];
  messages: string[];
  hint?: string;
}

/**
 * Every failure worth reading, one line per cause: the paths of one node (or of
 * the machine) that failed with the same errno failed for the same reason (no
 * PRIME on the driver: both exports; no dma-buf mmap: both mappings and the
 * sync map; a render node: every allocation), so they share a line:
 * "where: what failed: calls failed: errno (message) - hint".
 */
function failures(report: ProbeReport): string[] {
  const groups: FailureGroup[] = [];
  const add = (where: string, name: string, r: PathResult | undefined, hint?: string): void => {
    if (!r || r.ok || 'skipped' in r) return;
    let g = groups.find((x) => x.where === where && x.errno === r.errno);
    if (!g) {
      g = { where, errno: r.errno, names: [], calls: [], messages: [], ...(hint ? { hint } : {}) };
      groups.push(g);
    }
    g.names.push(name);
    if (!g.calls.includes(r.call)) g.calls.push(r.call);
    if (r.message && !r.message.includes(r.errno) && !g.messages.includes(r.message)) g.messages.push(r.message);
  };
  const kind = (where: string, prefix: string, k: KindProbe, hint?: string): void => {
    const c = k.capability;
    add(where, `${prefix}allocate`, c.allocate, hint);
    add(where, `${prefix}export rw`, c.exportReadWrite, hint);
    add(where, `${prefix}export ro`, c.exportReadOnly, hint);
    add(where, `${prefix}dma-buf mmap read`, c.dmabufMmapRead, hint);
    add(where, `${prefix}dma-buf mmap write`, c.dmabufMmapWrite, hint);
    for (const [name, r] of Object.entries(c.serverMaps)) add(where, `${prefix}${name}`, r, hint);
  };
  for (const n of report.nodes) {
    const hint = renderNodeRefused(n) ? RENDER_NODE_HINT : undefined;
    add(n.path, 'open', n.open);
    kind(n.path, 'dumb ', n.dumb, hint);
    add(n.path, 'gbm device', n.gbm.device, hint);
    add(n.path, 'gbm scanout', n.gbm.scanout, hint);
    kind(n.path, 'gbm ', n.gbm, hint);
  }
  add('machine', 'memfd', report.machine.memfd);
  kind('machine', 'udmabuf ', report.machine.udmabuf);
  for (const h of report.machine.dmaHeaps.heaps) add(`dma-heap ${h.name}`, 'allocate+map', h.result);
  return groups.map((g) => `${g.where} ${g.names.join(', ')}: ${g.calls.join(', ')} failed: ${g.errno}${g.messages.length ? ` (${g.messages.join('; ')})` : ''}${g.hint ? ` - ${g.hint}` : ''}`);
}

function nodeTitle(n: NodeProbe): string {
  return n.driver ? `${n.driver.name} ${n.driver.version}` : n.open.ok ? '?' : 'not DRM';
}

/** "yes", or "no (EACCES)": whether a kind really allocated, not what the driver claims. */
function allocates(r: PathResult): string {
  if (r.ok) return 'yes';
  return `no (${'errno' in r ? r.errno : r.skipped})`;
}

function nodeDetails(n: NodeProbe, p: Painter): string {
  const id = [n.sysfs.bus, n.sysfs.busId, n.sysfs.pciId, n.sysfs.driver && n.sysfs.driver !== n.driver?.name ? `sysfs driver ${n.sysfs.driver}` : undefined].filter(Boolean).join(' ');
  let caps: string;
  if (n.caps) {
    // The allocation tried, not DRM_CAP_DUMB_BUFFER: vgem fails that query yet
    // allocates, and render nodes answer yes yet refuse (EACCES).
    const dumbWorks = n.dumb.capability.allocate.ok;
    const capDisagrees = dumbWorks !== n.caps.dumbBuffer ? ` (DRM_CAP_DUMB_BUFFER says ${n.caps.dumbBuffer ? 'yes' : 'no'})` : '';
    const gbm = n.gbm.device.ok
      ? `gbm ${allocates(n.gbm.capability.allocate)}${n.gbm.backend ? ` (backend ${n.gbm.backend})` : ''}`
      : `gbm no (${describeResult(n.gbm.device)})`;
    caps = `dumb ${allocates(n.dumb.capability.allocate)}${capDisagrees}, ${gbm}, prime ${[n.caps.primeImport && 'import', n.caps.primeExport && 'export'].filter(Boolean).join('+') || 'none'}, addfb2 modifiers ${n.caps.addfb2Modifiers ? 'yes' : 'no'}`;
  } else {
    caps = describeResult(n.open);
  }
  const quirks = n.quirks.length ? `; quirks: ${n.quirks.map((q) => q.reason).join('; ')}` : '';
  const hint = renderNodeRefused(n) ? `\n    ${p.paint(RENDER_NODE_HINT, 'warn')}` : '';
  return `  ${p.paint(n.path, 'bold')}  ${n.type}  ${n.driver ? `${n.driver.name} ${n.driver.version} (${n.driver.description})` : ''}${id ? `  [${id}]` : ''}\n    caps: ${caps}${quirks}${hint}`;
}

export function renderProbeReport(report: ProbeReport, version: string, color: boolean): string {
  const p = painter(color);
  const lines: string[] = [];
  lines.push(`${p.paint('bufshare-probe', 'bold')} ${version}: kernel ${report.kernel.release} ${report.kernel.machine}, test buffers ${report.request.width}x${report.request.height} ${report.request.format}`);
  if (report.forcedShadow) lines.push(p.paint(`shadow forced (${report.forcedShadow}): every usable kind below is judged shadow, as the allocators will make it`, 'warn'));
  if (report.verdict.scope) lines.push(`scoped to ${report.verdict.scope} (--device): the verdict counts only its buffers`);
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
    const refused = renderNodeRefused(n);
    rows.push(kindRow([n.name, nodeTitle(n)], 'dumb', n.dumb, p, refused));
    rows.push(kindRow(['', ''], 'gbm', n.gbm, p, refused));
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
  lines.push(`  software buffers: ${v.software ? p.paint('yes', 'ok') + ' (sealed memfd)' : `${p.paint('no sealed memfd', 'fail')}: ${describeResult(report.machine.memfd)}`}`);
  return lines.join('\n');
}
