/**
 * KMS on the emulated displays (bochs, virtio-gpu, qxl, cirrus), checked by qemu
 * itself: modeset and flip with KmsOutput, then QMP `screendump` of that display
 * device (host side, test/vm/qmp-screendump.js) compared pixel for pixel with the
 * frame drawn. The pattern uses only 0/255 channels, so it is exact at any
 * depth the emulated hardware may scan out at (cirrus converts to 16/24 bit).
 */
import { expect } from 'chai';
import { DrmDevice, drmUnavailableReason, listDrmNodes } from '../../lib';
import { discoverKms, KmsOutput, type FlipEvent, type OutputFrame } from '../../lib/kms';
import { qemuDisplayId, screendump, screendumpAvailable, type Screendump } from '../helpers/screendump';

const COLORS = [0xff000000, 0xffff0000, 0xff00ff00, 0xff0000ff, 0xffffff00, 0xff00ffff, 0xffff00ff, 0xffffffff];

/** Eight vertical bars, rotated by `shift`, and a white-bordered black box at (x0, y0). */
function expectedPixel(x: number, y: number, width: number, shift: number, x0: number, y0: number): number {
  if (x >= x0 && x < x0 + 100 && y >= y0 && y < y0 + 60) {
    const edge = x === x0 || x === x0 + 99 || y === y0 || y === y0 + 59;
    return edge ? 0xffffffff : 0xff000000;
  }
  return COLORS[(Math.floor((x * 8) / width) + shift) % 8]!;
}

function draw(frame: OutputFrame, shift: number, x0: number, y0: number): void {
  const { width, height } = frame.region;
  const px = frame.region.pixels32;
  const s = frame.region.stride32;
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) px[y * s + x] = expectedPixel(x, y, width, shift, x0, y0);
}

function compare(dump: Screendump, width: number, height: number, shift: number, x0: number, y0: number): string | undefined {
  if (dump.width !== width || dump.height !== height) return `screendump is ${dump.width}x${dump.height}, the mode ${width}x${height}`;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const e = expectedPixel(x, y, width, shift, x0, y0);
      const i = (y * width + x) * 3;
      const a = (dump.rgb[i]! << 16) | (dump.rgb[i + 1]! << 8) | dump.rgb[i + 2]!;
      if (a !== (e & 0xffffff)) return `pixel (${x}, ${y}) is #${a.toString(16).padStart(6, '0')}, expected #${(e & 0xffffff).toString(16).padStart(6, '0')}`;
    }
  }
  return undefined;
}

function nextFlip(output: KmsOutput): Promise<FlipEvent> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no flip event in 5 s')), 5000);
    output.once('flip', (e) => {
      clearTimeout(t);
      resolve(e);
    });
  });
}

describe('KMS on emulated displays, read back with qemu screendump', function () {
  this.timeout(120000);
  const why = drmUnavailableReason();
  if (why || !screendumpAvailable()) {
    it.skip(`needs the VM harness (${why ?? 'no BUFSHARE_VM_SCREENDUMP'})`, () => {});
    return;
  }
  const cards: { path: string; driver: string; id: string }[] = [];
  for (const n of listDrmNodes().filter((x) => x.type === 'card')) {
    const d = DrmDevice.open(n.path);
    try {
      const id = qemuDisplayId(d.driver.name);
      if (id && discoverKms(d).connectors.some((c) => c.status === 'connected')) cards.push({ path: n.path, driver: d.driver.name, id });
    } catch {
      // no KMS
    } finally {
      d.unref();
    }
  }

  it('finds the four emulated displays', () => {
    expect(cards.map((c) => c.driver).sort()).to.deep.equal(['bochs-drm', 'cirrus', 'qxl', 'virtio_gpu']);
  });

  for (const api of ['atomic', 'legacy'] as const) {
    it(`${api}: modeset, then a flip; qemu shows the second frame, pixel-exact, on each`, async () => {
      const failures: string[] = [];
      for (const card of cards) {
        const output = KmsOutput.open({ device: card.path, api: api === 'legacy' ? 'legacy' : 'auto', mode: '1024x768' });
        try {
          let frame = output.acquire();
          draw(frame, 0, 10, 10);
          output.commit(frame);
          await nextFlip(output);
          frame = output.acquire();
          draw(frame, 3, 331, 207);
          output.commit(frame);
          await nextFlip(output);
          const dump = await screendump(card.id);
          const diff = compare(dump, output.width, output.height, 3, 331, 207);
          if (diff) failures.push(`${card.driver} (${card.id}): ${diff}`);
        } finally {
          output.close();
        }
      }
      expect(failures).to.deep.equal([]);
    });
  }
});
