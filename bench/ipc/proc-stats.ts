/**
 * What a process holds, from /proc: resident memory split by kind, and open fds
 * by what they point to.
 *
 * Why the split: shm buffer pages are counted in RssShmem of every process that
 * maps them and has touched them, and they are the buffer bytes themselves
 * (shared with the client, allocated once). What a server spends per client
 * beyond its buffers is RssAnon (JS heap, native allocations) and RssFile.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export interface MemoryStats {
  /** Bytes. */
  readonly rss: number;
  readonly rssAnon: number;
  readonly rssFile: number;
  readonly rssShmem: number;
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

export function memoryStats(): MemoryStats {
  const status = readFileSync('/proc/self/status', 'utf8');
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) * 1024;
  const heap = process.memoryUsage();
  return { rss: kb('VmRSS'), rssAnon: kb('RssAnon'), rssFile: kb('RssFile'), rssShmem: kb('RssShmem'), heapUsed: heap.heapUsed, external: heap.external };
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

export function fdStats(): FdStats {
  const byKind: Record<string, number> = {};
  let total = 0;
  for (const name of readdirSync('/proc/self/fd')) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${name}`);
    } catch {
      continue; // the directory fd readdir used, already closed
    }
    total++;
    const kind = fdKind(target);
    byKind[kind] = (byKind[kind] ?? 0) + 1;
  }
  return { total, byKind };
}
