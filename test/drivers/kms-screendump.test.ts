/**
 * KMS on the emulated displays, read back independently (issue 12, "Emulated
 * displays"): for every card node backed by a qemu display device (bochs,
 * virtio-gpu, qxl, cirrus), become DRM master, put a dumb XRGB8888 buffer with a
 * known pattern on the primary plane, and compare what qemu's own `screendump` of that device shows with
 * the pattern, pixel for pixel over the whole screen. Then flip to a second buffer
 * (a page flip with its event) and check the screen shows that one. Master is
 * dropped and everything closed at the end. Each card runs twice: atomic (modeset
 * commit, then nonblocking commits with PAGE_FLIP_EVENT), and legacy (SETCRTC, then
 * PAGE_FLIP), the path a driver without atomic gets; these drivers take both.
 *
 * The pattern is no flat colour: red and green ramps across and down, blue
 * changing every pixel in both directions, and a different mark in each corner,
 * so a wrong offset, stride, size or channel order shows as a mismatch.
 *
 * Fewer bits per channel: where the primary plane takes RGB565, the same pattern
 * is flipped to in RGB565 and compared after the same narrowing (8 -> 5/6/5 bits)
 * and qemu's widening back to 8 (pixman replicates the top bits). What each
 * driver showed, per kernel: test/vm/README.md.
 */
import { expect } from 'chai';
import { DrmDevice, drmUnavailableReason, listDrmNodes } from '../../lib';
import { discoverKms, type KmsInfo } from '../../lib/kms';
import { AtomicRequest } from '../../lib/kms/atomic';
import { addFramebuffer } from '../../lib/kms/framebuffer';
import { addModeset, addPlane, choosePipe, modeName, type KmsPipe } from '../../lib/kms/pipe';
import type { DrmEventRaw, DrmEventWatcherNative } from '../../lib/kms/native-types';
import { resolveFormat } from '../../lib/format';
import * as native from '../../lib/native';
import { displayOfCard, screendump, screendumpUnavailableReason, type DisplayRef, type Screendump } from './support/screendump';

/** The drivers of qemu's display devices that run.sh adds (bochs-display, virtio-gpu-pci, qxl, cirrus-vga). */
const EMULATED = ['bochs-drm', 'virtio_gpu', 'qxl', 'cirrus', 'cirrus-qemu'];
const CORNER = 16;

type Rgb = readonly [number, number, number];

/** Pattern `variant` (0 or 1) at (x, y) on a w x h screen. */
function patternPixel(variant: number, x: number, y: number, w: number, h: number): Rgb {
  const left = x < CORNER;
  const right = x >= w - CORNER;
  const top = y < CORNER;
  const bottom = y >= h - CORNER;
  if ((left || right) && (top || bottom)) {
    const marks: Rgb[] = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]]; // TL TR BL BR
    return marks[((top ? 0 : 2) + (left ? 0 : 1) + variant) % 4]!;
  }
  const across = Math.floor((x * 256) / w);
  const down = Math.floor((y * 256) / h);
  return variant === 0 ? [across, down, (x * 3 + y * 5) & 255] : [down, 255 - across, (x * 5 + y * 3) & 255];
}

/** A scanout format, how to store a pattern pixel in it, and the bits per channel it keeps. */
interface PixelFormat {
  readonly name: 'XRGB8888' | 'RGB565';
  readonly bytes: number;
  readonly bits: Rgb;
  store(view: DataView, offset: number, rgb: Rgb, variant: number): void;
}

const XRGB8888: PixelFormat = {
  name: 'XRGB8888', bytes: 4, bits: [8, 8, 8],
  // Little-endian 0xXXRRGGBB; X is junk on purpose (it must not show).
  store: (view, o, [r, g, b], variant) => view.setUint32(o, ((variant === 0 ? 0x00 : 0xa5) << 24 | r << 16 | g << 8 | b) >>> 0, true),
};
const RGB565: PixelFormat = {
  name: 'RGB565', bytes: 2, bits: [5, 6, 5],
  store: (view, o, [r, g, b]) => view.setUint16(o, (r >> 3) << 11 | (g >> 2) << 5 | b >> 3, true),
};

function fillPattern(memory: ArrayBuffer, pitch: number, format: PixelFormat, variant: number, w: number, h: number): void {
  const view = new DataView(memory);
  for (let y = 0; y < h; y++) {
    for (let x = 0, o = y * pitch; x < w; x++, o += format.bytes) format.store(view, o, patternPixel(variant, x, y, w, h), variant);
  }
}

/**
 * How a channel kept in `bits` shows in qemu's 8-bit screendump: qemu converts the
 * device's surface with pixman, which widens by bit replication (0x1f -> 0xff).
 */
