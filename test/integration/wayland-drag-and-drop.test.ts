/**
 * Drag and drop between two raw Wayland clients, carried by the scene's seat:
 * A presses on its window and starts a drag (a source offering text/plain,
 * copy or move, and an icon); the seat hands the pointer to the drag; over B's
 * window B gets an offer (mime type, source actions) and enter, accepts and
 * chooses move, both sides hear the negotiated action; the release over B is a
 * drop, the data goes from A's pipe to B's, B's finish tells A it is done. The
 * icon follows the pointer on the output. A release over nothing cancels; and
 * the protocol's errors (an icon with another role, finish before a drop).
 */
import { expect } from 'chai';
import { mkdtempSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as native from '../../lib/native';
import { followSource, pixelRegion, Scene, SceneSeat } from '../../lib/scene';
import { wl_buffer, wl_compositor, wl_data_device, wl_data_device_manager, wl_data_offer, wl_data_source, wl_seat, wl_shm, wl_shm_pool, wl_surface } from '../../lib/wayland/protocol/wayland';
import { WaylandServer } from '../../lib/wayland/server';
import { RawWaylandClient, type WaylandEvent } from '../helpers/wayland-client';

const ACTION = wl_data_device_manager.enums.dnd_action as { copy: number; move: number; ask: number };
const BG = 0xff000000;
const RED = 0xffff0000;
const BLUE = 0xff0000ff;
const GREEN = 0xff00ff00;

interface Peer {
  c: RawWaylandClient;
  registry: number;
  compositor: number;
  surface: number;
  device: number;
  manager: number;
  shm: number;
}

describe('Wayland drag and drop through the scene seat', function () {
  this.timeout(20000);
  let dir: string;
  let server: WaylandServer;
  let scene: Scene;
  let seat: SceneSeat;
  const fds: number[] = [];
  const peers: RawWaylandClient[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bufshare-dnd-'));
    server = WaylandServer.listen({ name: join(dir, 'wayland-dnd') });
    scene = new Scene({ background: BG });
    scene.addOutput({ width: 300, height: 100 });
    let n = 0;
    // A at (0, 0), B at (100, 0), each 64x64.
    followSource(scene, server, scene.createTree(), (v) => v.tree.setPosition(100 * n++, 0));
    seat = new SceneSeat(scene, { cursor: false });
  });
  afterEach(async () => {
    for (const c of peers.splice(0)) c.close();
    await server.close();
    for (const fd of fds.splice(0)) native.closeFd(fd);
    rmSync(dir, { recursive: true, force: true });
  });

  /** A w x h buffer of one colour from a fresh pool. */
  function solid(p: { c: RawWaylandClient; shm: number }, w: number, h: number, color: number): number {
    const fd = native.memfdCreate('dnd', w * h * 4, 0);
    fds.push(fd);
    const px = new Uint32Array(native.mmapFd(fd, w * h * 4, 0, native.PROT_READ | native.PROT_WRITE));
    px.fill(color);
    native.unmapBuffer(px.buffer as ArrayBuffer);
    const pool = p.c.newId(wl_shm_pool);
    p.c.request(p.shm, wl_shm, 'create_pool', [pool, fd, w * h * 4]);
    const b = p.c.newId(wl_buffer);
    p.c.request(pool, wl_shm_pool, 'create_buffer', [b, 0, w, h, w * 4, 1]);
    return b;
  }

  async function peer(color: number): Promise<Peer> {
    const c = new RawWaylandClient(server.path);
    peers.push(c);
    const registry = await c.registry();
    const shm = c.bind(registry, wl_shm);
    const { surface, compositor } = await c.configuredToplevel(registry);
    c.request(surface, wl_surface, 'attach', [solid({ c, shm }, 64, 64, color), 0, 0]);
    c.request(surface, wl_surface, 'commit', []);
    const seatId = c.bind(registry, wl_seat);
    const manager = c.bind(registry, wl_data_device_manager);
    const device = c.newId(wl_data_device);
    c.request(manager, wl_data_device_manager, 'get_data_device', [device, seatId]);
    await c.roundtrip();
    return { c, registry, compositor, surface, device, manager, shm };
  }

  const eventsOf = (c: RawWaylandClient, id: number, from = 0): WaylandEvent[] => c.events.slice(from).filter((e) => e.objectId === id);
  const names = (events: WaylandEvent[]): string[] => events.map((e) => e.name);
  const sync = async (...ps: Peer[]): Promise<void> => {
    for (const p of ps) await p.c.roundtrip();
  };

  it('drags text/plain from one client to another: offer, enter, accept, move negotiated, drop, data through the pipes, finish; the icon follows the pointer', async () => {
    const a = await peer(RED);
    const b = await peer(BLUE);
    const output = scene.outputs[0]!;
    const fb = pixelRegion(300, 100);
    const source = a.c.newId(wl_data_source);
    a.c.request(a.manager, wl_data_device_manager, 'create_data_source', [source]);
    a.c.request(source, wl_data_source, 'offer', ['text/plain']);
    a.c.request(source, wl_data_source, 'set_actions', [ACTION.copy | ACTION.move]);
    // An 8x8 green icon.
    const icon = a.c.newId(wl_surface);
    a.c.request(a.compositor, wl_compositor, 'create_surface', [icon]);
    a.c.request(icon, wl_surface, 'attach', [solid(a, 8, 8, GREEN), 0, 0]);
    a.c.request(icon, wl_surface, 'commit', []);
    // The press on A that the drag starts from.
    seat.pointer({ action: 'move', x: 10, y: 10, buttons: 0 });
    seat.pointer({ action: 'down', x: 10, y: 10, buttons: 1, button: 0 });
    await sync(a);
    a.c.request(a.device, wl_data_device, 'start_drag', [source, a.surface, icon, 1]);
    await sync(a, b);
    expect(names(eventsOf(a.c, source)), 'not cancelled: the seat carries it').to.not.include('cancelled');

    const bFrom = b.c.events.length;
    seat.pointer({ action: 'move', x: 130, y: 20, buttons: 1 });
    await sync(a, b);
    const enter = eventsOf(b.c, b.device, bFrom).find((e) => e.name === 'enter')!;
    expect(enter.args.slice(1, 4)).to.deep.equal([b.surface, 30, 20]);
    const offer = enter.args[4] as number;
    expect(eventsOf(b.c, offer).map((e) => [e.name, ...e.args])).to.deep.equal([['offer', 'text/plain'], ['source_actions', ACTION.copy | ACTION.move]]);
    output.render(fb, 0);
    expect(fb.pixels32[20 * 300 + 130]! >>> 0, 'the icon at the pointer').to.equal(GREEN);
    expect(fb.pixels32[20 * 300 + 140]! >>> 0, 'B beside it').to.equal(BLUE);

    b.c.request(offer, wl_data_offer, 'accept', [enter.args[0] as number, 'text/plain']);
    b.c.request(offer, wl_data_offer, 'set_actions', [ACTION.copy | ACTION.move, ACTION.move]);
    await sync(b, a);
    // (target null first: the drag began over A itself and left it.)
    expect(eventsOf(a.c, source).map((e) => [e.name, ...e.args])).to.deep.equal([['target', null], ['target', 'text/plain'], ['action', ACTION.move]]);
    expect(eventsOf(b.c, offer).at(-1)!.args).to.deep.equal([ACTION.move]);
    seat.pointer({ action: 'move', x: 131, y: 21, buttons: 1 });
    seat.pointer({ action: 'up', x: 131, y: 21, buttons: 0, button: 0 });
    await sync(a, b);
    expect(names(eventsOf(b.c, b.device, bFrom))).to.deep.equal(['data_offer', 'enter', 'motion', 'drop']);
    expect(names(eventsOf(a.c, source)).slice(3)).to.deep.equal(['dnd_drop_performed']);

    // B reads the data: A is asked to write it into B's pipe.
    const [ours, theirs] = native.streamPair();
    b.c.request(offer, wl_data_offer, 'receive', ['text/plain', theirs]);
    native.closeFd(theirs);
    await sync(b, a);
    const send = eventsOf(a.c, source).find((e) => e.name === 'send')!;
    expect(send.args[0]).to.equal('text/plain');
    const writeEnd = send.args[1] as number;
    writeSync(writeEnd, 'dragged text');
    native.closeFd(writeEnd);
    a.c.receivedFds.splice(a.c.receivedFds.indexOf(writeEnd), 1);
    const buf = Buffer.alloc(64);
    const n = readSync(ours, buf);
    native.closeFd(ours);
    expect(buf.subarray(0, n).toString()).to.equal('dragged text');
    b.c.request(offer, wl_data_offer, 'finish', []);
    await sync(b, a);
    expect(names(eventsOf(a.c, source)).at(-1)).to.equal('dnd_finished');
    // The drag gave the pointer back: B has it, the icon is gone.
    output.render(fb, 1);
    expect(fb.pixels32[20 * 300 + 130]! >>> 0).to.equal(BLUE);
    expect(a.c.error ?? b.c.error).to.equal(undefined);
  });

  it('a release over no window cancels the drag; a source-less drag stays in its client', async () => {
    const a = await peer(RED);
    const b = await peer(BLUE);
    const source = a.c.newId(wl_data_source);
    a.c.request(a.manager, wl_data_device_manager, 'create_data_source', [source]);
    a.c.request(source, wl_data_source, 'offer', ['text/plain']);
    a.c.request(source, wl_data_source, 'set_actions', [ACTION.copy]);
    seat.pointer({ action: 'down', x: 10, y: 10, buttons: 1, button: 0 });
    await sync(a);
    a.c.request(a.device, wl_data_device, 'start_drag', [source, a.surface, 0, 1]);
    await sync(a);
    seat.pointer({ action: 'move', x: 80, y: 90, buttons: 1 });
    seat.pointer({ action: 'up', x: 80, y: 90, buttons: 0, button: 0 });
    await sync(a);
    expect(names(eventsOf(a.c, source)).at(-1)).to.equal('cancelled');

    // Without a source: only A's own surfaces get enter (no offer); B hears nothing.
    const bFrom = b.c.events.length;
    seat.pointer({ action: 'down', x: 10, y: 10, buttons: 1, button: 0 });
    await sync(a);
    a.c.request(a.device, wl_data_device, 'start_drag', [0, a.surface, 0, 2]);
    await sync(a);
    const aEnter = eventsOf(a.c, a.device).filter((e) => e.name === 'enter').at(-1)!;
    expect(aEnter.args[4], 'no offer').to.equal(0);
    seat.pointer({ action: 'move', x: 130, y: 20, buttons: 1 });
    seat.pointer({ action: 'up', x: 130, y: 20, buttons: 0, button: 0 });
    await sync(a, b);
    expect(names(eventsOf(b.c, b.device, bFrom))).to.deep.equal([]);
    // A drag started with no press held is cancelled at once.
    const late = a.c.newId(wl_data_source);
    a.c.request(a.manager, wl_data_device_manager, 'create_data_source', [late]);
    a.c.request(a.device, wl_data_device, 'start_drag', [late, a.surface, 0, 3]);
    await sync(a);
    expect(names(eventsOf(a.c, late))).to.deep.equal(['cancelled']);
    expect(a.c.error ?? b.c.error).to.equal(undefined);
  });

  it('errors: an icon with another role is wl_data_device.role; finish before a drop is invalid_finish; a dragged source as the selection is invalid_source', async () => {
    const a = await peer(RED);
    const source = a.c.newId(wl_data_source);
    a.c.request(a.manager, wl_data_device_manager, 'create_data_source', [source]);
    a.c.request(a.device, wl_data_device, 'start_drag', [source, a.surface, a.surface, 1]);
    await sync(a);
    expect(a.c.error?.code).to.equal((wl_data_device.enums.error as { role: number }).role);

    const b = await peer(BLUE);
    const s2 = b.c.newId(wl_data_source);
    b.c.request(b.manager, wl_data_device_manager, 'create_data_source', [s2]);
    b.c.request(s2, wl_data_source, 'set_actions', [ACTION.copy]);
    b.c.request(b.device, wl_data_device, 'set_selection', [s2, 1]);
    await sync(b);
    expect(b.c.error?.code).to.equal((wl_data_source.enums.error as { invalid_source: number }).invalid_source);

    const c = await peer(GREEN);
    const s3 = c.c.newId(wl_data_source);
    c.c.request(c.manager, wl_data_device_manager, 'create_data_source', [s3]);
    c.c.request(s3, wl_data_source, 'offer', ['text/plain']);
    c.c.request(s3, wl_data_source, 'set_actions', [ACTION.copy]);
    const x = 100 * 2 + 10; // the third window
    seat.pointer({ action: 'down', x, y: 10, buttons: 1, button: 0 });
    await sync(c);
    c.c.request(c.device, wl_data_device, 'start_drag', [s3, c.surface, 0, 1]);
    await sync(c);
    const enter = eventsOf(c.c, c.device).find((e) => e.name === 'enter')!;
    c.c.request(enter.args[4] as number, wl_data_offer, 'finish', []);
    await sync(c);
    expect(c.c.error?.code).to.equal((wl_data_offer.enums.error as { invalid_finish: number }).invalid_finish);
  });
});
