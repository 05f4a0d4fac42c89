// Hostile Wayland clients: each malformed message ends in wl_display.error with the
// protocol's code, the disconnect of that client only, and every fd and mapping it
// made the server hold closed.
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as native from '../../lib/native';
import { wl_compositor, wl_display, wl_pointer, wl_region, wl_registry, wl_seat, wl_shm, wl_shm_pool, wl_subcompositor, wl_subsurface, wl_surface } from '../../lib/wayland/protocol/wayland';
import { xdg_surface, xdg_toplevel, xdg_wm_base } from '../../lib/wayland/protocol/xdg-shell';
import { WaylandServer } from '../../lib/wayland/server';
import { resourceFds } from '../helpers/fds';
import { RawWaylandClient } from '../helpers/wayland-client';

const DISPLAY = wl_display.enums.error as Record<string, number>;
const SHM = wl_shm.enums.error as Record<string, number>;
const XDG_SURFACE = xdg_surface.enums.error as Record<string, number>;
const SURFACE = wl_surface.enums.error as Record<string, number>;
const TOPLEVEL = xdg_toplevel.enums.error as Record<string, number>;
const SUBSURFACE = wl_subsurface.enums.error as Record<string, number>;
const POINTER = wl_pointer.enums.error as Record<string, number>;

function words(...w: number[]): Uint8Array {
  const b = new Uint8Array(w.length * 4);
  const v = new DataView(b.buffer);
  w.forEach((x, i) => v.setUint32(i * 4, x >>> 0, true));
  return b;
}

interface Expected {
  readonly object: 'display' | number | ((ids: Record<string, number>) => number);
  readonly code: number;
  readonly message: RegExp;
}

