import { openSync } from 'node:fs';
import { expect } from 'chai';
import { createShmFile, DEFAULT_LIMITS, DESCRIPTOR_VERSION, modifierToString, MODIFIER_LINEAR, type ShmFile } from '../../lib';
import { encodeSurfaceBuffers, encodeWelcome } from '../../lib/ipc/protocol';
import { lookupFormat } from '../../lib/format';
import * as native from '../../lib/native';
import { tempSocketDir } from '../helpers/ipc';
import { RawServer } from '../helpers/raw-server';
import { runTs, spawnTs } from '../helpers/spawn';

const XRGB = lookupFormat('XRGB8888')!;
const CHILD = 'test/helpers/readonly-child.ts';

/** A direct shm descriptor for a 64x64 XRGB8888 buffer. */
function directDescriptor(id: number, readOnly: boolean) {
  return {
    version: DESCRIPTOR_VERSION, id, width: 64, height: 64, format: XRGB.fourcc, modifier: modifierToString(MODIFIER_LINEAR),
    planes: [{ offset: 0, stride: 256 }], size: 256 * 64, kind: 'shm', access: 'direct', readOnly, fds: ['buffer'],
  };
}

function reopenReadOnly(f: ShmFile): number {
  return openSync(`/proc/self/fd/${f.fd}`, 'r');
}

describe('Read-only memory never kills a process that writes to it', function () {
  this.timeout(30000);

  it("a write through a local map({mode: 'read'}) lands in the buffer instead of crashing", async () => {
    const r = await runTs(CHILD, ['local-read']);
    expect(r.signal, r.stderr).to.equal(null);
    expect(r.stdout.trim()).to.equal('survived written');
  });

  it("a write through map({mode: 'read'}) of a read-only fd reaches a private copy, never the buffer", async () => {
    const r = await runTs(CHILD, ['readonly-fd-read']);
    expect(r.signal, r.stderr).to.equal(null);
    expect(r.stdout.trim()).to.equal('survived buffer unchanged');
  });

  describe('a client refuses buffers it must draw into but could not write', () => {
    let sock: ReturnType<typeof tempSocketDir>;
    let server: RawServer;

    beforeEach(() => {
      sock = tempSocketDir();
      server = new RawServer(sock.path);
    });

    afterEach(() => {
      server.close();
      sock.cleanup();
    });

    async function clientAgainst(buffers: (files: ShmFile[]) => { descriptors: unknown[]; fds: number[] }): Promise<string> {
      const child = spawnTs(CHILD, ['client', sock.path]);
      await server.next('hello');
      server.send(encodeWelcome(1, DEFAULT_LIMITS));
      const create = await server.next('create_surface');
      const files = [createShmFile(256 * 64), createShmFile(256 * 64)];
      const { descriptors, fds } = buffers(files);
      server.send(encodeSurfaceBuffers({ surface: create.surface, width: 64, height: 64, format: XRGB.fourcc, buffers: descriptors }), fds);
      for (const fd of new Set([...fds, ...files.map((f) => f.fd)])) native.closeFd(fd);
      const r = await child.exited;
      expect(r.signal, `the client died: ${r.stderr}`).to.equal(null);
      return r.stdout.trim();
    }

    it('a direct descriptor flagged read-only (the README client used to die of SIGSEGV)', async () => {
      const out = await clientAgainst((files) => ({ descriptors: [directDescriptor(1, true), directDescriptor(2, true)], fds: files.map((f) => f.fd) }));
      expect(out).to.equal('refused ERR_BUFSHARE_INVALID_DESCRIPTOR');
    });

    it('a direct descriptor that claims read-write over an fd opened read-only (the flag is not trusted)', async () => {
      const out = await clientAgainst((files) => ({ descriptors: [directDescriptor(1, false), directDescriptor(2, false)], fds: files.map(reopenReadOnly) }));
      expect(out).to.equal('refused ERR_BUFSHARE_INVALID_DESCRIPTOR');
    });

    it('a shadow descriptor whose shadow fd is read-only', async () => {
      const shadow = (id: number) => ({
        ...directDescriptor(id, true), kind: 'dumb', access: 'shadow', shadow: { stride: 256, size: 256 * 64 }, fds: ['buffer', 'shadow'],
      });
      const out = await clientAgainst((files) => ({
        descriptors: [shadow(1), shadow(2)], fds: files.flatMap((f) => [reopenReadOnly(f), reopenReadOnly(f)]),
      }));
      expect(out).to.equal('refused ERR_BUFSHARE_INVALID_DESCRIPTOR');
    });

    it('an honest direct descriptor is still drawn into', async () => {
      const out = await clientAgainst((files) => ({ descriptors: [directDescriptor(1, false), directDescriptor(2, false)], fds: files.map((f) => f.fd) }));
      expect(out).to.equal('drew');
    });
  });
});
