/**
 * One IPC benchmark process: `peer.ts server` or `peer.ts client`, driven by the
 * runner through rpc.ts. Timings are taken here, inside the process that sees
 * them, and only the samples travel back.
 *
 * server: a BufferServer whose compositor reads one pixel of each frame, then
 *   releases it and sends frame_done at once (the cheapest compositor: what is
 *   measured is bufshare). Beside it, a Node `net` echo server for the baseline,
 *   and an echo on bufshare's own transport (lib/ipc/transport.ts) that splits
 *   the round trip into transport and protocol.
 * client: any number of BufferClient connections with one surface each, and
 *   the loops that time them; also the net ping-pong client.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BufferClient, BufferServer, createAllocator, type Allocator, type AllocateRequest, type Rect, type SharedBuffer, type Surface,
} from '../../lib';
import { Connection, Listener } from '../../lib/protocol';
import { mappingStats } from '../../lib/native';
import { nowNs } from '../support/frames';
import { fdStats, memoryStats } from './proc-stats';
import { serveRequests } from './rpc';

export type ServerMode = 'shm' | 'hardware' | 'hardware-shadow';

export interface ServerStats {
  readonly memory: ReturnType<typeof memoryStats>;
  readonly fds: ReturnType<typeof fdStats>;
  readonly mappings: { live: number; created: number };
  /** Buffers the allocator made since the server started. */
  readonly allocations: number;
  readonly frames: number;
}

export interface ClientStats {
  readonly fds: ReturnType<typeof fdStats>;
  readonly mappings: { live: number; created: number };
  readonly memory: ReturnType<typeof memoryStats>;
}

/** Counts what the server allocates: steady state must allocate nothing. */
class CountingAllocator implements Allocator {
  allocations = 0;
  constructor(private readonly inner: Allocator) {}
  get name(): Allocator['name'] {
    return this.inner.name;
  }
  allocate(request: AllocateRequest): SharedBuffer {
    this.allocations++;
    return this.inner.allocate(request);
  }
  close(): void {
    this.inner.close();
  }
}

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) {
    g();
    g();
  }
}

function runServer(): void {
  // Each start's socket directory; removed on close, and at exit for a peer told to exit without closing.
  const dirs = new Set<string>();
  const removeDirs = (): void => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    dirs.clear();
  };
  process.on('exit', removeDirs);
  let server: BufferServer | undefined;
  let echo: net.Server | undefined;
  let seqEcho: Listener | undefined;
  const seqConnections: Connection[] = [];
  let allocator: CountingAllocator | undefined;
  let frames = 0;
  serveRequests({
    async start(args: { mode: ServerMode }): Promise<{ path: string; echoPath: string; seqEchoPath: string; skip?: string }> {
      const dir = mkdtempSync(join(tmpdir(), 'bufshare-bench-'));
      dirs.add(dir);
      const auto = createAllocator(args.mode === 'hardware-shadow' ? { access: 'shadow' } : {});
      if (args.mode !== 'shm' && auto.hardwareAllocator === null) {
        auto.close();
        return { path: '', echoPath: '', seqEchoPath: '', skip: auto.fallbackReason ?? 'no hardware buffer kind works here' };
      }
      allocator = new CountingAllocator(auto);
      server = await BufferServer.listen({ path: join(dir, 'bufshare-0'), allocator });
      server.on('frame', (frame) => {
        frames++;
        // Read one pixel, as a compositor reads what it shows: this maps the buffer (once).
        void frame.region.pixels32[0];
        frame.release();
        frame.surface.frameDone();
      });
      const echoPath = join(dir, 'echo');
      echo = net.createServer((socket) => {
        socket.setNoDelay?.(true);
        socket.on('data', (d) => socket.write(d));
        socket.on('error', () => socket.destroy());
      });
      await new Promise<void>((resolve, reject) => {
        echo!.once('error', reject);
        echo!.listen(echoPath, () => resolve());
      });
      const seqEchoPath = join(dir, 'seqpacket-echo');
      seqEcho = new Listener(seqEchoPath);
      seqEcho.on('connection', (fd) => {
        const c = new Connection(fd);
        seqConnections.push(c);
        c.on('message', (data) => void c.send(data));
      });
      return { path: server.path, echoPath, seqEchoPath };
    },
    stats(): ServerStats {
      gc();
      return { memory: memoryStats(), fds: fdStats(), mappings: mappingStats(), allocations: allocator?.allocations ?? 0, frames };
    },
    async close(): Promise<void> {
      echo?.close();
      for (const c of seqConnections) c.close();
      seqEcho?.close();
      await server?.close();
      allocator?.close();
      server = undefined;
      removeDirs();
    },
  });
}

interface Connected {
  readonly client: BufferClient;
  readonly surface: Surface;
}

/** Resolves at the surface's next frame_done. */
function frameDone(surface: Surface): Promise<void> {
  return new Promise((resolve) => surface.once('frame', () => resolve()));
}

/** Fills the damaged rectangles, as a client redrawing them would (native fill per row). */
function drawRects(words: Uint32Array, stride32: number, rects: readonly Rect[], color: number): void {
  for (const r of rects) {
    for (let y = r.y; y < r.y + r.height; y++) words.fill(color, y * stride32 + r.x, y * stride32 + r.x + r.width);
  }
}

