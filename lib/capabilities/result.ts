/**
 * PathResult: the outcome of really trying one path (an ioctl, an mmap, a
 * pattern read back): ok, or the call that failed and its errno name, or not
 * tried and why. Plain JSON, so a probe report can be printed or parsed as is.
 */
import { BufshareError } from '../errors';

export type PathResult =
  | { readonly ok: true; readonly note?: string }
  | { readonly ok: false; readonly call: string; readonly errno: string; readonly message: string }
  | { readonly ok: false; readonly skipped: string };

export type PathFailure = Extract<PathResult, { call: string }>;

export const OK: PathResult = Object.freeze({ ok: true });

export function ok(note?: string): PathResult {
  return note === undefined ? OK : { ok: true, note };
}

export function skipped(reason: string): PathResult {
  return { ok: false, skipped: reason };
}

export function failed(call: string, errno: string, message: string): PathResult {
  return { ok: false, call, errno, message };
}

/** The failure an exception stands for: the syscall and errno of a BufshareError, else the code. */
export function failureOf(call: string, e: unknown): PathFailure {
  if (e instanceof BufshareError) {
    return { ok: false, call: e.syscall ?? call, errno: e.errno ?? e.code, message: e.message };
  }
  return { ok: false, call, errno: 'EUNKNOWN', message: e instanceof Error ? e.message : String(e) };
}

/** Runs `fn`; its value and ok, or its exception as a failure of `call`. */
export function attempt<T>(call: string, fn: () => T): { result: PathResult; value?: T } {
  try {
    return { result: OK, value: fn() };
  } catch (e) {
    return { result: failureOf(call, e) };
  }
}

/** "EACCES in ioctl(...)" / "not tried: ..." / "ok": one line for logs and reasons. */
export function describeResult(r: PathResult): string {
  if (r.ok) return r.note ? `ok (${r.note})` : 'ok';
  if ('skipped' in r) return `not tried: ${r.skipped}`;
  return `${r.call} failed: ${r.errno}`;
}
