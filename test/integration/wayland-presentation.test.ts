/**
 * wp_presentation on a scene: clock_id CLOCK_MONOTONIC on bind; a feedback
 * belongs to its commit and is presented (sync_output, then presented with the
 * present's CLOCK_MONOTONIC time, the 60 Hz headless output's refresh and its
 * tick count) once a headless output showed that commit's frame; a commit
 * replaced before a present, or whose surface goes, is discarded; one commit's
 * feedbacks are bounded (MAX_FEEDBACKS, the oldest discarded). Debian's
 * weston-presentation-shm (which needs wp_presentation to start) gets its
 * feedback on a scene with a 60 Hz headless output.
 */
import { expect } from 'chai';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as native from '../../lib/native';
import { followSource, HeadlessOutput, Scene } from '../../lib/scene';
import { wp_presentation, wp_presentation_feedback } from '../../lib/wayland/protocol/presentation-time';
import { wl_compositor, wl_output, wl_shm, wl_shm_pool, wl_subcompositor, wl_surface } from '../../lib/wayland/protocol/wayland';
import { xdg_surface, xdg_toplevel } from '../../lib/wayland/protocol/xdg-shell';
import { WaylandServer } from '../../lib/wayland/server';
import { MAX_FEEDBACKS } from '../../lib/wayland/surface';
import { RawWaylandClient, type WaylandEvent } from '../helpers/wayland-client';

const REFRESH_60HZ_NS = 16666667;

