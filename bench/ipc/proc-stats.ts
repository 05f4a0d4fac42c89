/**
 * What a process holds, from /proc: resident memory split by kind, and open fds
 * by what they point to. Any process whose /proc entries we may read (our own by
 * default; a child, or any process of our uid): the Wayland memory rows read
 * weston's and a bufshare server process's from the bench process.
 *
 * Why the split: shm buffer pages are counted in RssShmem of every process that
 * maps them and has touched them, and they are the buffer bytes themselves
 * (shared with the client, allocated once). What a server spends per client
 * beyond its buffers is RssAnon (JS heap, native allocations) and RssFile.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** Resident memory of any process, in bytes, from /proc/<pid>/status. */
export interface ResidentMemory {
  readonly rss: number;
  readonly rssAnon: number;
  readonly rssFile: number;
  readonly rssShmem: number;
}

export interface MemoryStats extends ResidentMemory {
  /** V8's heap in use (after the caller's GC, if any): the JS state, without allocator slack. */
  readonly heapUsed: number;
  /** Memory of ArrayBuffers and other objects V8 does not hold itself (mappings included). */
  readonly external: number;
}

export interface FdStats {
  readonly total: number;
  /** Counts by kind: "socket", "memfd", "dmabuf", "pipe", "file", "anon_inode:[eventfd]"... */
  readonly byKind: Readonly<Record<string, number>>;
}

/** A process id, or 'self'. */
export type ProcessRef = number | 'self';

/** Throws (ENOENT) when the process is gone. */
export function residentMemory(pid: ProcessRef = 'self'): ResidentMemory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string): number => {
    const found = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
    // A zombie has no memory lines: a figure that silently read 0 would look like a saving.
    if (found === null) throw new Error(`/proc/${pid}/status has no ${key} line (the process exited?)`);
    return Number(found[1]) * 1024;
  };
  return { rss: kb('VmRSS'), rssAnon: kb('RssAnon'), rssFile: kb('RssFile'), rssShmem: kb('RssShmem') };
}

/** This process's resident memory and V8's view of its heap. */
export function memoryStats(): MemoryStats {
  const heap = process.memoryUsage();
  return { ...residentMemory('self'), heapUsed: heap.heapUsed, external: heap.external };
}

export function fdKind(target: string): string {
  if (target.startsWith('socket:')) return 'socket';
  if (target.startsWith('/memfd:')) return 'memfd';
  if (target === 'anon_inode:dmabuf' || target.startsWith('/dmabuf:')) return 'dmabuf';
  if (target.startsWith('pipe:')) return 'pipe';
  if (target.startsWith('anon_inode:')) return target;
  if (target.startsWith('/dev/shm/')) return 'shm-file';
  if (target.startsWith('/dev/')) return target;
  return 'file';
}

/** The open fds of `pid`, by kind. Throws (ENOENT) when the process is gone. */
export function fdStats(pid: ProcessRef = 'self'): FdStats {
  const byKind: Record<string, number> = {};
  let total = 0;
  for (const name of readdirSync(`/proc/${pid}/fd`)) {
    let target: string;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${name}`);
    } catch {
      continue; // closed between readdir and readlink (for self: the directory fd readdir used)
    }
    total++;
    const kind = fdKind(target);
    byKind[kind] = (byKind[kind] ?? 0) + 1;
  }
  return { total, byKind };
}
