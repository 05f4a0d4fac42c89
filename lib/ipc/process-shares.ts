/**
 * Each client's share of the compositor process's finite kernel tables.
 *
 * Why: every buffer a client holds costs the server fds (its memfd or dma-buf,
 * a shadow's memfd, dups of exports the client kept) and mappings (the read
 * mapping of each shm buffer and shadow). Both tables are per process: the fd
 * table (RLIMIT_NOFILE) and the VMA table (vm.max_map_count). A compositor may
 * raise its per-client limits past what they hold (16384 buffers a client), and
 * one client would then take every fd or mapping: every other client's
 * allocation, connection or frame would fail. A client may hold 1/8 of each
 * (as the SIGBUS guard share), so one client past its share gets its own
 * allocation refused with ERR_BUFSHARE_LIMIT_EXCEEDED and the others go on.
 * With the default limits (192 buffers a client) the shares bind only where the
 * process's tables are small.
 */
import { readFileSync } from 'node:fs';

/** A client may hold this fraction of each process-wide table. */
export const CLIENT_SHARE_DIVISOR = 8;

export interface ClientShares {
  /** Fds the server may hold for one client's buffers. */
  readonly fds: number;
  /** Read mappings the server may hold for one client's buffers. */
  readonly mappings: number;
}

/** The soft RLIMIT_NOFILE, from /proc/self/limits; Infinity when unlimited or unknown. */
export function openFileLimit(limitsText?: string): number {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/limits', 'utf8');
    } catch {
      return Infinity;
    }
  }
  const m = /^Max open files\s+(\S+)/m.exec(text);
  const soft = m ? Number(m[1]) : NaN;
  return Number.isSafeInteger(soft) && soft > 0 ? soft : Infinity;
}

/** vm.max_map_count (mappings a process may hold); Infinity when unknown. */
export function mapCountLimit(): number {
  try {
    const n = Number(readFileSync('/proc/sys/vm/max_map_count', 'utf8').trim());
    return Number.isSafeInteger(n) && n > 0 ? n : Infinity;
  } catch {
    return Infinity;
  }
}

let cached: ClientShares | undefined;

/**
 * One client's shares, read once per process: the limits are the process's
 * when the server starts (node raises the soft fd limit to the hard one at start).
 */
export function clientShares(): ClientShares {
  cached ??= {
    fds: Math.floor(openFileLimit() / CLIENT_SHARE_DIVISOR),
    mappings: Math.floor(mapCountLimit() / CLIENT_SHARE_DIVISOR),
  };
  return cached;
}
