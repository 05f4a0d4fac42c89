/**
 * bufshare-probe's command line. Parsing is pure (no I/O) so that every usage
 * error is tested; a usage error exits 2.
 */
import { lookupFormat, type FormatInfo } from '../format';
import { MAX_DIMENSION } from '../layout';

export interface ProbeArgs {
  readonly json: boolean;
  readonly help: boolean;
  readonly version: boolean;
  /** Let the graphics libraries' own stderr through (Mesa's loader warnings). */
  readonly verbose: boolean;
  /** Exit 0 whenever the report was produced, whatever the verdict (for scripts that read the JSON). */
  readonly exitZero: boolean;
  /** Probe only this node (e.g. /dev/dri/card0). */
  readonly device?: string;
  readonly width: number;
  readonly height: number;
  readonly format: FormatInfo;
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const PROBE_USAGE = `Usage: bufshare-probe [options]

Tries, for real, every buffer allocation, export and CPU-mapping path on each DRM
node of this machine (and the machine-wide ones: memfd seals, udmabuf, dma-buf
heaps), and says which buffer kinds work and which access strategy each gets.

Options:
  --json            machine-readable report (schema: docs/probe-schema.md)
  --device PATH     probe only this node (e.g. /dev/dri/card0): the verdict and
                    the exit status count only its buffers, not udmabuf
  --size WxH        size of the test buffers (default 256x256)
  --format NAME     format of the test buffers (default XRGB8888)
  --verbose         show what the graphics libraries print on stderr (hidden by default)
  --exit-zero       exit 0 whenever the report was produced (read the verdict from it)
  --version         print the version and exit
  -h, --help        print this help and exit

Exit status (with or without --json): 0 when at least one hardware path works
(verdict.hardware), 1 when none does, 2 for usage errors; with --exit-zero, 0
whenever the report was produced.
Environment: NO_COLOR disables colour (colour is only used on a terminal);
BUFSHARE_ACCESS=shadow makes every verdict shadow, as it does for the allocators
(the report says so at the top).
More: the README and docs/probe-schema.md in the package (node_modules/bufshare/).`;

export function parseProbeArgs(argv: readonly string[]): ProbeArgs {
  let json = false;
  let help = false;
  let version = false;
  let verbose = false;
  let exitZero = false;
  let device: string | undefined;
  let width = 256;
  let height = 256;
  let format = lookupFormat('XRGB8888')!;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const inline = eq > 0 ? arg.slice(eq + 1) : undefined;
    const value = (): string => {
      if (inline !== undefined) return inline;
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${name} needs a value`);
      return v;
    };
    switch (name) {
      case '--json': json = true; break;
      case '-h': case '--help': help = true; break;
      case '--version': case '-V': version = true; break;
      case '-v': case '--verbose': verbose = true; break;
      case '--exit-zero': exitZero = true; break;
      case '--device': device = value(); break;
      case '--size': {
        const v = value();
        const m = /^(\d{1,5})x(\d{1,5})$/.exec(v);
        if (!m) throw new UsageError(`--size must look like 256x256, got ${JSON.stringify(v)}`);
        width = Number(m[1]);
        height = Number(m[2]);
        if (width < 1 || height < 1 || width > MAX_DIMENSION || height > MAX_DIMENSION) {
          throw new UsageError(`--size must be within 1x1..${MAX_DIMENSION}x${MAX_DIMENSION}, got ${v}`);
        }
        break;
      }
      case '--format': {
        const v = value();
        const f = lookupFormat(v);
        if (!f) throw new UsageError(`unknown --format ${JSON.stringify(v)}`);
        format = f;
        break;
      }
      default:
        throw new UsageError(`unknown option ${JSON.stringify(arg)}`);
    }
    if (inline !== undefined && !['--device', '--size', '--format'].includes(name)) throw new UsageError(`${name} takes no value`);
  }
  return { json, help, version, verbose, exitZero, width, height, format, ...(device !== undefined ? { device } : {}) };
}
