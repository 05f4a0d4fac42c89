import { expect } from 'chai';
import { ShmAllocator } from '../../lib';
import * as native from '../../lib/native';
import { fillPattern, findMismatch } from '../helpers/pattern';
import { runTs } from '../helpers/spawn';

describe('a hostile client holding a buffer fd', function () {
  this.timeout(30000);

  it('cannot shrink, grow or reseal a sealed buffer (EPERM), and the compositor keeps reading it', async () => {
    const b = new ShmAllocator().allocate({ width: 96, height: 48, format: 'ARGB8888' });
    const compositorView = b.map({ mode: 'read' });
    const { descriptor, fds } = b.export();
    const res = await runTs('test/helpers/hostile-child.ts', [JSON.stringify(descriptor), 'resize', '31'], fds);
    expect(res.code, res.stderr).to.equal(0);
    expect(JSON.parse(res.stdout)).to.deep.equal({
      shrinkToZero: 'EPERM', shrinkByPage: 'EPERM', grow: 'EPERM', addWriteSeal: 'EPERM', addShrinkSeal: 'EPERM',
      sizeAfter: descriptor.size,
    });
    // The compositor's mapping, made before the attack, reads what the client drew.
    expect(findMismatch(compositorView, 31)).to.equal(undefined);
    expect(compositorView.faulted).to.equal(false);
    expect(native.statFd(b.fd).size).to.equal(descriptor.size);
    compositorView.unmap();
    b.destroy();
  });

  it('can truncate an unsealed (fallback) buffer, and the compositor survives reading it', async () => {
    const b = new ShmAllocator({ forceFallback: true }).allocate({ width: 64, height: 32, format: 'XRGB8888' });
    const compositorView = b.map({ mode: 'readwrite' });
    fillPattern(compositorView, 8);
    const { descriptor, fds } = b.export();
    const res = await runTs('test/helpers/hostile-child.ts', [JSON.stringify(descriptor), 'truncate'], fds);
    expect(res.code, res.stderr).to.equal(0);
    expect(JSON.parse(res.stdout)).to.deep.equal({ truncate: 'ok' });
    expect(native.statFd(b.fd).size).to.equal(0);
    expect(compositorView.pixels.every((v) => v === 0)).to.equal(true);
    expect(b.faulted).to.equal(true);
    b.destroy();
  });
});