describe('Wayland: wp_presentation on a headless output', function () {
  this.timeout(20000);
  let dir: string;
  let server: WaylandServer;
  let scene: Scene;
  let headless: HeadlessOutput;
  const fds: number[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bufshare-presentation-'));
    server = WaylandServer.listen({ name: join(dir, 'wayland-presentation') });
    scene = new Scene();
    headless = new HeadlessOutput(scene, { width: 128, height: 128, refreshHz: 60 });
    followSource(scene, server, scene.createTree());
    headless.start();
  });
  afterEach(async () => {
    headless.destroy();
    await server.close();
    for (const fd of fds.splice(0)) native.closeFd(fd);
    rmSync(dir, { recursive: true, force: true });
  });

  /** A window, two 32x32 buffers, wl_output and wp_presentation bound. */
  async function client(): Promise<{ c: RawWaylandClient; registry: number; compositor: number; surface: number; xdgSurface: number; toplevel: number; output: number; presentation: number; buffers: [number, number] }> {
    const c = new RawWaylandClient(server.path);
    const registry = await c.registry();
    const size = 2 * 32 * 32 * 4;
    const fd = native.memfdCreate('presentation', size, 0);
    fds.push(fd);
    const shm = c.bind(registry, wl_shm);
    const pool = c.newId(wl_shm_pool);
    c.request(shm, wl_shm, 'create_pool', [pool, fd, size]);
    const buffer = (offset: number): number => {
      const id = c.newId(RawWaylandClient.interface('wl_buffer'));
      c.request(pool, wl_shm_pool, 'create_buffer', [id, offset, 32, 32, 32 * 4, 1]);
      return id;
    };
    const buffers: [number, number] = [buffer(0), buffer(32 * 32 * 4)];
    const output = c.bind(registry, wl_output);
    const presentation = c.bind(registry, wp_presentation);
    const { surface, xdgSurface, toplevel, compositor } = await c.configuredToplevel(registry);
    return { c, registry, compositor, surface, xdgSurface, toplevel, output, presentation, buffers };
  }

  function feedback(c: RawWaylandClient, presentation: number, surface: number): number {
    const id = c.newId(wp_presentation_feedback);
    c.request(presentation, wp_presentation, 'feedback', [surface, id]);
    return id;
  }

  function commit(c: RawWaylandClient, surface: number, buffer: number): void {
    c.request(surface, wl_surface, 'attach', [buffer, 0, 0]);
    c.request(surface, wl_surface, 'damage_buffer', [0, 0, 32, 32]);
    c.request(surface, wl_surface, 'commit', []);
  }

  const of = (c: RawWaylandClient, id: number): WaylandEvent[] => c.events.filter((e) => e.objectId === id && e.interface === 'wp_presentation_feedback');
  const ended = (c: RawWaylandClient, id: number): boolean => of(c, id).some((e) => e.name === 'presented' || e.name === 'discarded');

  function presentedAt(e: WaylandEvent): { timeNs: bigint; refresh: number; seq: number; flags: number } {
    const [secHi, secLo, nsec, refresh, seqHi, seqLo, flags] = e.args as number[];
    return { timeNs: (BigInt(secHi!) * 2n ** 32n + BigInt(secLo!)) * 1_000_000_000n + BigInt(nsec!), refresh: refresh!, seq: seqHi! * 2 ** 32 + seqLo!, flags: flags! };
  }

  it('clock_id is CLOCK_MONOTONIC; each commit\'s feedback is presented after its frame was shown, at increasing times close to now, with the 60 Hz refresh', async () => {
    const { c, surface, output, presentation, buffers } = await client();
    try {
      await c.roundtrip();
      expect(c.events.filter((e) => e.objectId === presentation).map((e) => [e.name, ...e.args])).to.deep.equal([['clock_id', 1]]);
      const frames = headless.frames;
      const results: { timeNs: bigint; refresh: number; seq: number; flags: number }[] = [];
      for (let i = 0; i < 3; i++) {
        const fb = feedback(c, presentation, surface);
        commit(c, surface, buffers[i % 2]!);
        const committed = process.hrtime.bigint();
        await c.until(() => ended(c, fb));
        const received = process.hrtime.bigint();
        const events = of(c, fb);
        expect(events.map((e) => e.name)).to.deep.equal(['sync_output', 'presented']);
        expect(events[0]!.args).to.deep.equal([output]);
        const p = presentedAt(events[1]!);
        // After the commit (a present of a later tick), not after we read it.
        expect(p.timeNs > committed, `presented ${p.timeNs} after the commit ${committed}`).to.equal(true);
        expect(p.timeNs <= received).to.equal(true);
        expect(Number(received - p.timeNs) / 1e6).to.be.below(500);
        expect(p.refresh).to.equal(REFRESH_60HZ_NS);
        expect(p.flags, 'a timer, not a vblank').to.equal(0);
        expect(p.seq).to.be.above(frames);
        results.push(p);
      }
      for (let i = 1; i < results.length; i++) {
        expect(results[i]!.timeNs > results[i - 1]!.timeNs).to.equal(true);
        expect(results[i]!.seq).to.be.above(results[i - 1]!.seq);
      }
      expect(c.error).to.equal(undefined);
    } finally {
      c.close();
    }
  });

  it('a commit replaced before a present is discarded; the one shown is presented', async () => {
    const { c, surface, presentation, buffers } = await client();
    try {
      const first = feedback(c, presentation, surface);
      commit(c, surface, buffers[0]);
      const second = feedback(c, presentation, surface);
      commit(c, surface, buffers[1]);
      await c.until(() => ended(c, first) && ended(c, second));
      expect(of(c, first).map((e) => e.name)).to.deep.equal(['discarded']);
      expect(of(c, second).map((e) => e.name)).to.deep.equal(['sync_output', 'presented']);
      expect(c.error).to.equal(undefined);
    } finally {
      c.close();
    }
  });

  it('feedback for a surface that goes before a present is discarded', async () => {
    const { c, surface, xdgSurface, toplevel, presentation, buffers } = await client();
    try {
      const fb = feedback(c, presentation, surface);
      commit(c, surface, buffers[0]);
      c.request(toplevel, xdg_toplevel, 'destroy', []);
      c.request(xdgSurface, xdg_surface, 'destroy', []);
      c.request(surface, wl_surface, 'destroy', []);
      await c.until(() => ended(c, fb));
      expect(of(c, fb).map((e) => e.name)).to.deep.equal(['discarded']);
      expect(c.error).to.equal(undefined);
    } finally {
      c.close();
    }
  });

  it('a synchronized subsurface: its cached commit replaced by a newer one is discarded; the one applied with its parent\'s commit is presented', async () => {
    const { c, registry, compositor, surface, presentation, buffers } = await client();
    try {
      commit(c, surface, buffers[0]);
      const sub = c.bind(registry, wl_subcompositor);
      const child = c.newId(wl_surface);
      c.request(compositor, wl_compositor, 'create_surface', [child]);
      c.request(sub, wl_subcompositor, 'get_subsurface', [c.newId(RawWaylandClient.interface('wl_subsurface')), child, surface]);
      const cachedFirst = feedback(c, presentation, child);
      commit(c, child, buffers[1]);
      const cachedSecond = feedback(c, presentation, child);
      commit(c, child, buffers[1]);
      await c.roundtrip();
      expect(of(c, cachedFirst).map((e) => e.name), 'replaced in the cache').to.deep.equal(['discarded']);
      await new Promise((r) => setTimeout(r, 100)); // ticks: nothing is presented while the parent has not committed
      expect(of(c, cachedSecond)).to.deep.equal([]);
      c.request(surface, wl_surface, 'commit', []);
      await c.until(() => ended(c, cachedSecond));
      expect(of(c, cachedSecond).map((e) => e.name)).to.deep.equal(['sync_output', 'presented']);
      expect(c.error).to.equal(undefined);
    } finally {
      c.close();
    }
  });

  it(`one commit keeps at most ${MAX_FEEDBACKS} feedbacks: the oldest are discarded`, async () => {
    const { c, surface, presentation, buffers } = await client();
    try {
      const ids = Array.from({ length: MAX_FEEDBACKS + 6 }, () => feedback(c, presentation, surface));
      commit(c, surface, buffers[0]);
      await c.until(() => ids.every((id) => ended(c, id)));
      const outcome = ids.map((id) => of(c, id).at(-1)!.name);
      expect(outcome.slice(0, 6)).to.deep.equal(Array(6).fill('discarded'));
      expect(outcome.slice(6)).to.deep.equal(Array(MAX_FEEDBACKS).fill('presented'));
      // All of one commit deliver the same information.
      const times = new Set(ids.slice(6).map((id) => presentedAt(of(c, id).at(-1)!).timeNs));
      expect(times.size).to.equal(1);
      expect(c.error).to.equal(undefined);
    } finally {
      c.close();
    }
  });
});

