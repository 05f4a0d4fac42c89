/**
 * bufshare-probe's KMS section: per card node, what it can display and which
 * buffers it can scan out (lib/kms/probe-kms). Its own module so the probe's
 * main report stays as it is; bufshare-probe calls it once.
 */
import { listDrmNodes } from '../drm/nodes';
import { probeKmsCard, type KmsCardReport, type Outcome } from '../kms/probe-kms';
import { painter, renderTable, type Painter } from './table';

/** The KMS report of every card node (or only `device`). */
export function probeKms(device?: string): KmsCardReport[] {
  const paths = device !== undefined ? [device] : listDrmNodes().filter((n) => n.type === 'card').map((n) => n.path);
  return paths.filter((p) => !/renderD\d+$/.test(p)).map(probeKmsCard);
}

function cell(o: Outcome | undefined, p: Painter): string {
  if (o === undefined) return p.paint('-', 'dim');
  return o === 'ok' ? p.paint('yes', 'ok') : p.paint(`no: ${o.error}`, 'fail');
}

const yes = (b: boolean | undefined, p: Painter): string => (b ? p.paint('yes', 'ok') : p.paint('no', 'warn'));

export function renderKmsReport(reports: readonly KmsCardReport[], color: boolean): string {
  const p = painter(color);
  const lines: string[] = [p.paint('KMS (display output)', 'bold')];
  if (reports.length === 0) lines.push('  no card nodes');
  for (const r of reports) {
    if (r.unavailable) {
      lines.push(`  ${r.path}${r.driver ? ` (${r.driver})` : ''}: ${p.paint(r.unavailable, 'dim')}`);
      continue;
    }
    lines.push(`  ${p.paint(r.path, 'bold')} (${r.driver}): atomic ${yes(r.atomic, p)}, universal planes ${yes(r.universalPlanes, p)}, writeback connectors ${(r.writeback ?? []).length}, ADDFB2 modifiers ${yes(r.addfb2Modifiers, p)}, master ${yes(r.master, p)}`);
    for (const c of r.connectors ?? []) {
      const shown = c.modes.slice(0, 6).join(' ');
      lines.push(`    connector ${c.name} ${c.status}${c.monitorName ? ` "${c.monitorName}"` : ''}: ${c.modes.length} modes${c.preferred ? `, preferred ${c.preferred}` : ''}${shown ? ` (${shown}${c.modes.length > 6 ? ' ...' : ''})` : ''}`);
    }
    for (const w of r.writeback ?? []) lines.push(`    writeback ${w.name}: ${w.formats.join(' ')}`);
    lines.push(`    ${r.crtcs ?? 0} CRTC(s)`);
    for (const pl of r.planes ?? []) {
      const mods = pl.modifiers ? ` modifiers: ${[...new Set(Object.values(pl.modifiers).flat())].join(', ')}` : '';
      lines.push(`    plane ${pl.id} ${pl.type}${pl.zpos !== undefined ? ` zpos ${pl.zpos}` : ''}${pl.damageClips ? ', damage clips' : ''}: ${pl.formats.join(' ')}${mods}`);
    }
    if (r.scanout && r.scanout.length > 0) {
      lines.push(`    scanout on ${r.pipe}:`);
      const rows = [['BUFFER', 'FORMAT', 'MODIFIER', 'ADDFB2', 'TEST_ONLY'].map((h) => p.paint(h, 'dim'))];
      for (const s of r.scanout) rows.push([s.buffer, s.format, s.modifier ?? '-', cell(s.addfb2, p), cell(s.testOnly, p)]);
      lines.push(renderTable(rows, '      '));
    }
    if (r.scanoutSkipped) lines.push(`    scanout: ${p.paint(r.scanoutSkipped, 'dim')}`);
  }
  return lines.join('\n');
}
