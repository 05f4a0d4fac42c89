/** What the figures were measured on: they mean little without it. */
import { readFileSync } from 'node:fs';
import * as os from 'node:os';

export interface MachineInfo {
  readonly cpuModel: string;
  readonly cores: number;
  /** Last-level cache in bytes, from sysfs; 0 if unknown. */
  readonly llcBytes: number;
  readonly memoryBytes: number;
  readonly kernel: string;
  readonly node: string;
  readonly v8: string;
  /** 1-minute load average when the run started: above the core count, expect noisy figures. */
  readonly loadAverage: number;
  readonly hypervisor: boolean;
}

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}

/** Sizes in sysfs look like "32768K" or "2M". */
export function parseCacheSize(text: string): number {
  const m = /^\s*(\d+)\s*([KMG]?)/i.exec(text);
  if (!m) return 0;
  const unit = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[2]!.toUpperCase() as '' | 'K' | 'M' | 'G'];
  return Number(m[1]) * unit;
}

/** The largest cache CPU 0 sees (the LLC); 0 if sysfs does not say. */
export function lastLevelCacheBytes(): number {
  let largest = 0;
  for (let index = 0; index < 8; index++) {
    const size = readOr(`/sys/devices/system/cpu/cpu0/cache/index${index}/size`, '');
    if (size !== '') largest = Math.max(largest, parseCacheSize(size));
  }
  return largest;
}

export function machineInfo(): MachineInfo {
  const cpuinfo = readOr('/proc/cpuinfo', '');
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  return {
    cpuModel: model.trim(),
    cores: os.availableParallelism(),
    llcBytes: lastLevelCacheBytes(),
    memoryBytes: os.totalmem(),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    v8: process.versions.v8,
    loadAverage: os.loadavg()[0]!,
    hypervisor: /^flags\s*:.*\bhypervisor\b/m.test(cpuinfo),
  };
}
