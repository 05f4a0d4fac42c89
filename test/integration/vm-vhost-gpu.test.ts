/**
 * VhostGpuServer, the vhost-user-gpu route: the compositor is the guest's GPU.
 *
 * Two peers:
 * - real qemu 7.2 (`-device vhost-user-gpu-pci` over guest RAM from
 *   memory-backend-memfd,share=on), paused (-S): it connects to our socket and
 *   negotiates (features, protocol features, owner, call/err eventfds), shows our
 *   features to its guest (x-query-virtio-status), and when it quits every fd is
 *   closed and a restarted qemu is served again. qemu 7.2 refuses vhost-user
 *   devices under TCG ("requires kvm", backends/vhost-user.c), so this needs
 *   /dev/kvm; without it the tests skip and say so.
 * - a stand-in front-end and guest driver (test/helpers/vhost-frontend.ts: a
 *   memfd as guest RAM in two regions, eventfds, the same requests qemu sends,
 *   and the command sequence Linux's virtio_gpu sends for a dumb buffer). What
 *   users rely on: the surface's pixels equal what the guest wrote, exactly; the
 *   frame is the guest's own pages (0 bytes copied; a later guest write shows
 *   through it); bad chains and bad commands get their error and the ring goes
 *   on; fences are echoed; the display size given is what GET_DISPLAY_INFO
 *   answers; every fd is closed when the front-end goes.
 */
import { expect } from 'chai';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as native from '../../lib/native';
import { followSource, HeadlessOutput, Scene } from '../../lib/scene';
import type { CompositorFrame, CompositorSurface } from '../../lib/surface-model';
import { VhostGpuServer } from '../../lib/vm/vhost-gpu-source';
import { VncResizer } from '../../lib/vm/vhost-display-event';
import { Cmd, encodeCommand, Resp, VIRTIO_GPU_FLAG_FENCE } from '../../lib/vm/virtio-gpu-wire';
import { VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from '../../lib/vm/virtio-queue';
import { Feature, Req } from '../../lib/vm/vhost-user-wire';
import { fdTarget, openFds } from '../helpers/fds';
import { FakeFrontEnd, IMAGE_GPA, QUEUE_SIZE } from '../helpers/vhost-frontend';

const PAGE = native.pageSize;

/**
 * The kinds of fd the back-end takes and must close: memfds (guest RAM),
 * eventfds (kick, call, err). Sockets are left out: node's child stdio is
 * socketpairs; the connection's own socket is checked through isClosed.
 */
function ownedFds(): string[] {
  return openFds().map((fd) => `${fd}:${fdTarget(fd) ?? ''}`).filter((f) => f.includes('/memfd:') || f.includes('[eventfd]'));
}
const W = 640, H = 480;

function until<T>(what: string, get: () => T | undefined, ms = 3000): Promise<T> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const poll = (): void => {
      const v = get();
      if (v !== undefined) return resolve(v);
      if (Date.now() - t0 > ms) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(poll, 5);
    };
    poll();
  });
}

/** The pattern a guest draws: a function of the pixel's place and a frame number, opaque XRGB. */
function pattern(x: number, y: number, n: number): number {
  return (0xff000000 | (((x * 7 + n * 13) & 0xff) << 16) | (((y * 3 + n) & 0xff) << 8) | ((x ^ y ^ n) & 0xff)) >>> 0;
}

/** A guest's scattered backing: `pages` page frames in a shuffled order (as a real guest's shmem pages are). */
function scatteredPages(count: number, seed: number): number[] {
  const pages = Array.from({ length: count }, (_, i) => IMAGE_GPA + i * PAGE * 2); // every other page: never contiguous
  let s = seed;
  for (let i = pages.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    const j = s % (i + 1);
    [pages[i], pages[j]] = [pages[j], pages[i]];
  }
  return pages;
}

class Guest {
  constructor(readonly fe: FakeFrontEnd) {}

