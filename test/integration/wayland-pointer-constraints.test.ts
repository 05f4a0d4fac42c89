/**
 * Relative pointer and pointer constraints from a raw Wayland client through
 * the scene's seat: relative_motion carries each move's delta; a lock holds
 * the pointer (no wl_pointer.motion, no leave however far the input goes,
 * relative motion still flows) from the moment the surface has the pointer
 * until it leaves; a confinement clamps the position into its region; oneshot
 * constraints are spent after one use, persistent ones come back; and the
 * protocol's errors (already_constrained, a bad lifetime).
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as native from '../../lib/native';
import { followSource, Scene, SceneSeat } from '../../lib/scene';
import { zwp_confined_pointer_v1, zwp_locked_pointer_v1, zwp_pointer_constraints_v1 } from '../../lib/wayland/protocol/pointer-constraints';
import { zwp_relative_pointer_manager_v1, zwp_relative_pointer_v1 } from '../../lib/wayland/protocol/relative-pointer';
import { wl_buffer, wl_compositor, wl_pointer, wl_region, wl_seat, wl_shm, wl_shm_pool, wl_surface } from '../../lib/wayland/protocol/wayland';
import { WaylandServer } from '../../lib/wayland/server';
import { RawWaylandClient, type WaylandEvent } from '../helpers/wayland-client';

const LIFETIME = zwp_pointer_constraints_v1.enums.lifetime as { oneshot: number; persistent: number };

describe('Wayland: relative pointer and pointer constraints through the scene seat', function () {
  this.timeout(20000);
  let dir: string;
  let server: WaylandServer;
  let seat: SceneSeat;
  let c: RawWaylandClient;
  let fd: number;
  let ids: { surface: number; compositor: number; pointer: number; relative: number; constraints: number };

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bufshare-constraints-'));
    server = WaylandServer.listen({ name: join(dir, 'wayland-constraints') });
    const scene = new Scene();
    scene.addOutput({ width: 200, height: 200 });
    followSource(scene, server, scene.createTree(), (view) => view.tree.setPosition(10, 10));
    seat = new SceneSeat(scene, { cursor: false });
    c = new RawWaylandClient(server.path);
    fd = native.memfdCreate('constraints', 40 * 40 * 4, 0);
    const registry = await c.registry();
    const { surface, compositor } = await c.configuredToplevel(registry);
    const shm = c.bind(registry, wl_shm);
    const pool = c.newId(wl_shm_pool);
    c.request(shm, wl_shm, 'create_pool', [pool, fd, 40 * 40 * 4]);
    const buffer = c.newId(wl_buffer);
    c.request(pool, wl_shm_pool, 'create_buffer', [buffer, 0, 40, 40, 160, 1]);
    c.request(surface, wl_surface, 'attach', [buffer, 0, 0]);
    c.request(surface, wl_surface, 'commit', []);
    const wlSeat = c.bind(registry, wl_seat);
    const pointer = c.newId(wl_pointer);
    c.request(wlSeat, wl_seat, 'get_pointer', [pointer]);
    const manager = c.bind(registry, zwp_relative_pointer_manager_v1);
    const relative = c.newId(zwp_relative_pointer_v1);
    c.request(manager, zwp_relative_pointer_manager_v1, 'get_relative_pointer', [relative, pointer]);
    const constraints = c.bind(registry, zwp_pointer_constraints_v1);
    await c.roundtrip();
    ids = { surface, compositor, pointer, relative, constraints };
  });
  afterEach(async () => {
    c.close();
    await server.close();
    native.closeFd(fd);
    rmSync(dir, { recursive: true, force: true });
  });

  /** Events of `objectId` since `from`, as [name, ...args]. */
  const eventsOf = (objectId: number, from: number): unknown[][] => c.events.slice(from).filter((e: WaylandEvent) => e.objectId === objectId).map((e) => [e.name, ...e.args]);
  const move = async (x: number, y: number): Promise<void> => {
    seat.pointer({ action: 'move', x, y, buttons: 0 });
    await c.roundtrip();
  };

  it('relative motion carries each move\'s delta; a lock holds the pointer until it leaves, then a oneshot lock is spent', async () => {
    await move(20, 20);
    let mark = c.events.length;
    await move(25, 23);
    expect(eventsOf(ids.pointer, mark).map((e) => e[0])).to.include('motion');
    const rel = eventsOf(ids.relative, mark);
    expect(rel).to.have.length(1);
    expect(rel[0]!.slice(3)).to.deep.equal([5, 3, 5, 3]); // dx, dy, then unaccelerated

    const lock = c.newId(zwp_locked_pointer_v1);
    c.request(ids.constraints, zwp_pointer_constraints_v1, 'lock_pointer', [lock, ids.surface, ids.pointer, 0, LIFETIME.oneshot]);
    await c.roundtrip();
    expect(eventsOf(lock, 0), 'the surface has the pointer: locked at once').to.deep.equal([['locked']]);
    mark = c.events.length;
    await move(150, 150); // far outside the window
    await move(140, 160);
    expect(eventsOf(ids.pointer, mark).map((e) => e[0]), 'no motion, no leave while locked').to.not.include.members(['motion', 'leave']);
    expect(eventsOf(ids.relative, mark).map((e) => e.slice(3, 5))).to.deep.equal([[125, 127], [-10, 10]]);
    // A click while locked lands on the locked surface.
    seat.pointer({ action: 'down', x: 140, y: 160, buttons: 1, button: 0 });
    seat.pointer({ action: 'up', x: 140, y: 160, buttons: 0, button: 0 });
    await c.roundtrip();
    expect(eventsOf(ids.pointer, mark).filter((e) => e[0] === 'button')).to.have.length(2);

    // The pointer leaves (the viewer lost it): unlocked; oneshot, so the next visit is free.
    seat.pointer({ action: 'leave', x: 140, y: 160, buttons: 0 });
    await c.roundtrip();
    expect(eventsOf(lock, 0)).to.deep.equal([['locked'], ['unlocked']]);
    mark = c.events.length;
    await move(30, 30);
    await move(35, 30);
    expect(eventsOf(lock, mark), 'spent').to.deep.equal([]);
    expect(eventsOf(ids.pointer, mark).map((e) => e[0])).to.include.members(['enter', 'motion']);
    expect(c.error).to.equal(undefined);
  });

  it('a persistent confinement to a region clamps the pointer inside it, and comes back on the next visit', async () => {
    const region = c.newId(wl_region);
    c.request(ids.compositor, wl_compositor, 'create_region', [region]);
    c.request(region, wl_region, 'add', [0, 0, 20, 20]);
    const confine = c.newId(zwp_confined_pointer_v1);
    c.request(ids.constraints, zwp_pointer_constraints_v1, 'confine_pointer', [confine, ids.surface, ids.pointer, region, LIFETIME.persistent]);
    await c.roundtrip();
    expect(eventsOf(confine, 0), 'not in force before the surface has the pointer').to.deep.equal([]);
    await move(15, 15);
    expect(eventsOf(confine, 0)).to.deep.equal([['confined']]);
    const mark = c.events.length;
    await move(100, 100);
    const motion = eventsOf(ids.pointer, mark).filter((e) => e[0] === 'motion');
    expect(motion).to.have.length(1);
    // Surface-local, inside the 20x20 region: its last row and column (wl_fixed's 1/256 inside the edge).
    expect((motion[0]![2] as number)).to.be.within(19.99, 20).and.below(20);
    expect((motion[0]![3] as number)).to.be.within(19.99, 20).and.below(20);
    expect(eventsOf(ids.pointer, mark).map((e) => e[0])).to.not.include('leave');
    // A new region applies at the surface's commit.
    c.request(region, wl_region, 'add', [0, 0, 30, 30]);
    c.request(confine, zwp_confined_pointer_v1, 'set_region', [region]);
    await move(100, 100);
    expect((eventsOf(ids.pointer, mark).filter((e) => e[0] === 'motion').at(-1)![2] as number)).to.be.below(20);
    c.request(ids.surface, wl_surface, 'commit', []);
    await c.roundtrip();
    await move(101, 101);
    expect((eventsOf(ids.pointer, mark).filter((e) => e[0] === 'motion').at(-1)![2] as number)).to.be.within(29.99, 30);
    seat.pointer({ action: 'leave', x: 0, y: 0, buttons: 0 });
    await c.roundtrip();
    await move(15, 15);
    expect(eventsOf(confine, 0), 'persistent: confined again').to.deep.equal([['confined'], ['unconfined'], ['confined']]);
    expect(c.error).to.equal(undefined);
  });

  it('a second constraint on one surface is already_constrained; a lifetime that is neither is invalid_method', async () => {
    c.request(ids.constraints, zwp_pointer_constraints_v1, 'lock_pointer', [c.newId(zwp_locked_pointer_v1), ids.surface, ids.pointer, 0, LIFETIME.persistent]);
    c.request(ids.constraints, zwp_pointer_constraints_v1, 'confine_pointer', [c.newId(zwp_confined_pointer_v1), ids.surface, ids.pointer, 0, LIFETIME.persistent]);
    await c.roundtrip();
    expect(c.error?.code).to.equal((zwp_pointer_constraints_v1.enums.error as { already_constrained: number }).already_constrained);
    const other = new RawWaylandClient(server.path);
    try {
      const registry = await other.registry();
      const { surface } = await other.configuredToplevel(registry);
      const s = other.bind(registry, wl_seat);
      const p = other.newId(wl_pointer);
      other.request(s, wl_seat, 'get_pointer', [p]);
      const pc = other.bind(registry, zwp_pointer_constraints_v1);
      other.request(pc, zwp_pointer_constraints_v1, 'lock_pointer', [other.newId(zwp_locked_pointer_v1), surface, p, 0, 7]);
      await other.roundtrip();
      expect(other.error?.code).to.equal(1); // wl_display.invalid_method
    } finally {
      other.close();
    }
  });
});
