import { expect } from 'chai';
import { createShmFile, fromDescriptor, validateDescriptor, type ClientBufferDescriptor } from '../../lib';
import { MAX_FDS_PER_DESCRIPTOR } from '../../lib/descriptor';
import { MAX_BUFFERS_PER_SURFACE, MAX_FDS_PER_MESSAGE } from '../../lib/ipc/protocol';
import * as native from '../../lib/native';

// A 64x32 XRGB8888 buffer with an aux plane in an fd of its own (as a modifier
// with a compression plane exports it) and a third plane in the main fd.
const X_TILED = '0x0100000000000001';
const MAIN = 256 * 32 + 4096;
const AUX = 4096;
const SHADOW = 256 * 32;
const multi: ClientBufferDescriptor = {
  version: 1, id: 3, width: 64, height: 32, format: 0x34325258, modifier: X_TILED,
  planes: [{ offset: 0, stride: 256 }, { offset: 0, stride: 128, size: AUX }, { offset: 256 * 32, stride: 64 }],
  size: MAIN, kind: 'gbm', access: 'shadow', readOnly: false, shadow: { stride: 256, size: SHADOW },
  fds: ['buffer', 'shadow', 'plane1'],
};

function invalid(patch: Record<string, unknown>, pattern: RegExp): void {
  expect(() => validateDescriptor({ ...multi, ...patch })).to.throw(pattern).with.property('code', 'ERR_BUFSHARE_INVALID_DESCRIPTOR');
}

function isOpen(fd: number): boolean {
  try {
    native.statFd(fd);
    return true;
  } catch {
    return false;
  }
}

/** Fresh memfds for the main, shadow and aux fds, of the given sizes. */
function memfds(main = MAIN, shadow = SHADOW, aux = AUX): number[] {
  return [main, shadow, aux].map((n) => createShmFile(n).fd);
}

describe('Multi-plane descriptors (issue 15 item 2)', () => {
  it('carry every plane: offset, stride, and the fd each lives in', () => {
    expect(validateDescriptor(JSON.parse(JSON.stringify(multi)))).to.deep.equal(multi);
    // Planes without fds of their own live in the buffer fd.
    const shared = { ...multi, planes: [multi.planes[0], { offset: 256 * 32, stride: 64 }], fds: ['buffer', 'shadow'] };
    expect(validateDescriptor(shared).planes).to.have.length(2);
  });

  it('fit the protocol: a surface\'s buffers with their fds fit one message', () => {
    expect(MAX_FDS_PER_DESCRIPTOR * MAX_BUFFERS_PER_SURFACE).to.be.at.most(MAX_FDS_PER_MESSAGE);
    invalid({ fds: ['buffer', 'shadow', 'plane1', 'plane2', 'plane3'] }, /fds must list 1 to 4/);
    invalid({ planes: [...multi.planes, multi.planes[2], multi.planes[2]] }, /1 to 4 planes/);
  });

  it('are refused where a plane is inconsistent', () => {
    invalid({ planes: [multi.planes[0], { offset: 0, stride: 128 }, multi.planes[2]] }, /plane 1 has a size exactly when it has its own fd/);
    invalid({ planes: [multi.planes[0], multi.planes[1], { offset: 0, stride: 64, size: 64 }] }, /plane 2 has a size exactly when/);
    invalid({ planes: [multi.planes[0], { offset: AUX - 64, stride: 128, size: AUX }, multi.planes[2]] }, /plane 1: offset 4032 \+ stride 128 is past the 4096 bytes/);
    invalid({ planes: [multi.planes[0], multi.planes[1], { offset: MAIN - 10, stride: 64 }] }, /plane 2: .* past the 12288 bytes/);
    invalid({ planes: [multi.planes[0], multi.planes[1], { offset: 0, stride: 0 }] }, /stride/);
    invalid({ planes: [multi.planes[0], multi.planes[1], 'x'] }, /plane 2 is not an object/);
    invalid({ planes: [{ ...multi.planes[0], size: 5 }, multi.planes[1]] }, /plane 0 lives in the buffer fd/);
    invalid({ planes: [multi.planes[0]], fds: ['buffer', 'shadow', 'plane1'] }, /plane1.*names a plane the descriptor does not have/);
    invalid({ fds: ['buffer', 'shadow', 'plane4'] }, /distinct roles/);
  });

  it('never give a client direct access to several planes or a non-linear modifier, whatever the server says', () => {
    const direct = { access: 'direct', shadow: undefined, fds: ['buffer', 'plane1'] };
    invalid(direct, /3 planes cannot be drawn into directly/);
    const oneTiled = { ...direct, planes: [multi.planes[0]], fds: ['buffer'] };
    invalid(oneTiled, /modifier 0x0100000000000001 \(not linear\) cannot be drawn into directly/);
    expect(validateDescriptor({ ...multi, ...oneTiled, modifier: '0x0000000000000000' }).access).to.equal('direct');
    expect(validateDescriptor({ ...multi, ...oneTiled, modifier: '0x00ffffffffffffff' }).access).to.equal('direct');
  });

  it('import with every plane fd owned, the shadow mapped, and all fds closed on destroy', () => {
    const fds = memfds();
    const b = fromDescriptor(JSON.parse(JSON.stringify(multi)), fds, { forDrawing: true });
    expect(b.planeFds).to.deep.equal([fds[2]]);
    expect(b.planes).to.have.length(3);
    const region = b.map();
    region.pixels32.fill(0xff00ff00);
    expect(region.pixels32.length).to.equal(64 * 32);
    b.destroy();
    expect(fds.map(isOpen)).to.deep.equal([false, false, false]);
  });

  it('refuse a plane fd smaller than its plane says, closing every fd', () => {
    const fds = memfds(MAIN, SHADOW, AUX / 2);
    expect(() => fromDescriptor(multi, fds)).to.throw(/the plane1 fd holds 2048 bytes, the descriptor needs 4096/).with.property('code', 'ERR_BUFSHARE_INVALID_DESCRIPTOR');
    expect(fds.map(isOpen)).to.deep.equal([false, false, false]);
    const more = memfds();
    expect(() => fromDescriptor({ ...multi, access: 'direct', shadow: undefined, fds: ['buffer', 'plane1'] }, more.slice(0, 2))).to.throw(/directly/);
    expect(more.slice(0, 2).map(isOpen)).to.deep.equal([false, false]);
    native.closeFd(more[2]!);
  });
});
