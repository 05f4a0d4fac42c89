/**
 * Subsurfaces from a raw Wayland client to pixels on a scene output: positions
 * and stacking are the parent's state (applied at its commit), synchronized
 * children show their cached commit with the parent's, a desynchronized child
 * that drew before its parent showed it is shown when it is, and place_above a
 * surface that is neither parent nor sibling is the protocol's error.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as native from '../../lib/native';
import { followSource, pixelRegion, Scene, type SceneOutput } from '../../lib/scene';
import { wl_compositor, wl_shm, wl_shm_pool, wl_subcompositor, wl_subsurface, wl_surface } from '../../lib/wayland/protocol/wayland';
import { DISPLAY_ERROR } from '../../lib/wayland/client';
import { WaylandServer } from '../../lib/wayland/server';
import type { GraphicsRegion } from '../../lib/mapping/graphics-region';
import { RawWaylandClient } from '../helpers/wayland-client';

const BG = 0xff000000;
const RED = 0xffff0000;
const GREEN = 0xff00ff00;
const BLUE = 0xff0000ff;
const SUB_BAD_SURFACE = (wl_subsurface.enums.error as { bad_surface: number }).bad_surface;

describe('Wayland subsurfaces on the scene', function () {
  this.timeout(20000);
  let dir: string;
  let server: WaylandServer;
  let scene: Scene;
  let output: SceneOutput;
  let fb: GraphicsRegion;
  const fds: number[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bufshare-subsurfaces-'));
    server = WaylandServer.listen({ name: join(dir, 'wayland-sub') });
    scene = new Scene({ background: BG });
    output = scene.addOutput({ width: 128, height: 128 });
    fb = pixelRegion(128, 128);
    const windows = scene.createTree();
    windows.setPosition(20, 20);
    followSource(scene, server, windows);
  });
  afterEach(async () => {
    await server.close();
    for (const fd of fds.splice(0)) native.closeFd(fd);
    rmSync(dir, { recursive: true, force: true });
  });

  /** A client with one pool holding a 64x64 red, a 16x16 green and a 16x16 blue XRGB buffer. */
  async function client(): Promise<{ c: RawWaylandClient; registry: number; compositor: number; sub: number; buffers: { red: number; green: number; blue: number } }> {
    const c = new RawWaylandClient(server.path);
    const registry = await c.registry();
    const size = 64 * 64 * 4 + 2 * 16 * 16 * 4;
    const fd = native.memfdCreate('subsurfaces', size, 0);
    fds.push(fd);
    const px = new Uint32Array(native.mmapFd(fd, size, 0, native.PROT_READ | native.PROT_WRITE));
    px.fill(RED, 0, 64 * 64);
    px.fill(GREEN, 64 * 64, 64 * 64 + 256);
    px.fill(BLUE, 64 * 64 + 256, 64 * 64 + 512);
    native.unmapBuffer(px.buffer as ArrayBuffer);
    const shm = c.bind(registry, wl_shm);
    const pool = c.newId(wl_shm_pool);
    c.request(shm, wl_shm, 'create_pool', [pool, fd, size]);
    const buffer = (offset: number, w: number): number => {
      const id = c.newId(RawWaylandClient.interface('wl_buffer'));
      c.request(pool, wl_shm_pool, 'create_buffer', [id, offset, w, w, w * 4, 1]);
      return id;
    };
    const buffers = { red: buffer(0, 64), green: buffer(64 * 64 * 4, 16), blue: buffer(64 * 64 * 4 + 1024, 16) };
    return { c, registry, compositor: c.bind(registry, wl_compositor), sub: c.bind(registry, wl_subcompositor), buffers };
  }

  function child(c: RawWaylandClient, compositor: number, sub: number, parent: number, buffer: number, x: number, y: number): { surface: number; subsurface: number } {
    const surface = c.newId(wl_surface);
    c.request(compositor, wl_compositor, 'create_surface', [surface]);
    const subsurface = c.newId(wl_subsurface);
    c.request(sub, wl_subcompositor, 'get_subsurface', [subsurface, surface, parent]);
    c.request(subsurface, wl_subsurface, 'set_position', [x, y]);
    c.request(surface, wl_surface, 'attach', [buffer, 0, 0]);
    c.request(surface, wl_surface, 'commit', []);
    return { surface, subsurface };
  }

  /** Renders the output with damage tracking and returns the pixel at output (x, y); the full repaint must agree. */
  function at(x: number, y: number): number {
    output.render(fb, 1);
    const full = pixelRegion(128, 128);
    output.renderFull(full);
    expect(fb.pixels32).to.deep.equal(full.pixels32);
    return fb.pixels32[y * 128 + x]! >>> 0;
  }

  it('positions and stacking take effect at the parent\'s commit; a cached child frame shows with it', async () => {
    const { c, registry, compositor, sub, buffers } = await client();
    try {
      const { surface: parent } = await c.configuredToplevel(registry);
      const green = child(c, compositor, sub, parent, buffers.green, 8, 8);
      const blue = child(c, compositor, sub, parent, buffers.blue, 56, 56);
      c.request(blue.subsurface, wl_subsurface, 'place_below', [parent]);
      c.request(parent, wl_surface, 'attach', [buffers.red, 0, 0]);
      c.request(parent, wl_surface, 'commit', []);
      await c.roundtrip();
      // Window at (20, 20): red 64x64; green above it at +8; blue below it at +56 (only its part outside red shows).
      expect(at(20 + 8, 20 + 8)).to.equal(GREEN);
      expect(at(20 + 4, 20 + 4)).to.equal(RED);
      expect(at(20 + 60, 20 + 60), 'blue below the parent').to.equal(RED);
      expect(at(20 + 66, 20 + 66), 'blue outside the parent').to.equal(BLUE);
      // A new position without a parent commit changes nothing yet.
      c.request(green.subsurface, wl_subsurface, 'set_position', [30, 8]);
      c.request(blue.subsurface, wl_subsurface, 'place_above', [parent]);
      await c.roundtrip();
      expect(at(20 + 8, 20 + 8)).to.equal(GREEN);
      expect(at(20 + 60, 20 + 60)).to.equal(RED);
      c.request(parent, wl_surface, 'commit', []);
      await c.roundtrip();
      expect(at(20 + 8, 20 + 8), 'green moved away').to.equal(RED);
      expect(at(20 + 32, 20 + 10)).to.equal(GREEN);
      expect(at(20 + 60, 20 + 60), 'blue now above the parent').to.equal(BLUE);
      // A synchronized child's new buffer waits for its parent's commit.
      c.request(green.surface, wl_surface, 'attach', [buffers.blue, 0, 0]);
      c.request(green.surface, wl_surface, 'damage_buffer', [0, 0, 16, 16]);
      c.request(green.surface, wl_surface, 'commit', []);
      await c.roundtrip();
      expect(at(20 + 32, 20 + 10), 'cached until the parent commits').to.equal(GREEN);
      c.request(parent, wl_surface, 'commit', []);
      await c.roundtrip();
      expect(at(20 + 32, 20 + 10)).to.equal(BLUE);
      // Destroying a subsurface unmaps it at once.
      c.request(blue.subsurface, wl_subsurface, 'destroy', []);
      await c.roundtrip();
      expect(at(20 + 60, 20 + 60)).to.equal(RED);
      expect(at(20 + 66, 20 + 66)).to.equal(BG);
      expect(c.error).to.equal(undefined);
    } finally {
      c.close();
    }
  });

  it('a desynchronized child that drew before its parent was shown appears with the parent', async () => {
    const { c, registry, compositor, sub, buffers } = await client();
    try {
      const { surface: parent } = await c.configuredToplevel(registry);
      const surface = c.newId(wl_surface);
      c.request(compositor, wl_compositor, 'create_surface', [surface]);
      const subsurface = c.newId(wl_subsurface);
      c.request(sub, wl_subcompositor, 'get_subsurface', [subsurface, surface, parent]);
      c.request(subsurface, wl_subsurface, 'set_desync', []);
      c.request(subsurface, wl_subsurface, 'set_position', [4, 4]);
      c.request(surface, wl_surface, 'attach', [buffers.green, 0, 0]);
      c.request(surface, wl_surface, 'commit', []);
      await c.roundtrip();
      c.request(parent, wl_surface, 'attach', [buffers.red, 0, 0]);
      c.request(parent, wl_surface, 'commit', []);
      await c.roundtrip();
      expect(at(20 + 5, 20 + 5)).to.equal(GREEN);
    } finally {
      c.close();
    }
  });

  it('place_above a surface that is neither its parent nor a sibling: wl_subsurface.bad_surface', async () => {
    const { c, registry, compositor, sub, buffers } = await client();
    try {
      const { surface: parent } = await c.configuredToplevel(registry);
      const a = child(c, compositor, sub, parent, buffers.green, 0, 0);
      const stranger = c.newId(wl_surface);
      c.request(compositor, wl_compositor, 'create_surface', [stranger]);
      c.request(a.subsurface, wl_subsurface, 'place_above', [stranger]);
      await c.until(() => c.error !== undefined);
      expect(c.error).to.deep.include({ objectId: a.subsurface, code: SUB_BAD_SURFACE });
    } finally {
      c.close();
    }
  });
  // Issue 23's held-out campaign: a client's tree cost the compositor's loop more
  // than linear time, or its stack. 4,000 nested subsurfaces overflowed the stack
  // (an internal error); 1,000 nested ones took 85 s (each move damaged its
  // subtree's rectangles as one exact region, O(n^2) each); a commit restacking
  // 3,000 siblings took 2 s (each raised in turn). The time bounds are ten times
  // what the tests take now on a loaded machine.
  it('subsurfaces nest 64 deep, every layer shown where it belongs; the 65th level is no_memory for that client only', async () => {
    const { c, registry, compositor, sub, buffers } = await client();
    const other = await client();
    try {
      const { surface: root } = await c.configuredToplevel(registry);
      const chain = [root];
      for (let i = 0; i < 64; i++) chain.push(child(c, compositor, sub, chain[chain.length - 1]!, buffers.green, 1, 1).surface);
      c.request(root, wl_surface, 'attach', [buffers.red, 0, 0]);
      c.request(root, wl_surface, 'commit', []);
      expect(await c.roundtrip()).to.equal(true);
      expect(c.error).to.equal(undefined);
      // Each layer 1 px right of and below its parent: green along the diagonal, the root's red beside it.
      expect(at(20, 20), 'the root').to.equal(RED);
      expect(at(20 + 1, 20 + 1)).to.equal(GREEN);
      expect(at(20 + 60, 20 + 50), 'layers 45 to 60').to.equal(GREEN);
      expect(at(20 + 40, 20 + 2), 'above the staircase: the root').to.equal(RED);
      // A 65th level, made by putting a surface that has a child under the deepest one.
      const top = c.newId(wl_surface);
      c.request(compositor, wl_compositor, 'create_surface', [top]);
      child(c, compositor, sub, top, buffers.blue, 0, 0);
      const ss = c.newId(wl_subsurface);
      c.request(sub, wl_subcompositor, 'get_subsurface', [ss, top, chain[64]!]);
      await c.roundtrip().catch(() => false);
      expect(c.error?.code, c.error?.message).to.equal(DISPLAY_ERROR.no_memory);
      expect(c.error?.message).to.match(/nested over 64 deep/);
      expect(await other.c.roundtrip(), 'another client goes on').to.equal(true);
    } finally {
      c.close();
      other.c.close();
    }
  });

  it('a subsurface with 2,000 children in a staircase, moved at every commit: 20 commits answered within 4 s in all (8.4 s before), the pixels right', async function () {
    this.timeout(60000);
    const { c, registry, compositor, sub, buffers } = await client();
    try {
      const { surface: root } = await c.configuredToplevel(registry);
      const mid = child(c, compositor, sub, root, buffers.blue, 0, 0);
      c.request(mid.subsurface, wl_subsurface, 'set_desync', []);
      for (let i = 0; i < 2000; i++) child(c, compositor, sub, mid.surface, buffers.green, 1 + (i % 100), 1 + (i % 100));
      c.request(mid.surface, wl_surface, 'commit', []);
      c.request(root, wl_surface, 'attach', [buffers.red, 0, 0]);
      c.request(root, wl_surface, 'commit', []);
      expect(await c.roundtrip(10000)).to.equal(true);
      const t0 = Date.now();
      for (let round = 1; round <= 20; round++) {
        c.request(mid.subsurface, wl_subsurface, 'set_position', [round, 0]);
        c.request(root, wl_surface, 'commit', []);
        expect(await c.roundtrip(4000), `commit ${round} answered`).to.equal(true);
      }
      const ms = Date.now() - t0;
      expect(ms, '20 commits moving 2,000 subsurfaces (ms)').to.be.below(4000);
      expect(c.error).to.equal(undefined);
      // mid (blue, 16x16) at +20: its children's staircase over it from +21.
      expect(at(20 + 20, 20 + 0), 'mid itself').to.equal(BLUE);
      expect(at(20 + 22, 20 + 2), 'its children').to.equal(GREEN);
      expect(at(20 + 10, 20 + 40), 'the root beside them').to.equal(RED);
      console.log(`      2,000 children moved with their parent: 20 commits in ${ms} ms`);
    } finally {
      c.close();
    }
  });

  it('3,000 sibling subsurfaces restacked and moved at every commit: 20 commits, each answered within 1 s, the stacking right', async function () {
    this.timeout(60000);
    const { c, registry, compositor, sub, buffers } = await client();
    try {
      const { surface: root } = await c.configuredToplevel(registry);
      const kids: { surface: number; subsurface: number }[] = [];
      for (let i = 0; i < 3000; i++) kids.push(child(c, compositor, sub, root, i === 2999 ? buffers.blue : buffers.green, 8 + (i % 40), 8));
      c.request(root, wl_surface, 'attach', [buffers.red, 0, 0]);
      c.request(root, wl_surface, 'commit', []);
      expect(await c.roundtrip(10000)).to.equal(true);
      expect(at(20 + 47 + 8, 20 + 10), 'the newest (blue, at +47: 2999 % 40 = 39) on top').to.equal(BLUE);
      const t0 = Date.now();
      for (let round = 0; round < 20; round++) {
        // The blue one under the green one at +47 (index 39), then back on top on the last round.
        const blue = kids[2999]!.subsurface;
        c.request(blue, wl_subsurface, round === 19 ? 'place_above' : 'place_below', [kids[round === 19 ? 2998 : 39]!.surface]);
        c.request(kids[round]!.subsurface, wl_subsurface, 'set_position', [8 + (round % 40), 8]);
        c.request(root, wl_surface, 'commit', []);
        expect(await c.roundtrip(1000), `commit ${round} answered within 1 s (2 s before)`).to.equal(true);
        if (round === 0) expect(at(20 + 47 + 8, 20 + 10), 'blue below green').to.equal(GREEN);
      }
      expect(at(20 + 47 + 8, 20 + 10), 'blue on top again').to.equal(BLUE);
      expect(c.error).to.equal(undefined);
      console.log(`      3,000 siblings: 20 restacking commits in ${Date.now() - t0} ms`);
    } finally {
      c.close();
    }
  });
  it('a subsurface at the int32 edge (2^31 - 1) is accepted and kept far off screen: no error for the client, the compositor goes on', async () => {
    const { c, registry, compositor, sub, buffers } = await client();
    try {
      const { surface: root } = await c.configuredToplevel(registry);
      const far = child(c, compositor, sub, root, buffers.green, 0x7fffffff, -0x80000000);
      const near = child(c, compositor, sub, root, buffers.blue, 4, 4);
      c.request(root, wl_surface, 'attach', [buffers.red, 0, 0]);
      c.request(root, wl_surface, 'commit', []);
      expect(await c.roundtrip()).to.equal(true);
      expect(c.error, 'the client is not punished for a legal position').to.equal(undefined);
      expect(at(20 + 6, 20 + 6)).to.equal(BLUE);
      c.request(far.subsurface, wl_subsurface, 'set_position', [-0x80000000, 0x7fffffff]);
      c.request(near.subsurface, wl_subsurface, 'set_position', [30, 30]);
      c.request(root, wl_surface, 'commit', []);
      expect(await c.roundtrip()).to.equal(true);
      expect(c.error).to.equal(undefined);
      expect(at(20 + 32, 20 + 32)).to.equal(BLUE);
      expect(at(20 + 6, 20 + 6)).to.equal(RED);
    } finally {
      c.close();
    }
  });
});
