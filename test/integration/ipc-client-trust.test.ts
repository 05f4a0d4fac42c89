import { expect } from 'chai';
import {
  BufferClient, createShmFile, DEFAULT_LIMITS, DESCRIPTOR_VERSION, modifierToString, MODIFIER_LINEAR, type BufshareError,
} from '../../lib';
import { encodeError, encodeRelease, encodeSurfaceBuffers, encodeWelcome } from '../../lib/ipc/protocol';
import { mapFd } from '../../lib/mapping/fd-mapping';
import { lookupFormat } from '../../lib/format';
import * as native from '../../lib/native';
import { resourceFds } from '../helpers/fds';
import { tempSocketDir } from '../helpers/ipc';
import { fillPattern, findMismatch } from '../helpers/pattern';
import { RawServer } from '../helpers/raw-server';

const XRGB = lookupFormat('XRGB8888')!;

/** A shadow-access descriptor as a hardware allocator makes them: the buffer fd and a shm shadow fd. */
function shadowDescriptor(id: number, width: number, height: number) {
  const stride = width * 4;
  return {
    version: DESCRIPTOR_VERSION, id, width, height, format: XRGB.fourcc, modifier: modifierToString(MODIFIER_LINEAR),
    planes: [{ offset: 0, stride }], size: stride * height, kind: 'dumb', access: 'shadow', readOnly: true,
    shadow: { stride, size: stride * height }, fds: ['buffer', 'shadow'],
  };
}

describe('IPC: what a client does with what the server sends', function () {
  this.timeout(30000);
  let sock: ReturnType<typeof tempSocketDir>;
  let server: RawServer;
  let baseline: string[];

  beforeEach(() => {
    sock = tempSocketDir();
    baseline = resourceFds();
    server = new RawServer(sock.path);
  });

  afterEach(() => {
    server.close();
    sock.cleanup();
  });

  async function connected(): Promise<BufferClient> {
    const connecting = BufferClient.connect({ path: sock.path });
    await server.next('hello');
    server.send(encodeWelcome(1, DEFAULT_LIMITS));
    return connecting;
  }

  it('shadow access: the client draws into the shadow fd of each buffer (two fds per descriptor)', async () => {
    const client = await connected();
    const creating = client.createSurface({ width: 40, height: 20, format: 'XRGB8888', usage: 'hardware' });
    const create = await server.next('create_surface');
    const files = [0, 1].map(() => ({ buffer: createShmFile(40 * 4 * 20), shadow: createShmFile(40 * 4 * 20) }));
    server.send(encodeSurfaceBuffers({
      surface: create.surface, width: 40, height: 20, format: XRGB.fourcc,
      buffers: [shadowDescriptor(11, 40, 20), shadowDescriptor(12, 40, 20)],
    }), files.flatMap((f) => [f.buffer.fd, f.shadow.fd]));
    const surface = await creating;
    expect([surface.kind, surface.access]).to.deep.equal(['dumb', 'shadow']);
    const { buffer, region } = await surface.nextBuffer();
    expect(region.strategy).to.equal('shadow');
    fillPattern(region, 31);
    surface.submit(buffer, [{ x: 0, y: 0, width: 40, height: 20 }]);
    const submit = await server.next('submit');
    expect(submit.buffer).to.be.oneOf([11, 12]);
    // The drawing is in that buffer's shadow (the server would now copy it into the hardware buffer).
    const f = files[submit.buffer - 11]!;
    const seen = mapFd({ fd: f.shadow.fd, size: f.shadow.size, mode: 'read', strategy: 'direct', dmabuf: false, width: 40, height: 20, stride: 160, format: XRGB, offset: 0 });
    expect(findMismatch(seen, 31)).to.equal(undefined);
    seen.unmap();
    server.send(encodeRelease(create.surface, submit.buffer));
    expect((await surface.nextBuffer()).age).to.be.oneOf([0, 1]);
    const closed = new Promise((r) => client.on('close', r));
    client.close();
    await closed;
    for (const x of files) {
      native.closeFd(x.buffer.fd);
      native.closeFd(x.shadow.fd);
    }
  });

  it('descriptors that do not match their fds are refused, and every fd that came with them is closed', async () => {
    const client = await connected();
    const cases: [unknown[], number][] = [
      [[shadowDescriptor(1, 8, 8)], 1], // two roles, one fd
      [[shadowDescriptor(1, 8, 8)], 3], // two roles, three fds
      [[{ ...shadowDescriptor(1, 8, 8), size: 1 << 30 }], 2], // claims more than the fd holds
      [[{ nonsense: true }], 2],
    ];
    for (const [buffers, fdCount] of cases) {
      const creating = client.createSurface({ width: 8, height: 8, format: 'XRGB8888' });
      const create = await server.next('create_surface');
      const files = Array.from({ length: fdCount }, () => createShmFile(8 * 8 * 4));
      server.send(encodeSurfaceBuffers({ surface: create.surface, width: 8, height: 8, format: XRGB.fourcc, buffers }), files.map((f) => f.fd));
      for (const f of files) native.closeFd(f.fd);
      const e = await creating.then(() => undefined, (err: BufshareError) => err);
      expect(e?.code).to.equal('ERR_BUFSHARE_INVALID_DESCRIPTOR');
    }
    // A refused allocation is reported to the caller, and the connection stays up.
    const creating = client.createSurface({ width: 8, height: 8, format: 'XRGB8888' });
    const create = await server.next('create_surface');
    server.send(encodeError('ERR_BUFSHARE_NOT_AVAILABLE', 'no GPU', false, create.surface));
    expect((await creating.then(() => undefined, (err: BufshareError) => err))?.code).to.equal('ERR_BUFSHARE_NOT_AVAILABLE');
    expect(client.closed).to.equal(false);
    const closed = new Promise((r) => client.on('close', r));
    client.close();
    await closed;
    server.close();
    expect(resourceFds()).to.deep.equal(baseline);
  });

  it('a surface format the client does not know is refused, the client lives on, and the fds are closed', async () => {
    const client = await connected();
    const creating = client.createSurface({ width: 8, height: 8, format: 'XRGB8888' });
    const create = await server.next('create_surface');
    const files = [createShmFile(8 * 8 * 4), createShmFile(8 * 8 * 4)];
    const plain = (id: number) => ({ ...shadowDescriptor(id, 8, 8), kind: 'shm', access: 'direct', readOnly: false, shadow: undefined, fds: ['buffer'] });
    server.send(encodeSurfaceBuffers({ surface: create.surface, width: 8, height: 8, format: 0, buffers: [plain(1), plain(2)] }), files.map((f) => f.fd));
    for (const f of files) native.closeFd(f.fd);
    const e = await creating.then(() => undefined, (err: BufshareError) => err);
    expect(e?.code).to.equal('ERR_BUFSHARE_UNSUPPORTED_FORMAT');
    expect(client.closed).to.equal(false);
    const closed = new Promise((r) => client.on('close', r));
    client.close();
    await closed;
    server.close();
    expect(resourceFds()).to.deep.equal(baseline);
  });

  it('a server that sends garbage gets the client to report an error and close', async () => {
    const client = await connected();
    const errors: BufshareError[] = [];
    client.on('error', (e) => errors.push(e));
    const closed = new Promise<string>((r) => client.on('close', r));
    server.send(Uint8Array.of(9, 9, 9, 9, 9));
    expect(await closed).to.match(/invalid message from the server/);
    expect(errors.map((e) => e.code)).to.deep.equal(['ERR_BUFSHARE_PROTOCOL']);
  });
});
