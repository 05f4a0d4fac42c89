import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import * as native from '../../lib/native';
import { readPageSize } from '../../lib/page-size';
import { MAX_FDS_PER_MESSAGE } from '../../lib/protocol';
import { runTs } from '../helpers/spawn';

describe('native addon loading', function () {
  this.timeout(30000);

  it('the pure-JS parts work without the addon; the first use of the addon throws ERR_BUFSHARE_NATIVE_UNAVAILABLE with the reason, every time', async () => {
    const res = await runTs('test/helpers/no-addon-child.ts', [], [], { BUFSHARE_ADDON: '/nonexistent/bufshare.node' });
    expect(res.code, res.stderr).to.equal(0);
    const out = JSON.parse(res.stdout) as Record<string, unknown>;
    expect(out).to.deep.include({ stride: 256, size: 8192, area: 175, protocol: 1, availability: false });
    expect(out.hello).to.deep.include({ op: 'hello', name: 'no-addon' });
    for (const key of ['first', 'second', 'constant']) {
      const failure = out[key] as { code?: string; message?: string };
      expect(failure.code, key).to.equal('ERR_BUFSHARE_NATIVE_UNAVAILABLE');
      expect(failure.message, key).to.include('/nonexistent/bufshare.node').and.to.include('node-gyp rebuild');
    }
  });

  it('the page size from the auxiliary vector is what getconf PAGESIZE says', () => {
    const getconf = Number(execFileSync('getconf', ['PAGESIZE'], { encoding: 'utf8' }).trim());
    expect(readPageSize()).to.equal(getconf);
    expect(native.pageSize).to.equal(getconf);
  });

  it("the socket's fd ceiling and the protocol's limit have distinct names, the protocol's within the socket's", () => {
    expect(native.constants).to.not.have.property('MAX_FDS_PER_MESSAGE');
    expect(native.constants.SOCKET_MAX_FDS).to.equal(64);
    expect(MAX_FDS_PER_MESSAGE).to.equal(16);
    // The Wayland stream's bound is a plain TS number (no addon at import): it must match the native one.
    expect(native.MAX_FDS_PER_STREAM_SEND).to.equal(native.constants.MAX_FDS_PER_STREAM_SEND).and.to.equal(28);
  });

  it('a missing auxv is a clear error, not a guess', () => {
    expect(() => readPageSize('/nonexistent/auxv')).to.throw().with.property('code', 'ERR_BUFSHARE_NOT_AVAILABLE');
  });
});
