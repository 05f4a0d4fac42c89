import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import type { SurfaceInfo } from '../../demos/compositor/viewer-protocol';
import { BACKGROUND_COLOR } from '../../demos/compositor/background';
import { BRUSH_RADIUS, distanceToPath, scriptedStroke } from '../../demos/fingerpaint/script';
import { isAlive, leftovers, startDemo } from '../helpers/demo';

const PAPER = 0xf4f1ea;
const INK = 0x2a6fdb;

describe('demo: headless run (compositor + basic + fingerpaint as processes)', function () {
  this.timeout(60000);

  it('writes a PNG whose pixels show both surfaces, then stops everything and leaves nothing behind', async () => {
    const out = mkdtempSync(join(tmpdir(), 'bufshare-png-'));
    const file = join(out, 'shot.png');
    const run = startDemo(['--headless', '--frames', '90', '--screenshot', file]);
    try {
      const { code } = await run.exited();
      expect(code, run.lines.join('\n')).to.equal(0);
      const surfaces = JSON.parse((await run.waitFor(/surfaces: (.*)$/))[1]!) as SurfaceInfo[];
      expect(surfaces.map((s) => s.title).sort()).to.deep.equal(['basic', 'fingerpaint']);
      for (const pid of run.pids()) expect(isAlive(pid), `pid ${pid} still running`).to.equal(false);
      expect(leftovers(run), 'runtime dir and socket removed').to.deep.equal([]);

      const png = PNG.sync.read(readFileSync(file));
      expect([png.width, png.height]).to.deep.equal([1280, 720]);
      const rgb = (x: number, y: number): number => {
        const i = (y * png.width + x) * 4;
        return (png.data[i]! << 16) | (png.data[i + 1]! << 8) | png.data[i + 2]!;
      };
      const colorsIn = (s: { x: number; y: number; width: number; height: number }): Map<number, number> => {
        const m = new Map<number, number>();
        for (let y = s.y; y < s.y + s.height; y++) for (let x = s.x; x < s.x + s.width; x++) m.set(rgb(x, y), (m.get(rgb(x, y)) ?? 0) + 1);
        return m;
      };
      const paint = surfaces.find((s) => s.title === 'fingerpaint')!;
      const basic = surfaces.find((s) => s.title === 'basic')!;
      const paintColors = colorsIn(paint);
      expect(paintColors.get(PAPER)! / (paint.width * paint.height), 'fingerpaint shows its paper').to.be.above(0.8);
      expect(paintColors.get(INK) ?? 0, 'and the scripted stroke').to.be.above(500);
      // Where the ink is: on the scripted path (within the brush's radius and its
      // anti-aliased rim), nowhere else; and the whole path is inked.
      const path = scriptedStroke(paint.width, paint.height);
      const stray: string[] = [];
      for (let y = 0; y < paint.height; y++) {
        for (let x = 0; x < paint.width; x++) {
          if (rgb(paint.x + x, paint.y + y) === PAPER) continue;
          if (distanceToPath({ x: x + 0.5, y: y + 0.5 }, path) > BRUSH_RADIUS + 2) stray.push(`(${x}, ${y})`);
        }
      }
      expect(stray.length, `ink off the stroke's path, e.g. ${stray.slice(0, 5).join(' ')}`).to.equal(0);
      for (const p of path) expect(rgb(paint.x + Math.floor(p.x), paint.y + Math.floor(p.y)), `ink at sample (${p.x.toFixed(1)}, ${p.y.toFixed(1)})`).to.equal(INK);
      expect(colorsIn(basic).size, "basic's gradient: many colours").to.be.above(200);
      // Everywhere else: the background (its colour and its grid dots), nothing else.
      const inside = (x: number, y: number): boolean => [paint, basic].some((s) => x >= s.x && x < s.x + s.width && y >= s.y && y < s.y + s.height);
      const outside = new Set<number>();
      for (let y = 0; y < png.height; y++) for (let x = 0; x < png.width; x++) if (!inside(x, y)) outside.add(rgb(x, y));
      expect(outside.size).to.equal(2);
      expect(outside.has(BACKGROUND_COLOR & 0xffffff)).to.equal(true);
    } finally {
      await run.dispose();
      rmSync(out, { recursive: true, force: true });
    }
  });
});
