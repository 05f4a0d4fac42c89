/**
 * wp_viewporter from a raw Wayland client to pixels on a scene output: a crop
 * scaled to a destination, a crop alone, a destination alone, all
 * double-buffered (nothing changes before wl_surface.commit) and undone by
 * wp_viewport.destroy at the next commit; and the protocol's errors
 * (viewport_exists, bad_value, out_of_buffer and bad_size at commit); then
 * weston-scaler, a real client, in its four modes.
 */
import { expect } from 'chai';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as native from '../../lib/native';
import { followSource, pixelRegion, Scene, type SceneOutput, type SceneSurface } from '../../lib/scene';
import { wp_viewport, wp_viewporter } from '../../lib/wayland/protocol/viewporter';
import { wl_shm, wl_shm_pool, wl_surface } from '../../lib/wayland/protocol/wayland';
import { WaylandServer } from '../../lib/wayland/server';
import type { GraphicsRegion } from '../../lib/mapping/graphics-region';
import { WaylandHarness } from '../helpers/wayland';
import { RawWaylandClient } from '../helpers/wayland-client';

const BG = 0xff000000;
const RED = 0xffff0000;
const GREEN = 0xff00ff00;
const BLUE = 0xff0000ff;
const WHITE = 0xffffffff;
const VIEWPORTER_ERROR = wp_viewporter.enums.error as { viewport_exists: number };
const VIEWPORT_ERROR = wp_viewport.enums.error as { bad_value: number; bad_size: number; out_of_buffer: number; no_surface: number };

