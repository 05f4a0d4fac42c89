// Who may connect to a WaylandServer: its own uid only by default (SO_PEERCRED), and
// at most maxClients at once; the socket is 0600 and its name is held by <name>.lock.
import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BufshareError } from '../../lib/errors';
import * as native from '../../lib/native';
import { WaylandServer } from '../../lib/wayland/server';
import { resourceFds } from '../helpers/fds';
import { RawWaylandClient } from '../helpers/wayland-client';

describe('Wayland: access', function () {
  this.timeout(10000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bufshare-wl-access-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses a uid it does not allow, and goes on serving', async () => {
    const fdsBefore = resourceFds();
    const server = WaylandServer.listen({ name: join(dir, 'w'), allowUids: [process.getuid!() + 4242] });
    const errors: BufshareError[] = [];
    server.on('error', (e) => errors.push(e));
    expect(statSync(server.path).mode & 0o777).to.equal(0o600);
    const c = new RawWaylandClient(server.path);
    await c.until(() => c.closed);
    expect(errors.map((e) => e.code)).to.deep.equal(['ERR_BUFSHARE_ACCESS_DENIED']);
    expect(errors[0]!.message).to.match(/uid \d+ may not connect/);
    expect(server.clients.size).to.equal(0);
    c.close();
    await server.close();
    expect(existsSync(server.path) || existsSync(`${server.path}.lock`)).to.equal(false);
    expect(resourceFds()).to.deep.equal(fdsBefore);
  });

  it('takes at most maxClients at once', async () => {
    // One uid here: its own bound (3/4 of maxClients by default) lifted, to reach the total's.
    const server = WaylandServer.listen({ name: join(dir, 'w'), maxClients: 2, maxClientsPerUid: 2 });
    const errors: BufshareError[] = [];
    server.on('error', (e) => errors.push(e));
    const clients = [0, 1, 2].map(() => new RawWaylandClient(server.path));
    try {
      await clients[2]!.until(() => clients[2]!.closed);
      await clients[0]!.roundtrip();
      await clients[1]!.roundtrip();
      expect([clients[0]!.closed, clients[1]!.closed]).to.deep.equal([false, false]);
      expect(errors[0]?.message).to.match(/over 2 clients/);
    } finally {
      for (const c of clients) c.close();
      await server.close();
    }
  });

  it('the compositor\'s own clients (accept() of its streamPair end) get in when the listener is full', async () => {
    const server = WaylandServer.listen({ name: join(dir, 'w'), maxClients: 1 });
    const outside = new RawWaylandClient(server.path);
    const [mine, theirs] = native.streamPair();
    const embedded = new RawWaylandClient({ fd: theirs });
    try {
      expect(await outside.roundtrip()).to.equal(true);
      expect(server.accept(mine), 'accepted').to.not.equal(undefined);
      expect(await embedded.roundtrip()).to.equal(true);
      expect(server.clients.size).to.equal(2);
    } finally {
      outside.close();
      embedded.close();
      await server.close();
    }
  });

  it('a file that is not a socket where the display should be: ERR_BUFSHARE_ADDRESS_IN_USE naming the path, the file untouched, no fd left', () => {
    const path = join(dir, 'wayland-taken');
    writeFileSync(path, 'not a socket');
    const before = resourceFds();
    let error: BufshareError | undefined;
    try {
      WaylandServer.listen({ name: path });
    } catch (e) {
      error = e as BufshareError;
    }
    expect(error?.code).to.equal('ERR_BUFSHARE_ADDRESS_IN_USE');
    expect(error?.message).to.include(path);
    expect(readFileSync(path, 'utf8')).to.equal('not a socket');
    expect(existsSync(`${path}.lock`), 'its lock file goes').to.equal(false);
    expect(resourceFds()).to.deep.equal(before);
  });
});
