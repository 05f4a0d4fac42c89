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
