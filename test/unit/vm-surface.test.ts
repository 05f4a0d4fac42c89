// VmSurface, the route-agnostic VM console surface: its own buffer (the D-Bus
// route copies into it) or the route's memory read in place (a zero-copy route's
// mapping of the guest framebuffer); commits of one turn as one frame.
import { expect } from 'chai';
import { resolveFormat } from '../../lib/format';
import type { CompositorFrame } from '../../lib/surface-model';
import { VmSurface } from '../../lib/vm';

const XRGB = resolveFormat('XRGB8888');
const owner = { id: 0, pid: 1, name: 'test' };
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('VmSurface', () => {
  it('joins the commits of one turn into one frame, and resizes on a new scanout size', async () => {
    const s = new VmSurface(owner, 'c', undefined);
    const frames: CompositorFrame[] = [];
    const resizes: number[][] = [];
    s.on('frame', (f) => frames.push(f));
    s.on('resize', (w, h) => resizes.push([w, h]));
    s.scanout(10, 10, XRGB);
    s.writeRect(2, 3, 2, 1, Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]), 8);
    s.commit({ x: 2, y: 3, width: 2, height: 1 });
    s.commit({ x: 0, y: 0, width: 1, height: 1 });
    await turn();
    expect(frames.length).to.equal(1);
    expect(frames[0]!.damage.toJSON()).to.have.deep.members([{ x: 2, y: 3, width: 2, height: 1 }, { x: 0, y: 0, width: 1, height: 1 }]);
    expect(Array.from(frames[0]!.region.pixels.subarray(3 * 40 + 8, 3 * 40 + 16))).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(frames[0]!.region.strategy).to.equal('shadow');
    s.scanout(10, 10, XRGB); // the same: nothing new
    expect(resizes).to.deep.equal([]);
    s.scanout(20, 5, XRGB);
    expect(resizes).to.deep.equal([[20, 5]]);
    expect([s.width, s.height, s.stride]).to.deep.equal([20, 5, 80]);
  });

  it('reads a route\'s own memory in place (zero copy), and refuses memory too small for the scanout', async () => {
    const s = new VmSurface(owner, 'c', undefined, 'direct');
    const guest = new ArrayBuffer(4096 + 64 * 8);
    expect(() => s.scanout(16, 9, XRGB, { buffer: guest, stride: 64, offset: 4096 })).to.throw().with.property('code', 'ERR_BUFSHARE_INVALID_ARGUMENT');
    expect(() => s.scanout(17, 8, XRGB, { buffer: guest, stride: 64, offset: 4096 })).to.throw().with.property('code', 'ERR_BUFSHARE_INVALID_ARGUMENT');
    s.scanout(16, 8, XRGB, { buffer: guest, stride: 64, offset: 4096 });
    let frame: CompositorFrame | undefined;
    s.on('frame', (f) => (frame = f));
    new Uint32Array(guest, 4096 + 64 * 7, 16)[15] = 0xff123456; // the guest draws its last pixel
    s.commit({ x: 15, y: 7, width: 1, height: 1 });
    await turn();
    expect(frame!.region.strategy).to.equal('direct');
    expect(frame!.region.pixels32[7 * frame!.region.stride32 + 15]).to.equal(0xff123456);
    new Uint32Array(guest, 4096, 1)[0] = 0xff000001; // in place: no copy was made
    expect(frame!.region.pixels32[0]).to.equal(0xff000001);
  });

  it('keeps a frame nobody listened for (a cursor image) for whoever shows the surface later, whole', async () => {
    const s = new VmSurface(owner, 'cursor', undefined);
    s.scanout(4, 4, resolveFormat('ARGB8888'));
    s.commit({ x: 1, y: 1, width: 1, height: 1 });
    await turn();
    const frame = s.claimFrame();
    expect(frame?.damage.toJSON()).to.deep.equal([{ x: 0, y: 0, width: 4, height: 4 }]);
    expect(s.claimFrame()).to.equal(undefined);
  });
});
