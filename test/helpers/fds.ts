import { readdirSync, readlinkSync } from 'node:fs';

/** The process's open fds, from /proc/self/fd (the listing's own fd excluded). */
export function openFds(): number[] {
  const fds: number[] = [];
  for (const name of readdirSync('/proc/self/fd')) {
    const fd = Number(name);
    try {
      readlinkSync(`/proc/self/fd/${name}`);
      fds.push(fd);
    } catch {
      // The directory fd readdir used, already closed.
    }
  }
  return fds.sort((a, b) => a - b);
}

export function openFdCount(): number {
  return openFds().length;
}

/** What an fd points to ("/memfd:bufshare (deleted)", "anon_inode:dmabuf"), or undefined if closed. */
export function fdTarget(fd: number): string | undefined {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return undefined;
  }
}

/**
 * The fds that bufshare owns or could leak, as "fd:target": sockets, memfds,
 * /dev/shm files, dma-bufs and DRM nodes. Unlike openFdCount() it ignores the
 * runtime's own transient fds (tsx's cache dir, child-process pipes).
 */
export function resourceFds(): string[] {
  const out: string[] = [];
  for (const fd of openFds()) {
    const t = fdTarget(fd);
    if (t && (t.startsWith('socket:') || t.startsWith('/memfd:') || t.startsWith('/dev/shm/') || t.includes('dmabuf') || t.startsWith('/dev/dri/'))) {
      out.push(`${fd}:${t}`);
    }
  }
  return out;
}

/** "fd:target" for every open fd: compare two snapshots to find fds opened in between and still open. */
export function fdSnapshot(): string[] {
  return openFds().map((fd) => `${fd}:${fdTarget(fd) ?? '?'}`);
}

/** Entries of `after` that were not open (with the same target) in `before`: what a run left open. */
export function leakedFds(before: readonly string[], after: readonly string[]): string[] {
  const was = new Set(before);
  return after.filter((e) => !was.has(e));
}
