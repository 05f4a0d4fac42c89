/**
 * The fence wait's own behaviour, on fds the host has: a socket with nothing to
 * read polls as not readable, exactly like a dma-buf with an unsignalled write
 * fence (test/drivers/fences.test.ts has the real dma-bufs, with vgem fences).
 */
import { expect } from 'chai';
import { implicitFencesSignalled, waitForImplicitFences } from '../../lib/sync/implicit-fences';
import * as native from '../../lib/native';
import { openFdCount } from '../helpers/fds';

describe('waitForImplicitFences', () => {
  let pair: [number, number];
  let fdsBefore: number;
  beforeEach(() => {
    fdsBefore = openFdCount();
    pair = native.seqpacketPair();
  });
  afterEach(() => {
    for (const fd of pair) native.closeFd(fd);
    // The watch's dup is closed (at most: tsx may close its compile-cache fd meanwhile).
    expect(openFdCount()).to.be.at.most(fdsBefore);
  });

  it('resolves at once for an fd that is ready, without a loop turn', async () => {
    const memfd = native.memfdCreate('ready', 4096, 0);
    expect(implicitFencesSignalled(memfd, 'read')).to.equal(true);
    await waitForImplicitFences(memfd, { access: 'write', timeoutMs: 0 });
    native.closeFd(memfd);
  });

  it('waits on the loop until the fd is ready', async () => {
    expect(implicitFencesSignalled(pair[0], 'read')).to.equal(false);
    let done = false;
    const waiting = waitForImplicitFences(pair[0], { access: 'read', timeoutMs: 5000 }).then(() => (done = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(done).to.equal(false);
    const s = native.openSeqPacket(native.dupFd(pair[1]), () => undefined);
    s.send(Uint8Array.of(1, 2, 3, 4));
    s.close();
    await waiting;
    expect(done).to.equal(true);
  });

  it('a wait that never ends in readiness ends in ERR_BUFSHARE_TIMEOUT', async () => {
    const t0 = Date.now();
    const e = await waitForImplicitFences(pair[0], { access: 'read', timeoutMs: 100 }).then(() => undefined, (err: { code?: string }) => err);
    expect(e?.code).to.equal('ERR_BUFSHARE_TIMEOUT');
    expect(Date.now() - t0).to.be.within(90, 2000);
  });

  it('an abort rejects with the signal\'s reason and stops watching', async () => {
    const controller = new AbortController();
    const waiting = waitForImplicitFences(pair[0], { access: 'read', timeoutMs: 5000, signal: controller.signal });
    controller.abort(new Error('surface gone'));
    const e = await waiting.then(() => undefined, (err: Error) => err);
    expect(e?.message).to.equal('surface gone');
  });

  it('refuses a bad access or timeout', async () => {
    for (const options of [{ access: 'rw', timeoutMs: 1 }, { access: 'read', timeoutMs: -1 }, { access: 'read', timeoutMs: NaN }]) {
      const e = await waitForImplicitFences(pair[0], options as never).then(() => undefined, (err: { code?: string }) => err);
      expect(e?.code).to.equal('ERR_BUFSHARE_INVALID_ARGUMENT');
    }
  });
});