describe('Wayland: hostile clients', function () {
  this.timeout(20000);
  let dir: string;
  let server: WaylandServer;
  let bystander: RawWaylandClient;
  let fdsBefore: string[];
  let mappingsBefore: number;
  const madeFds: number[] = [];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'bufshare-wl-hostile-'));
    server = WaylandServer.listen({ name: join(dir, 'wayland-hostile') });
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(async () => {
    fdsBefore = resourceFds();
    mappingsBefore = native.mappingStats().live;
    bystander = new RawWaylandClient(server.path);
    await bystander.registry();
  });

  afterEach(async () => {
    // The well-behaved client was not touched by its neighbour's fault.
    await bystander.roundtrip();
    expect(bystander.closed).to.equal(false);
    expect(bystander.error).to.equal(undefined);
    bystander.close();
    for (const fd of madeFds.splice(0)) native.closeFd(fd);
    await new Promise((r) => setTimeout(r, 20));
    expect(server.clients.size).to.equal(0);
    expect(server.queuedBytes, 'bytes queued, server-wide').to.equal(0);
    expect(native.mappingStats().live, 'mappings').to.equal(mappingsBefore);
    expect(resourceFds(), 'fds').to.deep.equal(fdsBefore);
  });

  function memfd(size: number): number {
    const fd = native.memfdCreate('hostile-pool', size, 0);
    madeFds.push(fd);
    return fd;
  }

  /** Runs `attack` on a fresh client (after its registry) and checks the error and the disconnect. */
  async function expectFault(attack: (c: RawWaylandClient, registry: number, ids: Record<string, number>) => void | Promise<void>, expected: Expected): Promise<void> {
    const c = new RawWaylandClient(server.path);
    try {
      const registry = await c.registry();
      const ids: Record<string, number> = { registry };
      await attack(c, registry, ids);
      await c.until(() => c.closed, 3000);
      const e = c.error;
      expect(e, 'a wl_display.error').to.not.equal(undefined);
      const object = expected.object === 'display' ? 1 : typeof expected.object === 'function' ? expected.object(ids) : expected.object;
      expect([e!.objectId, e!.code]).to.deep.equal([object, expected.code]);
      expect(e!.message).to.match(expected.message);
    } finally {
      c.close();
    }
  }

  it('a request on an object that does not exist: invalid_object', () =>
    expectFault((c) => c.request(99, wl_region, 'destroy', []), { object: 'display', code: DISPLAY.invalid_object!, message: /invalid object 99/ }));

  it('an opcode the interface does not have: invalid_method', () =>
    expectFault((c) => c.sendRaw(words(1, (8 << 16) | 7)), { object: 1, code: DISPLAY.invalid_method!, message: /invalid method 7/ }));

  it('a message size that is not a multiple of 4, or below its header: invalid_method', async () => {
    await expectFault((c) => c.sendRaw(words(1, (10 << 16) | 0, 0)), { object: 'display', code: DISPLAY.invalid_method!, message: /multiple of 4/ });
    await expectFault((c) => c.sendRaw(words(1, (4 << 16) | 0)), { object: 'display', code: DISPLAY.invalid_method!, message: /smaller than its header/ });
  });

  it('a message shorter than its arguments: invalid_method', () =>
    expectFault((c) => c.sendRaw(words(1, (8 << 16) | 0)), { object: 1, code: DISPLAY.invalid_method!, message: /ends before callback/ }));

  it('a string without its NUL: invalid_method', () =>
    expectFault((c, registry) => {
      // wl_registry.bind(1, "wl_compositor" with its NUL replaced, 1, 5)
      const name = new TextEncoder().encode('wl_compositorX\0\0');
      name[13] = 0x58; // 'X' where the NUL was: 14 bytes counted, none of them NUL
      const body = new Uint8Array(4 + 4 + 16 + 8);
      const v = new DataView(body.buffer);
      v.setUint32(0, 1, true);
      v.setUint32(4, 14, true);
      body.set(name.subarray(0, 14), 8);
      v.setUint32(24, 1, true);
      v.setUint32(28, 50, true);
      const header = words(registry, ((8 + body.byteLength) << 16) | 0);
      const msg = new Uint8Array(header.byteLength + body.byteLength);
      msg.set(header);
      msg.set(body, 8);
      c.sendRaw(msg);
    }, { object: (ids) => ids.registry!, code: DISPLAY.invalid_method!, message: /not NUL-terminated/ }));

  it('an fd argument with no fd: invalid_method', () =>
    expectFault((c, registry, ids) => {
      const shm = c.bind(registry, wl_shm);
      ids.target = shm;
      c.sendRaw(words(shm, (16 << 16) | 0, 50, 4096)); // create_pool(id 50, <no fd>, 4096)
    }, { object: (ids) => ids.target!, code: DISPLAY.invalid_method!, message: /fd fd missing/ }));

  it('more than 28 fds in one sendmsg: refused, and none of them is kept', () =>
    expectFault((c) => {
      const fd = memfd(4096);
      c.sendRaw(words(1, (12 << 16) | 0, 60), new Array<number>(40).fill(fd)); // a sync with 40 fds
    }, { object: 'display', code: DISPLAY.invalid_method!, message: /more than 28 fds/ }));

  it('fds sent ahead of any message that takes them, past the bound: refused', () =>
    expectFault((c) => {
      const fd = memfd(4096);
      // syncs with the client's next ids (a new id must be the next one), each carrying 28 fds
      for (let i = 0; i < 6; i++) c.sendRaw(words(1, (12 << 16) | 0, c.newId(RawWaylandClient.interface('wl_callback'))), new Array<number>(28).fill(fd));
    }, { object: 'display', code: DISPLAY.invalid_method!, message: /fds sent ahead/ }));

  it('a pool of size 0 or beyond int32: invalid_stride', async () => {
    await expectFault((c, registry, ids) => {
      const shm = c.bind(registry, wl_shm);
      ids.target = shm;
      c.request(shm, wl_shm, 'create_pool', [c.newId(wl_shm_pool), memfd(4096), 0]);
    }, { object: (ids) => ids.target!, code: SHM.invalid_stride!, message: /invalid pool size 0/ });
  });

  for (const [what, args, code, message] of [
    ['offset + stride x height beyond the pool', [0, 64, 65, 256, 1], SHM.invalid_stride!, /does not fit the 16384-byte pool/],
    ['a stride below width x bpp', [0, 64, 4, 100, 1], SHM.invalid_stride!, /stride 100 is below/],
    ['a negative offset', [-4, 4, 4, 16, 1], SHM.invalid_stride!, /invalid width, height, stride or offset/],
    ['a zero width', [0, 0, 4, 16, 1], SHM.invalid_stride!, /invalid width/],
    ['a format not advertised', [0, 4, 4, 16, 0x20203859], SHM.invalid_format!, /unsupported format/],
  ] as const) {
    it(`wl_shm_pool.create_buffer with ${what}: ${code === SHM.invalid_format ? 'invalid_format' : 'invalid_stride'}`, () =>
      expectFault((c, registry, ids) => {
        const shm = c.bind(registry, wl_shm);
        const pool = c.newId(wl_shm_pool);
        ids.pool = pool;
        c.request(shm, wl_shm, 'create_pool', [pool, memfd(16384), 16384]);
        c.request(pool, wl_shm_pool, 'create_buffer', [c.newId(RawWaylandClient.interface('wl_buffer')), ...args]);
      }, { object: (ids) => ids.pool!, code, message }));
  }

  it('more pools than a client may hold: no_memory (the SIGBUS guard\'s table is shared)', () =>
    expectFault((c, registry) => {
      const shm = c.bind(registry, wl_shm);
      const fd = memfd(4096);
      for (let i = 0; i <= 128; i++) c.request(shm, wl_shm, 'create_pool', [c.newId(wl_shm_pool), fd, 4096]);
    }, { object: 'display', code: DISPLAY.no_memory!, message: /over 128 wl_shm pools/ }));

  it('pools given back free their place: destroying them lets a client make more', async () => {
    const c = new RawWaylandClient(server.path);
    try {
      const registry = await c.registry();
      const shm = c.bind(registry, wl_shm);
      const fd = memfd(4096);
      for (let round = 0; round < 3; round++) {
        const pools = Array.from({ length: 100 }, () => c.newId(wl_shm_pool));
        for (const p of pools) c.request(shm, wl_shm, 'create_pool', [p, fd, 4096]);
        for (const p of pools) c.request(p, wl_shm_pool, 'destroy', []);
        await c.roundtrip();
      }
      expect(c.closed).to.equal(false);
      expect(c.error).to.equal(undefined);
    } finally {
      c.close();
    }
  });

  it('a pool shrunk with resize: invalid_fd', () =>
    expectFault((c, registry, ids) => {
      const shm = c.bind(registry, wl_shm);
      const pool = c.newId(wl_shm_pool);
      ids.pool = pool;
      c.request(shm, wl_shm, 'create_pool', [pool, memfd(16384), 16384]);
      c.request(pool, wl_shm_pool, 'resize', [4096]);
    }, { object: (ids) => ids.pool!, code: SHM.invalid_fd!, message: /can only grow/ }));

  /** A configured xdg_toplevel with a 64x64 XRGB buffer from a pool of `poolFd`, ready to commit. */
  async function toplevelWithBuffer(c: RawWaylandClient, registry: number, poolFd: number, ids: Record<string, number>): Promise<void> {
    const { surface, xdgSurface: xs } = await c.configuredToplevel(registry);
    const shm = c.bind(registry, wl_shm);
    const pool = c.newId(wl_shm_pool);
    c.request(shm, wl_shm, 'create_pool', [pool, poolFd, 64 * 64 * 4]);
    const buffer = c.newId(RawWaylandClient.interface('wl_buffer'));
    c.request(pool, wl_shm_pool, 'create_buffer', [buffer, 0, 64, 64, 256, 1]);
    c.request(surface, wl_surface, 'attach', [buffer, 0, 0]);
    Object.assign(ids, { surface, xs, buffer, pool });
  }

  it('a buffer whose pool file was truncated under it: invalid_fd on commit, no SIGBUS', () =>
    expectFault(async (c, registry, ids) => {
      const fd = memfd(64 * 64 * 4);
      await toplevelWithBuffer(c, registry, fd, ids);
      await c.roundtrip();
      native.truncateFd(fd, 0);
      c.request(ids.surface!, wl_surface, 'commit', []);
    }, { object: (ids) => ids.buffer!, code: SHM.invalid_fd!, message: /truncated/ }));

  it('a buffer attached before the first configure was acked: unconfigured_buffer', () =>
    expectFault((c, registry, ids) => {
      const compositor = c.bind(registry, wl_compositor);
      const wm = c.bind(registry, xdg_wm_base);
      const surface = c.newId(wl_surface);
      c.request(compositor, wl_compositor, 'create_surface', [surface]);
      const xs = c.newId(xdg_surface);
      ids.xs = xs;
      c.request(wm, xdg_wm_base, 'get_xdg_surface', [xs, surface]);
      c.request(xs, xdg_surface, 'get_toplevel', [c.newId(xdg_toplevel)]);
      const shm = c.bind(registry, wl_shm);
      const pool = c.newId(wl_shm_pool);
      c.request(shm, wl_shm, 'create_pool', [pool, memfd(16384), 16384]);
      const buffer = c.newId(RawWaylandClient.interface('wl_buffer'));
      c.request(pool, wl_shm_pool, 'create_buffer', [buffer, 0, 64, 64, 256, 1]);
      c.request(surface, wl_surface, 'attach', [buffer, 0, 0]);
      c.request(surface, wl_surface, 'commit', []);
    }, { object: (ids) => ids.xs!, code: XDG_SURFACE.unconfigured_buffer!, message: /initial commit/ }));

  it('an ack_configure of a serial never sent: invalid_serial', () =>
    expectFault((c, registry, ids) => {
      const compositor = c.bind(registry, wl_compositor);
      const wm = c.bind(registry, xdg_wm_base);
      const surface = c.newId(wl_surface);
      c.request(compositor, wl_compositor, 'create_surface', [surface]);
      const xs = c.newId(xdg_surface);
      ids.xs = xs;
      c.request(wm, xdg_wm_base, 'get_xdg_surface', [xs, surface]);
      c.request(xs, xdg_surface, 'ack_configure', [12345]);
    }, { object: (ids) => ids.xs!, code: XDG_SURFACE.invalid_serial!, message: /12345/ }));

  it('a destroyed object used again: invalid_object', () =>
    expectFault((c, registry) => {
      const compositor = c.bind(registry, wl_compositor);
      const region = c.newId(wl_region);
      c.request(compositor, wl_compositor, 'create_region', [region]);
      c.request(region, wl_region, 'destroy', []);
      c.request(region, wl_region, 'add', [0, 0, 1, 1]);
    }, { object: 'display', code: DISPLAY.invalid_object!, message: /invalid object/ }));

  it('a new id already in use: invalid_object', () =>
    expectFault((c, registry, ids) => {
      const compositor = c.bind(registry, wl_compositor);
      ids.target = compositor;
      c.request(compositor, wl_compositor, 'create_region', [compositor]);
    }, { object: (ids) => ids.target!, code: DISPLAY.invalid_object!, message: /invalid new id/ }));

  it('a new id that is not the next one (libwayland: at most one past the highest id used): invalid_object', () =>
    expectFault((c, _registry, ids) => {
      ids.target = 1;
      c.request(1, wl_display, 'sync', [c.newId(wl_region) + 50]);
    }, { object: (ids) => ids.target!, code: DISPLAY.invalid_object!, message: /invalid new id \d+/ }));

  it('an xdg_surface destroyed before its xdg_toplevel: defunct_role_object', () =>
    expectFault(async (c, registry, ids) => {
      const { xdgSurface } = await c.configuredToplevel(registry);
      ids.target = xdgSurface;
      c.request(xdgSurface, xdg_surface, 'destroy', []);
    }, { object: (ids) => ids.target!, code: XDG_SURFACE.defunct_role_object!, message: /destroyed before its xdg_toplevel/ }));

  it('xdg_toplevel.set_parent to itself: invalid_parent', () =>
    expectFault(async (c, registry, ids) => {
      const { toplevel } = await c.configuredToplevel(registry);
      ids.target = toplevel;
      c.request(toplevel, xdg_toplevel, 'set_parent', [toplevel]);
    }, { object: (ids) => ids.target!, code: TOPLEVEL.invalid_parent!, message: /its own ancestor/ }));

  it('xdg_toplevel.set_parent closing a cycle: invalid_parent (a parent that is only unset is fine)', () =>
    expectFault(async (c, registry, ids) => {
      const a = await c.configuredToplevel(registry);
      const b = await c.configuredToplevel(registry);
      c.request(b.toplevel, xdg_toplevel, 'set_parent', [a.toplevel]);
      c.request(b.toplevel, xdg_toplevel, 'set_parent', [0]);
      c.request(b.toplevel, xdg_toplevel, 'set_parent', [a.toplevel]);
      expect(await c.roundtrip()).to.equal(true);
      ids.target = a.toplevel;
      c.request(a.toplevel, xdg_toplevel, 'set_parent', [b.toplevel]);
    }, { object: (ids) => ids.target!, code: TOPLEVEL.invalid_parent!, message: /its own ancestor/ }));

  it('a min size above the max size, on commit: invalid_size (either order; a min then a larger max is fine)', async () => {
    await expectFault(async (c, registry, ids) => {
      const { toplevel, surface } = await c.configuredToplevel(registry);
      // Double-buffered: min 200 then max 300 passes through min > max (max 100) and is valid.
      c.request(toplevel, xdg_toplevel, 'set_max_size', [100, 100]);
      c.request(surface, wl_surface, 'commit', []);
      c.request(toplevel, xdg_toplevel, 'set_min_size', [200, 200]);
      c.request(toplevel, xdg_toplevel, 'set_max_size', [300, 300]);
      c.request(surface, wl_surface, 'commit', []);
      expect(await c.roundtrip()).to.equal(true);
      ids.target = toplevel;
      c.request(toplevel, xdg_toplevel, 'set_max_size', [150, 400]);
      c.request(surface, wl_surface, 'commit', []);
    }, { object: (ids) => ids.target!, code: TOPLEVEL.invalid_size!, message: /min size 200x200 above max size 150x400/ });
    await expectFault(async (c, registry, ids) => {
      const { toplevel, surface } = await c.configuredToplevel(registry);
      ids.target = toplevel;
      c.request(toplevel, xdg_toplevel, 'set_max_size', [100, 100]);
      c.request(toplevel, xdg_toplevel, 'set_min_size', [0, 101]);
      c.request(surface, wl_surface, 'commit', []);
    }, { object: (ids) => ids.target!, code: TOPLEVEL.invalid_size!, message: /min size 0x101 above max size 100x100/ });
    await expectFault(async (c, registry, ids) => {
      const { toplevel } = await c.configuredToplevel(registry);
      ids.target = toplevel;
      c.request(toplevel, xdg_toplevel, 'set_min_size', [-1, 10]);
    }, { object: (ids) => ids.target!, code: TOPLEVEL.invalid_size!, message: /negative/ });
  });

  it('wl_subsurface.place_above / place_below a surface that is neither a sibling nor the parent: bad_surface', async () => {
    const setup = (c: RawWaylandClient, registry: number): { sub: number; parent: number; sibling: number; stranger: number; self: number } => {
      const compositor = c.bind(registry, wl_compositor);
      const subcompositor = c.bind(registry, wl_subcompositor);
      const [parent, self, sibling, stranger] = [0, 1, 2, 3].map(() => {
        const s = c.newId(wl_surface);
        c.request(compositor, wl_compositor, 'create_surface', [s]);
        return s;
      }) as [number, number, number, number];
      const sub = c.newId(wl_subsurface);
      c.request(subcompositor, wl_subcompositor, 'get_subsurface', [sub, self, parent]);
      c.request(subcompositor, wl_subcompositor, 'get_subsurface', [c.newId(wl_subsurface), sibling, parent]);
      return { sub, parent, sibling, stranger, self };
    };
    await expectFault(async (c, registry, ids) => {
      const { sub, parent, sibling, stranger } = setup(c, registry);
      c.request(sub, wl_subsurface, 'place_above', [parent]);
      c.request(sub, wl_subsurface, 'place_below', [sibling]);
      expect(await c.roundtrip(), 'the parent and a sibling are fine').to.equal(true);
      ids.target = sub;
      c.request(sub, wl_subsurface, 'place_above', [stranger]);
    }, { object: (ids) => ids.target!, code: SUBSURFACE.bad_surface!, message: /is neither the parent nor a sibling/ });
    await expectFault((c, registry, ids) => {
      const { sub, self } = setup(c, registry);
      ids.target = sub;
      c.request(sub, wl_subsurface, 'place_below', [self]);
    }, { object: (ids) => ids.target!, code: SUBSURFACE.bad_surface!, message: /is neither the parent nor a sibling/ });
  });

  it('wl_pointer.set_cursor with a surface that has another role: role (a cursor surface may be set again)', () =>
    expectFault(async (c, registry, ids) => {
      const { surface, compositor } = await c.configuredToplevel(registry);
      const seat = c.bind(registry, wl_seat);
      const pointer = c.newId(wl_pointer);
      c.request(seat, wl_seat, 'get_pointer', [pointer]);
      const cursor = c.newId(wl_surface);
      c.request(compositor, wl_compositor, 'create_surface', [cursor]);
      c.request(pointer, wl_pointer, 'set_cursor', [0, cursor, 0, 0]);
      c.request(pointer, wl_pointer, 'set_cursor', [0, cursor, 1, 1]);
      c.request(pointer, wl_pointer, 'set_cursor', [0, 0, 0, 0]);
      expect(await c.roundtrip()).to.equal(true);
      ids.target = pointer;
      c.request(pointer, wl_pointer, 'set_cursor', [0, surface, 0, 0]);
    }, { object: (ids) => ids.target!, code: POINTER.role!, message: /already has the role xdg_toplevel/ }));

  it('a bind above the advertised version: invalid_object', () =>
    expectFault((c, registry) => {
      c.bind(registry, wl_compositor, 99);
    }, { object: 'display', code: DISPLAY.invalid_object!, message: /invalid version for global wl_compositor/ }));

  it('a request newer than the version bound: invalid_method', () =>
    expectFault((c, registry, ids) => {
      const compositor = c.bind(registry, wl_compositor, 1);
      const surface = c.newId(wl_surface);
      c.request(compositor, wl_compositor, 'create_surface', [surface]);
      ids.target = surface;
      c.request(surface, wl_surface, 'damage_buffer', [0, 0, 1, 1]); // since 4
    }, { object: (ids) => ids.target!, code: DISPLAY.invalid_method!, message: /since 4/ }));

  it('an object argument of the wrong interface: invalid_object', () =>
    expectFault((c, registry, ids) => {
      const compositor = c.bind(registry, wl_compositor);
      const surface = c.newId(wl_surface);
      c.request(compositor, wl_compositor, 'create_surface', [surface]);
      ids.target = surface;
      c.request(surface, wl_surface, 'attach', [compositor, 0, 0]); // a wl_compositor is not a wl_buffer
    }, { object: (ids) => ids.target!, code: DISPLAY.invalid_object!, message: /invalid object \d+ for buffer/ }));

  it('a buffer scale of 0: invalid_scale', () =>
    expectFault((c, registry, ids) => {
      const compositor = c.bind(registry, wl_compositor);
      const surface = c.newId(wl_surface);
      c.request(compositor, wl_compositor, 'create_surface', [surface]);
      ids.target = surface;
      c.request(surface, wl_surface, 'set_buffer_scale', [0]);
    }, { object: (ids) => ids.target!, code: SURFACE.invalid_scale!, message: /below 1/ }));

  it('a buffer destroyed between attach and commit (with its pool) counts as attach(NULL): no error, the window is withdrawn', async () => {
    const c = new RawWaylandClient(server.path);
    const withdrawn: unknown[] = [];
    const frames: { release(): void }[] = [];
    const onWithdraw = (s: unknown): void => {
      withdrawn.push(s);
    };
    const onFrame = (f: { release(): void }): void => {
      frames.push(f);
    };
    server.on('surfaceDestroyed', onWithdraw);
    server.on('frame', onFrame);
    try {
      const registry = await c.registry();
      const ids: Record<string, number> = {};
      await toplevelWithBuffer(c, registry, memfd(64 * 64 * 4), ids);
      c.request(ids.surface!, wl_surface, 'commit', []); // shown
      await c.until(() => frames.length === 1);
      const buffer2 = c.newId(RawWaylandClient.interface('wl_buffer'));
      c.request(ids.pool!, wl_shm_pool, 'create_buffer', [buffer2, 0, 32, 32, 128, 1]);
      c.request(ids.surface!, wl_surface, 'attach', [buffer2, 0, 0]);
      c.request(buffer2, RawWaylandClient.interface('wl_buffer'), 'destroy', []);
      c.request(ids.pool!, wl_shm_pool, 'destroy', []);
      c.request(ids.surface!, wl_surface, 'commit', []);
      await c.roundtrip();
      expect(c.error).to.equal(undefined);
      expect(withdrawn.length).to.equal(1);
      expect(frames.length).to.equal(1);
    } finally {
      for (const f of frames) f.release();
      server.off('surfaceDestroyed', onWithdraw);
      server.off('frame', onFrame);
      c.close();
    }
  });

  it('a client that dies with a frame held leaves nothing once the frame is released', async () => {
    const c = new RawWaylandClient(server.path);
    let held: { release(): void; released: boolean } | undefined;
    const onFrame = (f: { release(): void; released: boolean }): void => {
      held = f;
    };
    server.on('frame', onFrame);
    try {
      const registry = await c.registry();
      const fd = memfd(64 * 64 * 4);
      const ids: Record<string, number> = {};
      await toplevelWithBuffer(c, registry, fd, ids);
      c.request(ids.surface!, wl_surface, 'commit', []);
      await c.until(() => held !== undefined);
      expect(native.mappingStats().live).to.equal(mappingsBefore + 1);
    } finally {
      c.close();
      server.off('frame', onFrame);
    }
    await new Promise((r) => setTimeout(r, 20));
    // Withdrawn with its client, but the compositor still reads the frame until it releases it.
    expect(native.mappingStats().live).to.equal(mappingsBefore + 1);
    held!.release();
  });
});