/** Lets replies still on their way arrive before the next measurement starts. */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 20));
}

function runClient(): void {
  const connections: Connected[] = [];
  let color = 0xff000000;

  /** One paced frame: acquire, (draw), submit, wait for frame_done. Returns µs from `from` to frame_done. */
  async function roundTrip(c: Connected, rects: readonly Rect[], draw: boolean): Promise<number> {
    const { buffer, region } = await c.surface.nextBuffer();
    const t0 = nowNs();
    if (draw) drawRects(region.pixels32, region.stride32, rects, (color += 0x010101) | 0);
    const done = frameDone(c.surface);
    c.surface.submit(buffer, rects);
    await done;
    return (nowNs() - t0) / 1e3;
  }

  serveRequests({
    async connect(args: { path: string; count: number; width: number; height: number; bufferCount: 2 | 3; usage: 'software' | 'hardware'; fill: boolean }) {
      for (let i = 0; i < args.count; i++) {
        const client = await BufferClient.connect({ path: args.path, name: `bench-${process.pid}-${i}` });
        const surface = await client.createSurface({ width: args.width, height: args.height, format: 'XRGB8888', usage: args.usage, bufferCount: args.bufferCount });
        const c = { client, surface };
        connections.push(c);
        // Every buffer once, drawn whole (age 0), so that the swapchain is full and its pages exist.
        for (let b = 0; b < args.bufferCount; b++) {
          const { buffer, region } = await surface.nextBuffer();
          if (args.fill) region.pixels32.fill(0xff202020);
          const done = frameDone(surface);
          surface.submit(buffer, [{ x: 0, y: 0, width: args.width, height: args.height }]);
          await done;
        }
      }
      const s = connections[0]!.surface;
      return { kind: s.kind, access: s.access };
    },

    /** Paced round trips on the first `active` connections at once; all their samples, in µs. */
    async rtt(args: { active: number; frames: number; warmup: number; rects: Rect[]; draw: boolean }): Promise<number[]> {
      const active = connections.slice(0, args.active);
      const samples: number[] = [];
      await Promise.all(active.map(async (c) => {
        // Warm-up also swallows any frame_done still on its way from earlier unpaced submits.
        for (let i = 0; i < args.warmup; i++) await roundTrip(c, args.rects, args.draw);
        for (let i = 0; i < args.frames; i++) samples.push(await roundTrip(c, args.rects, args.draw));
      }));
      await settle();
      return samples;
    },

    /**
     * Submits as fast as buffers come back, without waiting for frame_done;
     * submits per second. The (at most bufferCount) frames still in flight at the
     * end are under 1% of the count the runner asks for.
     */
    async rate(args: { frames: number; rects: Rect[] }): Promise<number> {
      const c = connections[0]!;
      const t0 = nowNs();
      for (let i = 0; i < args.frames; i++) {
        const { buffer } = await c.surface.nextBuffer();
        c.surface.submit(buffer, args.rects);
      }
      const perSecond = args.frames / ((nowNs() - t0) / 1e9);
      await settle();
      return perSecond;
    },

    /** The baseline: `count` ping-pongs of `size` bytes over a net Unix socket; µs each, and pings per second. */
    async pingpong(args: { path: string; size: number; count: number }): Promise<{ samples: number[]; perSecond: number }> {
      const socket = net.connect(args.path);
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
      });
      const ping = Buffer.alloc(args.size, 7);
      const samples: number[] = [];
      let received = 0;
      let wake: (() => void) | undefined;
      socket.on('data', (d) => {
        received += d.length;
        if (received >= args.size && wake) {
          received -= args.size;
          const w = wake;
          wake = undefined;
          w();
        }
      });
      const start = nowNs();
      for (let i = 0; i < args.count; i++) {
        const t0 = nowNs();
        await new Promise<void>((resolve) => {
          wake = resolve;
          socket.write(ping);
        });
        samples.push((nowNs() - t0) / 1e3);
      }
      const perSecond = args.count / ((nowNs() - start) / 1e9);
      socket.destroy();
      return { samples, perSecond };
    },

    /** The same ping-pong on bufshare's SOCK_SEQPACKET transport, without the protocol above it. */
    async seqpingpong(args: { path: string; size: number; count: number }): Promise<{ samples: number[]; perSecond: number }> {
      const c = Connection.connect(args.path);
      const ping = new Uint8Array(args.size).fill(7);
      const samples: number[] = [];
      let wake: (() => void) | undefined;
      c.on('message', () => {
        const w = wake;
        wake = undefined;
        w?.();
      });
      const start = nowNs();
      for (let i = 0; i < args.count; i++) {
        const t0 = nowNs();
        await new Promise<void>((resolve) => {
          wake = resolve;
          c.send(ping);
        });
        samples.push((nowNs() - t0) / 1e3);
      }
      const perSecond = args.count / ((nowNs() - start) / 1e9);
      c.close();
      return { samples, perSecond };
    },

    stats(): ClientStats {
      gc();
      return { fds: fdStats(), mappings: mappingStats(), memory: memoryStats() };
    },

    close(): void {
      for (const c of connections) c.client.close();
      connections.length = 0;
    },
  });
}

if (process.argv[2] === 'server') runServer();
else if (process.argv[2] === 'client') runClient();
else throw new Error(`peer.ts: unknown role ${process.argv[2]}`);
