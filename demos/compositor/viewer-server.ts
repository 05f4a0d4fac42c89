/**
 * The web viewer: an HTTP server on 127.0.0.1 that serves the page, and a
 * WebSocket (npm `ws`) on the same port over which the page receives the damaged
 * rectangles of each composed frame and sends the pointer back.
 *
 * How am I supposed to use this? `const viewer = await ViewerServer.listen({ output })`,
 * then after each composition `viewer.publishFrame(damage)`; listen to 'pointer',
 * 'move' and 'raise'. Each page gets only what changed since what it last got:
 * its own damage accumulates while it has two frames unacknowledged, so a slow
 * page gets fewer, larger updates instead of an ever-growing queue.
 *
 * Only pages served by this server may connect (Origin must match Host, and
 * Host must be a loopback name): another web site open in the same browser
 * cannot drive the compositor.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { EventEmitter } from 'eventemitter3';
import { WebSocket, WebSocketServer } from 'ws';
import { Region } from '../../lib';
import { encodeFrame } from './frame-wire';
import type { Framebuffer } from './framebuffer';
import type { PointerInput } from './viewer-protocol';
import { parseViewerMessage, type ServerMessage, type SurfaceInfo } from './viewer-protocol';

export const DEFAULT_VIEWER_PORT = 8080;
/** Frames a page may have unacknowledged before its damage is held back. */
const MAX_IN_FLIGHT = 2;
const MAX_PENDING_RECTS = 16;
/** The page only sends small JSON messages. */
const MAX_MESSAGE_BYTES = 4096;

export interface ViewerServerOptions {
  readonly output: Framebuffer;
  /** Default 127.0.0.1: the viewer is for this machine's user. */
  readonly host?: string;
  /** Default 8080; 0 picks a free port. */
  readonly port?: number;
  readonly refreshHz?: number;
}

export interface ViewerEvents {
  pointer: [PointerInput];
  move: [surface: number, x: number, y: number];
  raise: [surface: number];
  key: [key: number, pressed: boolean];
}

interface Viewer {
  readonly socket: WebSocket;
  pending: Region;
  inFlight: number;
}

const PAGE_FILES: Readonly<Record<string, string>> = {
  '/': 'index.html',
  '/index.html': 'index.html',
  '/viewer.js': 'viewer.js',
};

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
};

/** The page's files: next to this module when run from source, in the source tree when run from dist/. */
function readPageFile(name: string): Buffer {
  const candidates = [join(__dirname, 'web', name), join(__dirname, '..', '..', '..', 'demos', 'compositor', 'web', name)];
  for (const path of candidates) {
    try {
      return readFileSync(path);
    } catch {
      // next candidate
    }
  }
  throw new Error(`viewer page file ${name} not found (looked in ${candidates.join(', ')})`);
}

function isLoopbackHost(host: string | undefined, port: number): boolean {
  return host === `127.0.0.1:${port}` || host === `localhost:${port}` || host === `[::1]:${port}`;
}

export class ViewerServer extends EventEmitter<ViewerEvents> {
  readonly host: string;
  readonly port: number;
  private readonly output: Framebuffer;
  private readonly refreshHz: number;
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private readonly viewers = new Set<Viewer>();
  private readonly page: Map<string, Buffer>;
  private surfacesMessage = JSON.stringify({ type: 'surfaces', surfaces: [] } satisfies ServerMessage);
  private sequence = 0;

  private constructor(http: Server, host: string, port: number, options: ViewerServerOptions, page: Map<string, Buffer>) {
    super();
    this.http = http;
    this.host = host;
    this.port = port;
    this.output = options.output;
    this.refreshHz = options.refreshHz ?? 60;
    this.page = page;
    this.wss = new WebSocketServer({
      server: http,
      path: '/ws',
      maxPayload: MAX_MESSAGE_BYTES,
      verifyClient: ({ req, origin }: { req: IncomingMessage; origin: string }) =>
        isLoopbackHost(req.headers.host, this.port) && origin === `http://${req.headers.host}`,
    });
    this.wss.on('connection', (socket) => this.accept(socket));
    http.on('request', (req, res) => this.serve(req, res));
  }

