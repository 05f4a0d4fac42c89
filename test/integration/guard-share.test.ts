import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { expect } from 'chai';
import { BufferClient, BufferServer, ShmAllocator } from '../../lib';
import { guardShare } from '../../lib/mapping/guard-shares';
import * as native from '../../lib/native';
import { tempSocketDir } from '../helpers/ipc';

const ROOT = join(__dirname, '..', '..');

describe('Finite process-wide tables: one client cannot use them up for all', function () {
  this.timeout(120000);

  it('the SIGBUS guard table: a client past its share is refused, another client\'s frames read fine', async () => {
    const sock = tempSocketDir();
    // Unsealed shm (the fallback where memfd sealing is missing): each mapped buffer takes a guard slot.
    const allocator = new ShmAllocator({ forceFallback: true });
    const server = BufferServer.listen({ path: sock.path, allocator, limits: { maxSurfaces: 4096, maxBuffers: 16384 } });
    const regionErrors: string[] = [];
    server.on('frame', (frame) => {
      try {
        void frame.region.pixels32[0];
      } catch (e) {
        regionErrors.push(String(e));
      }
      frame.release();
    });
    const hog = spawn(process.execPath, ['--require', 'tsx/cjs', join(ROOT, 'test/helpers/guard-hog-child.ts'), sock.path, '1100'], {
      cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, BUFSHARE_SHM_FALLBACK: '1' },
    });
    try {
      const line = await new Promise<string>((resolve) => {
        let out = '';
        hog.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('\n')) resolve(out.trim());
        });
        hog.on('exit', () => resolve(`exited ${out}`));
      });
      const [outcome, code, count] = line.split(' ');
      expect(`${outcome} ${code}`, line).to.equal('refused ERR_BUFSHARE_LIMIT_EXCEEDED');
      expect(Number(count)).to.be.at.most(guardShare(64));
      expect(regionErrors).to.deep.equal([]);
      // An innocent client still gets buffers, and the compositor reads its frames.
      const client = await BufferClient.connect({ path: sock.path });
      const surface = await client.createSurface({ width: 16, height: 16, format: 'XRGB8888' });
      const framed = new Promise<number>((r) => server.once('frame', (f) => r(f.region.pixels32[17]!)));
      const { buffer, region } = await surface.nextBuffer();
      region.pixels32.fill(0xff123456);
      surface.submit(buffer, [{ x: 0, y: 0, width: 16, height: 16 }]);
      expect(await framed).to.equal(0xff123456);
      expect(regionErrors).to.deep.equal([]);
      client.close();
    } finally {
      hog.stdin!.end();
      await new Promise((r) => (hog.exitCode === null ? hog.on('exit', r) : r(undefined)));
      await server.close();
      sock.cleanup();
    }
    expect(native.mappingStats().guarded).to.equal(0);
  });
});
