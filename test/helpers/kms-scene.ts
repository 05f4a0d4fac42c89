/**
 * A moving scene for KMS output tests: a patterned background and a few
 * rectangles that move each frame. The reference frame lives in an shm buffer
 * (so copyRects can read it); each step repaints only what changed and returns
 * that damage, which is what a compositor would hand the output.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DrmDevice, listDrmNodes, ShmAllocator, type GraphicsRegion, type SharedBuffer } from '../../lib';
import { discoverKms, type FlipEvent, type KmsOutput, type WritebackCapture } from '../../lib/kms';
import { Region, type Rect } from '../../lib/region';

interface Mover {
  x: number;
  y: number;
  readonly w: number;
  readonly h: number;
  readonly dx: number;
  readonly dy: number;
  readonly color: number;
}

export function backgroundPixel(x: number, y: number): number {
  return (0xff000000 | ((x * 3) & 0xff) << 16 | ((y * 5) & 0xff) << 8 | ((x ^ y) & 0xff)) >>> 0;
}

export class MovingScene {
  readonly width: number;
  readonly height: number;
  readonly reference: GraphicsRegion;
  private readonly buffer: SharedBuffer;
  private readonly movers: Mover[];

  constructor(width: number, height: number) {
    this.width = width;
    this.height = height;
    this.buffer = new ShmAllocator().allocate({ width, height, format: 'XRGB8888' });
    this.reference = this.buffer.map({ mode: 'readwrite' });
    this.movers = [
      { x: 10, y: 20, w: 64, h: 48, dx: 7, dy: 3, color: 0xffff2020 },
      { x: 200, y: 100, w: 40, h: 90, dx: -5, dy: 6, color: 0xff20ff40 },
      { x: 300, y: 300, w: 120, h: 30, dx: 4, dy: -9, color: 0xff3040ff },
    ];
    this.paint(Region.full(width, height));
  }

  private moverRect(m: Mover): Rect {
    return { x: m.x, y: m.y, width: m.w, height: m.h };
  }

  /** Moves every rectangle; returns the damage (old and new places). */
  step(): Region {
    let damage = Region.empty;
    for (const m of this.movers) {
      damage = damage.union(this.moverRect(m));
      m.x += m.dx;
      m.y += m.dy;
      if (m.x < 0 || m.x + m.w > this.width) (m as { dx: number }).dx = -m.dx, m.x += 2 * m.dx;
      if (m.y < 0 || m.y + m.h > this.height) (m as { dy: number }).dy = -m.dy, m.y += 2 * m.dy;
      damage = damage.union(this.moverRect(m));
    }
    damage = damage.clip(this.width, this.height);
    this.paint(damage);
    return damage;
  }

  private paint(region: Region): void {
    const px = this.reference.pixels32;
    const s = this.reference.stride32;
    for (const r of region.rects) {
      for (let y = r.y; y < r.y + r.height; y++) {
        for (let x = r.x; x < r.x + r.width; x++) {
          let c = backgroundPixel(x, y);
          for (const m of this.movers) if (x >= m.x && x < m.x + m.w && y >= m.y && y < m.y + m.h) c = m.color;
          px[y * s + x] = c;
        }
      }
    }
  }

  /** The first pixel where `actual` differs from the reference, or undefined when equal (X byte ignored). */
  firstDifference(actual: GraphicsRegion): PixelDifference | undefined {
    return firstDifference(actual, this.reference);
  }

  destroy(): void {
    this.reference.unmap();
    this.buffer.destroy();
  }
}

export interface PixelDifference {
  x: number;
  y: number;
  expected: number;
  actual: number;
}

/** The first pixel where two 32-bit regions of one size differ (the X/alpha byte ignored), or undefined. */
export function firstDifference(actual: GraphicsRegion, expected: GraphicsRegion): PixelDifference | undefined {
  const a = actual.pixels32;
  const e = expected.pixels32;
  const as = actual.stride32;
  const es = expected.stride32;
  for (let y = 0; y < expected.height; y++) {
    const rowA = Buffer.from(a.buffer, a.byteOffset + y * as * 4, expected.width * 4);
    const rowE = Buffer.from(e.buffer, e.byteOffset + y * es * 4, expected.width * 4);
    if (rowA.equals(rowE)) continue;
    for (let x = 0; x < expected.width; x++) {
      if (((a[y * as + x]! ^ e[y * es + x]!) & 0xffffff) !== 0) return { x, y, expected: e[y * es + x]! >>> 0, actual: a[y * as + x]! >>> 0 };
    }
  }
  return undefined;
}

/** The vkms card with a writeback connector (the harness builds vkms for 6.12), if any. */
export function vkmsCard(): string | undefined {
  for (const n of listDrmNodes().filter((x) => x.type === 'card')) {
    const d = DrmDevice.open(n.path);
    try {
      if (d.driver.name === 'vkms' && discoverKms(d).writeback.length > 0) return n.path;
    } catch {
      // no KMS on this node
    } finally {
      d.unref();
    }
  }
  return undefined;
}

/** Waits for a writeback job; one vkms stalled is recovered through its CRC source (see kms-output.test.ts). */
export function waitCapture(capture: WritebackCapture, cardPath: string): void {
  try {
    capture.wait(500);
  } catch {
    if (!existsSync('/sys/kernel/debug/dri')) execFileSync('mount', ['-t', 'debugfs', 'debugfs', '/sys/kernel/debug']);
    const crc = `/sys/kernel/debug/dri/${cardPath.replace(/^.*card/, '')}/crtc-0/crc`;
    writeFileSync(join(crc, 'control'), 'auto');
    const data = openSync(join(crc, 'data'), 'r');
    try {
      capture.wait(3000);
    } finally {
      closeSync(data);
    }
  }
}

/** The output's next page-flip event; rejects when none comes within `timeoutMs`. */
export function nextFlip(output: KmsOutput, timeoutMs = 5000): Promise<FlipEvent> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no flip event in ${timeoutMs} ms`)), timeoutMs);
    output.once('flip', (e) => {
      clearTimeout(t);
      resolve(e);
    });
  });
}
