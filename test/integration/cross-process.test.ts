import { expect } from 'chai';
import { ShmAllocator, type ShmBuffer } from '../../lib';
import { fillPattern, findMismatch, hashPixels } from '../helpers/pattern';
import { runTs } from '../helpers/spawn';

describe('shm buffers across processes', function () {
  this.timeout(30000);
  const alloc = new ShmAllocator();

  async function childDraws(buffer: ShmBuffer, seed: number, env: NodeJS.ProcessEnv = {}): Promise<void> {
    const { descriptor, fds } = buffer.export();
    const res = await runTs('test/helpers/child.ts', [JSON.stringify(descriptor), 'draw', String(seed)], fds, env);
    expect(res.code, res.stderr).to.equal(0);
  }

  it('a child draws through its own mapping; the parent sees the exact pixels', async () => {
    for (const format of ['XRGB8888', 'RGB565'] as const) {
      const b = alloc.allocate({ width: 123, height: 45, format });
      await childDraws(b, 4242);
      const region = b.map({ mode: 'read' });
      expect(findMismatch(region, 4242)).to.equal(undefined);
      region.unmap();
      b.destroy();
    }
  });

  it('the parent draws; a child reads the same pixels', async () => {
    const b = alloc.allocate({ width: 64, height: 64, format: 'ARGB8888' });
    const region = b.map({ mode: 'write' });
    fillPattern(region, 99);
    const { descriptor, fds } = b.export();
    const res = await runTs('test/helpers/child.ts', [JSON.stringify(descriptor), 'read'], fds);
    expect(res.code, res.stderr).to.equal(0);
    expect(JSON.parse(res.stdout)).to.deep.equal({ ok: true, hash: hashPixels(region), strategy: 'direct' });
    region.unmap();
    b.destroy();
  });

  it('works through the unsealed fallback too', async () => {
    const b = new ShmAllocator({ forceFallback: true }).allocate({ width: 50, height: 10, format: 'XBGR8888' });
    await childDraws(b, 7);
    expect(findMismatch(b.map({ mode: 'read' }), 7)).to.equal(undefined);
    b.destroy();
  });
});
