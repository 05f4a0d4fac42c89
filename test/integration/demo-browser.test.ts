/**
 * The demo in a real browser: Debian's chromium, driven by playwright-core.
 * In CI (CI=true) a missing chromium is a failure; elsewhere the suite is skipped.
 */
import { expect } from 'chai';
import { existsSync, mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { SurfaceInfo } from '../../demos/compositor/viewer-protocol';
import { BACKGROUND_COLOR } from '../../demos/compositor/background';
import { BRUSH_RADIUS, distanceToPath } from '../../demos/fingerpaint/script';
import { isAlive, leftovers, startDemo, type DemoRun } from '../helpers/demo';

const CHROMIUM = process.env.BUFSHARE_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
// `npm run screenshot` writes the README's docs/screenshot.png; a plain test run
// leaves the tree clean.
const SCREENSHOT = process.env.BUFSHARE_SCREENSHOT ?? join(tmpdir(), `bufshare-screenshot-${process.pid}.png`);
const PAPER = 0xf4f1ea;
const INK = [0x2a6fdb, 0xd9442f];
const IN_CI = process.env.CI === 'true' || process.env.CI === '1';

interface Box { x: number; y: number; width: number; height: number }

/** Runs in the page: FNV-1a of the canvas pixels in `box`. */
function canvasHash(box: Box): number {
  const c = document.getElementById('output') as HTMLCanvasElement;
  const d = c.getContext('2d')!.getImageData(box.x, box.y, box.width, box.height).data;
  let h = 0x811c9dc5;
  for (let i = 0; i < d.length; i++) h = Math.imul(h ^ d[i]!, 0x01000193);
  return h >>> 0;
}

/** Runs in the page: how many pixels of `box` have each colour (0xRRGGBB), the top ones. */
function canvasColors(box: Box): [number, number][] {
  const c = document.getElementById('output') as HTMLCanvasElement;
  const d = c.getContext('2d')!.getImageData(box.x, box.y, box.width, box.height).data;
  const m = new Map<number, number>();
  for (let i = 0; i < d.length; i += 4) {
    const rgb = (d[i]! << 16) | (d[i + 1]! << 8) | d[i + 2]!;
    m.set(rgb, (m.get(rgb) ?? 0) + 1);
  }
  return [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, 50);
}

/** Runs in the page: the pixels of `box` whose colour is not `rgb` (0xRRGGBB), relative to the box. */
function canvasPixelsNot(a: { box: Box; rgb: number }): [number, number][] {
  const c = document.getElementById('output') as HTMLCanvasElement;
  const d = c.getContext('2d')!.getImageData(a.box.x, a.box.y, a.box.width, a.box.height).data;
  const out: [number, number][] = [];
  for (let i = 0; i < d.length; i += 4) {
    if (((d[i]! << 16) | (d[i + 1]! << 8) | d[i + 2]!) !== a.rgb) out.push([(i / 4) % a.box.width, Math.floor(i / 4 / a.box.width)]);
  }
  return out;
}

/** Runs in the page: the colour (0xRRGGBB) of one canvas pixel. */
function canvasPixel(p: { x: number; y: number }): number {
  const c = document.getElementById('output') as HTMLCanvasElement;
  const d = c.getContext('2d')!.getImageData(p.x, p.y, 1, 1).data;
  return (d[0]! << 16) | (d[1]! << 8) | d[2]!;
}

interface ViewerState { connected: boolean; frames: number; surfaces: SurfaceInfo[] }
declare global {
  interface Window { bufshareViewer: ViewerState }
}

describe('demo: in a real browser (headless Chromium)', function () {
  this.timeout(90000);
  let run: DemoRun | undefined;
  let context: BrowserContext | undefined;
  let page: Page;
  let profile: string | undefined;
  let canvasOrigin: { x: number; y: number };

  before(async function () {
    if (!existsSync(CHROMIUM)) {
      if (IN_CI) throw new Error(`chromium is missing at ${CHROMIUM}: CI must install Debian's chromium (apt-get install -y --no-install-recommends chromium)`);
      this.skip();
    }
    run = startDemo(['--port', '0']);
    const url = (await run.waitFor(/open (http:\/\/127\.0\.0\.1:\d+\/)/))[1]!;
    profile = mkdtempSync(join(tmpdir(), 'bufshare-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1320, height: 920 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    await page.goto(url);
    await page.waitForFunction(() => window.bufshareViewer?.surfaces.length === 2 && window.bufshareViewer.frames > 0, undefined, { timeout: 30000 });
    const box = (await page.locator('#output').boundingBox())!;
    canvasOrigin = { x: box.x, y: box.y };
  });

  after(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await run?.dispose();
  });

  async function surfaces(): Promise<SurfaceInfo[]> {
    return page.evaluate(() => window.bufshareViewer.surfaces);
  }

  async function surface(title: string): Promise<SurfaceInfo> {
    const s = (await surfaces()).find((x) => x.title === title);
    expect(s, `surface ${title}`).to.not.equal(undefined);
    return s!;
  }

  /** Drags the mouse through surface-local points of `s`. */
  async function drag(s: SurfaceInfo, points: { x: number; y: number }[]): Promise<void> {
    const at = (p: { x: number; y: number }): [number, number] => [canvasOrigin.x + s.x + p.x, canvasOrigin.y + s.y + p.y];
    await page.mouse.move(...at(points[0]!));
    await page.mouse.down();
    for (const p of points.slice(1)) await page.mouse.move(...at(p), { steps: 20 });
    await page.mouse.up();
  }

  /** Waits until the canvas pixel at output (x, y) has `rgb` (within 3 per channel). */
  async function waitForPixel(x: number, y: number, rgb: number): Promise<void> {
    await page.waitForFunction(({ p, want }) => {
      const c = document.getElementById('output') as HTMLCanvasElement;
      const d = c.getContext('2d')!.getImageData(p.x, p.y, 1, 1).data;
      return Math.abs(d[0]! - ((want >> 16) & 255)) <= 3 && Math.abs(d[1]! - ((want >> 8) & 255)) <= 3 && Math.abs(d[2]! - (want & 255)) <= 3;
    }, { p: { x, y }, want: rgb }, { timeout: 15000 });
  }

  it('shows both clients, each with its pid, buffer kind, access strategy and fps', async () => {
    const list = await surfaces();
    expect(list.map((s) => s.title).sort()).to.deep.equal(['basic', 'fingerpaint']);
    for (const s of list) {
      expect(run!.pids()).to.include(s.pid);
      expect(['shm', 'dumb', 'gbm', 'udmabuf']).to.include(s.kind);
      expect(['direct', 'shadow']).to.include(s.access);
    }
    // basic animates at the output's rate: its fps label climbs above zero.
    await page.waitForFunction(() => window.bufshareViewer.surfaces.some((s) => s.title === 'basic' && s.fps > 10), undefined, { timeout: 15000 });
    const basic = await surface('basic');
    const label = await page.locator(`.title[data-surface="${basic.id}"]`).innerText();
    expect(label).to.contain(`pid ${basic.pid}`).and.to.contain(basic.kind).and.to.contain(basic.access).and.to.match(/\d+ fps/);
  });

  it("sees basic's surface change between frames", async () => {
    const basic = await surface('basic');
    const box = { x: basic.x, y: basic.y, width: basic.width, height: basic.height };
    const first = await page.evaluate(canvasHash, box);
    await page.waitForFunction(({ b, h }) => {
      const c = document.getElementById('output') as HTMLCanvasElement;
      const d = c.getContext('2d')!.getImageData(b.x, b.y, b.width, b.height).data;
      let x = 0x811c9dc5;
      for (let i = 0; i < d.length; i++) x = Math.imul(x ^ d[i]!, 0x01000193);
      return x >>> 0 !== h;
    }, { b: box, h: first }, { timeout: 15000 });
    // Many colours: a gradient, not a flat fill.
    expect((await page.evaluate(canvasColors, box)).length).to.equal(50);
  });

  it('drags the mouse across fingerpaint and finds the stroke in the canvas pixels; saves the screenshot', async () => {
    const paint = await surface('fingerpaint');
    const box = { x: paint.x, y: paint.y, width: paint.width, height: paint.height };
    const before = await page.evaluate(canvasColors, box);
    expect(before[0]![0], 'untouched paper').to.equal(PAPER);
    expect(before[0]![1]).to.equal(paint.width * paint.height);
    const y = Math.round(paint.height * 0.6);
    const path = [{ x: 60, y }, { x: 200, y: y - 120 }, { x: 340, y }, { x: 480, y: y - 120 }];
    await drag(paint, path);
    // Every sample point, and the middle of each piece between them, is inked.
    for (let i = 0; i < path.length; i++) {
      const p = path[i]!;
      await waitForPixel(paint.x + p.x, paint.y + p.y, INK[0]!);
      if (i > 0) {
        const q = path[i - 1]!;
        await waitForPixel(paint.x + Math.round((p.x + q.x) / 2), paint.y + Math.round((p.y + q.y) / 2), INK[0]!);
      }
    }
    // Away from the stroke, the paper is untouched.
    expect(await page.evaluate(canvasPixel, { x: paint.x + 20, y: paint.y + paint.height - 20 })).to.equal(PAPER);
    const after = new Map(await page.evaluate(canvasColors, box));
    expect(after.get(INK[0]!) ?? 0, 'ink pixels').to.be.above(2000);
    // Every painted pixel lies on the dragged path (within the brush and its
    // anti-aliased rim): no stray line to where the pointer was released, or to (0, 0).
    const painted = await page.evaluate(canvasPixelsNot, { box, rgb: PAPER });
    const stray = painted.filter(([x, y]) => distanceToPath({ x: x + 0.5, y: y + 0.5 }, path) > BRUSH_RADIUS + 3);
    expect(stray.length, `ink off the dragged path, e.g. ${JSON.stringify(stray.slice(0, 5))}`).to.equal(0);

    await page.waitForFunction(() => window.bufshareViewer.surfaces.every((s) => s.title !== 'basic' || s.fps > 10));
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    const png = await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(png.subarray(1, 4).toString()).to.equal('PNG');
  });

  it('dragging a title bar moves the surface: the old place shows the background, the new one the surface', async () => {
    const basic = await surface('basic');
    // The viewer rebuilds its title bars on every surface list (fps updates too): a
    // bar can be detached between finding it and measuring it (null). Measure again.
    let bar = await page.locator(`.title[data-surface="${basic.id}"]`).boundingBox();
    for (let tries = 0; !bar && tries < 50; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      bar = await page.locator(`.title[data-surface="${basic.id}"]`).boundingBox();
    }
    expect(bar, 'title bar on the page').to.not.equal(null);
    const grab = { x: bar!.x + 30, y: bar!.y + bar!.height / 2 };
    await page.mouse.move(grab.x, grab.y);
    await page.mouse.down();
    await page.mouse.move(grab.x - 10, grab.y + 260, { steps: 10 });
    await page.mouse.up();
    // The drag's 10 steps arrive one by one (the 9th puts it at +234): wait for the last.
    await page.waitForFunction((a) => window.bufshareViewer.surfaces.some((s) => s.id === a.id && s.y >= a.y + 250), { id: basic.id, y: basic.y }, { timeout: 15000 });
    const moved = await surface('basic');
    expect([moved.x - basic.x, moved.y - basic.y]).to.deep.equal([-10, 260]);
    await waitForPixel(basic.x + 1, basic.y + 1, BACKGROUND_COLOR & 0xffffff);
    const box = { x: moved.x, y: moved.y, width: moved.width, height: moved.height };
    await page.waitForFunction((b) => {
      const c = document.getElementById('output') as HTMLCanvasElement;
      const d = c.getContext('2d')!.getImageData(b.x, b.y, b.width, b.height).data;
      const colors = new Set<number>();
      for (let i = 0; i < d.length; i += 4) colors.add((d[i]! << 16) | (d[i + 1]! << 8) | d[i + 2]!);
      return colors.size > 200;
    }, box, { timeout: 15000 });
  });

  it('a client killed mid-run disappears from the view, and the others go on', async () => {
    const basic = await surface('basic');
    process.kill(basic.pid, 'SIGKILL');
    await page.waitForFunction(() => window.bufshareViewer.surfaces.length === 1, undefined, { timeout: 15000 });
    expect((await surfaces()).map((s) => s.title)).to.deep.equal(['fingerpaint']);
    expect(await page.locator('.title').count()).to.equal(1);
    // Where basic was, the background shows again (its colour and its grid dots only).
    await waitForPixel(basic.x + 1, basic.y + 1, BACKGROUND_COLOR & 0xffffff);
    const colors = await page.evaluate(canvasColors, { x: basic.x, y: basic.y, width: basic.width, height: basic.height });
    expect(colors.length).to.equal(2);
    // The compositor and fingerpaint go on: a new stroke (the next ink colour) shows up.
    const paint = await surface('fingerpaint');
    const y = 40;
    await drag(paint, [{ x: 100, y }, { x: 400, y }]);
    await waitForPixel(paint.x + 250, paint.y + y, INK[1]!);
    await run!.waitFor(/basic exited .* the others go on/);
  });

  it('SIGTERM stops the compositor and the clients: no orphan process, no stale socket', async () => {
    const pids = run!.pids();
    expect(pids.length).to.equal(3);
    await run!.stop();
    for (const pid of pids) expect(isAlive(pid), `pid ${pid}`).to.equal(false);
    expect(leftovers(run!)).to.deep.equal([]);
    await page.waitForFunction(() => !window.bufshareViewer.connected, undefined, { timeout: 10000 });
  });
});