  async cmd(type: number, body: number[] = [], extra?: Uint8Array, respBytes = 24, flags = 0, fence = 0n): Promise<{ type: number; resp: Uint8Array; len: number; flags: number; fence: bigint }> {
    const parts = [encodeCommand(type, body, flags, fence)];
    if (extra) parts.push(extra);
    const queue = type === Cmd.UPDATE_CURSOR || type === Cmd.MOVE_CURSOR ? 1 : 0;
    const { resp, len } = await this.fe.submit(queue, parts, respBytes);
    const v = new DataView(resp.buffer, resp.byteOffset);
    return { type: v.getUint32(0, true), resp, len, flags: v.getUint32(4, true), fence: v.getBigUint64(8, true) };
  }

  entries(pages: number[], lengths?: number[]): Uint8Array {
    const out = new Uint8Array(16 * pages.length);
    const v = new DataView(out.buffer);
    pages.forEach((p, i) => {
      v.setBigUint64(16 * i, BigInt(p), true);
      v.setUint32(16 * i + 8, lengths?.[i] ?? PAGE, true);
    });
    return out;
  }

  /** Writes pixel (x, y) of an image whose bytes are laid over `pages` (each PAGE long) in order. */
  put(pages: number[], stride: number, x: number, y: number, value: number): void {
    const off = y * stride + x * 4;
    this.fe.view.setUint32(pages[Math.floor(off / PAGE)] + (off % PAGE), value, true);
  }
}

const kvmUsable = ((): string | undefined => {
  if (spawnSync('qemu-system-x86_64', ['--version']).status !== 0) return 'qemu-system-x86_64 is not installed';
  try {
    accessSync('/dev/kvm', fsConstants.R_OK | fsConstants.W_OK);
  } catch {
    return 'no usable /dev/kvm: qemu 7.2 refuses vhost-user devices under TCG ("requires kvm", backends/vhost-user.c)';
  }
  return undefined;
})();

