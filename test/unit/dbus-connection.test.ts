// DBusConnection on real socketpairs: both sides of SASL EXTERNAL, calls,
// errors, signals, fd passing and who closes what; hostile peers (bad auth,
// garbage, oversized messages) close the connection with a coded error and leak
// no fd; and a real bus (dbus-daemon) answers Hello.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DBusConnection, DBusErrorReply, Variant } from '../../lib/dbus';
import { encodeMessage, MessageType } from '../../lib/dbus/message';
import { BufshareError } from '../../lib/errors';
import * as native from '../../lib/native';
import { resourceFds } from '../helpers/fds';

function pair(): { client: DBusConnection; server: DBusConnection } {
  const [a, b] = native.streamPair();
  return { server: DBusConnection.open(b, { role: 'server' }), client: DBusConnection.open(a) };
}

function closed(conn: DBusConnection): Promise<[string, BufshareError | undefined]> {
  return new Promise((resolve) => conn.once('close', (reason, error) => resolve([reason, error])));
}

/** The other end as a plain node socket: a peer that says whatever the test wants. */
function raw(fd: number): Socket {
  return new Socket({ fd, readable: true, writable: true });
}

function lines(sock: Socket): () => Promise<string> {
  let buf = '';
  const waiting: ((l: string) => void)[] = [];
  sock.on('data', (d) => {
    buf += d.toString('latin1');
    for (let i = buf.indexOf('\r\n'); i >= 0 && waiting.length > 0; i = buf.indexOf('\r\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 2);
      waiting.shift()!(line);
    }
  });
  return () => new Promise((resolve) => waiting.push(resolve));
}

const hexUid = (uid: number): string => Buffer.from(String(uid)).toString('hex');

describe('DBusConnection', () => {
  let baseline: string[];
  beforeEach(() => {
    baseline = resourceFds();
  });

  it('authenticates both ways with unix fds, calls methods, answers errors, Peer and Properties', async () => {
    const { client, server } = pair();
    server.exportObject('/obj', 'a.b', {
      methods: {
        Add: (m) => ({ signature: 'i', body: [(m.body[0] as number) + (m.body[1] as number)] }),
        Later: async () => ({ signature: 's', body: ['done'] }),
        Fail: () => {
          throw new DBusErrorReply('a.b.Error.Nope', 'no');
        },
      },
      properties: { Answer: () => new Variant('u', 42) },
    });
    await Promise.all([client.ready, server.ready]);
    expect(client.unixFds && server.unixFds).to.equal(true);
    expect(client.guid).to.equal(server.guid).and.match(/^[0-9a-f]{32}$/);
    expect((await client.call({ path: '/obj', interface: 'a.b', member: 'Add', signature: 'ii', body: [2, 40] })).body).to.deep.equal([42]);
    expect((await client.call({ path: '/obj', member: 'Later' })).body).to.deep.equal(['done']);
    const err = await client.call({ path: '/obj', interface: 'a.b', member: 'Fail' }).catch((e: unknown) => e);
    expect(err).to.include({ code: 'ERR_BUFSHARE_DBUS_ERROR', dbusName: 'a.b.Error.Nope' });
    const unknown = await client.call({ path: '/nothing', interface: 'a.b', member: 'X' }).catch((e: unknown) => e);
    expect(unknown).to.include({ dbusName: 'org.freedesktop.DBus.Error.UnknownObject' });
    const unknownMethod = await client.call({ path: '/obj', interface: 'a.b', member: 'X' }).catch((e: unknown) => e);
    expect(unknownMethod).to.include({ dbusName: 'org.freedesktop.DBus.Error.UnknownMethod' });
    await client.call({ path: '/', interface: 'org.freedesktop.DBus.Peer', member: 'Ping' });
    const all = await client.call({ path: '/obj', interface: 'org.freedesktop.DBus.Properties', member: 'GetAll', signature: 's', body: ['a.b'] });
    expect(all.body[0]).to.deep.equal(new Map([['Answer', new Variant('u', 42)]]));
    const signal = new Promise((resolve) => server.once('signal', (m) => resolve([m.member, m.body])));
    client.send({ type: MessageType.SIGNAL, path: '/obj', interface: 'a.b', member: 'Changed', signature: 'as', body: [['x']] });
    expect(await signal).to.deep.equal(['Changed', [['x']]]);
    client.close();
    await closed(server);
    expect(resourceFds()).to.deep.equal(baseline);
  });

  it('passes fds: a handler takes the ones it wants, the others are closed after it', async () => {
    const { client, server } = pair();
    let taken = -1;
    server.exportObject('/o', 'a.b', {
      methods: {
        Take: (m, fds) => {
          taken = fds.take(m.body[0] as number);
        },
        Ignore: () => undefined,
      },
    });
    await client.ready;
    const [x, y] = native.streamPair();
    await client.call({ path: '/o', interface: 'a.b', member: 'Ignore', signature: 'hh', body: [x, y] });
    await client.call({ path: '/o', interface: 'a.b', member: 'Take', signature: 'h', body: [x] });
    expect(taken).to.be.greaterThan(2);
    native.closeFd(x);
    native.closeFd(y);
    const afterTake = resourceFds().length;
    native.closeFd(taken);
    expect(resourceFds().length).to.equal(afterTake - 1);
    client.close();
    await closed(server);
    expect(resourceFds()).to.deep.equal(baseline);
  });

  it('as the server, rejects a claimed uid that is not the peer\'s, and a client without the credentials byte', async () => {
    const [a, b] = native.streamPair();
    const server = DBusConnection.open(b, { role: 'server' });
    const sock = raw(a);
    const next = lines(sock);
    sock.write(`\0AUTH EXTERNAL ${hexUid(process.getuid!() + 1)}\r\n`);
    expect(await next()).to.equal('REJECTED EXTERNAL');
    sock.write('AUTH DBUS_COOKIE_SHA1 abc\r\n');
    expect(await next()).to.equal('REJECTED EXTERNAL');
    sock.write('AUTH EXTERNAL\r\n');
    expect(await next()).to.equal('DATA');
    sock.write('DATA\r\n');
    expect(await next()).to.match(/^OK [0-9a-f]{32}$/);
    sock.write('NEGOTIATE_UNIX_FD\r\nBEGIN\r\n');
    expect(await next()).to.equal('AGREE_UNIX_FD');
    await server.ready;
    sock.destroy();
    await closed(server);

    const [c, d] = native.streamPair();
    const strict = DBusConnection.open(d, { role: 'server' });
    const bad = raw(c);
    bad.write('AUTH EXTERNAL 30\r\n');
    const [, error] = await closed(strict);
    expect(error?.code).to.equal('ERR_BUFSHARE_DBUS_AUTH');
    await strict.ready.catch((e: unknown) => expect(e).to.have.property('code', 'ERR_BUFSHARE_DBUS_AUTH'));
    bad.destroy();
    expect(resourceFds()).to.deep.equal(baseline);
  });

  it('closes a peer that never finishes authenticating (ERR_BUFSHARE_TIMEOUT)', async () => {
    const [a, b] = native.streamPair();
    const server = DBusConnection.open(b, { role: 'server', authTimeoutMs: 100 });
    const sock = raw(a);
    sock.write('\0AUTH EXTERNAL');
    const [, error] = await closed(server);
    expect(error?.code).to.equal('ERR_BUFSHARE_TIMEOUT');
    sock.destroy();
    expect(resourceFds()).to.deep.equal(baseline);
  });

  it('as the client, fails with ERR_BUFSHARE_DBUS_AUTH when the server rejects EXTERNAL', async () => {
    const [a, b] = native.streamPair();
    const client = DBusConnection.open(a);
    const sock = raw(b);
    let first = '';
    sock.once('data', (d) => {
      first = d.toString('latin1');
      sock.write('REJECTED DBUS_COOKIE_SHA1\r\n');
    });
    const e = await client.ready.catch((x: unknown) => x);
    expect(first).to.equal(`\0AUTH EXTERNAL ${hexUid(process.getuid!())}\r\n`);
    expect(e).to.have.property('code', 'ERR_BUFSHARE_DBUS_AUTH');
    sock.destroy();
    expect(resourceFds()).to.deep.equal(baseline);
  });

  /** A client connection authenticated by a raw peer, and that peer's socket. */
  async function authenticatedAgainstRaw(): Promise<{ client: DBusConnection; sock: Socket }> {
    const [a, b] = native.streamPair();
    const client = DBusConnection.open(a);
    const sock = raw(b);
    const next = lines(sock);
    await next(); // AUTH EXTERNAL
    sock.write('OK 0123456789abcdef0123456789abcdef\r\n');
    await next(); // NEGOTIATE_UNIX_FD
    sock.write('AGREE_UNIX_FD\r\n');
    await client.ready;
    return { client, sock };
  }

  it('closes with ERR_BUFSHARE_DBUS_MALFORMED on garbage after authentication, failing pending calls', async () => {
    const { client, sock } = await authenticatedAgainstRaw();
    const pending = client.call({ path: '/x', member: 'Y' }).catch((e: unknown) => e);
    const done = closed(client);
    sock.write(Buffer.from('l\x01\x00\x01garbage-garbage-garbage', 'latin1'));
    const [, error] = await done;
    expect(error?.code).to.equal('ERR_BUFSHARE_DBUS_MALFORMED');
    expect(await pending).to.have.property('code', 'ERR_BUFSHARE_CONNECTION_CLOSED');
    sock.destroy();
    expect(resourceFds()).to.deep.equal(baseline);
  });

  it('refuses a message over its bound from the header alone (nothing of that size is allocated)', async () => {
    const { client, sock } = await authenticatedAgainstRaw();
    const done = closed(client);
    const header = Buffer.alloc(16);
    header.write('l\x01\x00\x01', 'latin1');
    header.writeUInt32LE(120 * 1024 * 1024, 4);
    header.writeUInt32LE(1, 8);
    header.writeUInt32LE(0, 12);
    sock.write(header);
    const [, error] = await done;
    expect(error?.code).to.equal('ERR_BUFSHARE_DBUS_MALFORMED');
    expect(error?.message).to.match(/over this connection's 67108864/);
    sock.destroy();
  });

  it('receives a message bigger than its read buffer in pieces (a 3 MiB Scanout-sized call)', async () => {
    const { client, sock } = await authenticatedAgainstRaw();
    const got = new Promise<number>((resolve) => {
      client.exportObject('/l', 'x.L', { methods: { Big: (m) => resolve((m.body[0] as Uint8Array).byteLength) } });
    });
    const data = new Uint8Array(3 * 1024 * 1024).fill(7);
    const { bytes } = encodeMessage({ type: MessageType.METHOD_CALL, flags: 1, serial: 1, path: '/l', interface: 'x.L', member: 'Big', signature: 'ay', body: [data] });
    // In uneven chunks, as a socket may deliver them.
    for (let p = 0; p < bytes.byteLength; p += 100_003) sock.write(bytes.subarray(p, Math.min(p + 100_003, bytes.byteLength)));
    expect(await got).to.equal(data.byteLength);
    client.close();
    sock.destroy();
  });

  it('closes when the peer sends fds though fd passing was not agreed', async () => {
    const [a, b] = native.streamPair();
    const client = DBusConnection.open(a, { unixFds: false });
    const peer = native.openStream(b, () => {});
    await new Promise((r) => setTimeout(r, 20));
    const buf = new Uint8Array(256);
    peer.recvStream(buf, new Int32Array(28), new Int32Array(2));
    peer.sendStream(Buffer.from('OK 0123456789abcdef0123456789abcdef\r\n'));
    await client.ready;
    const done = closed(client);
    const [x, y] = native.streamPair();
    peer.sendStream(Buffer.from('l'), Int32Array.from([x]));
    const [, error] = await done;
    expect(error?.code).to.equal('ERR_BUFSHARE_DBUS_MALFORMED');
    native.closeFd(x);
    native.closeFd(y);
    peer.close();
    expect(resourceFds()).to.deep.equal(baseline);
  });

  it('says Hello to a real bus (dbus-daemon) and calls it', async function () {
    if (!existsSync('/usr/bin/dbus-daemon')) this.skip();
    const dir = mkdtempSync(join(tmpdir(), 'bufshare-dbus-'));
    const path = join(dir, 'bus');
    const daemon = spawn('/usr/bin/dbus-daemon', ['--session', '--nofork', '--nopidfile', `--address=unix:path=${path}`], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 100 && !existsSync(path); i++) await new Promise((r) => setTimeout(r, 20));
      const bus = await DBusConnection.connectBus(path);
      expect(bus.uniqueName).to.match(/^:1\.\d+$/);
      expect(bus.unixFds).to.equal(true);
      const names = await bus.call({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'ListNames' });
      expect(names.body[0]).to.include('org.freedesktop.DBus').and.include(bus.uniqueName);
      const e = await bus.call({ destination: 'org.nobody', path: '/', interface: 'a.b', member: 'C' }).catch((x: unknown) => x);
      expect(e).to.have.property('dbusName', 'org.freedesktop.DBus.Error.ServiceUnknown');
      bus.close();
    } finally {
      daemon.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
