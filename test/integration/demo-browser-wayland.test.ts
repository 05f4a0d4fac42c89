/**
 * A Wayland application in the demo, in a real browser: foot's window has its
 * title bar, and text typed on the page reaches foot through the compositor's
 * keyboard API and wl_keyboard (its pixels change where the prompt is).
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { SurfaceInfo } from '../../demos/compositor/viewer-protocol';
import { startDemo, type DemoRun } from '../helpers/demo';

const CHROMIUM = process.env.BUFSHARE_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const IN_CI = process.env.CI === 'true' || process.env.CI === '1';

interface ViewerState { connected: boolean; frames: number; surfaces: SurfaceInfo[] }
declare global {
  interface Window { bufshareViewer: ViewerState }
}

/** Runs in the page: pixels of `box` that are not the colour `bg` (0xRRGGBB). */
function inkIn(arg: { box: { x: number; y: number; width: number; height: number }; bg: number }): number {
  const c = document.getElementById('output') as HTMLCanvasElement;
  const d = c.getContext('2d')!.getImageData(arg.box.x, arg.box.y, arg.box.width, arg.box.height).data;
  let n = 0;
  for (let i = 0; i < d.length; i += 4) if (((d[i]! << 16) | (d[i + 1]! << 8) | d[i + 2]!) !== arg.bg) n++;
  return n;
}

describe('demo: a Wayland app (foot) in a real browser', function () {
  this.timeout(90000);
  let run: DemoRun | undefined;
  let context: BrowserContext | undefined;
  let foot: ChildProcess | undefined;
  let dir: string | undefined;
  let profile: string | undefined;

  before(function () {
    if (!existsSync(CHROMIUM)) {
      if (IN_CI) throw new Error(`chromium is missing at ${CHROMIUM}`);
      this.skip();
    }
    if (!existsSync('/usr/bin/foot')) this.skip(); // .ci/run installs foot
  });

  after(async () => {
    foot?.kill('SIGKILL');
    await context?.close();
    await run?.dispose();
    for (const d of [dir, profile]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it('shows foot with its title bar; typing on the page types into foot', async () => {
    dir = mkdtempSync(join(tmpdir(), 'bufshare-wl-browser-'));
    const display = join(dir, 'wayland-browser');
    run = startDemo(['--port', '0', '--clients', 'none', '--wayland', display]);
    const url = (await run.waitFor(/open (http:\/\/127\.0\.0\.1:\d+\/)/))[1]!;
    foot = spawn('foot', ['-o', 'colors.background=204060', '-o', 'colors.foreground=ffffff', '-o', 'csd.preferred=none', '-o', 'cursor.blink=no',
      '--', 'env', 'PS1=> ', 'sh'], { stdio: 'ignore', env: { ...process.env, WAYLAND_DISPLAY: display, SHELL: '/bin/sh' } });
    profile = mkdtempSync(join(tmpdir(), 'bufshare-chromium-'));
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1320, height: 920 } });
    const page: Page = context.pages()[0] ?? (await context.newPage());
    await page.goto(url);
    await page.waitForFunction(() => window.bufshareViewer?.surfaces.some((s) => s.title === 'foot'), undefined, { timeout: 30000 });
    const s = (await page.evaluate(() => window.bufshareViewer.surfaces)).find((x) => x.title === 'foot')!;
    expect([s.kind, s.access, s.format]).to.deep.equal(['shm', 'direct', 'ARGB8888']);
    const label = await page.locator(`.title[data-surface="${s.id}"]`).innerText();
    expect(label).to.contain('foot').and.to.contain(`pid ${s.pid}`);

    // foot's background fills its window on the page.
    const bg = 0x204060;
    const prompt = { x: s.x, y: s.y, width: s.width, height: 30 };
    await page.waitForFunction(inkIn, { box: prompt, bg }, { timeout: 15000 }); // the prompt is drawn
    const body = { x: s.x + 10, y: s.y + 60, width: s.width - 20, height: s.height - 70 };
    expect(await page.evaluate(inkIn, { box: body, bg })).to.equal(0);

    // Click into the window (keyboard focus), let foot settle, then type.
    const box = (await page.locator('#output').boundingBox())!;
    await page.mouse.click(box.x + s.x + s.width / 2, box.y + s.y + s.height / 2);
    await page.waitForTimeout(500);
    const before = await page.evaluate(inkIn, { box: { ...prompt, x: s.x + 30, width: s.width - 30 }, bg });
    await page.keyboard.type('echo bufshare');
    await page.waitForFunction(({ b, n }) => {
      const c = document.getElementById('output') as HTMLCanvasElement;
      const d = c.getContext('2d')!.getImageData(b.x, b.y, b.width, b.height).data;
      let ink = 0;
      for (let i = 0; i < d.length; i += 4) if (((d[i]! << 16) | (d[i + 1]! << 8) | d[i + 2]!) !== 0x204060) ink++;
      return ink > n + 100;
    }, { b: { ...prompt, x: s.x + 30, width: s.width - 30 }, n: before }, { timeout: 15000 });
  });
});