describe('Wayland wp_viewporter on the scene', function () {
  this.timeout(20000);
  let dir: string;
  let server: WaylandServer;
  let scene: Scene;
  let output: SceneOutput;
  let fb: GraphicsRegion;
  let views: SceneSurface[];
  const fds: number[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bufshare-viewporter-'));
    server = WaylandServer.listen({ name: join(dir, 'wayland-vp') });
    scene = new Scene({ background: BG });
    output = scene.addOutput({ width: 160, height: 160 });
    fb = pixelRegion(160, 160);
    const windows = scene.createTree();
    windows.setPosition(20, 20);
    views = [];
    followSource(scene, server, windows, (v) => views.push(v));
  });
  afterEach(async () => {
    await server.close();
    for (const fd of fds.splice(0)) native.closeFd(fd);
    rmSync(dir, { recursive: true, force: true });
  });

  /** A toplevel with a 64x64 XRGB buffer in quadrants (red, green / blue, white) attached, not committed, and a wp_viewport. */
  async function window(): Promise<{ c: RawWaylandClient; surface: number; viewporter: number; viewport: number; buffer: number }> {
    const c = new RawWaylandClient(server.path);
    const registry = await c.registry();
    const size = 64 * 64 * 4;
    const fd = native.memfdCreate('viewporter', size, 0);
    fds.push(fd);
    const px = new Uint32Array(native.mmapFd(fd, size, 0, native.PROT_READ | native.PROT_WRITE));
    for (let y = 0; y < 64; y++) for (let x = 0; x < 64; x++) px[y * 64 + x] = y < 32 ? (x < 32 ? RED : GREEN) : x < 32 ? BLUE : WHITE;
    native.unmapBuffer(px.buffer as ArrayBuffer);
    const shm = c.bind(registry, wl_shm);
    const pool = c.newId(wl_shm_pool);
    c.request(shm, wl_shm, 'create_pool', [pool, fd, size]);
    const buffer = c.newId(RawWaylandClient.interface('wl_buffer'));
    c.request(pool, wl_shm_pool, 'create_buffer', [buffer, 0, 64, 64, 256, 1]);
    const { surface } = await c.configuredToplevel(registry);
    const viewporter = c.bind(registry, wp_viewporter);
    const viewport = c.newId(wp_viewport);
    c.request(viewporter, wp_viewporter, 'get_viewport', [viewport, surface]);
    c.request(surface, wl_surface, 'attach', [buffer, 0, 0]);
    return { c, surface, viewporter, viewport, buffer };
  }

  /** Renders with damage tracking and returns the pixel at output (x, y); the full repaint must agree. */
  function at(x: number, y: number): number {
    output.render(fb, 1);
    const full = pixelRegion(160, 160);
    output.renderFull(full);
    expect(fb.pixels32).to.deep.equal(full.pixels32);
    return fb.pixels32[y * 160 + x]! >>> 0;
  }

  function shownSize(): [number, number] {
    const node = views[0]!.node;
    return [node.width, node.height];
  }

  it('crops and scales at commit, double-buffered; a crop alone; a destination alone; all through the scene', async () => {
    const { c, surface, viewport } = await window();
    try {
      // The green quadrant, shown at 16x16.
      c.request(viewport, wp_viewport, 'set_source', [32, 0, 32, 32]);
      c.request(viewport, wp_viewport, 'set_destination', [16, 16]);
      c.request(surface, wl_surface, 'commit', []);
      await c.roundtrip();
      expect(shownSize()).to.deep.equal([16, 16]);
      expect(views[0]!.surface.viewport).to.deep.equal({ source: { x: 32, y: 0, width: 32, height: 32 }, width: 16, height: 16 });
      expect(at(20, 20)).to.equal(GREEN);
      expect(at(20 + 15, 20 + 15)).to.equal(GREEN);
      expect(at(20 + 16, 20 + 4), 'past the destination').to.equal(BG);
      expect(at(20 + 4, 20 + 16)).to.equal(BG);
      // Pending state shows nothing until the commit.
      c.request(viewport, wp_viewport, 'set_source', [0, 0, 64, 64]);
      c.request(viewport, wp_viewport, 'set_destination', [128, 32]);
      await c.roundtrip();
      expect(shownSize()).to.deep.equal([16, 16]);
      c.request(surface, wl_surface, 'commit', []);
      await c.roundtrip();
      // The whole buffer at 128x32: each quadrant 64x16.
      expect(shownSize()).to.deep.equal([128, 32]);
      expect([at(20 + 63, 20 + 15), at(20 + 64, 20 + 15), at(20 + 63, 20 + 16), at(20 + 127, 20 + 31)]).to.deep.equal([RED, GREEN, BLUE, WHITE]);
      expect(at(20 + 128, 20 + 4)).to.equal(BG);
      // A crop alone (whole surface pixels): shown 1:1, buffer pixels 24..39 each way.
      c.request(viewport, wp_viewport, 'set_destination', [-1, -1]);
      c.request(viewport, wp_viewport, 'set_source', [24, 24, 16, 16]);
      c.request(surface, wl_surface, 'commit', []);
      await c.roundtrip();
      expect(shownSize()).to.deep.equal([16, 16]);
      expect([at(20, 20), at(20 + 15, 20), at(20, 20 + 15), at(20 + 15, 20 + 15)]).to.deep.equal([RED, GREEN, BLUE, WHITE]);
      expect([at(20 + 7, 20 + 7), at(20 + 8, 20 + 8)]).to.deep.equal([RED, WHITE]);
      // A destination alone: the whole buffer scaled (down to 32x32: each quadrant 16x16).
      c.request(viewport, wp_viewport, 'set_source', [-1, -1, -1, -1]);
      c.request(viewport, wp_viewport, 'set_destination', [32, 32]);
      c.request(surface, wl_surface, 'commit', []);
      await c.roundtrip();
      expect(shownSize()).to.deep.equal([32, 32]);
      expect([at(20 + 15, 20), at(20 + 16, 20), at(20, 20 + 16), at(20 + 31, 20 + 31), at(20 + 32, 20)]).to.deep.equal([RED, GREEN, BLUE, WHITE, BG]);
      expect(c.error).to.equal(undefined);
    } finally {
      c.close();
    }
  });

  it('wp_viewport.destroy takes effect at the next commit', async () => {
    const { c, surface, viewport, buffer } = await window();
    try {
      c.request(viewport, wp_viewport, 'set_destination', [32, 16]);
      c.request(surface, wl_surface, 'commit', []);
      await c.roundtrip();
      expect(shownSize()).to.deep.equal([32, 16]);
      c.request(viewport, wp_viewport, 'destroy', []);
      await c.roundtrip();
      expect(shownSize(), 'until the commit').to.deep.equal([32, 16]);
      c.request(surface, wl_surface, 'attach', [buffer, 0, 0]);
      c.request(surface, wl_surface, 'commit', []);
      await c.roundtrip();
      expect(shownSize()).to.deep.equal([64, 64]);
      expect(views[0]!.surface.viewport).to.equal(undefined);
      expect([at(20 + 31, 20 + 31), at(20 + 32, 20 + 31), at(20 + 63, 20 + 63)]).to.deep.equal([RED, GREEN, WHITE]);
      expect(c.error).to.equal(undefined);
    } finally {
      c.close();
    }
  });

  it('a destination of INT_MAX x INT_MAX is legal: shown (clipped to the scene), no error for the client (it was an internal error)', async () => {
    const { c, surface, viewport } = await window();
    try {
      c.request(viewport, wp_viewport, 'set_destination', [0x7fffffff, 0x7fffffff]);
      c.request(surface, wl_surface, 'commit', []);
      expect(await c.roundtrip()).to.equal(true);
      expect(c.error).to.equal(undefined);
      expect(views[0]!.surface.viewport).to.deep.include({ width: 0x7fffffff, height: 0x7fffffff });
      c.request(viewport, wp_viewport, 'set_destination', [32, 16]);
      c.request(surface, wl_surface, 'commit', []);
      await c.roundtrip();
      expect(shownSize()).to.deep.equal([32, 16]);
      expect(c.error).to.equal(undefined);
    } finally {
      c.close();
    }
  });

  const errors: { name: string; code: () => number; object: 'viewport' | 'viewporter'; steps: (w: Awaited<ReturnType<typeof window>>) => void }[] = [
    {
      name: 'a second get_viewport: viewport_exists',
      code: () => VIEWPORTER_ERROR.viewport_exists,
      object: 'viewporter',
      steps: ({ c, viewporter, surface }) => c.request(viewporter, wp_viewporter, 'get_viewport', [c.newId(wp_viewport), surface]),
    },
    { name: 'a negative source position: bad_value', code: () => VIEWPORT_ERROR.bad_value, object: 'viewport', steps: ({ c, viewport }) => c.request(viewport, wp_viewport, 'set_source', [-2, 0, 4, 4]) },
    { name: 'an empty source: bad_value', code: () => VIEWPORT_ERROR.bad_value, object: 'viewport', steps: ({ c, viewport }) => c.request(viewport, wp_viewport, 'set_source', [0, 0, 0, 4]) },
    { name: 'a zero destination: bad_value', code: () => VIEWPORT_ERROR.bad_value, object: 'viewport', steps: ({ c, viewport }) => c.request(viewport, wp_viewport, 'set_destination', [0, 5]) },
    { name: 'destination (-1, 5): bad_value', code: () => VIEWPORT_ERROR.bad_value, object: 'viewport', steps: ({ c, viewport }) => c.request(viewport, wp_viewport, 'set_destination', [-1, 5]) },
    {
      name: 'a source past the buffer: out_of_buffer at commit',
      code: () => VIEWPORT_ERROR.out_of_buffer,
      object: 'viewport',
      steps: ({ c, viewport, surface }) => {
        c.request(viewport, wp_viewport, 'set_source', [40, 40, 24.5, 8]);
        c.request(viewport, wp_viewport, 'set_destination', [10, 10]);
        c.request(surface, wl_surface, 'commit', []);
      },
    },
    {
      name: 'a fractional source without a destination: bad_size at commit',
      code: () => VIEWPORT_ERROR.bad_size,
      object: 'viewport',
      steps: ({ c, viewport, surface }) => {
        c.request(viewport, wp_viewport, 'set_source', [0, 0, 10.5, 8]);
        c.request(surface, wl_surface, 'commit', []);
      },
    },
    {
      name: 'a request after its surface was destroyed: no_surface',
      code: () => VIEWPORT_ERROR.no_surface,
      object: 'viewport',
      steps: ({ c, viewport, surface }) => {
        c.request(surface, wl_surface, 'destroy', []);
        c.request(viewport, wp_viewport, 'set_destination', [8, 8]);
      },
    },
  ];
  for (const e of errors) {
    it(e.name, async () => {
      const w = await window();
      try {
        e.steps(w);
        await w.c.until(() => w.c.error !== undefined);
        expect(w.c.error).to.deep.include({ objectId: e.object === 'viewport' ? w.viewport : w.viewporter, code: e.code() });
      } finally {
        w.c.close();
      }
    });
  }
});

