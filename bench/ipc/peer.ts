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

/**
 * The peer baseline's compositor side: frames of pixels through a Node `net`
 * Unix socket, what a TypeScript author writes without bufshare. Each message is
 * a 16-byte header (frame width, height, rectangle count, payload bytes), the
 * rectangles (x, y, width, height, int32), then their pixels row by row; every
 * row is copied into the compositor's own frame at its place (a compositor needs
 * the whole image in one place to show it). A 1-byte reply, once the whole
 * message is in, stands for release + frame_done.
 */
function receiveFrames(socket: net.Socket): void {
  let frame: Buffer | undefined;
  let frameWidth = 0;
  let header: Buffer | undefined; // header + rectangles, gathered
  let rects: Int32Array | undefined;
  let payloadLeft = 0;
  let rect = 0;
  let rowOffset = 0; // bytes of the current rectangle received
  const pending: Buffer[] = [];
  let pendingBytes = 0;
  const take = (n: number): Buffer => {
    const whole = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
    pending.length = 0;
    const out = whole.subarray(0, n);
    if (whole.length > n) pending.push(whole.subarray(n));
    pendingBytes = whole.length - n;
    return out;
  };
  socket.on('data', (chunk: Buffer) => {
    let data = chunk;
    while (data.length > 0) {
      if (!rects) {
        pending.push(data);
        pendingBytes += data.length;
        data = Buffer.alloc(0);
        if (!header) {
          if (pendingBytes < 16) return;
          header = Buffer.from(take(16));
        }
        const count = header.readInt32LE(8);
        if (pendingBytes < count * 16) return;
        const width = header.readInt32LE(0);
        const height = header.readInt32LE(4);
        if (!frame || frame.length !== width * height * 4) frame = Buffer.alloc(width * height * 4);
        frameWidth = width;
        const packedRects = take(count * 16);
        rects = new Int32Array(count * 4);
        for (let i = 0; i < count * 4; i++) rects[i] = packedRects.readInt32LE(i * 4);
        payloadLeft = header.readInt32LE(12);
        rect = 0;
        rowOffset = 0;
        if (pendingBytes > 0) data = take(pendingBytes);
        if (payloadLeft === 0) {
          rects = undefined;
          header = undefined;
          socket.write(DONE);
        }
        continue;
      }
      // Pixels: copy as much of the current rectangle's rows as this chunk holds.
      const rx = rects[rect * 4]!;
      const ry = rects[rect * 4 + 1]!;
      const rw = rects[rect * 4 + 2]! * 4;
      const rh = rects[rect * 4 + 3]!;
      const rectBytes = rw * rh;
      const n = Math.min(data.length, rectBytes - rowOffset);
      if (!(n > 0)) {
        // More bytes than the header announced: not a client of this benchmark.
        socket.destroy();
        return;
      }
      let done = 0;
      while (done < n) {
        const row = Math.floor((rowOffset + done) / rw);
        const inRow = (rowOffset + done) % rw;
        const k = Math.min(n - done, rw - inRow);
        data.copy(frame!, (ry + row) * frameWidth * 4 + rx * 4 + inRow, done, done + k);
        done += k;
      }
      rowOffset += n;
      payloadLeft -= n;
      data = data.subarray(n);
      if (rowOffset === rectBytes) {
        rect++;
        rowOffset = 0;
      }
      if (payloadLeft === 0) {
        rects = undefined;
        header = undefined;
        socket.write(DONE);
      }
    }
  });
  socket.on('error', () => socket.destroy());
}

