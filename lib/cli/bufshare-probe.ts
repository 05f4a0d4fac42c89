#!/usr/bin/env node
/**
 * bufshare-probe: what really works on this machine's DRM drivers.
 * Exit 0: at least one hardware path works; 1: none does; 2: usage error;
 * --exit-zero: 0 whenever the report was produced.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { probeMachine } from '../probe';
import { parseProbeArgs, PROBE_USAGE, UsageError } from './args';
import { probeKms, renderKmsReport } from './kms-report';
import { renderProbeReport } from './probe-report';
import { withQuietStderr } from './quiet-stderr';
import { wantsColor } from './table';

function packageVersion(): string {
  // dist/lib/cli -> package root, and lib/cli when run from source.
  for (const up of [['..', '..', '..'], ['..', '..']]) {
    try {
      const pkg = JSON.parse(readFileSync(join(__dirname, ...up, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'bufshare' && pkg.version) return pkg.version;
    } catch {
      // try the next candidate
    }
  }
  return 'unknown';
}

export function main(argv: readonly string[]): number {
  let args;
  try {
    args = parseProbeArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`bufshare-probe: ${e.message}\n\n${PROBE_USAGE}\n`);
      return 2;
    }
    throw e;
  }
  if (args.help) {
    process.stdout.write(`${PROBE_USAGE}\n`);
    return 0;
  }
  if (args.version) {
    process.stdout.write(`bufshare-probe ${packageVersion()}\n`);
    return 0;
  }
  const probe = (): ReturnType<typeof probeMachine> => probeMachine({
    width: args.width, height: args.height, format: args.format.name, ...(args.device !== undefined ? { device: args.device } : {}),
  });
  const report = args.verbose ? probe() : withQuietStderr(probe);
  const kms = report.drm.available ? (args.verbose ? probeKms(args.device) : withQuietStderr(() => probeKms(args.device))) : [];
  if (args.json) {
    process.stdout.write(`${JSON.stringify({ tool: 'bufshare-probe', version: packageVersion(), ...report, kms }, null, 2)}\n`);
  } else {
    process.stdout.write(`${renderProbeReport(report, packageVersion(), wantsColor(process.stdout))}\n\n${renderKmsReport(kms, wantsColor(process.stdout))}\n`);
  }
  return report.verdict.hardware || args.exitZero ? 0 : 1;
}

if (require.main === module) {
  process.exitCode = main(process.argv.slice(2));
}