/**
 * weston-scaler (Debian's weston package, clients/scaler.c), unmodified: a
 * buffer-scale-2 window whose 842x674 buffer is cropped and scaled by
 * wp_viewport. The scene shows buffer pixels 1:1 otherwise (a scale-2 client
 * is twice its logical size: the model's pixels are its buffer's), so the
 * destination it asks, 220x308 surface-local, shows as 440x616; without the
 * viewport it would be the whole 842x674 buffer. Each mode's window is checked
 * pixel for pixel against the client's own buffer through the nearest formula.
 */
describe('Wayland wp_viewporter: weston-scaler', function () {
  this.timeout(30000);
  let h: WaylandHarness;

  before(function () {
    if (!existsSync('/usr/bin/weston-scaler')) this.skip(); // .ci/run installs weston
  });
  afterEach(async () => {
    await h?.close();
  });

  // weston-scaler draws at buffer scale 2: on a scale-2 output its surface units are two pixels each,
  // so `size` (output pixels) is twice what it asks in surface units, and -n shows its buffer 1:1.
  const modes: { mode: string; size: [number, number]; source: { x: number; y: number; width: number; height: number } | undefined }[] = [
    // set_source(21.25, 25.25, 54.75, 76.75) at scale 2: buffer (42.5, 50.5) to (152, 204), rounded outward.
    { mode: '-b', size: [440, 616], source: { x: 42, y: 50, width: 110, height: 154 } },
    // set_source(21.25, 25.25, 55, 77) alone: 55x77 surface units, its 110x154 buffer pixels shown 1:1 (from 42.5 rounded down).
    { mode: '-s', size: [110, 154], source: { x: 42, y: 50, width: 110, height: 154 } },
    // set_destination(220, 308) alone: the whole buffer squashed.
    { mode: '-d', size: [440, 616], source: undefined },
    { mode: '-n', size: [842, 674], source: undefined },
  ];
  for (const m of modes) {
    it(`weston-scaler ${m.mode} on a scale-2 output: shown at ${m.size.join('x')} pixels, each its buffer's nearest`, async () => {
      h = new WaylandHarness();
      const scene = new Scene({ background: BG });
      const output = scene.addOutput({ width: 900, height: 700, scale: 2 });
      const views: SceneSurface[] = [];
      followSource(scene, h.server, scene.root, (v) => views.push(v));
      h.run('weston-scaler', [m.mode]);
      await h.until('weston-scaler shown', () => views.some((v) => v.mapped));
      const view = views[0]!;
      expect([view.node.width, view.node.height], 'layout units').to.deep.equal([m.size[0] / 2, m.size[1] / 2]);
      const viewport = view.surface.viewport;
      if (m.mode === '-n') expect(viewport).to.equal(undefined);
      else expect(viewport).to.deep.equal({ source: m.source, width: m.size[0] / 2, height: m.size[1] / 2 });
      const fb = pixelRegion(900, 700);
      output.render(fb, 0);
      // The client's buffer, as it drew it (the harness's copy of its frame).
      const frame = h.frames.at(-1)!;
      expect([frame.width, frame.height]).to.deep.equal([842, 674]);
      const src = viewport?.source ?? { x: 0, y: 0, width: 842, height: 674 };
      const [dw, dh] = m.size;
      let opaque = 0;
      for (let y = 0; y < dh; y++) {
        for (let x = 0; x < dw; x++) {
          const want = frame.pixels[(src.y + Math.floor((y * src.height) / dh)) * frame.stride32 + src.x + Math.floor((x * src.width) / dw)]! >>> 0;
          if (want >>> 24 !== 0xff) continue; // translucent pixels blend: counted below
          opaque++;
          const got = fb.pixels32[y * 900 + x]! >>> 0;
          if (got !== want) expect.fail(`(${x}, ${y}) is ${got.toString(16)}, want ${want.toString(16)}`);
        }
      }
      expect(opaque, 'the picture is opaque').to.be.above(dw * dh * 0.99);
      if (dw < 900) expect(fb.pixels32[dw]! >>> 0, 'nothing past the destination').to.equal(BG);
    });
  }
});