const DONE = Buffer.from([1]);

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
  let frameSink: net.Server | undefined;
  const seqConnections: Connection[] = [];
  let allocator: CountingAllocator | undefined;
  let frames = 0;
  serveRequests({
    async start(args: { mode: ServerMode }): Promise<{ path: string; echoPath: string; seqEchoPath: string; frameSinkPath?: string; skip?: string }> {
      const dir = mkdtempSync(join(tmpdir(), 'bufshare-bench-'));
      dirs.add(dir);
      const auto = createAllocator(args.mode === 'hardware-shadow' ? { access: 'shadow' } : {});
      if (args.mode !== 'shm' && auto.hardwareAllocator === null) {
        auto.close();
        return { path: '', echoPath: '', seqEchoPath: '', skip: auto.fallbackReason ?? 'no hardware buffer kind works here' };
      }
      allocator = new CountingAllocator(auto);
      server = BufferServer.listen({ path: join(dir, 'bufshare-0'), allocator });
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
      const frameSinkPath = join(dir, 'frame-sink');
      frameSink = net.createServer((socket) => receiveFrames(socket));
      await new Promise<void>((resolve, reject) => {
        frameSink!.once('error', reject);
        frameSink!.listen(frameSinkPath, () => resolve());
      });
      return { path: server.path, echoPath, seqEchoPath, frameSinkPath };
    },
    stats(): ServerStats {
      gc();
      return { memory: memoryStats(), fds: fdStats(), mappings: mappingStats(), allocations: allocator?.allocations ?? 0, frames };
    },
    async close(): Promise<void> {
      echo?.close();
      frameSink?.close();
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

  /**
   * One paced frame: acquire, (draw), submit, wait for frame_done. Returns µs from
   * before the draw to frame_done; `drawn` gets the draw's own µs when given.
   */
  async function roundTrip(c: Connected, rects: readonly Rect[], draw: boolean, drawn?: number[]): Promise<number> {
    const { buffer, region } = await c.surface.nextBuffer();
    const t0 = nowNs();
    if (draw) drawRects(region.pixels32, region.stride32, rects, (color += 0x010101) | 0);
    drawn?.push((nowNs() - t0) / 1e3);
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
     * Paced frames on the first connection, drawing `rects` each time: µs per frame
     * (before the draw to frame_done) and of the draw alone, sample by sample.
     */
    async rttSplit(args: { frames: number; warmup: number; rects: Rect[] }): Promise<{ total: number[]; draw: number[] }> {
      const c = connections[0]!;
      for (let i = 0; i < args.warmup; i++) await roundTrip(c, args.rects, true);
      const total: number[] = [];
      const draw: number[] = [];
      for (let i = 0; i < args.frames; i++) total.push(await roundTrip(c, args.rects, true, draw));
      await settle();
      return { total, draw };
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

    /**
     * The peer baseline: `frames` frame updates through a net Unix socket to the
     * server's frame sink. Each: draw the rectangles into the client's own canvas
     * (as roundTrip draws into its buffer), pack them into one message (the whole
     * canvas when the damage is the whole frame: no packing copy), write it, wait
     * for the sink's 1-byte reply. µs per update, from before the draw, and of
     * the draw alone, sample by sample.
     */
    async socketFrames(args: { path: string; width: number; height: number; rects: Rect[]; frames: number; warmup: number }): Promise<{ total: number[]; draw: number[] }> {
      const socket = net.connect(args.path);
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
      });
      const stride32 = args.width;
      const canvas = Buffer.alloc(args.width * args.height * 4);
      const words = new Uint32Array(canvas.buffer, canvas.byteOffset, canvas.length / 4);
      const whole = args.rects.length === 1 && args.rects[0]!.x === 0 && args.rects[0]!.y === 0 && args.rects[0]!.width === args.width && args.rects[0]!.height === args.height;
      const payload = args.rects.reduce((n, r) => n + r.width * r.height * 4, 0);
      const head = Buffer.alloc(16 + args.rects.length * 16);
      head.writeInt32LE(args.width, 0);
      head.writeInt32LE(args.height, 4);
      head.writeInt32LE(args.rects.length, 8);
      head.writeInt32LE(payload, 12);
      args.rects.forEach((r, i) => [r.x, r.y, r.width, r.height].forEach((v, j) => head.writeInt32LE(v, 16 + i * 16 + j * 4)));
      const packed = whole ? canvas : Buffer.alloc(payload);
      let wake: (() => void) | undefined;
      socket.on('data', () => {
        const w = wake;
        wake = undefined;
        w?.();
      });
      const total: number[] = [];
      const draw: number[] = [];
      for (let i = 0; i < args.warmup + args.frames; i++) {
        const t0 = nowNs();
        drawRects(words, stride32, args.rects, (color += 0x010101) | 0);
        if (i >= args.warmup) draw.push((nowNs() - t0) / 1e3);
        if (!whole) {
          let at = 0;
          for (const r of args.rects) {
            for (let y = r.y; y < r.y + r.height; y++) at += canvas.copy(packed, at, (y * args.width + r.x) * 4, (y * args.width + r.x + r.width) * 4);
          }
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
          socket.cork();
          socket.write(head);
          socket.write(packed);
          socket.uncork();
        });
        if (i >= args.warmup) total.push((nowNs() - t0) / 1e3);
      }
      socket.destroy();
      return { total, draw };
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