function throughBits(v: number, bits: number): number {
  if (bits === 8) return v;
  const q = v >> (8 - bits);
  return ((q << (8 - bits)) | (q >> (2 * bits - 8))) & 255;
}

interface Mismatch { count: number; first: string[] }

function compare(shot: Screendump, variant: number, w: number, h: number, depth: Rgb): Mismatch {
  expect([shot.width, shot.height], `screendump of ${shot.device}: its size`).to.deep.equal([w, h]);
  const out: Mismatch = { count: 0, first: [] };
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = patternPixel(variant, x, y, w, h);
      const e = [throughBits(p[0], depth[0]), throughBits(p[1], depth[1]), throughBits(p[2], depth[2])];
      const o = (y * w + x) * 3;
      const got = [shot.rgb[o]!, shot.rgb[o + 1]!, shot.rgb[o + 2]!];
      if (got[0] !== e[0] || got[1] !== e[1] || got[2] !== e[2]) {
        if (out.count++ < 8) out.first.push(`(${x},${y}) shows ${got.join(',')} expected ${e.join(',')} (pattern ${p.join(',')})`);
      }
    }
  }
  return out;
}

interface Scanout { handle: number; pitch: number; size: number; memory: ArrayBuffer; fbId: number }

class Card {
  readonly fd: number;
  readonly device: DrmDevice;
  readonly kms: KmsInfo;
  readonly pipe: KmsPipe;
  readonly buffers: Scanout[] = [];
  modeBlob = 0;
  private readonly events: DrmEventRaw[] = [];
  private readonly watcher: DrmEventWatcherNative;

  /** `legacy`: SETCRTC and PAGE_FLIP even where the driver has atomic. */
  constructor(readonly path: string, readonly legacy: boolean) {
    // A plain open, as a compositor's: master if nobody holds it, else ask for it.
    this.fd = native.drmOpen(path);
    try {
      if (!native.drmIsMaster(this.fd)) native.drmSetMaster(this.fd);
      this.device = DrmDevice.fromFd(this.fd);
      this.kms = discoverKms(this.device);
      this.pipe = choosePipe(this.kms);
      this.watcher = native.openDrmEventWatcher(this.fd, (events) => {
        if (events) this.events.push(...events);
      });
    } catch (e) {
      native.closeFd(this.fd);
      throw e;
    }
  }

  get name(): string {
    return `${this.path} (${this.device.driver.name})`;
  }

  /** Whether the primary plane scans `format` out. */
  takes(format: PixelFormat): boolean {
    return this.pipe.primary.formats.includes(resolveFormat(format.name).fourcc);
  }

  addBuffer(format: PixelFormat, variant: number): Scanout {
    const { hdisplay: w, vdisplay: h } = this.pipe.mode;
    const dumb = native.drmCreateDumb(this.fd, w, h, format.bytes * 8);
    const memory = native.mmapFd(this.fd, dumb.size, native.drmMapDumb(this.fd, dumb.handle), native.PROT_READ | native.PROT_WRITE);
    const buffer: Scanout = { ...dumb, memory, fbId: 0 };
    this.buffers.push(buffer);
    fillPattern(memory, dumb.pitch, format, variant, w, h);
    buffer.fbId = addFramebuffer(this.device, { width: w, height: h, fourcc: resolveFormat(format.name).fourcc, handle: dumb.handle, pitch: dumb.pitch, offset: 0 });
    return buffer;
  }

  get atomic(): boolean {
    return this.kms.caps.atomic && !this.legacy;
  }

  /** Lights the pipe up with `fb` (blocking): an atomic modeset, or SETCRTC. */
  modeset(fb: Scanout): void {
    const { connector, crtc, primary, mode } = this.pipe;
    if (this.atomic) {
      this.modeBlob = native.kmsCreateBlob(this.fd, mode.raw);
      const req = addPlane(addModeset(new AtomicRequest(), this.pipe, this.modeBlob), primary, crtc.id, fb.fbId, mode.hdisplay, mode.vdisplay);
      req.commit(this.fd, { allowModeset: true });
    } else {
      native.kmsSetCrtc(this.fd, crtc.id, fb.fbId, 0, 0, Uint32Array.of(connector.id), mode.raw);
    }
  }

