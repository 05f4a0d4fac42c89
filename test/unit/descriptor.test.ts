import { expect } from 'chai';
import { validateDescriptor, type ClientBufferDescriptor } from '../../lib';

const good: ClientBufferDescriptor = {
  version: 1, id: 7, width: 100, height: 50, format: 0x34325258, modifier: '0x0000000000000000',
  planes: [{ offset: 0, stride: 448 }], size: 448 * 50, kind: 'shm', access: 'direct', readOnly: false, fds: ['buffer'],
};

function withField(patch: Record<string, unknown>): unknown {
  return { ...good, ...patch };
}

function expectInvalid(input: unknown, pattern: RegExp): void {
  expect(() => validateDescriptor(input)).to.throw(pattern).with.property('code', 'ERR_BUFSHARE_INVALID_DESCRIPTOR');
}

describe('descriptor validation', () => {
  it('accepts a consistent descriptor and returns it unchanged', () => {
    expect(validateDescriptor(JSON.parse(JSON.stringify(good)))).to.deep.equal(good);
  });

  it('accepts a shadow descriptor', () => {
    const d = { ...good, kind: 'dumb', access: 'shadow', shadow: { stride: 448, size: 448 * 50 }, fds: ['buffer', 'shadow'] };
    expect(validateDescriptor(d)).to.deep.include({ access: 'shadow', shadow: { stride: 448, size: 22400 } });
  });

  it('rejects every bad field with a message naming it', () => {
    expectInvalid(null, /not an object/);
    expectInvalid([good], /not an object/);
    expectInvalid(withField({ version: 2 }), /version/);
    expectInvalid(withField({ id: -1 }), /id/);
    expectInvalid(withField({ id: 1.5 }), /id/);
    expectInvalid(withField({ width: 0 }), /width/);
    expectInvalid(withField({ height: 0 }), /height/);
    expectInvalid(withField({ width: 16385 }), /width/);
    expectInvalid(withField({ height: 20000 }), /height/);
    expectInvalid(withField({ width: '100' }), /width/);
    expectInvalid(withField({ format: 0x3231564e }), /unknown format .*NV12/);
    expectInvalid(withField({ format: 'XRGB8888' }), /format/);
    expectInvalid(withField({ modifier: 0 }), /modifier/);
    expectInvalid(withField({ modifier: 'linear' }), /modifier/);
    expectInvalid(withField({ planes: [] }), /planes/);
    expectInvalid(withField({ planes: [good.planes[0], good.planes[0]] }), /planes/);
    expectInvalid(withField({ planes: [{ offset: 0, stride: 399 }] }), /stride 399 is too small for width 100/);
    expectInvalid(withField({ planes: [{ offset: -1, stride: 448 }] }), /offset/);
    expectInvalid(withField({ size: 448 * 50 - 1 }), /size 22399 is too small for offset 0 \+ stride 448 x height 50/);
    expectInvalid(withField({ planes: [{ offset: 64, stride: 448 }] }), /too small for offset 64/);
    expectInvalid(withField({ size: 2 ** 40 }), /size/);
    expectInvalid(withField({ kind: 'vram' }), /kind/);
    expectInvalid(withField({ access: 'mmap' }), /access/);
    expectInvalid(withField({ readOnly: 'no' }), /readOnly/);
    expectInvalid(withField({ access: 'shadow', fds: ['buffer', 'shadow'] }), /shadow \{stride, size\}/);
    expectInvalid(withField({ access: 'shadow', shadow: { stride: 10, size: 1e6 }, fds: ['shadow'] }), /shadow stride 10 is too small/);
    expectInvalid(withField({ access: 'shadow', shadow: { stride: 448, size: 448 }, fds: ['shadow'] }), /shadow size 448 is too small/);
    expectInvalid(withField({ shadow: { stride: 448, size: 22400 } }), /only allowed with access "shadow"/);
    expectInvalid(withField({ fds: [] }), /fds/);
    expectInvalid(withField({ fds: ['buffer', 'buffer'] }), /distinct/);
    expectInvalid(withField({ fds: ['socket'] }), /roles/);
    expectInvalid(withField({ fds: ['buffer', 'shadow'] }), /direct-access descriptor sends exactly its 'buffer' fd/);
    expectInvalid(withField({ access: 'shadow', shadow: { stride: 448, size: 22400 }, fds: ['buffer'] }), /must send its shadow fd/);
  });
});
