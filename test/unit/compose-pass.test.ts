import { expect } from 'chai';
import { alignedPixelMemory, ComposePass, GraphicsRegion, rect, resolveFormat, ShmAllocator, type Rect } from '../../lib';
import { composeLayersRaw } from '../../lib/native';
import { plainRegion, premultiplied, referencePixel } from '../helpers/blend-reference';
import { randInt, rng, SEED } from '../helpers/random';

type LayerKind = 'background' | 'copy' | 'blend' | 'blendOverBackground';

interface Layer {
  kind: LayerKind;
  src?: GraphicsRegion;
  x: number;
  y: number;
  rects: Rect[];
}

/** A region whose view lies inside a larger buffer of guard bytes (0xa5) before and after it. */
function guarded(width: number, height: number, stride: number, fill: (i: number) => number): { region: GraphicsRegion; memory: Uint8Array; guard: number } {
  const guard = 64;
  const memory = new Uint8Array(guard + stride * height + guard).fill(0xa5);
  const words = new DataView(memory.buffer, guard, stride * height);
  for (let i = 0; i < (stride * height) / 4; i++) words.setUint32(i * 4, fill(i) >>> 0, true);
  const region = new GraphicsRegion(memory.buffer, { width, height, stride, format: resolveFormat('XRGB8888'), offset: guard }, 'readwrite', 'direct', () => {});
  return { region, memory, guard };
}

/** The layers painted one pixel at a time, bottom first, into a copy of the output's bytes. */
function reference(out: GraphicsRegion, bytes: Uint8Array, background: GraphicsRegion, layers: readonly Layer[]): void {
  const o = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const b = new DataView(background.pixels.buffer, background.pixels.byteOffset, background.pixels.byteLength);
  for (const layer of layers) {
    const src = layer.kind === 'background' ? background : layer.src!;
    const ox = layer.kind === 'background' ? 0 : layer.x;
    const oy = layer.kind === 'background' ? 0 : layer.y;
    const s = new DataView(src.pixels.buffer, src.pixels.byteOffset, src.pixels.byteLength);
    const overBg = layer.kind === 'background' || layer.kind === 'blendOverBackground';
    const done = new Set<number>();
    for (const r of layer.rects) {
      const x0 = Math.max(r.x, 0, ox);
      const y0 = Math.max(r.y, 0, oy);
      const x1 = Math.min(r.x + r.width, out.width, ox + src.width, overBg ? background.width : Infinity);
      const y1 = Math.min(r.y + r.height, out.height, oy + src.height, overBg ? background.height : Infinity);
      for (let y = y0; y < y1; y++) {
        for (let x = x0; x < x1; x++) {
          // A blend's damage is a set of pixels: each blended once.
          if (done.has(y * 65536 + x)) continue;
          done.add(y * 65536 + x);
          const p = s.getUint32((y - oy) * src.stride + (x - ox) * 4, true);
          const at = y * out.stride + x * 4;
          if (layer.kind === 'background' || layer.kind === 'copy') o.setUint32(at, p, true);
          else o.setUint32(at, referencePixel(p, layer.kind === 'blend' ? o.getUint32(at, true) : b.getUint32(y * background.stride + x * 4, true), false), true);
        }
      }
    }
  }
}

function randomRects(r: () => number, w: number, h: number): Rect[] {
  return Array.from({ length: randInt(r, 0, 6) }, () => rect(randInt(r, -10, w), randInt(r, -10, h), randInt(r, -3, w), randInt(r, -3, h)));
}

function pack(rects: readonly Rect[]): Int32Array {
  return new Int32Array(rects.flatMap((q) => [q.x, q.y, q.width, q.height]));
}