  /** A page flip to `fb` with PAGE_FLIP_EVENT; resolves with the event (the kernel's). */
  async flip(fb: Scanout, userData: number): Promise<DrmEventRaw> {
    const { crtc, primary } = this.pipe;
    this.watcher.start();
    try {
      if (this.atomic) {
        new AtomicRequest().set(primary.properties, 'FB_ID', fb.fbId).commit(this.fd, { nonblock: true, pageFlipEvent: true, userData });
      } else {
        native.kmsPageFlip(this.fd, crtc.id, fb.fbId, userData);
      }
      const deadline = Date.now() + 10000;
      for (;;) {
        const event = this.events.find((e) => e.userData === userData);
        if (event) return event;
        if (Date.now() > deadline) throw new Error(`${this.name}: no page-flip event in 10 s`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    } finally {
      this.watcher.stop();
    }
  }

  /** Drops master and closes everything (closing the fd alone would too; this checks each step works). */
  close(): void {
    try {
      for (const b of this.buffers) {
        if (b.fbId) native.kmsRmFb(this.fd, b.fbId); // the kernel turns the CRTC off when its fb goes
        native.unmapBuffer(b.memory);
        native.drmDestroyDumb(this.fd, b.handle);
      }
      if (this.modeBlob) native.kmsDestroyBlob(this.fd, this.modeBlob);
      this.device.unref();
      native.drmDropMaster(this.fd);
      expect(native.drmIsMaster(this.fd), `${this.name}: master dropped`).to.equal(false);
    } finally {
      native.closeFd(this.fd);
    }
  }
}

describe('KMS on emulated displays, read back with qemu screendump', function () {
  this.timeout(180000);
  const why = drmUnavailableReason() ?? screendumpUnavailableReason();
  if (why) {
    it.skip(`no emulated display to read back (${why})`, () => {});
    return;
  }
  const cards = listDrmNodes().filter((n) => n.type === 'card')
    .map((n) => ({ path: n.path, display: displayOfCard(n.path) }))
    .filter((c): c is { path: string; display: DisplayRef } => c.display !== undefined);

  it('finds a card for each of qemu display devices run.sh adds (bochs, virtio-gpu, qxl, cirrus)', () => {
    const drivers = cards.map((c) => {
      const d = DrmDevice.open(c.path);
      try {
        return d.driver.name;
      } finally {
        d.unref();
      }
    });
    for (const want of [['bochs-drm'], ['virtio_gpu'], ['qxl'], ['cirrus', 'cirrus-qemu']]) {
      expect(drivers.filter((d) => want.includes(d)), `a ${want.join('/')} card among ${drivers.join(', ')}`).to.have.length(1);
    }
    for (const d of drivers) expect(EMULATED, `${d}: a display driver this test knows`).to.include(d);
  });

  for (const { path, display } of cards) for (const legacy of [false, true]) {
    const how = legacy ? 'legacy SETCRTC + PAGE_FLIP' : 'atomic';
    it(`${path} (${how}): a modeset shows the pattern pixel-exact, page flips show the next buffers (XRGB8888; RGB565 where the plane takes it)`, async () => {
      const card = new Card(path, legacy);
      let closed = false;
      try {
        const { mode } = card.pipe;
        const w = mode.hdisplay;
        const h = mode.vdisplay;
        const what = `${card.name} ${modeName(mode)} ${card.atomic ? 'atomic' : 'legacy'}`;
        const first = card.addBuffer(XRGB8888, 0);
        const second = card.addBuffer(XRGB8888, 1);
        card.modeset(first);

        const asked = Date.now();
        const shot1 = await screendump(display);
        const dumpMs = Date.now() - asked;
        const m1 = compare(shot1, 0, w, h, XRGB8888.bits);
        expect(m1.count, `${what} via ${shot1.device}, XRGB8888 first buffer: ${m1.count} pixels differ: ${m1.first.join('; ')}`).to.equal(0);

        const event = await card.flip(second, 0x5d01);
        expect(event.type).to.equal('flip');
        expect(event.crtcId, 'the flip event names our CRTC').to.equal(card.pipe.crtc.id);
        const shot2 = await screendump(display);
        const m2 = compare(shot2, 1, w, h, XRGB8888.bits);
        expect(m2.count, `${what}, after the flip to the second XRGB8888 buffer: ${m2.count} pixels differ: ${m2.first.join('; ')}`).to.equal(0);

        // Fewer bits per channel: the same pattern stored in 5/6/5 bits, compared after
        // the same narrowing and qemu's widening (throughBits).
        let shown = 'XRGB8888';
        if (card.takes(RGB565)) {
          const third = card.addBuffer(RGB565, 0);
          // A legacy PAGE_FLIP may not change the format: SETCRTC there.
          if (card.atomic) expect((await card.flip(third, 0x5d02)).type).to.equal('flip');
          else card.modeset(third);
          const shot3 = await screendump(display);
          const m3 = compare(shot3, 0, w, h, RGB565.bits);
          expect(m3.count, `${what}, after the flip to an RGB565 buffer: ${m3.count} pixels differ: ${m3.first.join('; ')}`).to.equal(0);
          shown += ', RGB565';
        }
        console.log(`      ${what} via qemu device ${shot1.device}: ${shown} shown pixel-exact (a screendump round trip: ${dumpMs} ms)`);
        closed = true;
        card.close();
      } finally {
        if (!closed) native.closeFd(card.fd);
      }
    });
  }
});
