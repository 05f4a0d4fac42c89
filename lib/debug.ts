/**
 * Debug output: why a fallback happened (a shadow instead of a direct mapping,
 * shm instead of a hardware buffer). Off by default; on with BUFSHARE_DEBUG=1 or
 * DEBUG=bufshare (DEBUG=* too), written to stderr as `bufshare:<topic> <message>`.
 */

export function debugEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  const own = env.BUFSHARE_DEBUG;
  if (own !== undefined && own !== '' && own !== '0') return true;
  const list = env.DEBUG;
  if (!list) return false;
  return list.split(/[\s,]+/).some((p) => p === '*' || p === 'bufshare' || p === 'bufshare:*' || p === 'bufshare*');
}

/** Where debug lines go; tests replace it to capture them. */
export let debugSink: (line: string) => void = (line) => process.stderr.write(`${line}\n`);

export function setDebugSink(sink: (line: string) => void): () => void {
  const previous = debugSink;
  debugSink = sink;
  return () => {
    debugSink = previous;
  };
}

/** Logs `message` under `topic` when debugging is on; `message` may be a thunk to skip building it. */
export function debug(topic: string, message: string | (() => string)): void {
  if (!debugEnabled()) return;
  debugSink(`bufshare:${topic} ${typeof message === 'function' ? message() : message}`);
}