  static async listen(options: ViewerServerOptions): Promise<ViewerServer> {
    const host = options.host ?? '127.0.0.1';
    const page = new Map(Object.entries(PAGE_FILES).map(([route, file]) => [route, readPageFile(file)] as const));
    const http = createServer();
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(options.port ?? DEFAULT_VIEWER_PORT, host, () => {
        http.off('error', reject);
        resolve();
      });
    });
    return new ViewerServer(http, host, (http.address() as AddressInfo).port, options, page);
  }

  get url(): string {
    return `http://${this.host}:${this.port}/`;
  }

  /** Pages connected now. */
  get viewerCount(): number {
    return this.viewers.size;
  }

  /** The output changed in `damage` (output coordinates): each page gets it as soon as it can take it. */
  publishFrame(damage: Region): void {
    if (damage.isEmpty) return;
    for (const v of this.viewers) {
      let pending = v.pending.union(damage);
      if (pending.rects.length > MAX_PENDING_RECTS) pending = pending.simplify(MAX_PENDING_RECTS / 2);
      v.pending = pending;
      this.flush(v);
    }
  }

  /** The title bars' contents; sent to every page now and to each new page. */
  publishSurfaces(surfaces: readonly SurfaceInfo[]): void {
    this.surfacesMessage = JSON.stringify({ type: 'surfaces', surfaces } satisfies ServerMessage);
    for (const v of this.viewers) if (v.socket.readyState === WebSocket.OPEN) v.socket.send(this.surfacesMessage);
  }

  async close(): Promise<void> {
    for (const v of this.viewers) v.socket.terminate();
    this.viewers.clear();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  private serve(req: IncomingMessage, res: ServerResponse): void {
    const route = (req.url ?? '/').split('?')[0]!;
    if (route === '/ws') {
      // The WebSocket server answers upgrades; anything else there is a mistake.
      res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' }).end('WebSocket only\n');
      return;
    }
    if (route === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    const file = PAGE_FILES[route];
    if (req.method !== 'GET' || !file || !isLoopbackHost(req.headers.host, this.port)) {
      res.writeHead(req.method !== 'GET' ? 405 : 404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    res.writeHead(200, {
      'content-type': CONTENT_TYPES[file.split('.').pop()!] ?? 'application/octet-stream',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    }).end(this.page.get(route));
  }

  private accept(socket: WebSocket): void {
    const viewer: Viewer = { socket, pending: Region.full(this.output.width, this.output.height), inFlight: 0 };
    this.viewers.add(viewer);
    socket.on('close', () => this.viewers.delete(viewer));
    socket.on('error', () => socket.terminate());
    socket.on('message', (data, isBinary) => {
      const message = isBinary ? undefined : parseViewerMessage(data.toString());
      if (!message) {
        socket.close(1008, 'unexpected message');
        return;
      }
      switch (message.type) {
        case 'ack':
          viewer.inFlight = Math.max(0, viewer.inFlight - 1);
          this.flush(viewer);
          break;
        case 'pointer':
          this.emit('pointer', message.input);
          break;
        case 'move':
          this.emit('move', message.surface, message.x, message.y);
          break;
        case 'raise':
          this.emit('raise', message.surface);
          break;
        case 'key':
          this.emit('key', message.key, message.pressed);
          break;
      }
    });
    const hello: ServerMessage = { type: 'hello', width: this.output.width, height: this.output.height, refreshHz: this.refreshHz };
    socket.send(JSON.stringify(hello));
    socket.send(this.surfacesMessage);
    this.flush(viewer);
  }

  private flush(v: Viewer): void {
    if (v.pending.isEmpty || v.inFlight >= MAX_IN_FLIGHT || v.socket.readyState !== WebSocket.OPEN) return;
    // The pixels are read now, from the newest output: a held-back page skips
    // the frames in between and gets their union at once.
    const message = encodeFrame(this.output, v.pending, ++this.sequence);
    v.pending = Region.empty;
    v.inFlight++;
    v.socket.send(message);
  }
}
