/**
 * The viewer's WebSocket as a program sees it (no browser needed): only pages
 * from the viewer's own origin get in, each frame carries only damaged
 * rectangles, pointer messages reach the surface under the pointer, and a bad
 * message costs the page its connection, never the compositor.
 */
import { expect } from 'chai';
import { request } from 'node:http';
import { WebSocket } from 'ws';
import { decodeFrame, type DecodedRect } from '../../demos/compositor/frame-wire';
import type { ServerMessage, SurfaceInfo } from '../../demos/compositor/viewer-protocol';
import { startDemo, type DemoRun } from '../helpers/demo';

interface Page {
  readonly socket: WebSocket;
  readonly frames: { sequence: number; rects: DecodedRect[] }[];
  surfaces: SurfaceInfo[];
  hello: ServerMessage | undefined;
  /** Resolves once `test` holds (checked on every message). */
  until(test: () => boolean, what: string, timeoutMs?: number): Promise<void>;
}

function openPage(port: number, origin = `http://127.0.0.1:${port}`, ack = true): Page {
  const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`, { origin });
  const checks: { test: () => boolean; resolve: () => void }[] = [];
  const page: Page = {
    socket, frames: [], surfaces: [], hello: undefined,
    until(test, what, timeoutMs = 15000) {
      if (test()) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
        checks.push({ test, resolve: () => { clearTimeout(timer); resolve(); } });
      });
    },
  };
  socket.on('message', (data, isBinary) => {
    if (isBinary) {
      const frame = decodeFrame(new Uint8Array(data as Buffer));
      page.frames.push(frame);
      if (ack) socket.send(JSON.stringify({ type: 'ack', sequence: frame.sequence }));
    } else {
      const m = JSON.parse(data.toString()) as ServerMessage;
      if (m.type === 'hello') page.hello = m;
      else page.surfaces = [...m.surfaces];
    }
    for (const c of [...checks]) if (c.test()) { checks.splice(checks.indexOf(c), 1); c.resolve(); }
  });
  return page;
}

function inside(r: DecodedRect, s: SurfaceInfo): boolean {
  return r.x >= s.x && r.y >= s.y && r.x + r.width <= s.x + s.width && r.y + r.height <= s.y + s.height;
}

describe('demo: the viewer WebSocket', function () {
  this.timeout(60000);
  let run: DemoRun;
  let port: number;

  before(async () => {
    run = startDemo(['--port', '0']);
    port = Number((await run.waitFor(/open http:\/\/127\.0\.0\.1:(\d+)\//))[1]);
  });
  after(async () => {
    await run.dispose();
  });

  it('serves the page, and nothing else, to loopback names only', async () => {
    const get = (path: string, method = 'GET', host = `127.0.0.1:${port}`): Promise<{ status: number; body: string }> =>
      new Promise((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path, method, headers: { host } }, (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end();
      });
    const page = await get('/');
    expect(page.status).to.equal(200);
    expect(page.body).to.contain('<canvas id="output"');
    expect((await get('/viewer.js')).body).to.contain('bufshareViewer');
    expect((await get('/../package.json')).status).to.equal(404);
    expect((await get('/ws')).status).to.equal(426);
    expect((await get('/', 'POST')).status).to.equal(405);
    // DNS rebinding: a page of another site that resolves to 127.0.0.1 carries its own Host.
    expect((await get('/', 'GET', `evil.example:${port}`)).status).to.equal(404);
  });

  it('refuses pages from another origin', async () => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`, { origin: 'http://evil.example' });
    const status = await new Promise<number>((resolve) => {
      socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      socket.on('open', () => resolve(101));
    });
    expect(status).to.equal(401);
  });

  it('sends the whole output once, then only damaged rectangles', async () => {
    const page = openPage(port);
    await page.until(() => page.surfaces.length === 2, 'two surfaces');
    // Both have shown their first pixels; with two frames in flight at most, what
    // was pending then has arrived three frames later.
    const settled = page.frames.length + 3;
    await page.until(() => page.frames.length >= settled + 10, 'ten more frames');
    expect(page.hello).to.deep.include({ type: 'hello', width: 1280, height: 720 });
    const [first] = page.frames;
    expect(first!.rects.map((r) => [r.x, r.y, r.width, r.height])).to.deep.equal([[0, 0, 1280, 720]]);
    // From then on, with nobody drawing in fingerpaint, only basic's animation changes.
    const basic = page.surfaces.find((s) => s.title === 'basic')!;
    const later = page.frames.slice(settled);
    for (const f of later) for (const r of f.rects) expect(inside(r, basic), `rect ${JSON.stringify([r.x, r.y, r.width, r.height])} in basic`).to.equal(true);
    page.socket.close();
  });

  it('routes pointer input to fingerpaint, whose strokes come back as small damaged rectangles', async () => {
    const page = openPage(port);
    await page.until(() => page.surfaces.length === 2 && page.frames.length > 0, 'surfaces');
    const paint = page.surfaces.find((s) => s.title === 'fingerpaint')!;
    const y = paint.y + 200;
    const send = (action: string, x: number, buttons: number, button?: number): void =>
      page.socket.send(JSON.stringify({ type: 'pointer', action, x, y, buttons, ...(button === undefined ? {} : { button }) }));
    const seen = page.frames.length;
    send('down', paint.x + 100, 1, 0);
    for (let x = paint.x + 110; x <= paint.x + 200; x += 10) send('move', x, 1);
    send('up', paint.x + 200, 0, 0);
    const strokeRects = (): DecodedRect[] => page.frames.slice(seen).flatMap((f) => f.rects).filter((r) => inside(r, paint));
    await page.until(() => strokeRects().some((r) => r.x + r.width >= paint.x + 200), 'the stroke to reach its end');
    for (const r of strokeRects()) expect(r.width * r.height, 'a stroke damages a band, not the surface').to.be.below((paint.width * paint.height) / 4);
    // The stroke's pixels: ink (0x2a6fdb) at its middle.
    const mid = { x: paint.x + 150, y };
    const ink = page.frames.slice(seen).flatMap((f) => f.rects).filter((r) => mid.x >= r.x && mid.x < r.x + r.width && mid.y >= r.y && mid.y < r.y + r.height)
      .map((r) => r.pixels[(mid.y - r.y) * r.width + (mid.x - r.x)]! & 0xffffff);
    expect(ink).to.include(0x2a6fdb);
    page.socket.close();
  });

  it('closes a page that sends garbage; the compositor and other pages go on', async () => {
    const good = openPage(port);
    await good.until(() => good.frames.length > 0, 'a frame');
    const bad = openPage(port);
    await bad.until(() => bad.frames.length > 0, 'a frame');
    const closed = new Promise<number>((resolve) => bad.socket.on('close', (code) => resolve(code)));
    bad.socket.send('{"type":"pointer","action":"move","x":"0; rm -rf /","y":0,"buttons":0}');
    expect(await closed).to.equal(1008);
    const n = good.frames.length;
    await good.until(() => good.frames.length > n + 5, 'more frames on the good page');
    good.socket.close();
  });

  it('a client killed mid-run disappears from the output, and the other goes on', async () => {
    const page = openPage(port);
    await page.until(() => page.surfaces.length === 2 && page.frames.length > 0, 'surfaces');
    const basic = page.surfaces.find((s) => s.title === 'basic')!;
    const paint = page.surfaces.find((s) => s.title === 'fingerpaint')!;
    process.kill(basic.pid, 'SIGKILL');
    await page.until(() => page.surfaces.length === 1, 'basic to leave the surface list');
    expect(page.surfaces[0]!.title).to.equal('fingerpaint');
    // A frame repaints basic's whole area with the background (two colours: its own and the grid's).
    const covers = (r: DecodedRect): boolean => r.x <= basic.x && r.y <= basic.y && r.x + r.width >= basic.x + basic.width && r.y + r.height >= basic.y + basic.height;
    const colorsWhereBasicWas = (r: DecodedRect): number => {
      const colors = new Set<number>();
      for (let y = basic.y; y < basic.y + basic.height; y++) {
        const row = (y - r.y) * r.width + (basic.x - r.x);
        for (const p of r.pixels.subarray(row, row + basic.width)) colors.add(p & 0xffffff);
      }
      return colors.size;
    };
    // Frames sent after the kill: the last one covering basic's area shows only background there.
    await page.until(() => {
      const last = page.frames.flatMap((f) => f.rects).filter(covers).pop();
      return last !== undefined && colorsWhereBasicWas(last) === 2;
    }, 'the background where basic was');
    const seen = page.frames.length;
    const y = paint.y + 300;
    page.socket.send(JSON.stringify({ type: 'pointer', action: 'down', x: paint.x + 50, y, buttons: 1, button: 0 }));
    page.socket.send(JSON.stringify({ type: 'pointer', action: 'move', x: paint.x + 150, y, buttons: 1 }));
    page.socket.send(JSON.stringify({ type: 'pointer', action: 'up', x: paint.x + 150, y, buttons: 0, button: 0 }));
    await page.until(() => page.frames.slice(seen).some((f) => f.rects.some((r) => inside(r, paint))), 'fingerpaint to draw again');
    page.socket.close();
  });
});
