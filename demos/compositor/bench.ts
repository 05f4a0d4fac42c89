/**
 * Measures damage-tracked recomposition against a full-output memcpy (issue 7's
 * target: 10% damage on a 1280x720 output in at most 0.2x the memcpy's time).
 *
 *   node --require tsx/cjs demos/compositor/bench.ts [--json]
 *
 * The scene: two opaque surfaces (XRGB8888, copied with native copyRects) and one
 * ARGB8888 surface (blended) on the background. Each case recomposes the same
 * damage many times and reports the median per composition.
 */
import { Region, resolveFormat, ShmAllocator, type Rect } from '../../lib';
import { createBackground } from './background';
import { compose } from './composer';
import { Framebuffer } from './framebuffer';
import { Scene } from './scene';

const W = 1280;
const H = 720;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function timeNs(fn: () => void, reps: number, rounds = 15): number {
  for (let i = 0; i < reps; i++) fn();
  const per: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < reps; i++) fn();
    per.push(Number(process.hrtime.bigint() - t0) / reps);
  }
  return median(per);
}

function main(): void {
  const alloc = new ShmAllocator();
  const scene = new Scene(W, H, 'cascade', { gap: 0, titleHeight: 0, step: 0 });
  const out = new Framebuffer(W, H);
  const background = createBackground(W, H);
  const place = (id: number, x: number, y: number, w: number, h: number, format: 'XRGB8888' | 'ARGB8888', color: number): void => {
    const b = alloc.allocate({ width: w, height: h, format });
    const r = b.map({ mode: 'readwrite' });
    for (let yy = 0; yy < h; yy++) r.pixels32.fill(color, yy * r.stride32, yy * r.stride32 + w);
    scene.add(id, w, h, resolveFormat(format));
    scene.move(id, x, y);
    scene.attach(id, r, Region.empty);
  };
  place(1, 40, 60, 640, 480, 'XRGB8888', 0xff336699);
  place(2, 720, 60, 480, 360, 'XRGB8888', 0xff993366);
  place(3, 760, 440, 400, 240, 'ARGB8888', 0x80404040);
  compose(scene, out, background, scene.takeDamage());

  const src = new Uint8Array(W * H * 4).fill(7);
  const memcpyNs = timeNs(() => out.region.pixels.set(src), 40);

  const tenth = Math.round(Math.sqrt((W * H) / 10 / (16 / 9)));
  const cases: { name: string; damage: Rect }[] = [
    { name: '10% inside an opaque surface', damage: { x: 100, y: 100, width: Math.round(tenth * 16 / 9), height: tenth } },
    { name: '10% across two opaque surfaces and the background between them', damage: { x: 500, y: 100, width: Math.round(tenth * 16 / 9), height: tenth } },
    { name: '10% over the ARGB surface (blend)', damage: { x: 760, y: 440, width: 400, height: Math.round((W * H) / 10 / 400) } },
  ];
  const results = cases.map(({ name, damage }) => {
    const region = Region.of(damage);
    const ns = timeNs(() => compose(scene, out, background, region), 1000);
    return { name, pixels: region.area, ns: Math.round(ns), ratio: Number((ns / memcpyNs).toFixed(3)) };
  });
  const fullNs = timeNs(() => compose(scene, out, background, Region.full(W, H)), 20);
  const report = { output: `${W}x${H}`, memcpyNs: Math.round(memcpyNs), fullComposeNs: Math.round(fullNs), cases: results };
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify(report));
    return;
  }
  console.log(`full-output memcpy (${(W * H * 4 / 1e6).toFixed(1)} MB): ${(memcpyNs / 1e3).toFixed(1)} us`);
  console.log(`full recomposition: ${(fullNs / 1e3).toFixed(1)} us (${(fullNs / memcpyNs).toFixed(2)}x memcpy)`);
  for (const r of results) console.log(`${r.name}: ${r.pixels} px, ${(r.ns / 1e3).toFixed(1)} us = ${r.ratio}x memcpy`);
}

main();
