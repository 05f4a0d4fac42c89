import { expect } from 'chai';
import {
  BufferClient, createShmFile, DEFAULT_LIMITS, DESCRIPTOR_VERSION, modifierToString, MODIFIER_LINEAR, type BufshareError, type ShmFile,
} from '../../lib';
import { encodeSurfaceBuffers, encodeWelcome, Opcode } from '../../lib/ipc/protocol';
import { lookupFormat } from '../../lib/format';
import * as native from '../../lib/native';
import { resourceFds } from '../helpers/fds';
import { tempSocketDir } from '../helpers/ipc';
import { RawServer } from '../helpers/raw-server';

const XRGB = lookupFormat('XRGB8888')!;

function descriptor(id: number, width: number, height: number) {
  return {
    version: DESCRIPTOR_VERSION, id, width, height, format: XRGB.fourcc, modifier: modifierToString(MODIFIER_LINEAR),
    planes: [{ offset: 0, stride: width * 4 }], size: width * 4 * height, kind: 'shm', access: 'direct', readOnly: false, fds: ['buffer'],
  };
}

/** Rejects with 'still waiting' when `p` has not settled within `ms`: what a test of "never waits forever" needs. */
function within<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`still waiting after ${ms} ms`)), ms))]);
}

async function failure(p: Promise<unknown>): Promise<BufshareError | undefined> {
  return p.then(() => undefined, (e: BufshareError) => e);
}

describe('IPC: a client never waits forever for, nor believes, a bad reply', function () {
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

  async function connected(replyTimeoutMs?: number): Promise<BufferClient> {
    const connecting = BufferClient.connect({ path: sock.path, ...(replyTimeoutMs === undefined ? {} : { replyTimeoutMs }) });
    await server.next('hello');
    server.send(encodeWelcome(1, DEFAULT_LIMITS));
    return connecting;
  }

  async function answer(client: BufferClient, reply: (surface: number, files: ShmFile[]) => { data: Uint8Array; fds: number[] }, size = 64 * 64 * 4) {
    const closed = new Promise<string>((r) => client.on('close', r));
    const creating = client.createSurface({ width: 64, height: 64, format: 'XRGB8888' });
    const create = await server.next('create_surface');
    const files = [createShmFile(size), createShmFile(size)];
    const { data, fds } = reply(create.surface, files);
    server.send(data, fds);
    for (const f of files) native.closeFd(f.fd);
    const error = await within(failure(creating), 5000);
    return { error, closed: await within(closed, 5000) };
  }

  it('a 64x64 request answered with 16384x16384 buffers is refused, the connection closed, nothing kept', async () => {
    const client = await connected();
    const big = 16384;
    const { error, closed } = await answer(client, (surface, files) => ({
      data: encodeSurfaceBuffers({ surface, width: big, height: big, format: XRGB.fourcc, buffers: [descriptor(1, big, big), descriptor(2, big, big)] }),
      fds: files.map((f) => f.fd),
    }), big * big * 4);
    expect(error?.code).to.equal('ERR_BUFSHARE_PROTOCOL');
    expect(error?.message).to.match(/16384x16384.*64x64/);
    expect(closed).to.match(/invalid message from the server/);
    expect(native.mappingStats().live).to.equal(0);
    server.close();
    expect(resourceFds()).to.deep.equal(baseline);
  });

  it('buffers that disagree with the size their message states are refused', async () => {
    const client = await connected();
    const big = 4096;
    const { error } = await answer(client, (surface, files) => ({
      data: encodeSurfaceBuffers({ surface, width: 64, height: 64, format: XRGB.fourcc, buffers: [descriptor(1, 64, 64), descriptor(2, big, big)] }),
      fds: files.map((f) => f.fd),
    }), big * big * 4);
    expect(error?.code).to.equal('ERR_BUFSHARE_PROTOCOL');
    expect(native.mappingStats().live).to.equal(0);
    server.close();
    expect(resourceFds()).to.deep.equal(baseline);
  });

  it('a reply in another format than asked is refused', async () => {
    const client = await connected();
    const argb = lookupFormat('ARGB8888')!;
    const { error } = await answer(client, (surface, files) => ({
      data: encodeSurfaceBuffers({ surface, width: 64, height: 64, format: argb.fourcc, buffers: [1, 2].map((id) => ({ ...descriptor(id, 64, 64), format: argb.fourcc })) }),
      fds: files.map((f) => f.fd),
    }));
    expect(error?.code).to.equal('ERR_BUFSHARE_PROTOCOL');
    server.close();
    expect(resourceFds()).to.deep.equal(baseline);
  });

  it('an oversized reply (over 64 KiB) rejects createSurface and closes the connection', async () => {
    const client = await connected();
    const { error, closed } = await answer(client, (_surface, files) => {
      const data = new Uint8Array(70 * 1024).fill(0x20);
      new DataView(data.buffer).setUint32(0, Opcode.SURFACE_BUFFERS, true);
      return { data, fds: files.map((f) => f.fd) };
    });
    expect(error?.code).to.equal('ERR_BUFSHARE_PROTOCOL');
    expect(closed).to.match(/invalid message from the server/);
    server.close();
    expect(resourceFds()).to.deep.equal(baseline);
  });

  it('a server that never answers createSurface: rejected with ERR_BUFSHARE_TIMEOUT, the connection closed', async () => {
    const client = await connected(300);
    const closed = new Promise<string>((r) => client.on('close', r));
    const creating = client.createSurface({ width: 64, height: 64, format: 'XRGB8888' });
    await server.next('create_surface');
    const error = await within(failure(creating), 5000);
    expect(error?.code).to.equal('ERR_BUFSHARE_TIMEOUT');
    expect(await within(closed, 5000)).to.match(/did not answer/);
  });

  it('a server that never answers resize: rejected with ERR_BUFSHARE_TIMEOUT', async () => {
    const client = await connected(300);
    const creating = client.createSurface({ width: 64, height: 64, format: 'XRGB8888' });
    const create = await server.next('create_surface');
    const files = [createShmFile(64 * 64 * 4), createShmFile(64 * 64 * 4)];
    server.send(encodeSurfaceBuffers({ surface: create.surface, width: 64, height: 64, format: XRGB.fourcc, buffers: [descriptor(1, 64, 64), descriptor(2, 64, 64)] }), files.map((f) => f.fd));
    for (const f of files) native.closeFd(f.fd);
    const surface = await creating;
    const error = await within(failure(surface.resize(32, 32)), 5000);
    expect(error?.code).to.equal('ERR_BUFSHARE_TIMEOUT');
    expect(client.closed).to.equal(true);
  });

  it('a server that accepts but never welcomes: connect() rejects with ERR_BUFSHARE_TIMEOUT', async () => {
    const connecting = BufferClient.connect({ path: sock.path, replyTimeoutMs: 300 });
    await server.next('hello');
    const error = await within(failure(connecting), 5000);
    expect(error?.code).to.equal('ERR_BUFSHARE_TIMEOUT');
  });

  it('a server that answers hello with an oversized message: connect() rejects at once', async () => {
    const connecting = BufferClient.connect({ path: sock.path });
    await server.next('hello');
    server.send(new Uint8Array(70 * 1024));
    const error = await within(failure(connecting), 5000);
    expect(error?.code).to.equal('ERR_BUFSHARE_PROTOCOL');
  });
});
