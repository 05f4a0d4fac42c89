/**
 * npm run bench [-- options]: every measurement next to its baseline, in the same
 * run, repeated; prints a Markdown table and writes a JSON file.
 *
 *   --quick         few iterations and small sizes: proves every measurement
 *                   still runs (CI). Figures are not meaningful; writes
 *                   bench/results-quick.json unless --out says otherwise.
 *   --filter RE     only measurements/rows whose id matches RE (repeatable)
 *   --runs N        paired runs per row (default 7; --quick: 5; at least 5 unless --quick)
 *   --out FILE      where to write the JSON (default bench/results.json)
 *   --timeout S     time limit of every measurement, in seconds (default: each
 *                   measurement's own; raise it in slow environments such as a
 *                   TCG VM, where the hardware-buffer rows can run)
 *   --list          print the measurement ids and exit
 *
 * Output ends with two lines:
 *   targets: M met, X missed, R reported (no target)
 *   P passed, F failed, S skipped
 * where "passed" counts measurements that ran and produced figures (whether or not
 * they met their target), "failed" those that crashed or hung, "skipped" those
 * that cannot run here (the reason is in the table).
 *
 * Exit status: 1 if any measurement crashed; otherwise, in a full run, 2 if any
 * target was missed; otherwise 0. --quick never fails on a missed target: CI
 * machines are too noisy for ratios to mean anything there.
 */
import { execFileSync } from 'node:child_process';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { machineInfo } from './machine';
import type { BenchContext } from './measurement';
import { measurements } from './measurements';
import type { Row } from './result';
import { idFilter, runMeasurement, tally } from './runner';
import { renderTable } from './table';

interface Options {
  quick: boolean;
  filters: string[];
  runs: number | undefined;
  out: string | undefined;
  timeout: number | undefined;
  list: boolean;
}

function usage(message: string): never {
  process.stderr.write(`bench: ${message}\nusage: npm run bench -- [--quick] [--filter RE]... [--runs N] [--out FILE] [--timeout S] [--list]\n`);
  process.stdout.write('0 passed, 1 failed, 0 skipped\n');
  process.exit(1);
}

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { quick: false, filters: [], runs: undefined, out: undefined, timeout: undefined, list: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => argv[++i] ?? usage(`${a} needs a value`);
    if (a === '--quick') o.quick = true;
    else if (a === '--list') o.list = true;
    else if (a === '--filter') o.filters.push(value());
    else if (a === '--out') o.out = value();
    else if (a === '--timeout') {
      const n = Number(value());
      if (!(n > 0)) usage('--timeout needs a positive number of seconds');
      o.timeout = n;
    } else if (a === '--runs') {
      const n = Number(value());
      if (!Number.isInteger(n) || n < 1) usage('--runs needs a positive integer');
      o.runs = n;
    } else usage(`unknown option ${a}`);
  }
  if (o.runs !== undefined && o.runs < 5 && !o.quick) usage('a full run needs --runs >= 5 (medians of fewer runs say little)');
  return o;
}

/** The commit measured, with "+dirty" when the tree has changes; undefined outside a git checkout. */
function sourceRevision(): string | undefined {
  try {
    const git = (...args: string[]): string => execFileSync('git', args, { cwd: __dirname, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return `${git('rev-parse', '--short', 'HEAD')}${git('status', '--porcelain', '--untracked-files=no') ? '+dirty' : ''}`;
  } catch {
    return undefined;
  }
}

async function main(): Promise<number> {
  const options = parseArgs(process.argv.slice(2));
  if (options.list) {
    for (const m of measurements) process.stdout.write(`${m.id}\t${m.title}\n`);
    return 0;
  }
  const machine = machineInfo();
  const ctx: BenchContext = {
    quick: options.quick,
    runs: options.runs ?? (options.quick ? 5 : 7),
    machine,
    log: (message) => process.stderr.write(`[bench] ${message}\n`),
  };
  const selected = idFilter(options.filters);
  const started = Date.now();
  ctx.log(`${machine.cpuModel}, ${machine.cores} cores, LLC ${(machine.llcBytes / 2 ** 20).toFixed(0)} MiB, ${machine.kernel}, Node ${machine.node}, load ${machine.loadAverage.toFixed(2)}${options.quick ? ', quick mode' : ''}`);

  const rows: Row[] = [];
  for (const m of measurements) {
    // "--filter copy.full" runs the copy measurement and keeps only that row.
    const whole = selected(m.id);
    if (!whole && !options.filters.some((f) => f.startsWith(`${m.id}.`))) continue;
    const t0 = Date.now();
    const got = await runMeasurement(options.timeout !== undefined ? { ...m, run: m.run.bind(m), timeoutSeconds: options.timeout } : m, ctx);
    rows.push(...got.filter((r) => whole || r.status === 'crashed' || selected(r.id)));
    ctx.log(`${m.id}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  if (rows.length === 0) usage(`no measurement matches ${options.filters.join(', ')} (see --list)`);

  const t = tally(rows);
  const elapsed = (Date.now() - started) / 1000;
  const results = {
    date: new Date(started).toISOString(),
    revision: sourceRevision(),
    quick: options.quick,
    runs: ctx.runs,
    filters: options.filters,
    elapsedSeconds: elapsed,
    machine,
    summary: t,
    rows,
  };
  const out = options.out ?? join(__dirname, options.quick ? 'results-quick.json' : 'results.json');
  // Written whole or not at all: a crash mid-write must not leave half a file behind.
  writeFileSync(`${out}.tmp`, `${JSON.stringify(results, null, 2)}\n`);
  renameSync(`${out}.tmp`, out);

  process.stdout.write(`\n${renderTable(rows)}\n\n`);
  process.stdout.write(`${machine.cpuModel}, ${machine.cores} cores; ${machine.kernel}; Node ${machine.node}; ${ctx.runs} runs per row${options.quick ? ' (quick: figures not meaningful)' : ''}; ${elapsed.toFixed(1)} s; results in ${out}\n`);
  process.stdout.write(`targets: ${t.met} met, ${t.missed} missed, ${t.reported} reported (no target)\n`);
  process.stdout.write(`${t.ran} passed, ${t.crashed} failed, ${t.skipped} skipped\n`);
  if (t.crashed > 0) return 1;
  if (!options.quick && t.missed > 0) return 2;
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`bench: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    process.stdout.write('0 passed, 1 failed, 0 skipped\n');
    process.exit(1);
  },
);
