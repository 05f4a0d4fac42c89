// A WaylandServer in a private runtime dir, and real Wayland clients run against it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CompositorFrame, CompositorSurface } from '../../lib/surface-model';
import { WaylandServer } from '../../lib/wayland/server';

/** A snapshot of a frame's pixels (copied: the frame is released right after). */
export interface FrameCopy {
  readonly width: number;
  readonly height: number;
  readonly stride32: number;
  readonly pixels: Uint32Array;
  readonly damage: { x: number; y: number; width: number; height: number }[];
}

export class WaylandHarness {
  readonly dir: string;
  readonly server: WaylandServer;
  readonly surfaces: CompositorSurface[] = [];
  readonly frames: FrameCopy[] = [];
  readonly children: ChildProcess[] = [];
  /** The newest frame, held as a compositor holds what it shows. */
  held: CompositorFrame | undefined;
  /** Answer frame callbacks at once (else the test calls frameDone itself). */
  autoFrameDone = true;
  keepCopies = true;

  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'bufshare-wl-')); // 0700
    this.server = WaylandServer.listen({ name: join(this.dir, 'wayland-test') });
    this.server.on('surface', (s) => this.surfaces.push(s));
    this.server.on('frame', (f) => {
      if (this.keepCopies) {
        const r = f.region;
        this.frames.push({ width: r.width, height: r.height, stride32: r.stride32, pixels: r.pixels32.slice(), damage: f.damage.rects.map((x) => ({ ...x })) });
      }
      this.held?.release();
      this.held = f;
      if (this.autoFrameDone) setImmediate(() => f.surface.frameDone());
    });
    this.server.on('surfaceDestroyed', (s) => {
      if (this.held?.surface === s) {
        this.held.release();
        this.held = undefined;
      }
    });
  }

  /** Runs a real client against the server. */
  run(command: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): ChildProcess {
    const child = spawn(command, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, XDG_RUNTIME_DIR: this.dir, WAYLAND_DISPLAY: this.server.name, ...env },
    });
    child.stdout!.resume();
    child.stderr!.resume();
    this.children.push(child);
    return child;
  }

  async until(what: string, predicate: () => boolean, timeoutMs = 8000): Promise<void> {
    const start = Date.now();
    while (!predicate()) {
      if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async close(): Promise<void> {
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await Promise.all(this.children.map((c) => (c.exitCode !== null || c.signalCode !== null ? undefined : new Promise((r) => c.once('exit', r)))));
    this.held?.release();
    await this.server.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));
}
