/**
 * Item 6 for dma-bufs (dumb buffers on vgem): a client that keeps the dma-buf
 * fds of buffers the server destroyed is still charged for them, until it lets
 * go; a client that closes them is not.
 */
import { expect } from 'chai';
import { BufferClient, BufferServer, DumbAllocator, describeNode, drmUnavailableReason, listDrmNodes, type BufshareError } from '../../lib';
import * as native from '../../lib/native';
import { tempSocketDir } from '../helpers/ipc';

describe('Dma-bufs a client keeps count against its byte limit (vgem)', function () {
  this.timeout(60000);
  const why = drmUnavailableReason();
  const vgem = why ? undefined : listDrmNodes().find((n) => n.type === 'card' && describeNode(n).driver.name === 'vgem');
  if (!vgem) {
    it.skip(`no vgem card node here (${why ?? 'vgem not loaded'})`, () => {});
    return;
  }

  async function rounds(keep: boolean, count: number): Promise<{ made: number; error: string | undefined }> {
    const sock = tempSocketDir();
    const allocator = new DumbAllocator({ device: vgem.path });
    // Four 256x256 XRGB8888 buffers (256 KiB each) fit the limit.
    const server = BufferServer.listen({ path: sock.path, allocator, limits: { maxBytes: 1024 * 1024 } });
    const client = await BufferClient.connect({ path: sock.path });
    const kept: number[] = [];
    let made = 0;
    let error: string | undefined;
    try {
      for (let i = 0; i < count; i++) {
        const surface = await client.createSurface({ width: 256, height: 256, format: 'XRGB8888', usage: 'hardware', bufferCount: 1 });
        const { buffer, region } = await surface.nextBuffer();
        region.pixels32.fill(0xff000000 | i);
        made++;
        const fd = native.dupFd(buffer.bufferFd!);
        if (keep) kept.push(fd);
        else native.closeFd(fd);
        const gone = new Promise((r) => server.once('surfaceDestroyed', r));
        surface.destroy();
        await gone;
      }
    } catch (e) {
      error = (e as BufshareError).code;
    } finally {
      for (const fd of kept) native.closeFd(fd);
      client.close();
      await server.close();
      allocator.close();
      sock.cleanup();
    }
    return { made, error };
  }

  it('kept: the fifth 256 KiB buffer is over a 1 MiB limit', async () => {
    const r = await rounds(true, 8);
    expect(r.made).to.equal(4);
    expect(r.error).to.be.oneOf(['ERR_BUFSHARE_LIMIT_EXCEEDED', 'ERR_BUFSHARE_CONNECTION_CLOSED']);
  });

  it('closed: the bytes come back, any number of rounds', async () => {
    const r = await rounds(false, 12);
    expect(r).to.deep.equal({ made: 12, error: undefined });
  });
});
