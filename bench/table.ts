/**
 * The results as a Markdown table: readable in a terminal, and pasted as is into
 * docs/performance.md.
 */
import type { Row } from './result';
import type { Summary } from './stats';

/** 3 significant digits, no exponent for everyday magnitudes. */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (Number.isInteger(v) || a >= 1000) return Math.round(v).toLocaleString('en-US');
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  if (a === 0) return '0';
  return v.toPrecision(3);
}

/** "9.87 GB/s ±4%": the median, and half the runs' range relative to it. */
export function formatSummary(s: Summary | undefined, unit: string): string {
  if (!s) return '-';
  if (s.values.length === 1) return `${formatNumber(s.median)}${unit ? ` ${unit}` : ''}`;
  const half = Math.round((s.spread / 2) * 100);
  return `${formatNumber(s.median)}${unit ? ` ${unit}` : ''} ±${half}%`;
}

function formatRatio(s: Summary | undefined): string {
  if (!s) return '-';
  return `${s.median.toFixed(2)}x (${s.min.toFixed(2)}-${s.max.toFixed(2)})`;
}

function formatResult(row: Row): string {
  switch (row.status) {
    case 'met':
      return row.reason ? `met: ${row.reason}` : 'met';
    case 'missed':
      return row.reason ? `**missed**: ${row.reason}` : '**missed**';
    case 'reported':
      return row.reason ?? 'reported';
    case 'skipped':
      return `skipped: ${row.reason ?? ''}`;
    case 'crashed':
      return `**crashed**: ${row.reason ?? ''}`;
  }
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function renderTable(rows: readonly Row[]): string {
  const header = ['measurement', 'bufshare', 'baseline (same run)', 'ratio (range)', 'target', 'result'];
  const body = rows.map((r) => [
    r.title,
    formatSummary(r.subject, r.unit),
    r.baseline ? `${formatSummary(r.baseline, r.unit)}: ${r.baselineTitle}` : r.baselineTitle,
    formatRatio(r.ratio),
    r.target ? `${r.target.op} ${r.target.value}x` : r.targetText ?? '-',
    formatResult(r),
  ].map(escapeCell));
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((cells) => cells[i]!.length)));
  const line = (cells: readonly string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}
