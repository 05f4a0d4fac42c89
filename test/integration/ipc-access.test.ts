import { expect } from 'chai';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BufferClient, BufferServer, type BufshareError } from '../../lib';
import * as native from '../../lib/native';
import { startClient, tempSocketDir } from '../helpers/ipc';

async function rejection(p: Promise<unknown>): Promise<BufshareError> {
  try {
    await p;
  } catch (e) {
    return e as BufshareError;
  }
  throw new Error('expected a rejection');
}

function thrown(f: () => unknown): BufshareError {
  try {
    f();
  } catch (e) {
    return e as BufshareError;
  }
  throw new Error('expected a throw');
}

describe('IPC: runtime dir, socket path and access control', function () {
  this.timeout(30000);
  let sock: ReturnType<typeof tempSocketDir>;
  const savedRuntimeDir = process.env.XDG_RUNTIME_DIR;

  beforeEach(() => {
    sock = tempSocketDir();
  });

  afterEach(() => {
    if (savedRuntimeDir === undefined) delete process.env.XDG_RUNTIME_DIR;
    else process.env.XDG_RUNTIME_DIR = savedRuntimeDir;
    sock.cleanup();
  });

  it('the default path is $XDG_RUNTIME_DIR/bufshare-0, which must exist and be 0700', async () => {
    delete process.env.XDG_RUNTIME_DIR;
    expect(thrown(() => BufferServer.listen()).code).to.equal('ERR_BUFSHARE_RUNTIME_DIR');
    expect((await rejection(BufferClient.connect())).code).to.equal('ERR_BUFSHARE_RUNTIME_DIR');

    process.env.XDG_RUNTIME_DIR = join(sock.dir, 'missing');
    const missing = thrown(() => BufferServer.listen());
    expect(missing.code).to.equal('ERR_BUFSHARE_RUNTIME_DIR');
    expect(missing.message).to.match(/does not exist/);

    const open = join(sock.dir, 'open');
    mkdirSync(open, { mode: 0o755 });
    chmodSync(open, 0o755);
    process.env.XDG_RUNTIME_DIR = open;
    const loose = thrown(() => BufferServer.listen());
    expect(loose.code).to.equal('ERR_BUFSHARE_RUNTIME_DIR');
    expect(loose.message).to.match(/mode 0755; it must be 0700/);

    process.env.XDG_RUNTIME_DIR = sock.dir;
    const server = BufferServer.listen();
    expect(server.path).to.equal(join(sock.dir, 'bufshare-0'));
    const client = await BufferClient.connect();
    expect(client.id).to.equal(1);
    client.close();
    await server.close();
    expect(existsSync(server.path)).to.equal(false);
  });

  it('an explicit path needs an existing directory', async () => {
    const e = thrown(() => BufferServer.listen({ path: join(sock.dir, 'no', 'such', 'sock') }));
    expect(e.code).to.equal('ERR_BUFSHARE_RUNTIME_DIR');
  });

  it('a live server is never replaced; a stale socket is; other files are left alone', async () => {
    const server = BufferServer.listen({ path: sock.path });
    const taken = thrown(() => BufferServer.listen({ path: sock.path }));
    expect(taken.code).to.equal('ERR_BUFSHARE_ADDRESS_IN_USE');
    expect(taken.message).to.match(/live server/);
    // The probe connection did no harm: the live server still serves.
    const client = await BufferClient.connect({ path: sock.path });
    client.close();
    await server.close();

    // A server that died without cleaning up leaves a socket nobody answers.
    native.closeFd(native.seqpacketListen(sock.path, 1));
    expect(existsSync(sock.path)).to.equal(true);
    const next = BufferServer.listen({ path: sock.path });
    (await BufferClient.connect({ path: sock.path })).close();
    await next.close();

    const file = join(sock.dir, 'not-a-socket');
    writeFileSync(file, 'precious');
    const notSocket = thrown(() => BufferServer.listen({ path: file }));
    expect(notSocket.code).to.equal('ERR_BUFSHARE_ADDRESS_IN_USE');
    expect(readFileSync(file, 'utf8')).to.equal('precious');
  });

  it('connecting where nobody listens fails with ERR_BUFSHARE_NO_SERVER', async () => {
    expect((await rejection(BufferClient.connect({ path: sock.path }))).code).to.equal('ERR_BUFSHARE_NO_SERVER');
  });

  it('the socket is 0600 by default', async () => {
    const server = BufferServer.listen({ path: sock.path });
    const { statSync } = await import('node:fs');
    expect(statSync(sock.path).mode & 0o777).to.equal(0o600);
    await server.close();
  });

  describe('a client running as another uid (65534)', function () {
    before(function () {
      if (process.getuid?.() !== 0) this.skip(); // changing uid needs root
    });

    beforeEach(() => {
      chmodSync(sock.dir, 0o711); // let uid 65534 reach the socket; the socket's own mode and the uid check decide
    });

    it('is refused by the kernel when the socket is 0600 (the default)', async () => {
      const server = BufferServer.listen({ path: sock.path });
      const child = startClient({ path: sock.path, width: 8, height: 8, frames: 1, scene: 'pattern', seed: 1 }, { uid: 65534, gid: 65534 });
      const line = await child.line('error');
      expect(line).to.match(/^error ERR_BUFSHARE_SYSCALL .*EACCES/);
      await child.exited;
      expect(server.clients.size).to.equal(0);
      await server.close();
    });

    it('is refused by the server (SO_PEERCRED) even when the socket file lets it connect', async () => {
      const server = BufferServer.listen({ path: sock.path, socketMode: 0o666 });
      const refused = new Promise<BufshareError>((r) => server.on('error', r));
      let accepted = 0;
      server.on('client', () => accepted++);
      const child = startClient({ path: sock.path, width: 8, height: 8, frames: 1, scene: 'pattern', seed: 1 }, { uid: 65534, gid: 65534 });
      expect(await child.line('error')).to.match(/^error ERR_BUFSHARE_ACCESS_DENIED uid 65534 may not connect/);
      expect((await refused).code).to.equal('ERR_BUFSHARE_ACCESS_DENIED');
      expect(accepted).to.equal(0);
      await child.exited;
      await server.close();
    });

    it('is served when allowUids names it', async () => {
      const server = BufferServer.listen({ path: sock.path, socketMode: 0o666, allowUids: [0, 65534] });
      const uids: number[] = [];
      server.on('client', (c) => uids.push(c.uid));
      server.on('frame', (f) => {
        f.release();
        f.surface.frameDone();
      });
      const child = startClient({ path: sock.path, width: 8, height: 8, frames: 2, scene: 'pattern', seed: 1 }, { uid: 65534, gid: 65534 });
      expect(await child.line('done')).to.match(/^done /);
      await child.exited;
      expect(uids).to.deep.equal([65534]);
      await server.close();
    });

    it('one uid\'s connections leave room for the others: past maxClientsPerUid (3/4 of maxClients) its next is refused, another uid is served, the total is capped too', async () => {
      // Idle eviction off for this one: its clients sit idle while the others try.
      const server = await BufferServer.listen({ path: sock.path, socketMode: 0o666, allowUids: [0, 65534], maxClients: 8, idleEvictMs: 600000 });
      const errors: BufshareError[] = [];
      server.on('error', (e) => errors.push(e));
      server.on('frame', (f) => {
        f.release();
        f.surface.frameDone();
      });
      const mine: BufferClient[] = [];
      try {
        for (let i = 0; i < 6; i++) mine.push(await BufferClient.connect({ path: sock.path }));
        const refused = await rejection(BufferClient.connect({ path: sock.path }));
        expect(refused.code).to.equal('ERR_BUFSHARE_ACCESS_DENIED');
        expect(refused.message).to.match(/uid 0 has 6 of 8 clients, its most/);
        expect(errors.map((e) => e.code)).to.deep.equal(['ERR_BUFSHARE_ACCESS_DENIED']);
        // Another user still gets in and draws.
        const child = startClient({ path: sock.path, width: 8, height: 8, frames: 2, scene: 'pattern', seed: 1 }, { uid: 65534, gid: 65534 });
        expect(await child.line('done')).to.match(/^done /);
        await child.exited;
        // A client gone frees its place.
        mine.pop()!.close();
        await new Promise((r) => setTimeout(r, 50));
        mine.push(await BufferClient.connect({ path: sock.path }));
        // The total: 6 of uid 0 and 2 of uid 65534 fill 8; a 9th is refused whoever it is.
        const others = [startClient({ path: sock.path, width: 8, height: 8, frames: 1000000, scene: 'pattern', seed: 1 }, { uid: 65534, gid: 65534 }),
          startClient({ path: sock.path, width: 8, height: 8, frames: 1000000, scene: 'pattern', seed: 1 }, { uid: 65534, gid: 65534 })];
        while (server.clients.size < 8) await new Promise((r) => setTimeout(r, 20));
        const full = startClient({ path: sock.path, width: 8, height: 8, frames: 1, scene: 'pattern', seed: 1 }, { uid: 65534, gid: 65534 });
        expect(await full.line('error')).to.match(/^error ERR_BUFSHARE_ACCESS_DENIED the server has 8 clients, its most/);
        await full.exited;
        for (const o of others) o.process.kill();
        await Promise.all(others.map((o) => o.exited));
      } finally {
        for (const c of mine) c.close();
        await server.close();
      }
    });

    it('a full server lets the longest-idle connection without a surface go (one that never said hello too); clients with a surface stay (60 silent connections locked their uid out)', async () => {
      const server = await BufferServer.listen({ path: sock.path, maxClients: 4, maxClientsPerUid: 3, idleEvictMs: 300 });
      const disconnects: string[] = [];
      server.on('disconnect', (_c, reason) => disconnects.push(reason));
      server.on('error', () => {});
      const silent: number[] = [];
      const mine: BufferClient[] = [];
      try {
        // Two connections that never say hello, and one client that did.
        for (let i = 0; i < 2; i++) silent.push(native.seqpacketConnect(sock.path));
        mine.push(await BufferClient.connect({ path: sock.path }));
        const early = await rejection(BufferClient.connect({ path: sock.path }));
        expect(early.message, 'before 300 ms of silence: refused').to.match(/uid 0 has 3 of 4 clients/);
        await new Promise((r) => setTimeout(r, 400));
        mine.push(await BufferClient.connect({ path: sock.path }));
        expect(disconnects, 'the longest silent (the first connection)').to.have.length(1);
        expect(disconnects[0]).to.match(/idle without a surface for \d+ ms while the server was full/);
        // With a surface each, nobody is let go, however idle.
        await new Promise((r) => setTimeout(r, 400));
        mine.push(await BufferClient.connect({ path: sock.path }));
        for (const c of mine) await c.createSurface({ width: 8, height: 8, format: 'XRGB8888' });
        await new Promise((r) => setTimeout(r, 400));
        const late = await rejection(BufferClient.connect({ path: sock.path }));
        expect(late.code).to.equal('ERR_BUFSHARE_ACCESS_DENIED');
        expect(mine.every((c) => !c.closed), 'the clients with surfaces stay').to.equal(true);
      } finally {
        for (const fd of silent) native.closeFd(fd);
        for (const c of mine) c.close();
        await server.close();
      }
    });
  });
});
