import { expect } from 'chai';
import { clientShares, CLIENT_SHARE_DIVISOR, openFileLimit } from '../../lib/ipc/process-shares';

describe('Per-client shares of the process tables', () => {
  it('reads the soft open-file limit from /proc/self/limits text', () => {
    const text = 'Limit                     Soft Limit           Hard Limit           Units     \n'
      + 'Max open files            1024                 524288               files     \n';
    expect(openFileLimit(text)).to.equal(1024);
    expect(openFileLimit(text.replace('1024 ', 'unlimited'))).to.equal(Infinity);
    expect(openFileLimit('')).to.equal(Infinity);
  });

  it('gives a client 1/8 of this process\'s fds and mappings', () => {
    const shares = clientShares();
    expect(shares.fds).to.equal(Math.floor(openFileLimit() / CLIENT_SHARE_DIVISOR));
    expect(shares.fds).to.be.greaterThan(0);
    expect(shares.mappings).to.be.greaterThan(0);
  });
});