function have(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('Wayland: wp_presentation with weston-presentation-shm', function () {
  this.timeout(30000);

  before(function () {
    if (!have('weston-presentation-shm')) this.skip(); // .ci/run installs weston
  });

  it('its commits are presented a tick after they were made, on its own CLOCK_MONOTONIC, one refresh apart, counter increasing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bufshare-presentation-shm-'));
    // weston 10's presentation-shm binds xdg_wm_base at whatever version is advertised and aborts on configure_bounds (v4).
    const server = WaylandServer.listen({ name: join(dir, 'wayland-presentation'), maxGlobalVersions: { xdg_wm_base: 3 } });
    const scene = new Scene();
    const headless = new HeadlessOutput(scene, { width: 640, height: 480, refreshHz: 60 });
    followSource(scene, server, scene.createTree());
    headless.start();
    const child = spawn('weston-presentation-shm', ['-f'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, XDG_RUNTIME_DIR: dir, WAYLAND_DISPLAY: server.name, WAYLAND_DEBUG: 'client' },
    });
    let out = '';
    let debug = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (debug += d.toString()));
    try {
      // Its statistics, one line per presented feedback: "  12: f2c .. ms, c2p 16 ms, f2p .. ms, p2p 16666 us, t2p .., [____], seq 17".
      const line = /^\s*(\d+): f2c\s+-?\d+ ms, c2p\s+(-?\d+) ms, f2p\s+-?\d+ ms, p2p\s+(-?\d+) us, t2p\s+-?\d+, \[([a-z_]{4})\], seq\s+(\d+)$/;
      const stats = (): RegExpExecArray[] => out.split('\n').map((l) => line.exec(l)).filter((m): m is RegExpExecArray => m !== null);
      const start = Date.now();
      while (stats().length < 30) {
        if (Date.now() - start > 15000) throw new Error(`30 presented feedbacks did not come; it printed:\n${out}\n${debug.slice(-2000)}`);
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`weston-presentation-shm ended (${child.exitCode ?? child.signalCode}):\n${debug.slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(debug).to.match(/wp_presentation@\d+\.clock_id\(1\)/);
      expect(debug).to.match(/wp_presentation_feedback@\d+\.sync_output\(wl_output@\d+\)/);
      const rows = stats().slice(1).map((m) => ({ c2p: Number(m[2]), p2p: Number(m[3]), flags: m[4], seq: Number(m[5]) }));
      // c2p: our timestamp less its clock_gettime(CLOCK_MONOTONIC) at commit: on the same clock, it is a tick or so.
      for (const r of rows) {
        expect(r.c2p, 'commit to presentation, ms').to.be.within(0, 1000);
        expect(r.flags, 'no vsync or hardware flags on a timer').to.equal('____');
      }
      for (let i = 1; i < rows.length; i++) expect(rows[i]!.seq).to.be.above(rows[i - 1]!.seq);
      // One commit per frame, a frame per 60 Hz tick: presentations about 16.7 ms apart on average.
      const meanP2p = rows.reduce((a, r) => a + r.p2p, 0) / rows.length;
      expect(meanP2p, 'mean presentation to presentation, us').to.be.within(12000, 100000);
    } finally {
      child.kill('SIGKILL');
      if (child.exitCode === null && child.signalCode === null) await new Promise((r) => child.once('exit', r));
      headless.destroy();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