describe('ComposePass', () => {
  it(`paints layers back to front exactly as a per-pixel painter, nothing outside the damage (seed ${SEED})`, () => {
    const r = rng(SEED + 9);
    const pass = new ComposePass();
    for (let iter = 0; iter < 120; iter++) {
      const W = randInt(r, 1, 70);
      const H = randInt(r, 1, 30);
      const { region: out, memory, guard } = guarded(W, H, (W + randInt(r, 0, 4)) * 4, () => randInt(r, 0, 2 ** 32 - 1));
      const bw = randInt(r, 1, 80);
      const background = plainRegion(bw, randInt(r, 1, 40), (bw + randInt(r, 0, 3)) * 4, 'XRGB8888', () => randInt(r, 0, 2 ** 32 - 1));
      const layers: Layer[] = [];
      for (let k = 0; k < randInt(r, 1, 5); k++) {
        const kind = (['background', 'copy', 'blend', 'blendOverBackground'] as const)[randInt(r, 0, 3)]!;
        const sw = randInt(r, 1, 60);
        const sh = randInt(r, 1, 30);
        const alpha = (): number => [0, 255, randInt(r, 1, 254)][randInt(r, 0, 2)]!;
        const src = kind === 'background' ? undefined : plainRegion(sw, sh, (sw + randInt(r, 0, 3)) * 4, kind === 'copy' ? 'XRGB8888' : 'ARGB8888',
          () => (kind === 'copy' ? randInt(r, 0, 2 ** 32 - 1) : premultiplied(alpha(), randInt(r, 0, 255), randInt(r, 0, 255), randInt(r, 0, 255))));
        layers.push({ kind, src, x: randInt(r, -20, W), y: randInt(r, -10, H), rects: randomRects(r, W + 10, H + 10) });
      }
      const expected = memory.slice();
      reference(out, expected.subarray(guard, guard + out.stride * H), background, layers);
      pass.begin(out, background);
      for (const l of layers) {
        const q = pack(l.rects);
        if (l.kind === 'background') pass.addBackground(q);
        else if (l.kind === 'copy') pass.addCopy(l.src!, l.x, l.y, q);
        else pass.addBlend(l.src!, l.x, l.y, q, q.length / 4, l.kind === 'blendOverBackground');
      }
      pass.run();
      const at = memory.findIndex((v, i) => v !== expected[i]);
      if (at >= 0) expect.fail(`iteration ${iter}: byte ${at - guard} of the output differs (${layers.map((l) => l.kind).join(', ')})`);
    }
  });

  it('with a complete source, writes only that source pixels, and every damaged pixel', () => {
    const r = rng(SEED + 10);
    const pass = new ComposePass();
    for (let iter = 0; iter < 40; iter++) {
      const W = randInt(r, 8, 64);
      const H = randInt(r, 4, 32);
      const out = plainRegion(W, H, W * 4, 'XRGB8888', () => 0x12345678);
      const background = plainRegion(W, H, W * 4, 'XRGB8888', () => 0);
      const sw = randInt(r, 1, W);
      const source = plainRegion(sw, randInt(r, 1, H), sw * 4, 'XRGB8888', (i) => 0xff000000 + i);
      const x = randInt(r, -5, W - 1);
      const y = randInt(r, -5, H - 1);
      const rects = randomRects(r, W, H);
      pass.begin(out, background);
      pass.addCopy(source, x, y, pack(rects), rects.length, true);
      pass.run();
      for (let py = 0; py < H; py++) {
        for (let px = 0; px < W; px++) {
          const got = out.pixels32[py * W + px]!;
          const inSource = px >= x && px < x + sw && py >= y && py < y + source.height;
          const want = inSource ? source.pixels32[(py - y) * sw + (px - x)]! : 0x12345678;
          const damaged = rects.some((q) => px >= q.x && px < q.x + q.width && py >= q.y && py < q.y + q.height);
          if (damaged && got !== want) expect.fail(`iteration ${iter}: damaged (${px}, ${py}) is ${got.toString(16)}, want ${want.toString(16)}`);
          if (!damaged && got !== 0x12345678 && got !== want) expect.fail(`iteration ${iter}: (${px}, ${py}) outside the source was written`);
        }
      }
    }
  });

  it('refuses bad layers and geometry before painting anything', () => {
    const out = plainRegion(16, 16, 64, 'XRGB8888', () => 0);
    const bg = plainRegion(16, 16, 64, 'XRGB8888', () => 0x11111111);
    const argb = plainRegion(8, 8, 32, 'ARGB8888', () => 0x80808080);
    const xrgb = plainRegion(8, 8, 32, 'XRGB8888', () => 0x22222222);
    const all = new Int32Array([0, 0, 16, 16]);
    const two = new Int32Array([0, 0, 16, 16, 0, 0, 16, 16]);
    const numbers = new Float64Array(9);
    const header = (layers: number, outH = 16, sources = 1): number[] => [64, 16, outH, 64, 16, 16, layers, sources];
    // A background layer of one rectangle, then the layer under test.
    const op = (kind: number, source: number, stride: number, w: number, h: number, count = 1): Int32Array =>
      new Int32Array([...header(2), 0, -1, 0, 0, 0, 0, 0, 1, kind, source, stride, w, h, 0, 0, count]);
    const raw = (ops: Int32Array, sources: Uint8Array[] = [xrgb.pixels], rects = two, bgPixels = bg.pixels, m = numbers): void =>
      composeLayersRaw(out.pixels, bgPixels, sources, ops, rects, m);
    for (const call of [
      () => raw(op(14, 0, 32, 8, 8)), // unknown kind (5 to 8 convert formats: compose-formats.test.ts; 9 to 13 scale: compose-scaled.test.ts)
      () => raw(op(-1, 0, 32, 8, 8)),
      () => raw(op(1, 1, 32, 8, 8)), // source index out of range
      () => raw(op(1, -1, 32, 8, 8)),
      () => raw(op(1, 0, 32, 8, 9)), // taller than its view
      () => raw(op(1, 0, 16, 8, 8)), // stride < width * 4
      () => raw(op(1, 0, 32, 70000, 1)),
      () => raw(op(1, 0, 32, 8, 8, 2)), // more rectangles than given
      () => raw(op(1, 0, 32, 8, 8, -1)),
      () => raw(op(1, 0, 32, 8, 8), [out.pixels.subarray(64)]), // a source inside the output
      () => raw(op(1, 0, 32, 8, 8), [new Uint16Array(64) as never]),
      () => raw(op(1, 0, 32, 8, 8), 'not an array' as never),
      () => raw(new Int32Array([...header(3), 0, -1, 0, 0, 0, 0, 0, 1])), // more layers than ops holds
      () => raw(new Int32Array([...header(-1)])),
      () => raw(new Int32Array([...header(0, 16, 2)])), // more sources than the array holds
      () => raw(new Int32Array([...header(0, 16, -1)])),
      () => raw(new Int32Array(4)), // no header
      () => raw(new Int32Array([...header(0, 17)])), // output taller than its view
      () => raw(op(1, 0, 32, 8, 8), undefined, two, out.pixels), // background is the output
      () => raw(op(1, 0, 32, 8, 8), undefined, two, bg.pixels, new Float64Array(5)),
      () => raw(op(1, 0, 32, 8, 8), undefined, two, bg.pixels, new Float64Array(8)), // the model without streamByteNs
      () => raw(op(1, 0, 32, 8, 8), undefined, two, bg.pixels, new Float64Array([1, 1, 1, 1, NaN, 1, 0, 0, 0])),
      () => raw(op(1, 0, 32, 8, 8), undefined, new Float64Array(9) as never),
    ]) {
      expect(call).to.throw().with.property('code', 'ERR_BUFSHARE_INVALID_ARGUMENT');
    }
    expect(out.pixels32.every((v) => v === 0)).to.equal(true);

    const pass = new ComposePass();
    expect(() => pass.addBackground(all)).to.throw().with.property('code', 'ERR_BUFSHARE_INVALID_ARGUMENT');
    expect(() => pass.begin(argb, bg)).to.throw().with.property('code', 'ERR_BUFSHARE_UNSUPPORTED_FORMAT');
    pass.begin(out, bg);
    expect(() => pass.addCopy(argb, 0, 0, all)).to.throw().with.property('code', 'ERR_BUFSHARE_UNSUPPORTED_FORMAT');
    expect(() => pass.addBlend(xrgb, 0, 0, all)).to.throw().with.property('code', 'ERR_BUFSHARE_UNSUPPORTED_FORMAT');
    expect(() => pass.addCopy(xrgb, 2 ** 31, 0, all)).to.throw().with.property('code', 'ERR_BUFSHARE_INVALID_ARGUMENT');
    expect(() => pass.addCopy(xrgb, 0, 0, all, 2)).to.throw().with.property('code', 'ERR_BUFSHARE_INVALID_ARGUMENT');
    expect(pass.pending).to.equal(0);
    // Hostile rectangles and positions: clipped to the output and the source.
    pass.addCopy(xrgb, -4, 12, new Int32Array([-(2 ** 31), -(2 ** 31), 2 ** 31 - 1, 2 ** 31 - 1, 2 ** 31 - 1, 0, 2 ** 31 - 1, 5, -1000, -1000, 2 ** 31 - 1, 2 ** 31 - 1]));
    pass.addBlend(argb, 2 ** 31 - 1, -(2 ** 31), all);
    expect(pass.run()).to.deep.equal({ copied: 4 * 4, blended: 0, background: 0 });
    for (let y = 0; y < 16; y++) for (let x = 0; x < 16; x++) expect(out.pixels32[y * 16 + x], `(${x}, ${y})`).to.equal(x < 4 && y >= 12 ? 0x22222222 : 0);
  });

  it('refuses unmapped sources and read-only outputs', () => {
    const alloc = new ShmAllocator();
    const a = alloc.allocate({ width: 8, height: 8, format: 'XRGB8888' });
    try {
      const bg = plainRegion(8, 8, 32, 'XRGB8888', () => 0);
      const out = plainRegion(8, 8, 32, 'XRGB8888', () => 0);
      const readOnly = a.map({ mode: 'read' });
      const pass = new ComposePass();
      expect(() => pass.begin(readOnly, bg)).to.throw().with.property('code', 'ERR_BUFSHARE_READ_ONLY');
      readOnly.unmap();
      const src = a.map({ mode: 'readwrite' });
      src.unmap();
      pass.begin(out, bg);
      expect(() => pass.addCopy(src, 0, 0, new Int32Array([0, 0, 8, 8]))).to.throw().with.property('code', 'ERR_BUFSHARE_UNMAPPED');
    } finally {
      a.destroy();
    }
  });

  it('alignedPixelMemory: zeroed memory of the size asked, collected like any ArrayBuffer; refuses bad sizes', () => {
    for (const bytes of [1, 4095, 4096, 4097, 1280 * 4 * 721]) {
      const m = alignedPixelMemory(bytes);
      expect(m.byteLength).to.equal(bytes);
      const view = new Uint8Array(m);
      expect(view.every((v) => v === 0)).to.equal(true);
      view.fill(0xff);
      expect(view[bytes - 1]).to.equal(0xff);
    }
    for (const bad of [0, -1, 1.5, NaN]) expect(() => alignedPixelMemory(bad)).to.throw().with.property('code', 'ERR_BUFSHARE_INVALID_ARGUMENT');
  });
});
