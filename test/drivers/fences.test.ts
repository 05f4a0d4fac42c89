/**
 * Implicit fences, on real kernels: vgem lets a test hold a fence on a buffer
 * (DRM_IOCTL_VGEM_FENCE_ATTACH), as a client's GPU still rendering into it would.
 * The compositor must not get the frame before the fence signals, and a fence
 * that never signals ends in ERR_BUFSHARE_TIMEOUT for that client only.
 */
import { expect } from 'chai';
import {
  BufferClient, BufferServer, DumbAllocator, describeNode, drmUnavailableReason, listDrmNodes, type BufshareError, type Frame,
} from '../../lib';
import * as native from '../../lib/native';
import { implicitFencesSignalled, waitForImplicitFences } from '../../lib/sync/implicit-fences';
import { tempSocketDir } from '../helpers/ipc';

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

describe('Implicit fences (vgem)', function () {
  this.timeout(60000);
  const why = drmUnavailableReason();
  const vgem = why ? undefined : listDrmNodes().find((n) => n.type === 'card' && describeNode(n).driver.name === 'vgem');
  if (!vgem) {
    it.skip(`no vgem card node here (${why ?? 'vgem not loaded'})`, () => {});
    return;
  }

  let sock: ReturnType<typeof tempSocketDir>;
  let allocator: DumbAllocator;
  let server: BufferServer;
  let gpu: number; // our own vgem fd: the "client's GPU" that holds fences
  const frames: Frame[] = [];

  beforeEach(async () => {
    sock = tempSocketDir();
    allocator = new DumbAllocator({ device: vgem.path });
    server = BufferServer.listen({ path: sock.path, allocator, fenceTimeoutMs: 1500 });
    server.on('frame', (f) => frames.push(f));
    gpu = native.drmOpen(vgem.path);
    frames.length = 0;
  });

  afterEach(async () => {
    await server.close();
    allocator.close();
    native.closeFd(gpu);
    sock.cleanup();
  });

  /** A fence on the buffer behind `dmabuf`, as a GPU writing it would hold. */
  function fence(dmabuf: number): number {
    const handle = native.primeFdToHandle(gpu, dmabuf);
    return native.vgemFenceAttach(gpu, handle, true);
  }

  it("'frame' does not fire before the buffer's write fence signals, then shows the pixels", async () => {
    const client = await BufferClient.connect({ path: sock.path });
    const surface = await client.createSurface({ width: 64, height: 32, format: 'XRGB8888', usage: 'hardware' });
    expect([surface.kind, surface.access]).to.deep.equal(['dumb', 'direct']);
    const { buffer, region } = await surface.nextBuffer();
    region.pixels32.fill(0xff2040c0);
    const dmabuf = buffer.bufferFd!;
    const id = fence(dmabuf);
    expect(implicitFencesSignalled(dmabuf, 'read')).to.equal(false);
    surface.submit(buffer, [{ x: 0, y: 0, width: 64, height: 32 }]);
    await sleep(400);
    expect(frames.length, 'frame emitted with a write fence pending').to.equal(0);
    native.vgemFenceSignal(gpu, id);
    for (let i = 0; i < 100 && frames.length === 0; i++) await sleep(10);
    expect(frames.length).to.equal(1);
    expect(frames[0]!.region.pixels32[64 * 31 + 63]).to.equal(0xff2040c0);
    frames[0]!.release();
    // The same buffer with no fence: delivered at once again.
    const next = await surface.nextBuffer();
    surface.submit(next.buffer, [{ x: 0, y: 0, width: 1, height: 1 }]);
    for (let i = 0; i < 100 && frames.length < 2; i++) await sleep(10);
    expect(frames.length).to.equal(2);
    client.close();
  });

  it('a fence added after the submit (the client writes a buffer it handed over): the frame waits for the submit\'s own fences only', async () => {
    const client = await BufferClient.connect({ path: sock.path });
    const surface = await client.createSurface({ width: 32, height: 16, format: 'XRGB8888', usage: 'hardware' });
    const { buffer, region } = await surface.nextBuffer();
    region.pixels32.fill(0xff336699);
    const dmabuf = buffer.bufferFd!;
    const first = fence(dmabuf);
    surface.submit(buffer, [{ x: 0, y: 0, width: 32, height: 16 }]);
    await sleep(300);
    expect(frames.length).to.equal(0);
    // vgem takes a new write fence only once the first signalled: both in one turn.
    native.vgemFenceSignal(gpu, first);
    const later = fence(dmabuf);
    try {
      for (let i = 0; i < 70 && frames.length === 0; i++) await sleep(10);
      expect(frames.length, 'the frame waited for a fence added after its submit').to.equal(1);
      expect(implicitFencesSignalled(dmabuf, 'read'), 'the later fence is still pending').to.equal(false);
      expect(frames[0]!.region.pixels32[0]).to.equal(0xff336699);
      frames[0]!.release();
    } finally {
      native.vgemFenceSignal(gpu, later);
      client.close();
    }
  });

  it('a fence that never signals: that client gets ERR_BUFSHARE_TIMEOUT, the compositor goes on', async () => {
    const hung = await BufferClient.connect({ path: sock.path });
    const errors: BufshareError[] = [];
    hung.on('error', (e) => errors.push(e));
    const closed = new Promise<void>((r) => hung.on('close', () => r()));
    const surface = await hung.createSurface({ width: 32, height: 32, format: 'XRGB8888', usage: 'hardware' });
    const { buffer } = await surface.nextBuffer();
    fence(buffer.bufferFd!); // never signalled (vgem expires it after 10 s)
    const t0 = Date.now();
    surface.submit(buffer, [{ x: 0, y: 0, width: 32, height: 32 }]);
    await closed;
    expect(Date.now() - t0).to.be.within(1400, 8000);
    expect(errors.map((e) => e.code)).to.include('ERR_BUFSHARE_TIMEOUT');
    expect(frames.length).to.equal(0);
    // Another client is served meanwhile and after.
    const other = await BufferClient.connect({ path: sock.path });
    const s = await other.createSurface({ width: 16, height: 16, format: 'XRGB8888', usage: 'hardware' });
    const next = await s.nextBuffer();
    next.region.pixels32.fill(0xff00ff00);
    s.submit(next.buffer, [{ x: 0, y: 0, width: 16, height: 16 }]);
    for (let i = 0; i < 100 && frames.length === 0; i++) await sleep(10);
    expect(frames.length).to.equal(1);
    expect(frames[0]!.region.pixels32[0]).to.equal(0xff00ff00);
    other.close();
  });

  it("a client waits on its loop for the compositor's read fences before drawing into a released buffer", async () => {
    const client = await BufferClient.connect({ path: sock.path });
    const surface = await client.createSurface({ width: 32, height: 32, format: 'XRGB8888', usage: 'hardware', bufferCount: 1 });
    let readFence: number | undefined;
    server.once('frame', (frame) => {
      // The compositor's GPU samples the buffer: a read fence, then the release.
      readFence = native.vgemFenceAttach(gpu, native.primeFdToHandle(gpu, (frame.buffer as unknown as { dmabufFd: number }).dmabufFd), false);
      frame.release();
    });
    const first = await surface.nextBuffer();
    surface.submit(first.buffer, [{ x: 0, y: 0, width: 32, height: 32 }]);
    let acquired = false;
    const next = surface.nextBuffer().then((b) => {
      acquired = true;
      return b;
    });
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 10);
    await sleep(400);
    clearInterval(ticker);
    expect(readFence, 'the frame arrived').to.not.equal(undefined);
    expect(acquired, 'handed out with the read fence pending').to.equal(false);
    expect(ticks, 'the event loop kept running').to.be.at.least(3); // 40 when idle; a blocked process: 0-1
    native.vgemFenceSignal(gpu, readFence!);
    const b = await next;
    expect(b.buffer).to.equal(first.buffer);
    client.close();
  });

  it('waitForImplicitFences on a real dma-buf: pending while the write fence is, resolves on signal, times out otherwise', async () => {
    const b = allocator.allocate({ width: 16, height: 16, format: 'XRGB8888', usage: 'hardware' });
    const dmabuf = b.dmabufFd!;
    expect(implicitFencesSignalled(dmabuf, 'read')).to.equal(true);
    const id = fence(dmabuf);
    expect(implicitFencesSignalled(dmabuf, 'read')).to.equal(false);
    expect(implicitFencesSignalled(dmabuf, 'write')).to.equal(false);
    const timedOut = await waitForImplicitFences(dmabuf, { access: 'read', timeoutMs: 200 }).then(() => undefined, (e: BufshareError) => e.code);
    expect(timedOut).to.equal('ERR_BUFSHARE_TIMEOUT');
    const waiting = waitForImplicitFences(dmabuf, { access: 'read', timeoutMs: 5000 });
    await sleep(50);
    native.vgemFenceSignal(gpu, id);
    await waiting;
    expect(implicitFencesSignalled(dmabuf, 'read')).to.equal(true);
    b.destroy();
  });
});
