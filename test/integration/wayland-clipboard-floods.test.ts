/**
 * What one client's clipboard traffic may cost the others (issue 23's held-out
 * campaign): a client that repeats set_selection with one serial made the focused
 * client read a new offer each time (20,000 offers of 64 long mime types: foot
 * gave up), and a client pasting without end sent the selection's owner an fd a
 * paste, until the owner was disconnected at its 256-fd bound.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as native from '../../lib/native';
import type { CompositorSurface } from '../../lib/surface-model';
import { wl_buffer, wl_data_device, wl_data_device_manager, wl_data_offer, wl_data_source, wl_display, wl_registry, wl_seat, wl_shm, wl_shm_pool, wl_surface } from '../../lib/wayland/protocol/wayland';
import { DISPLAY_ERROR } from '../../lib/wayland/client';
import { zwp_primary_selection_device_manager_v1, zwp_primary_selection_source_v1 } from '../../lib/wayland/protocol/primary-selection';
import { WaylandServer } from '../../lib/wayland/server';
import { DeafWaylandClient } from '../helpers/wayland-deaf-client';
import { RawWaylandClient } from '../helpers/wayland-client';

describe('Wayland clipboard floods hurt only the flooder', function () {
  this.timeout(30000);
  let dir: string;
  let server: WaylandServer;
  const closers: (() => void)[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bufshare-clipflood-'));
    server = WaylandServer.listen({ name: join(dir, 'wayland-clip') });
  });
  afterEach(async () => {
    for (const c of closers.splice(0)) c();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A client with a window (focused by the compositor) and a data device. */
  async function focusedClient(): Promise<{ c: RawWaylandClient; device: number; manager: number }> {
    const c = new RawWaylandClient(server.path);
    closers.push(() => c.close());
    const registry = await c.registry();
    const { surface } = await c.configuredToplevel(registry);
    const seat = c.bind(registry, wl_seat);
    const manager = c.bind(registry, wl_data_device_manager);
    const device = c.newId(wl_data_device);
    c.request(manager, wl_data_device_manager, 'get_data_device', [device, seat]);
    // A buffer, so that the window is shown and can take the keyboard.
    const fd = native.memfdCreate('clipflood', 64, 0);
    const shm = c.bind(registry, wl_shm);
    const pool = c.newId(wl_shm_pool);
    c.request(shm, wl_shm, 'create_pool', [pool, fd, 64]);
    native.closeFd(fd);
    const buffer = c.newId(wl_buffer);
    c.request(pool, wl_shm_pool, 'create_buffer', [buffer, 0, 4, 4, 16, 1]);
    const shown = new Promise<CompositorSurface>((resolve) => server.once('surface', resolve));
    c.request(surface, wl_surface, 'attach', [buffer, 0, 0]);
    c.request(surface, wl_surface, 'commit', []);
    (await shown).keyboard({ action: 'enter' });
    await c.roundtrip();
    return { c, device, manager };
  }

  it('set_selection repeated with one serial sets the selection once: the focused client gets one offer, not 2,000', async () => {
    const victim = await focusedClient();
    const before = victim.c.events.filter((e) => e.objectId === victim.device && e.name === 'data_offer').length;
    const a = new RawWaylandClient(server.path);
    closers.push(() => a.close());
    const registry = await a.registry();
    const seat = a.bind(registry, wl_seat);
    const manager = a.bind(registry, wl_data_device_manager);
    const device = a.newId(wl_data_device);
    a.request(manager, wl_data_device_manager, 'get_data_device', [device, seat]);
    const source = a.newId(wl_data_source);
    a.request(manager, wl_data_device_manager, 'create_data_source', [source]);
    for (let i = 0; i < 64; i++) a.request(source, wl_data_source, 'offer', [`application/x-flood-${i}-${'m'.repeat(200)}`]);
    for (let i = 0; i < 2000; i++) a.request(device, wl_data_device, 'set_selection', [source, 7]);
    expect(await a.roundtrip()).to.equal(true);
    await victim.c.roundtrip();
    const offers = victim.c.events.filter((e) => e.objectId === victim.device && e.name === 'data_offer').length - before;
    expect(offers, 'offers the focused client got').to.equal(1);
    expect(server.selectionMimeTypes?.length).to.equal(64);
    // A newer serial sets it again.
    a.request(device, wl_data_device, 'set_selection', [source, 8]);
    await a.roundtrip();
    await victim.c.roundtrip();
    expect(victim.c.events.filter((e) => e.objectId === victim.device && e.name === 'data_offer').length - before).to.equal(2);
    expect([a.error, victim.c.error]).to.deep.equal([undefined, undefined]);
  });

  it('5,000 pastes while the selection\'s owner does not read: past 64 (a burst, then 64 a second) they are refused (an empty paste), and the owner stays connected', async () => {
    // The owner sets the selection blind and never reads: global names from a probe.
    const probe = new RawWaylandClient(server.path);
    closers.push(() => probe.close());
    await probe.registry();
    const [seatName, seatVersion] = probe.globals.get('wl_seat')!;
    const [managerName, managerVersion] = probe.globals.get('wl_data_device_manager')!;
    const owner = new DeafWaylandClient(server.path);
    closers.push(() => owner.close());
    owner.request(1, wl_display, 'get_registry', [2]);
    owner.request(2, wl_registry, 'bind', [seatName, { interface: 'wl_seat', version: seatVersion, id: 3 }]);
    owner.request(2, wl_registry, 'bind', [managerName, { interface: 'wl_data_device_manager', version: managerVersion, id: 4 }]);
    owner.request(4, wl_data_device_manager, 'get_data_device', [5, 3]);
    owner.request(4, wl_data_device_manager, 'create_data_source', [6]);
    owner.request(6, wl_data_source, 'offer', ['text/plain']);
    owner.request(5, wl_data_device, 'set_selection', [6, 1]);
    await owner.send();
    const paster = await focusedClient();
    const selection = paster.c.events.filter((e) => e.objectId === paster.device && e.name === 'selection').pop();
    const offer = selection?.args[0] as number;
    expect(offer, 'the paster is offered the owner\'s selection').to.be.above(0);
    const readEnds: number[] = [];
    try {
      for (let i = 0; i < 5000; i++) {
        const [r, w] = native.streamPair();
        paster.c.request(offer, wl_data_offer, 'receive', ['text/plain', w]);
        native.closeFd(w);
        if (i < 4990) native.closeFd(r);
        else readEnds.push(r);
        if (i % 100 === 99) await paster.c.roundtrip();
      }
      expect(await paster.c.roundtrip()).to.equal(true);
      expect(await owner.ended(300), 'the owner, who has 64 pastes to answer, stays connected').to.equal(false);
      // A refused paste's pipe is closed by the compositor: its read end sees the end at once.
      const buf = new Uint8Array(16);
      const fds = new Int32Array(native.MAX_FDS_PER_STREAM_SEND);
      const meta = new Int32Array(2);
      const last = native.openStream(readEnds.at(-1)!, () => {});
      readEnds.pop();
      try {
        expect(last.recvStream(buf, fds, meta), 'the last paste: refused, its pipe at its end').to.be.below(0);
      } finally {
        last.close();
      }
      expect(paster.c.error).to.equal(undefined);
    } finally {
      for (const fd of readEnds) native.closeFd(fd);
    }
  });
  it('a client holds at most 128 selection sources (clipboard and primary together): the 129th is no_memory for it alone', async () => {
    const a = new RawWaylandClient(server.path);
    closers.push(() => a.close());
    const registry = await a.registry();
    const manager = a.bind(registry, wl_data_device_manager);
    const pmanager = a.bind(registry, zwp_primary_selection_device_manager_v1);
    let last = 0;
    for (let i = 0; i < 128; i++) {
      const source = a.newId(i % 2 ? zwp_primary_selection_source_v1 : wl_data_source);
      last = source;
      if (i % 2) a.request(pmanager, zwp_primary_selection_device_manager_v1, 'create_source', [source]);
      else a.request(manager, wl_data_device_manager, 'create_data_source', [source]);
      for (let m = 0; m < 64; m++) a.request(source, i % 2 ? zwp_primary_selection_source_v1 : wl_data_source, 'offer', [`application/x-hoard-${m}-${'m'.repeat(200)}`]);
    }
    expect(await a.roundtrip()).to.equal(true);
    expect(a.error).to.equal(undefined);
    // One destroyed frees its place; then two more: the second is over.
    a.request(last, zwp_primary_selection_source_v1, 'destroy', []);
    a.request(manager, wl_data_device_manager, 'create_data_source', [a.newId(wl_data_source)]);
    expect(await a.roundtrip(), JSON.stringify(a.error)).to.equal(true);
    expect(a.error).to.equal(undefined);
    a.request(manager, wl_data_device_manager, 'create_data_source', [a.newId(wl_data_source)]);
    await a.roundtrip().catch(() => false);
    expect(a.error?.code).to.equal(DISPLAY_ERROR.no_memory);
    expect(a.error?.message).to.match(/over 128 selection sources/);
    const other = new RawWaylandClient(server.path);
    closers.push(() => other.close());
    await other.registry();
    expect(await other.roundtrip()).to.equal(true);
  });
});
