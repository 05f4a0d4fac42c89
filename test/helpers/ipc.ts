import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BufferServer, Frame, ServerSurface } from '../../lib';
import type { ClientScript } from './ipc-client';
import { spawnTs, type RunningChild } from './spawn';

/** A private (0700) directory for a test server's socket; remove it with `rmSync(dir, { recursive: true })`. */
export function tempSocketDir(): { dir: string; path: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'bufshare-ipc-'));
  return { dir, path: join(dir, 'bufshare-0'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Starts test/helpers/ipc-client.ts with `script`. */
export function startClient(script: ClientScript, options: { uid?: number; gid?: number } = {}): RunningChild {
  return spawnTs('test/helpers/ipc-client.ts', [JSON.stringify(script)], options);
}

export interface Expected {
  frame: number;
  seed: number;
  width: number;
  height: number;
}

/**
 * Tracks what each surface's next frame must contain, from the requests the
 * test client sends before each submit.
 */
export function trackExpectations(server: BufferServer): Map<ServerSurface, Expected> {
  const expected = new Map<ServerSurface, Expected>();
  server.on('request', (surface, _client, payload) => {
    if (surface) expected.set(surface, payload as unknown as Expected);
  });
  return expected;
}

/** Calls `check` for each frame, collecting failures instead of throwing inside the server's event. */
export function onFrames(server: BufferServer, check: (frame: Frame) => string | undefined): string[] {
  const failures: string[] = [];
  server.on('frame', (frame) => {
    try {
      const f = check(frame);
      if (f) failures.push(f);
    } catch (e) {
      failures.push(String(e));
    }
  });
  return failures;
}

/** Resolves once `server` has emitted `count` 'disconnect' events in total (from now on). */
export function disconnects(server: BufferServer, count: number): Promise<string[]> {
  const reasons: string[] = [];
  return new Promise((resolve) => {
    if (count === 0) resolve(reasons);
    server.on('disconnect', (_c, reason) => {
      reasons.push(reason);
      if (reasons.length === count) resolve(reasons);
    });
  });
}