describe('VM display: vhost-user-gpu (VhostGpuServer)', function () {
  this.timeout(30000);
  let dir: string;
  let server: VhostGpuServer;
  let fe: FakeFrontEnd | undefined;
  let baseline: string[];

  beforeEach(() => {
    baseline = ownedFds();
    dir = mkdtempSync(join(tmpdir(), 'bufshare-vhost-'));
    server = VhostGpuServer.listen(join(dir, 'gpu.sock'), { width: 800, height: 600 });
  });
  afterEach(() => {
    fe?.close();
    fe = undefined;
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function started(): Promise<{ fe: FakeFrontEnd; guest: Guest; surfaces: CompositorSurface[]; frames: CompositorFrame[] }> {
    const surfaces: CompositorSurface[] = [];
    const frames: CompositorFrame[] = [];
    server.on('surface', (s) => surfaces.push(s));
    server.on('frame', (f) => frames.push(f));
    fe = new FakeFrontEnd(server.path);
    await fe.start();
    return { fe, guest: new Guest(fe), surfaces, frames };
  }

  /** Linux virtio_gpu's sequence for a W x H dumb buffer on scanout 0, backed by scattered pages. */
  async function modeset(guest: Guest, id = 1, pages = scatteredPages(Math.ceil((W * H * 4) / PAGE), id)): Promise<number[]> {
    expect((await guest.cmd(Cmd.RESOURCE_CREATE_2D, [id, 2, W, H])).type).to.equal(Resp.OK_NODATA);
    expect((await guest.cmd(Cmd.RESOURCE_ATTACH_BACKING, [id, pages.length], guest.entries(pages))).type).to.equal(Resp.OK_NODATA);
    expect((await guest.cmd(Cmd.SET_SCANOUT, [0, 0, W, H, 0, id])).type).to.equal(Resp.OK_NODATA);
    return pages;
  }

  it('negotiates as qemu does and answers GET_DISPLAY_INFO with the size it was given', async () => {
    const { fe, guest } = await started();
    const conn = server.connection!;
    expect(conn.negotiatedFeatures & (1n << BigInt(Feature.VIRTIO_F_VERSION_1))).to.not.equal(0n);
    expect([...conn.requests.keys()]).to.include.members(['GET_FEATURES', 'SET_MEM_TABLE', 'SET_VRING_KICK', 'GPU_SET_SOCKET', 'GET_CONFIG']);
    expect(conn.guestMemory!.regionCount).to.equal(2);
    const info = await guest.cmd(Cmd.GET_DISPLAY_INFO, [], undefined, 24 + 16 * 24);
    const v = new DataView(info.resp.buffer, info.resp.byteOffset);
    expect(info.type).to.equal(Resp.OK_DISPLAY_INFO);
    expect(info.len).to.equal(24 + 16 * 24);
    expect([v.getUint32(24 + 8, true), v.getUint32(24 + 12, true), v.getUint32(24 + 16, true)]).to.deep.equal([800, 600, 1]);
    expect(v.getUint32(48 + 16, true)).to.equal(0); // scanout 1: not enabled
    void fe;
  });

  it('accepts the features qemu 7.2 really sets (its own device features: EVENT_IDX, RING_RESET, never offered by us) and serves the rings with EVENT_IDX', async () => {
    const disconnects: string[] = [];
    server.on('disconnect', (reason) => disconnects.push(reason));
    fe = new FakeFrontEnd(server.path);
    // Seen from qemu 7.2 with a Linux 6.12 guest: VERSION_1 | RING_RESET | INDIRECT_DESC | EVENT_IDX | PROTOCOL_FEATURES.
    await fe.start(0x10170000000n);
    const guest = new Guest(fe);
    for (let i = 0; i < 3; i++) expect((await guest.cmd(Cmd.GET_DISPLAY_INFO, [], undefined, 408)).type).to.equal(Resp.OK_DISPLAY_INFO);
    expect(server.connection!.negotiatedFeatures).to.equal(0x10170000000n);
    expect(server.connection!.ringState(0)!.availEvent).to.equal(3);
    expect(disconnects).to.deep.equal([]);
  });

  it('interrupts the guest on a call fd qemu installs after the response went to the old one (the MSI-X mask/unmask race)', async () => {
    const { fe, guest } = await started();
    expect((await guest.cmd(Cmd.GET_DISPLAY_INFO, [], undefined, 408)).type).to.equal(Resp.OK_DISPLAY_INFO);
    // The guest masks its vector: qemu gives us a masked notifier.
    fe.setCall(0, false);
    await fe.ask(Req.GET_FEATURES); // handled in order: the masked fd is in place
    const used = fe.usedIdx(0);
    const answered = guest.cmd(Cmd.GET_DISPLAY_INFO, [], undefined, 408);
    await until('the response', () => (fe.usedIdx(0) !== used ? true : undefined));
    // The guest unmasks: qemu installs its irqfd and looks at the masked notifier without waiting
    // for us, here before our signal reached it. Only the new fd can still wake the guest.
    const before = fe.interrupts[0];
    fe.setCall(0, true);
    expect((await answered).type).to.equal(Resp.OK_DISPLAY_INFO);
    expect(fe.interrupts[0]).to.be.greaterThan(before);
    const irq = server.connection!.ringState(0)!.irq as { callFds: number; signalled: number };
    expect(irq.callFds).to.equal(3);
  });

  it('shows the guest\'s scattered pages as the surface, pixel for pixel, with 0 bytes copied (zero copy)', async () => {
    const { fe, guest, surfaces, frames } = await started();
    const pages = await modeset(guest);
    const surface = await until('the surface', () => surfaces[0]);
    expect([surface.width, surface.height, surface.format.name]).to.deep.equal([W, H, 'XRGB8888']);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) guest.put(pages, W * 4, x, y, pattern(x, y, 1));
    expect((await guest.cmd(Cmd.TRANSFER_TO_HOST_2D, [0, 0, W, H, 0, 0, 1, 0])).type).to.equal(Resp.OK_NODATA);
    expect((await guest.cmd(Cmd.RESOURCE_FLUSH, [0, 0, W, H, 1, 0])).type).to.equal(Resp.OK_NODATA);
    const frame = await until('a frame', () => frames[0]);
    expect(frame.surface).to.equal(surface);
    expect(frame.damage.bounds).to.deep.equal({ x: 0, y: 0, width: W, height: H });
    const px = frame.region.pixels32;
    let bad = 0;
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) if (px[y * frame.region.stride32 + x] !== pattern(x, y, 1)) bad++;
    expect(bad, 'pixels differing from the guest\'s').to.equal(0);
    expect((frame as unknown as { bytesCopied: number }).bytesCopied).to.equal(0);
    expect(server.stats.lastFrameBytesCopied).to.equal(0);
    expect(server.liveStats.zeroCopyResources).to.equal(1);
    // The frame is the guest's memory: a write the guest makes now shows through it, no transfer, no flush.
    guest.put(pages, W * 4, 5, 7, 0xff123456);
    expect(px[7 * frame.region.stride32 + 5]).to.equal(0xff123456);
    // A 10% update: damage only there, still nothing copied.
    const r = { x: 64, y: 48, w: 192, h: 160 };
    for (let y = r.y; y < r.y + r.h; y++) for (let x = r.x; x < r.x + r.w; x++) guest.put(pages, W * 4, x, y, pattern(x, y, 2));
    await guest.cmd(Cmd.TRANSFER_TO_HOST_2D, [r.x, r.y, r.w, r.h, r.y * W * 4 + r.x * 4, 0, 1, 0]);
    await guest.cmd(Cmd.RESOURCE_FLUSH, [r.x, r.y, r.w, r.h, 1, 0]);
    const second = await until('a second frame', () => frames[1]);
    expect(second.damage.bounds).to.deep.equal({ x: r.x, y: r.y, width: r.w, height: r.h });
    expect(second.region.pixels32[(r.y + 10) * W + r.x + 10]).to.equal(pattern(r.x + 10, r.y + 10, 2));
    expect(server.stats.bytesCopied).to.equal(0);
    // A transfer from anywhere but the rectangle's own place cannot be zero copy: refused, not faked.
    expect((await guest.cmd(Cmd.TRANSFER_TO_HOST_2D, [0, 0, 10, 10, 4096, 0, 1, 0])).type).to.equal(Resp.ERR_INVALID_PARAMETER);
    for (const f of frames) f.release();
    void fe;
  });

  it('mirrors to qemu\'s own display when asked (mirrorToQemu): SCANOUT, then UPDATE with the damaged pixels, counted apart from the frames', async () => {
    server.close();
    server = VhostGpuServer.listen(join(dir, 'gpu-mirror.sock'), { width: 800, height: 600, mirrorToQemu: true });
    const { fe, guest, frames } = await started();
    fe.watchGpu();
    const pages = await modeset(guest);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) guest.put(pages, W * 4, x, y, pattern(x, y, 5));
    const r = { x: 10, y: 20, w: 30, h: 40 };
    await guest.cmd(Cmd.RESOURCE_FLUSH, [r.x, r.y, r.w, r.h, 1, 0]);
    await until('a frame', () => frames[0]);
    const update = await until('the UPDATE', () => fe.gpuMessages.find((m) => m.request === 8));
    const scanout = fe.gpuMessages.find((m) => m.request === 7)!;
    expect(fe.gpuMessages.indexOf(scanout)).to.be.lessThan(fe.gpuMessages.indexOf(update));
    expect([...new Uint32Array(scanout.payload.slice().buffer)]).to.deep.equal([0, W, H]);
    const u = new DataView(update.payload.buffer, update.payload.byteOffset);
    expect([u.getUint32(0, true), u.getUint32(4, true), u.getUint32(8, true), u.getUint32(12, true), u.getUint32(16, true)]).to.deep.equal([0, r.x, r.y, r.w, r.h]);
    let bad = 0;
    for (let y = 0; y < r.h; y++) for (let x = 0; x < r.w; x++) if (u.getUint32(20 + 4 * (y * r.w + x), true) !== pattern(r.x + x, r.y + y, 5)) bad++;
    expect(bad).to.equal(0);
    expect(server.stats.bytesSentToQemu).to.equal(r.w * r.h * 4);
    expect(server.stats.bytesCopied).to.equal(0); // the frames themselves: still zero copy
  });

  it('copies backing that is not whole pages at TRANSFER_TO_HOST_2D, and counts the bytes', async () => {
    const { guest, frames } = await started();
    const w = 100, h = 50, stride = w * 4;
    // 20000 bytes over entries of 3000 bytes at odd addresses (not page aligned).
    const addrs: number[] = [], lens: number[] = [];
    for (let off = 0; off < stride * h; off += 3000) {
      addrs.push(IMAGE_GPA + 0x400000 + off * 2 + 12);
      lens.push(Math.min(3000, stride * h - off));
    }
    expect((await guest.cmd(Cmd.RESOURCE_CREATE_2D, [9, 2, w, h])).type).to.equal(Resp.OK_NODATA);
    expect((await guest.cmd(Cmd.RESOURCE_ATTACH_BACKING, [9, addrs.length], guest.entries(addrs, lens))).type).to.equal(Resp.OK_NODATA);
    expect((await guest.cmd(Cmd.SET_SCANOUT, [0, 0, w, h, 0, 9])).type).to.equal(Resp.OK_NODATA);
    const put = (x: number, y: number, value: number): void => {
      let off = y * stride + x * 4;
      for (let i = 0; i < addrs.length; i++) {
        if (off < lens[i]) return guest.fe.view.setUint32(addrs[i] + off, value, true);
        off -= lens[i];
      }
    };
    // Entries of 3000 bytes: every pixel starts inside one (3000 is a multiple of 4).
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) put(x, y, pattern(x, y, 3));
    await guest.cmd(Cmd.TRANSFER_TO_HOST_2D, [0, 0, w, h, 0, 0, 9, 0]);
    await guest.cmd(Cmd.RESOURCE_FLUSH, [0, 0, w, h, 9, 0]);
    const frame = await until('a frame', () => frames[0]);
    let bad = 0;
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) if (frame.region.pixels32[y * w + x] !== pattern(x, y, 3)) bad++;
    expect(bad).to.equal(0);
    expect((frame as unknown as { bytesCopied: number }).bytesCopied).to.equal(stride * h);
    expect(server.liveStats.copiedResources).to.equal(1);
  });

  it('echoes fences, answers bad commands with their error, and goes on past bad descriptor chains', async () => {
    const { fe, guest } = await started();
    await modeset(guest);
    const fenced = await guest.cmd(Cmd.RESOURCE_FLUSH, [0, 0, W, H, 1, 0], undefined, 24, VIRTIO_GPU_FLAG_FENCE, 77n);
    expect([fenced.type, fenced.flags & VIRTIO_GPU_FLAG_FENCE, fenced.fence]).to.deep.equal([Resp.OK_NODATA, VIRTIO_GPU_FLAG_FENCE, 77n]);
    expect((await guest.cmd(Cmd.RESOURCE_FLUSH, [0, 0, W, H, 42, 0])).type).to.equal(Resp.ERR_INVALID_RESOURCE_ID);
    expect((await guest.cmd(Cmd.SET_SCANOUT, [0, 0, W, H, 16, 1])).type).to.equal(Resp.ERR_INVALID_SCANOUT_ID);
    expect((await guest.cmd(Cmd.SET_SCANOUT, [0, 0, W + 1, H, 0, 1])).type).to.equal(Resp.ERR_INVALID_PARAMETER);
    expect((await guest.cmd(Cmd.RESOURCE_CREATE_2D, [1, 2, W, H])).type).to.equal(Resp.ERR_INVALID_RESOURCE_ID); // exists
    expect((await guest.cmd(Cmd.RESOURCE_CREATE_2D, [5, 999, W, H])).type).to.equal(Resp.ERR_INVALID_PARAMETER); // no such format
    expect((await guest.cmd(Cmd.RESOURCE_CREATE_2D, [6, 2, 16385, 16])).type).to.equal(Resp.ERR_INVALID_PARAMETER);
    expect((await guest.cmd(Cmd.RESOURCE_CREATE_2D, [7, 2, 16])).type).to.equal(Resp.ERR_INVALID_PARAMETER); // too short
    await guest.cmd(Cmd.RESOURCE_CREATE_2D, [8, 2, 64, 64]);
    // Backing outside guest RAM, and more entries than the command carries.
    expect((await guest.cmd(Cmd.RESOURCE_ATTACH_BACKING, [8, 1], guest.entries([2 ** 40]))).type).to.equal(Resp.ERR_INVALID_PARAMETER);
    expect((await guest.cmd(Cmd.RESOURCE_ATTACH_BACKING, [8, 1000], guest.entries([IMAGE_GPA]))).type).to.equal(Resp.ERR_INVALID_PARAMETER);
    expect((await guest.cmd(0x9999)).type).to.equal(Resp.ERR_UNSPEC);
    // A chain whose command buffer is outside guest memory: returned unused (0 bytes), the ring goes on.
    const { desc } = fe.ringAddrs(0);
    const head = 40;
    fe.view.setBigUint64(desc + 16 * head, BigInt(1) << 40n, true);
    fe.view.setUint32(desc + 16 * head + 8, 24, true);
    fe.view.setUint16(desc + 16 * head + 12, VIRTQ_DESC_F_NEXT, true);
    fe.view.setUint16(desc + 16 * head + 14, head + 1, true);
    fe.view.setBigUint64(desc + 16 * (head + 1), BigInt(0x200000), true);
    fe.view.setUint32(desc + 16 * (head + 1) + 8, 24, true);
    fe.view.setUint16(desc + 16 * (head + 1) + 12, VIRTQ_DESC_F_WRITE, true);
    const used = await fe.makeAvailable(0, head, 0x200000, 24);
    expect(used.len).to.equal(0);
    // A loop: also returned unused.
    fe.view.setBigUint64(desc + 16 * head, BigInt(0x200000), true);
    fe.view.setUint16(desc + 16 * (head + 1), 0, true);
    fe.view.setUint16(desc + 16 * (head + 1) + 12, VIRTQ_DESC_F_NEXT, true);
    fe.view.setUint16(desc + 16 * (head + 1) + 14, head, true);
    expect((await fe.makeAvailable(0, head, 0x200000, 24)).len).to.equal(0);
    expect(server.liveStats.badChains).to.equal(2);
    expect((await guest.cmd(Cmd.GET_DISPLAY_INFO, [], undefined, 408)).type).to.equal(Resp.OK_DISPLAY_INFO);
    expect(server.connected).to.equal(true);
  });

  it('ends a connection whose kick fd is not an eventfd (a file would stay readable and spin the loop), closing it', async () => {
    const { fe } = await started();
    const disconnects: [string, { code?: string } | undefined][] = [];
    server.on('disconnect', (reason, error) => disconnects.push([reason, error]));
    const memfd = native.memfdCreate('not-an-eventfd', 4096, 0);
    const kick = new Uint8Array(8);
    fe.send(12 /* SET_VRING_KICK */, kick, [memfd]);
    native.closeFd(memfd);
    const [, error] = await until('the disconnect', () => disconnects[0]);
    expect(error?.code).to.equal('ERR_BUFSHARE_PROTOCOL');
    expect((error as unknown as Error).message).to.match(/not an eventfd/);
    expect(ownedFds().filter((f) => !baseline.includes(f) && !f.includes('fake-guest-ram') && !f.includes('[eventfd]'))).to.deep.equal([]);
  });

  it('bounds the kernel mappings zero-copy views take: past MAX_VIEW_PIECES a resource is copied instead', async () => {
    const { guest } = await started();
    const side = 1024;
    const pages = scatteredPages((side * side * 4) / PAGE, 3);
    const entries = guest.entries(pages);
    const device = server.connection!.device;
    for (let id = 1; id <= 17; id++) {
      expect((await guest.cmd(Cmd.RESOURCE_CREATE_2D, [id, 2, side, side])).type).to.equal(Resp.OK_NODATA);
      // Every resource over the same 1,024 separate pages (aliasing is allowed): 1,024 mappings each.
      expect((await guest.cmd(Cmd.RESOURCE_ATTACH_BACKING, [id, pages.length], entries)).type).to.equal(Resp.OK_NODATA);
    }
    expect(device.mappedViewPieces).to.equal(16 * 1024);
    expect(server.liveStats.zeroCopyResources).to.equal(16);
    expect(server.liveStats.copiedResources).to.equal(1);
    // Dropping one gives its mappings back.
    await guest.cmd(Cmd.RESOURCE_UNREF, [3, 0]);
    expect(device.mappedViewPieces).to.equal(15 * 1024);
  });

  it('stops only the ring whose indices are broken, reports it, and keeps the connection', async () => {
    const { fe, guest } = await started();
    const errors: Error[] = [];
    server.on('error', (e) => errors.push(e));
    // The cursor ring's available index jumps past the queue size.
    const { avail } = fe.ringAddrs(1);
    fe.view.setUint16(avail + 2, QUEUE_SIZE + 5, true);
    fe.kick(1);
    await until('the ring error', () => errors[0]);
    expect((errors[0] as { code?: string }).code).to.equal('ERR_BUFSHARE_PROTOCOL');
    expect(errors[0].message).to.match(/ring 1 stopped/);
    expect((await guest.cmd(Cmd.GET_DISPLAY_INFO, [], undefined, 408)).type).to.equal(Resp.OK_DISPLAY_INFO);
  });

  it('offers the display size it is given from then on, and calls the display-change hook', async () => {
    const calls: number[][] = [];
    server.close();
    server = VhostGpuServer.listen(join(dir, 'gpu2.sock'), { width: 800, height: 600, notifyDisplayChange: (s, w, h) => void calls.push([s, w, h]) });
    const { guest } = await started();
    await server.setDisplaySize(1280, 720);
    expect(calls).to.deep.equal([[0, 1280, 720]]);
    const info = await guest.cmd(Cmd.GET_DISPLAY_INFO, [], undefined, 408);
    const v = new DataView(info.resp.buffer, info.resp.byteOffset);
    expect([v.getUint32(32, true), v.getUint32(36, true)]).to.deep.equal([1280, 720]);
    expect(() => server.setDisplaySize(0, 10)).to.throw().with.property('code', 'ERR_BUFSHARE_INVALID_ARGUMENT');
  });

  it('shows the guest in a scene through followSource, and destroys the surface and closes every fd when the front-end goes', async () => {
    const scene = new Scene();
    const out = new HeadlessOutput(scene, { width: W, height: H, refreshHz: 60 });
    followSource(scene, server, scene.createTree());
    const destroyed: CompositorSurface[] = [];
    server.on('surfaceDestroyed', (s) => destroyed.push(s));
    const { guest, frames } = await started();
    const pages = await modeset(guest);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) guest.put(pages, W * 4, x, y, pattern(x, y, 4));
    await guest.cmd(Cmd.RESOURCE_FLUSH, [0, 0, W, H, 1, 0]);
    await until('a frame', () => frames[0]);
    out.frame();
    const fb = out.framebuffer;
    let bad = 0;
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) if ((fb.pixels32[y * fb.stride32 + x] | 0xff000000) >>> 0 !== pattern(x, y, 4)) bad++;
    expect(bad, 'scene pixels differing from the guest\'s').to.equal(0);
    fe!.close();
    fe = undefined;
    await until('the disconnect', () => (server.connected ? undefined : true));
    expect(destroyed).to.have.length(1);
    out.destroy();
    // Views held by the scene's frame are released with it; every fd of the connection is closed.
    const conn = server.connection;
    expect(conn).to.equal(undefined);
    expect(ownedFds().filter((f) => !baseline.includes(f)), 'memfds and eventfds left open').to.deep.equal([]);
  });

  it('VncResizer: qemu refuses a desktop size where its console has no resizable display (bochs-display, TCG), with ERR_BUFSHARE_UNSUPPORTED', async function () {
    if (spawnSync('qemu-system-x86_64', ['--version']).status !== 0) this.skip();
    const vncPath = join(dir, 'vnc-bochs.sock');
    const qemu = spawn('qemu-system-x86_64', ['-nodefaults', '-no-user-config', '-machine', 'q35', '-accel', 'tcg', '-display', 'none', '-S', '-vnc', `unix:${vncPath}`,
      '-device', 'bochs-display'], { stdio: 'ignore' });
    try {
      await until('the VNC socket', () => {
        try {
          accessSync(vncPath);
          return true;
        } catch {
          return undefined;
        }
      }, 10000);
      const vnc = await VncResizer.connect(vncPath);
      try {
        expect([vnc.width, vnc.height]).to.deep.equal([640, 480]);
        let code: string | undefined;
        await vnc.resize(1280, 720).catch((e: { code?: string }) => (code = e.code));
        expect(code).to.equal('ERR_BUFSHARE_UNSUPPORTED');
      } finally {
        vnc.close();
      }
    } finally {
      qemu.kill('SIGKILL');
    }
  });

  describe('with real qemu 7.2 (paused guest)', () => {
    if (kvmUsable !== undefined) {
      it.skip(`skipped: ${kvmUsable}`, () => {});
      return;
    }
    function startQemu(sock: string, vnc: string): { qemu: ChildProcess; qmp: (cmd: string) => Promise<unknown> } {
      const qemu = spawn('qemu-system-x86_64', ['-nodefaults', '-no-user-config', '-machine', 'q35', '-accel', 'kvm', '-m', '256', '-display', 'none', '-S', '-vnc', `unix:${vnc}`,
        '-object', 'memory-backend-memfd,id=mem,size=256M,share=on', '-machine', 'memory-backend=mem',
        '-chardev', `socket,id=gpu,path=${sock}`, '-device', 'vhost-user-gpu-pci,chardev=gpu,id=gpu0', '-qmp', 'stdio'], { stdio: ['pipe', 'pipe', 'ignore'] });
      let buf = '';
      const waiting: ((v: unknown) => void)[] = [];
      qemu.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = JSON.parse(buf.slice(0, nl)) as Record<string, unknown>;
          buf = buf.slice(nl + 1);
          if ('return' in line || 'error' in line) waiting.shift()?.(line);
        }
      });
      qemu.stdin!.write('{"execute":"qmp_capabilities"}\n');
      waiting.push(() => {});
      return {
        qemu,
        qmp: (cmd) => new Promise((resolve) => {
          waiting.push(resolve);
          qemu.stdin!.write(cmd + '\n');
        }),
      };
    }
    const openVnc = (p: string): boolean => {
      try {
        accessSync(p);
        return true;
      } catch {
        return false;
      }
    };
    const exited = (p: ChildProcess): Promise<void> => new Promise((r) => (p.exitCode !== null ? r() : p.once('exit', () => r())));

    it('connects, negotiates, shows our features to the guest, and leaves no fd behind when it quits; a restarted qemu is served again', async () => {
      for (let round = 0; round < 2; round++) {
        const vncPath = join(dir, `vnc${round}.sock`);
        const { qemu, qmp } = startQemu(server.path, vncPath);
        let conn: typeof server.connection;
        try {
          await until('qemu to connect', () => (server.connected ? true : undefined), 15000);
          conn = server.connection!;
          await until('the handshake', () => ((conn.requests.get('SET_VRING_ERR') ?? 0) >= 2 ? true : undefined), 15000);
          expect(conn.requests.get('GET_PROTOCOL_FEATURES')).to.equal(1);
          expect(conn.requests.get('SET_OWNER')).to.equal(1);
          const status = await qmp('{"execute":"x-query-virtio-status","arguments":{"path":"/machine/peripheral/gpu0/virtio-backend"}}') as { return: { 'backend-features'?: unknown; 'host-features': { 'dev-features'?: string[]; transports: string[] } } };
          const host = JSON.stringify(status.return['host-features']);
          expect(host).to.include('VIRTIO_F_VERSION_1');
          expect(host).to.include('VIRTIO_RING_F_INDIRECT_DESC');
          expect(host).to.not.include('VIRTIO_GPU_F_VIRGL');
          if (round === 0) {
            // The display-change route: qemu's console takes a size from its VNC server and forwards it to the GPU device,
            // which raises VIRTIO_GPU_EVENT_DISPLAY (the guest then asks us for GET_DISPLAY_INFO).
            await until('the VNC socket', () => (openVnc(vncPath) ? true : undefined), 5000);
            const vnc = await VncResizer.connect(vncPath);
            try {
              expect(await vnc.resize(1280, 720)).to.equal('forwarded');
            } finally {
              vnc.close();
            }
          }
          await qmp('{"execute":"quit"}');
        } finally {
          qemu.kill('SIGKILL');
          await exited(qemu);
        }
        await until('the disconnect', () => (server.connected ? undefined : true), 5000);
        expect(conn!.isClosed).to.equal(true);
        const left = ownedFds().filter((f) => !baseline.includes(f));
        expect(left, 'fds left after qemu quit').to.deep.equal([]);
      }
      expect(server.stats.connections).to.equal(2);
    });
  });
});
