// The Wayland server's bounds against clients that try to take the compositor
// down (issue 23): each runs the server in its own process, so a failure that
// would end it (an uncaught accept() error) fails the test instead of mocha.
import { expect } from 'chai';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { wl_compositor, wl_display, wl_keyboard, wl_region, wl_registry, wl_seat, wl_surface } from '../../lib/wayland/protocol/wayland';
import { runTs, spawnTs, type RunningChild } from '../helpers/spawn';
import { DeafWaylandClient } from '../helpers/wayland-deaf-client';
import { RawWaylandClient } from '../helpers/wayland-client';

/** The first stdout line of `child` starting with `prefix`, or 'timeout' after ms. */
function lineWithin(child: RunningChild, prefix: string, ms: number): Promise<string> {
  return Promise.race([child.line(prefix), new Promise<string>((r) => setTimeout(() => r('timeout'), ms))]);
}

function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** The addon under test is the sanitized build (test/sanitize/run-asan.sh). */
const sanitized = (process.env.BUFSHARE_ADDON ?? '').includes('build-asan');

describe('Wayland: limits against hostile clients', function () {
  this.timeout(20000);
  let dir: string;
  let child: RunningChild | undefined;
  const clients: { close(): void }[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bufshare-wl-limits-'));
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    if (child) {
      child.process.kill('SIGTERM');
      await child.exited;
      child = undefined;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  async function startServer(options: object = {}, nofile?: number): Promise<string> {
    const path = join(dir, 'wayland-limits');
    child = spawnTs('test/helpers/wayland-limits-child.ts', [path, JSON.stringify(options)], nofile === undefined ? {} : { nofile });
    expect(await child.line('listening')).to.equal('listening');
    return path;
  }

  it('out of fds (EMFILE): the connection that finds none is closed, the server lives and serves the next one', async () => {
    // A table of 48 fds: the server's own ~27, then one per client.
    const path = await startServer({}, 48);
    let refused: RawWaylandClient | undefined;
    for (let i = 0; i < 48 && refused === undefined; i++) {
      const c = new RawWaylandClient(path);
      clients.push(c);
      if (!(await c.roundtrip())) refused = c;
    }
    expect(refused, 'a connection past the fd limit').to.not.equal(undefined);
    expect(refused!.error, 'refused before any protocol').to.equal(undefined);
    expect(await lineWithin(child!, 'error ', 2000)).to.match(/^error ERR_BUFSHARE_SYSCALL EMFILE refused a connection: out of fds/);
    expect(child!.process.exitCode, 'the server still runs').to.equal(null);
    // The clients it had are still served, and once some leave a new one gets in.
    expect(await (clients[0] as RawWaylandClient).roundtrip()).to.equal(true);
    for (const c of clients.splice(0, 4)) c.close();
    await new Promise((r) => setTimeout(r, 100));
    const next = new RawWaylandClient(path);
    clients.push(next);
    expect(await next.roundtrip()).to.equal(true);
  });

  it('a client asking for keymaps without reading is disconnected past 256 queued fds, and its fds are closed', async () => {
    const path = await startServer();
    const pid = child!.process.pid!;
    const probe = new RawWaylandClient(path);
    clients.push(probe);
    await probe.registry();
    const [seatName, seatVersion] = probe.globals.get('wl_seat')!;
    const before = fdCount(pid);
    const deaf = new DeafWaylandClient(path);
    clients.push(deaf);
    deaf.request(1, wl_display, 'get_registry', [2]);
    deaf.request(2, wl_registry, 'bind', [seatName, { interface: 'wl_seat', version: seatVersion, id: 3 }]);
    // Each get_keyboard is a keymap fd sent; release keeps the object count low.
    for (let i = 0; i < 10000; i++) {
      deaf.request(3, wl_seat, 'get_keyboard', [4]);
      deaf.request(4, wl_keyboard, 'release', []);
    }
    const sending = deaf.send().catch(() => undefined); // EPIPE once the server hangs up
    expect(await lineWithin(child!, 'disconnect ', 5000)).to.match(/over 256 fds queued/);
    await sending;
    expect(await probe.roundtrip(), 'the other client is still served').to.equal(true);
    expect(fdCount(pid)).to.be.at.most(before + 1);
  });

  it('a wl_region cut into a grid of holes ends in no_memory within a bounded time, and the others are served meanwhile', async () => {
    const path = await startServer();
    const bystander = new RawWaylandClient(path);
    const c = new RawWaylandClient(path);
    clients.push(bystander, c);
    await bystander.registry();
    const compositor = c.bind(await c.registry(), wl_compositor);
    const region = c.newId(wl_region);
    c.request(compositor, wl_compositor, 'create_region', [region]);
    c.request(region, wl_region, 'add', [0, 0, 300, 300]);
    // 150 x 150 one-pixel holes: each splits a rectangle in four; unbounded, every
    // subtract copied a list growing to ~45000 rectangles (the 300 x 300 grid took 132 s).
    for (let y = 0; y < 150; y++) for (let x = 0; x < 150; x++) c.request(region, wl_region, 'subtract', [2 * x, 2 * y, 1, 1]);
    const start = Date.now();
    c.connection.flush();
    expect(await bystander.roundtrip(3000), 'the bystander is served during the flood').to.equal(true);
    await c.until(() => c.closed, 3000);
    expect(Date.now() - start).to.be.below(3000);
    expect(c.error).to.deep.include({ objectId: 1, code: (wl_display.enums.error as Record<string, number>).no_memory });
    expect(c.error!.message).to.match(/wl_region@\d+: over 1024 rectangles/);
    expect(await bystander.roundtrip(), 'and after').to.equal(true);
  });

  it('one uid cannot take every connection: past 3/4 of the cap it is refused, and another uid still gets in', async () => {
    if (process.getuid?.() !== 0) this.skip(); // connecting as nobody needs root
    chmodSync(dir, 0o777);
    // Idle eviction off for this one: the 48 are idle while the others try.
    const path = await startServer({ allowUids: [0, 65534], idleEvictMs: 60000 });
    chmodSync(path, 0o666);
    let accepted = 0;
    for (let i = 0; i < 64; i++) {
      const c = new RawWaylandClient(path);
      clients.push(c);
      if (!(await c.roundtrip())) break;
      accepted++;
    }
    expect(accepted, 'connections one uid got').to.equal(48);
    expect(await lineWithin(child!, 'error ', 2000)).to.match(/^error ERR_BUFSHARE_ACCESS_DENIED - refused pid \d+: uid 0 has 48 of 64 clients/);
    const other = await runTs('test/helpers/wayland-roundtrip-child.ts', [path], [], {});
    expect(other.stdout, 'as root: still refused').to.equal('refused\n');
    const nobody = spawnTs('test/helpers/wayland-roundtrip-child.ts', [path], { uid: 65534, gid: 65534 });
    expect(await nobody.line(/^(served|refused|failed)/), 'as nobody').to.equal('served');
    await nobody.exited;
  });

  it('a full server lets the longest-idle connection without a surface go for a new one; connections with a surface stay (48 idle connections locked the kiosk\'s own uid out)', async () => {
    const path = await startServer({ maxClients: 4, maxClientsPerUid: 3, idleEvictMs: 300 });
    const idle: RawWaylandClient[] = [];
    for (let i = 0; i < 3; i++) {
      const c = new RawWaylandClient(path);
      clients.push(c);
      expect(await c.roundtrip()).to.equal(true);
      idle.push(c);
    }
    const early = new RawWaylandClient(path);
    clients.push(early);
    expect(await early.roundtrip(500), 'before 300 ms of idleness: refused').to.equal(false);
    expect(await lineWithin(child!, 'error ', 2000)).to.match(/uid 0 has 3 of 4 clients/);
    await new Promise((r) => setTimeout(r, 400));
    // The first one spoke again: the second is now the longest idle.
    expect(await idle[0]!.roundtrip()).to.equal(true);
    const late = new RawWaylandClient(path);
    clients.push(late);
    expect(await late.roundtrip(), 'after: served').to.equal(true);
    expect(await idle[1]!.until(() => idle[1]!.closed, 2000).then(() => true, () => false), 'the longest idle is gone').to.equal(true);
    expect(idle[0]!.closed || idle[2]!.closed, 'the others stay').to.equal(false);
    expect(await lineWithin(child!, 'disconnect ', 2000)).to.match(/idle without a surface for \d+ ms while the server was full/);
    // Windows are never let go: three clients with a surface, idle or not, keep their places.
    for (const c of [idle[0]!, idle[2]!, late]) {
      const compositor = c.bind(await c.registry(), wl_compositor);
      c.request(compositor, wl_compositor, 'create_surface', [c.newId(wl_surface)]);
      expect(await c.roundtrip()).to.equal(true);
    }
    await new Promise((r) => setTimeout(r, 400));
    const refused = new RawWaylandClient(path);
    clients.push(refused);
    expect(await refused.roundtrip(500), 'nobody idle without a surface: refused').to.equal(false);
  });

  it('clients that never read, past the server-wide budget: the one with the most queued is disconnected first', async function () {
    const path = await startServer({ maxOutboundBytesTotal: 1024 * 1024 });
    const bystander = new RawWaylandClient(path);
    clients.push(bystander);
    await bystander.registry();
    /** A client that asks for `n` registries (each ~300 bytes of global events) and reads none of them. */
    const flood = async (n: number): Promise<DeafWaylandClient> => {
      const deaf = new DeafWaylandClient(path);
      clients.push(deaf);
      for (let i = 0; i < n; i++) deaf.request(1, wl_display, 'get_registry', [2 + i]);
      await deaf.send();
      await new Promise((r) => setTimeout(r, 200));
      return deaf;
    };
    // Each flood is ~0.9 MB of events, of which the kernel takes some (~300 KB): the second's
    // passes the 1 MiB budget while its queue is still the smaller. Each stays under the
    // budget alone whatever the kernel takes. Sized from the globals a registry announces
    // (their number grows with the protocols: at a fixed 3,000 registries, 30 globals made
    // each flood 3.9 MB alone and the second was cut too).
    const perRegistry = [...bystander.globals.keys()].reduce((n, name) => n + 8 + 4 + 4 + (Math.ceil((Buffer.byteLength(name) + 1) / 4) * 4) + 4, 0);
    const registries = Math.floor((0.85 * 1024 * 1024) / perRegistry);
    const big = await flood(registries);
    const small = await flood(registries);
    expect(await lineWithin(child!, 'disconnect ', 2000)).to.match(/outbound budget \(1048576 bytes for all clients\) was exceeded, and this client had the most queued/);
    expect(await big.ended(1000), 'the one with the most queued').to.equal(true);
    expect(await small.ended(300), 'the other stays').to.equal(false);
    expect(await bystander.roundtrip()).to.equal(true);
  });

  it('clients that never read cost the server about the bytes queued for them, not 20 times that (3 x 100,000 unread wl_display.sync)', async function () {
    this.timeout(60000);
    // Under AddressSanitizer the allocator's shadow memory and quarantine make RSS no measure of what the server holds.
    if (sanitized) this.skip();
    const path = await startServer();
    const pid = child!.process.pid!;
    const bystander = new RawWaylandClient(path);
    clients.push(bystander);
    await bystander.registry();
    const rssMiB = (): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
    const cpuTicks = (): number => {
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return Number(f[11]) + Number(f[12]);
    };
    const before = rssMiB();
    const deaf: DeafWaylandClient[] = [];
    for (let c = 0; c < 3; c++) {
      const d = new DeafWaylandClient(path);
      clients.push(d);
      deaf.push(d);
      // The same callback id each time: the server destroys it after done (delete_id).
      // Each answered with done + delete_id (24 bytes): 2.4 MB queued each, under the
      // 4 MiB per-client bound and, together, the 32 MiB budget: nobody is cut, it all stays.
      d.repeat(1, wl_display, 'sync', [2], 100000);
    }
    await Promise.all(deaf.map((d) => d.send()));
    // Until the server has handled it all: its CPU time stops moving.
    for (let last = cpuTicks(), i = 0; i < 200; i++) {
      await new Promise((r) => setTimeout(r, 250));
      const now = cpuTicks();
      if (now - last <= 1) break;
      last = now;
    }
    const grown = rssMiB() - before;
    expect(await bystander.roundtrip(), 'the bystander is served').to.equal(true);
    for (const d of deaf) expect(await d.ended(50), 'nobody was cut').to.equal(false);
    // 7.2 MB queued in all. As one JS object per 12-byte message it cost ~24 times that.
    expect(grown, `server RSS grew ${grown.toFixed(0)} MiB`).to.be.below(60);
  });

  it('a client that reads only once 100,000 small events are queued gets them all within 2 s, and the others are served meanwhile', async () => {
    const path = await startServer();
    const bystander = new RawWaylandClient(path);
    clients.push(bystander);
    await bystander.registry();
    const deaf = new DeafWaylandClient(path);
    clients.push(deaf);
    // Each sync is answered with done and delete_id, 12 bytes each: 2.4 MB, under the 4 MiB bound.
    const SYNCS = 50000;
    for (let i = 0; i < SYNCS; i++) deaf.request(1, wl_display, 'sync', [2 + i]);
    await deaf.send();
    expect(await bystander.roundtrip(), 'every sync handled').to.equal(true);
    const start = Date.now();
    const reading = deaf.read(SYNCS * 24, 10000);
    // While it drains, the others are served.
    expect(await bystander.roundtrip(2000), 'the bystander, during the drain').to.equal(true);
    expect(await reading).to.equal(SYNCS * 24);
    expect(Date.now() - start, 'ms to drain').to.be.below(2000);
  });
});
