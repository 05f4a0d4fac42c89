import { expect } from 'chai';
import { Region, resolveFormat, ShmAllocator, type GraphicsRegion, type ShmBuffer } from '../../lib';
import { createBackground } from '../../demos/compositor/background';
import { compose as composeOver } from '../../demos/compositor/composer';
import { Framebuffer } from '../../demos/compositor/framebuffer';
import { Scene } from '../../demos/compositor/scene';

/** A flat background color, so that expected pixels are easy to state. */
const BG = 0xff1b1d23;

function flatBackground(width: number, height: number): Framebuffer {
  const fb = new Framebuffer(width, height);
  fb.pixels32.fill(BG);
  return fb;
}

function compose(scene: Scene, out: Framebuffer, damage: Region): ReturnType<typeof composeOver> {
  return composeOver(scene, out, flatBackground(out.width, out.height), damage);
}

const XRGB = resolveFormat('XRGB8888');
const ARGB = resolveFormat('ARGB8888');

describe('compositor scene and damage-tracked composition', () => {
  const alloc = new ShmAllocator();
  const buffers: ShmBuffer[] = [];
  afterEach(() => {
    for (const b of buffers.splice(0)) b.destroy();
  });

  /** A real shm buffer filled with `color`, mapped for reading as a compositor would. */
  function surfacePixels(width: number, height: number, format: 'XRGB8888' | 'ARGB8888', color: number): GraphicsRegion {
    const b = alloc.allocate({ width, height, format });
    buffers.push(b);
    const r = b.map({ mode: 'readwrite' });
    for (let y = 0; y < height; y++) r.pixels32.fill(color, y * r.stride32, y * r.stride32 + width);
    return r;
  }

  function px(out: Framebuffer, x: number, y: number): number {
    return out.pixels32[y * out.width + x]! >>> 0;
  }

  /** Output pixels that differ from `sentinel`, as a sorted list of "x,y". */
  function changedFrom(out: Framebuffer, sentinel: number): Set<string> {
    const s = new Set<string>();
    out.pixels32.forEach((p, i) => { if (p >>> 0 !== sentinel) s.add(`${i % out.width},${Math.floor(i / out.width)}`); });
    return s;
  }

  it('the first composition paints the whole output; surfaces show only once they have content', () => {
    const scene = new Scene(64, 48, 'cascade', { gap: 4, titleHeight: 0, step: 8 });
    const out = new Framebuffer(64, 48);
    scene.add(1, 10, 10, XRGB);
    expect(scene.takeDamage().area).to.equal(64 * 48);
    compose(scene, out, Region.full(64, 48));
    expect(changedFrom(out, BG).size, 'all background: no content attached').to.equal(0);
    scene.attach(1, surfacePixels(10, 10, 'XRGB8888', 0xff00ff00), Region.empty);
    expect(scene.takeDamage().toJSON()).to.deep.equal([{ x: 4, y: 4, width: 10, height: 10 }]);
  });

  it('copies opaque surfaces and blends ARGB ones over what is below', () => {
    const scene = new Scene(40, 30, 'cascade', { gap: 0, titleHeight: 0, step: 5 });
    const out = new Framebuffer(40, 30);
    scene.add(1, 20, 20, XRGB); // at (0, 0)
    scene.add(2, 20, 20, ARGB); // at (5, 5)
    scene.attach(1, surfacePixels(20, 20, 'XRGB8888', 0xff2040c0), Region.empty);
    // Half-transparent white, premultiplied: 0x80 in every channel.
    scene.attach(2, surfacePixels(20, 20, 'ARGB8888', 0x80808080), Region.empty);
    const stats = compose(scene, out, scene.takeDamage());
    expect(px(out, 1, 1)).to.equal(0xff2040c0);
    expect(px(out, 39, 29)).to.equal(BG);
    // Over the opaque surface: 0x80 + c * 127 / 255.
    const over = px(out, 10, 10);
    expect([(over >>> 16) & 0xff, (over >>> 8) & 0xff, over & 0xff]).to.deep.equal([0x80 + 16, 0x80 + 32, 0x80 + 96]);
    // Over the background (0x1b1d23).
    const overBg = px(out, 22, 22);
    expect(overBg & 0xff).to.equal(0x80 + Math.round((0x23 * 127) / 255));
    expect(stats.copied).to.equal(400);
    expect(stats.blended).to.equal(400);
    // Where the ARGB surface lies straight on the background (400 - 15 x 15 over the
    // opaque one), it is blended over the background itself: not copied first.
    expect(stats.background).to.equal(40 * 30 - 400 - (400 - 15 * 15));
    expect(stats.filled).to.equal(0);
  });

  it('recomposes only the damaged pixels of a submit', () => {
    const scene = new Scene(50, 40, 'cascade', { gap: 3, titleHeight: 0, step: 5 });
    const out = new Framebuffer(50, 40);
    scene.add(7, 30, 20, XRGB);
    const pixels = surfacePixels(30, 20, 'XRGB8888', 0xff111111);
    scene.attach(7, pixels, Region.empty);
    compose(scene, out, scene.takeDamage());
    // The client redraws everything but says only (2, 3, 4, 5) changed: only that may reach the output.
    for (let y = 0; y < 20; y++) pixels.pixels32.fill(0xffeeeeee, y * pixels.stride32, y * pixels.stride32 + 30);
    const sentinel = 0xff0badf0;
    out.pixels32.fill(sentinel);
    scene.attach(7, pixels, Region.of({ x: 2, y: 3, width: 4, height: 5 }));
    const damage = scene.takeDamage();
    expect(damage.toJSON()).to.deep.equal([{ x: 5, y: 6, width: 4, height: 5 }]);
    const stats = compose(scene, out, damage);
    expect(stats).to.deep.equal({ copied: 20, blended: 0, background: 0, filled: 0 });
    const changed = changedFrom(out, sentinel);
    expect(changed.size).to.equal(20);
    for (let y = 6; y < 11; y++) for (let x = 5; x < 9; x++) expect(px(out, x, y)).to.equal(0xffeeeeee);
    expect(scene.takeDamage().isEmpty, 'damage is taken once').to.equal(true);
  });

  it('damage beyond the surface or the output is clipped', () => {
    const scene = new Scene(20, 20, 'cascade', { gap: 10, titleHeight: 0, step: 5 });
    scene.add(1, 15, 15, XRGB); // at (10, 10), half off the output
    scene.attach(1, surfacePixels(15, 15, 'XRGB8888', 0xffffffff), Region.empty);
    scene.takeDamage();
    scene.attach(1, surfacePixels(15, 15, 'XRGB8888', 0xffffffff), Region.of({ x: -100, y: 5, width: 1000, height: 1000 }));
    expect(scene.takeDamage().toJSON()).to.deep.equal([{ x: 10, y: 15, width: 10, height: 5 }]);
  });

  it('a surface leaving damages what it covered, and the background shows again', () => {
    const scene = new Scene(30, 30, 'cascade', { gap: 2, titleHeight: 0, step: 5 });
    const out = new Framebuffer(30, 30);
    scene.add(1, 10, 10, XRGB);
    scene.attach(1, surfacePixels(10, 10, 'XRGB8888', 0xffff0000), Region.empty);
    compose(scene, out, scene.takeDamage());
    expect(px(out, 5, 5)).to.equal(0xffff0000);
    scene.remove(1);
    const d = scene.takeDamage();
    expect(d.toJSON()).to.deep.equal([{ x: 2, y: 2, width: 10, height: 10 }]);
    compose(scene, out, d);
    expect(changedFrom(out, BG).size).to.equal(0);
    expect(scene.remove(1)).to.equal(undefined);
  });

  it('moves damage the old and new places and clamp the corner to the output', () => {
    const scene = new Scene(100, 80, 'cascade', { gap: 0, titleHeight: 0, step: 5 });
    const out = new Framebuffer(100, 80);
    scene.add(1, 10, 10, XRGB);
    scene.attach(1, surfacePixels(10, 10, 'XRGB8888', 0xff00ff00), Region.empty);
    compose(scene, out, scene.takeDamage());
    scene.move(1, 50, 40);
    const d = scene.takeDamage();
    expect(d.area).to.equal(200);
    expect(d.contains(0, 0) && d.contains(55, 45)).to.equal(true);
    compose(scene, out, d);
    expect(px(out, 0, 0)).to.equal(BG);
    expect(px(out, 55, 45)).to.equal(0xff00ff00);
    scene.move(1, -30, 500);
    expect(scene.get(1)!.rect).to.deep.include({ x: 0, y: 79 });
    compose(scene, out, scene.takeDamage());
    expect(px(out, 0, 79)).to.equal(0xff00ff00);
    expect(px(out, 55, 45)).to.equal(BG);
  });

  it('raising restacks, damages the raised surface, and hit testing follows the order', () => {
    const scene = new Scene(40, 40, 'cascade', { gap: 0, titleHeight: 0, step: 5 });
    const out = new Framebuffer(40, 40);
    scene.add(1, 20, 20, XRGB); // (0, 0)
    scene.add(2, 20, 20, XRGB); // (5, 5), on top
    scene.attach(1, surfacePixels(20, 20, 'XRGB8888', 0xff0000ff), Region.empty);
    scene.attach(2, surfacePixels(20, 20, 'XRGB8888', 0xffff0000), Region.empty);
    compose(scene, out, scene.takeDamage());
    expect(px(out, 10, 10)).to.equal(0xffff0000);
    expect(scene.surfaceAt(10, 10)!.id).to.equal(2);
    expect(scene.surfaceAt(2, 2)!.id).to.equal(1);
    expect(scene.surfaceAt(30, 30)).to.equal(undefined);
    scene.raise(1);
    expect(scene.surfaces.map((s) => s.id)).to.deep.equal([2, 1]);
    compose(scene, out, scene.takeDamage());
    expect(px(out, 10, 10)).to.equal(0xff0000ff);
    expect(px(out, 22, 22)).to.equal(0xffff0000);
    expect(scene.surfaceAt(10, 10)!.id).to.equal(1);
  });

  it('an opaque surface on top hides the ones below: their pixels are not painted', () => {
    const scene = new Scene(30, 30, 'cascade', { gap: 0, titleHeight: 0, step: 0 });
    const out = new Framebuffer(30, 30);
    scene.add(1, 20, 20, XRGB);
    scene.add(2, 20, 20, XRGB); // same place, on top
    scene.attach(1, surfacePixels(20, 20, 'XRGB8888', 0xff0000ff), Region.empty);
    scene.attach(2, surfacePixels(20, 20, 'XRGB8888', 0xffff0000), Region.empty);
    const stats = compose(scene, out, scene.takeDamage());
    expect(stats.copied).to.equal(400);
    expect(stats.background).to.equal(900 - 400);
  });

  it('many small damages stay a bounded number of rectangles that cover them all', () => {
    const scene = new Scene(200, 200, 'cascade', { gap: 0, titleHeight: 0, step: 5 });
    scene.add(1, 200, 200, XRGB);
    scene.attach(1, surfacePixels(200, 200, 'XRGB8888', 0xff000000), Region.empty);
    scene.takeDamage();
    const points: [number, number][] = [];
    for (let i = 0; i < 300; i++) {
      const p: [number, number] = [(i * 37) % 197, (i * 53) % 197];
      points.push(p);
      scene.attach(1, scene.get(1)!.content!, Region.of({ x: p[0], y: p[1], width: 3, height: 3 }));
    }
    const d = scene.takeDamage();
    expect(d.rects.length).to.be.at.most(32);
    for (const [x, y] of points) expect(d.contains(x + 1, y + 1), `${x},${y}`).to.equal(true);
  });

  it('a surface whose pixels were unmapped (its client went away) is skipped, never read', () => {
    const scene = new Scene(30, 30, 'cascade', { gap: 0, titleHeight: 0, step: 5 });
    const out = new Framebuffer(30, 30);
    scene.add(1, 10, 10, XRGB);
    const pixels = surfacePixels(10, 10, 'XRGB8888', 0xffff0000);
    scene.attach(1, pixels, Region.empty);
    pixels.unmap();
    compose(scene, out, scene.takeDamage());
    expect(changedFrom(out, BG).size).to.equal(0);
    expect(scene.surfaceAt(5, 5)).to.equal(undefined);
  });

  it('a resize damages the old and the new area', () => {
    const scene = new Scene(100, 100, 'cascade', { gap: 0, titleHeight: 0, step: 5 });
    scene.add(1, 10, 10, XRGB);
    scene.attach(1, surfacePixels(10, 10, 'XRGB8888', 0xffff0000), Region.empty);
    scene.takeDamage();
    scene.resize(1, 20, 5);
    expect(scene.takeDamage().area).to.equal(100 + 100 - 50);
  });

  it('the default background is dark with a faint grid', () => {
    const bg = createBackground(64, 64);
    const colors = new Set(bg.pixels32);
    expect(colors.size).to.equal(2);
    for (const c of colors) expect((c >>> 16) & 0xff).to.be.below(0x40);
  });

  it('content smaller than its surface shows a placeholder where it has no pixels', () => {
    const scene = new Scene(30, 30, 'cascade', { gap: 0, titleHeight: 0, step: 5 });
    const out = new Framebuffer(30, 30);
    scene.add(1, 20, 20, XRGB);
    scene.attach(1, surfacePixels(10, 20, 'XRGB8888', 0xff00ff00), Region.empty);
    compose(scene, out, scene.takeDamage());
    expect(px(out, 5, 5)).to.equal(0xff00ff00);
    const filler = px(out, 15, 5);
    expect(filler).to.not.equal(0xff00ff00);
    expect(filler).to.not.equal(BG);
  });
});
