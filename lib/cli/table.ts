/**
 * Aligned text tables and optional colour for terminal output.
 * Colour only when writing to a TTY and NO_COLOR is unset (https://no-color.org).
 */

export type Tone = 'ok' | 'fail' | 'warn' | 'dim' | 'bold' | 'plain';

const CODES: Record<Tone, [string, string]> = {
  ok: ['\x1b[32m', '\x1b[39m'],
  fail: ['\x1b[31m', '\x1b[39m'],
  warn: ['\x1b[33m', '\x1b[39m'],
  dim: ['\x1b[2m', '\x1b[22m'],
  bold: ['\x1b[1m', '\x1b[22m'],
  plain: ['', ''],
};

export interface Painter {
  readonly color: boolean;
  paint(text: string, tone: Tone): string;
}

export function wantsColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && (env.NO_COLOR === undefined || env.NO_COLOR === '') && env.TERM !== 'dumb';
}

export function painter(color: boolean): Painter {
  return { color, paint: (text, tone) => (color && tone !== 'plain' ? CODES[tone][0] + text + CODES[tone][1] : text) };
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;
export function visibleLength(s: string): number {
  return s.replace(ANSI, '').length;
}

/** Columns padded to their widest cell (ANSI colour codes do not count), two spaces apart. */
export function renderTable(rows: readonly (readonly string[])[], indent = ''): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, visibleLength(cell))));
  return rows
    .map((row) => indent + row.map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat(widths[i]! - visibleLength(cell)))).join('  ').trimEnd())
    .join('\n');
}
