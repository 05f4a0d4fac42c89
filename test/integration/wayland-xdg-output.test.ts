// xdg-output (zxdg_output_manager_v1 3): an output's place and logical size in the
// layout and its name; version 3 ends with wl_output.done, older ones with xdg_output.done.
// Debian's foot binds it (version 2) and gets them.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OutputInfo } from '../../lib/wayland/globals/output';
import { WaylandServer } from '../../lib/wayland/server';
import * as core from '../../lib/wayland/protocol/wayland';
import { zxdg_output_manager_v1, zxdg_output_v1 } from '../../lib/wayland/protocol/xdg-output';
import { RawWaylandClient, type WaylandEvent } from '../helpers/wayland-client';
import { WaylandHarness } from '../helpers/wayland';

describe('Wayland: xdg-output', function () {
  this.timeout(10000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bufshare-xdg-output-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** Binds wl_output, waits for its first events, then asks for its xdg_output: the events that follow, in order. */
  async function xdgOutputEvents(output: Partial<OutputInfo>, managerVersion?: number): Promise<{ xdg: WaylandEvent[]; wlOutputAfter: WaylandEvent[]; advertised: number }> {
    const server = WaylandServer.listen({ name: join(dir, 'w'), output });
    const c = new RawWaylandClient(server.path);
    try {
      const reg = await c.registry();
      const wlOutput = c.bind(reg, core.wl_output);
      await c.roundtrip();
      const before = c.events.length;
      const manager = c.bind(reg, zxdg_output_manager_v1, managerVersion);
      const xdg = c.newId(zxdg_output_v1);
      c.request(manager, zxdg_output_manager_v1, 'get_xdg_output', [xdg, wlOutput]);
      await c.roundtrip();
      expect(c.error).to.equal(undefined);
      const after = c.events.slice(before);
      return {
        xdg: after.filter((e) => e.objectId === xdg),
        wlOutputAfter: after.filter((e) => e.objectId === wlOutput),
        advertised: c.globals.get('zxdg_output_manager_v1')?.[1] ?? 0,
      };
    } finally {
      c.close();
      await server.close();
    }
  }

  it('version 3: logical position and size, name, description, then wl_output.done', async () => {
    const ev = await xdgOutputEvents({ width: 1920, height: 1080, refreshMilliHz: 60000, name: 'HDMI-A-1', make: 'DEL', model: 'U2720Q', x: 1280, y: 0 });
    expect(ev.advertised).to.equal(3);
    expect(ev.xdg.map((e) => [e.name, ...e.args])).to.deep.equal([
      ['logical_position', 1280, 0],
      ['logical_size', 1920, 1080],
      ['name', 'HDMI-A-1'],
      ['description', 'DEL U2720Q (HDMI-A-1)'],
    ]);
    expect(ev.wlOutputAfter.map((e) => e.name)).to.deep.equal(['done']);
  });

  it('version 2 gets xdg_output.done; version 1 no name or description; position (0, 0) by default', async () => {
    const v2 = await xdgOutputEvents({ width: 640, height: 480, refreshMilliHz: 60000, name: 'BUFSHARE-1' }, 2);
    expect(v2.xdg.map((e) => [e.name, ...e.args])).to.deep.equal([
      ['logical_position', 0, 0],
      ['logical_size', 640, 480],
      ['name', 'BUFSHARE-1'],
      ['description', 'bufshare output 640x480'],
      ['done'],
    ]);
    expect(v2.wlOutputAfter).to.deep.equal([]);
    const v1 = await xdgOutputEvents({ width: 640, height: 480, refreshMilliHz: 60000, name: 'BUFSHARE-1' }, 1);
    expect(v1.xdg.map((e) => e.name)).to.deep.equal(['logical_position', 'logical_size', 'done']);
  });
});

describe('Wayland: xdg-output with foot', function () {
  this.timeout(30000);
  let h: WaylandHarness | undefined;

  before(function () {
    try {
      execFileSync('sh', ['-c', 'command -v foot'], { stdio: 'ignore' });
    } catch {
      this.skip(); // .ci/run installs foot
    }
  });
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('foot binds zxdg_output_manager_v1 and gets the output\'s logical position, size, name and done', async () => {
    h = new WaylandHarness();
    const child = h.run('foot', ['-o', 'csd.preferred=none'], { WAYLAND_DEBUG: 'client' });
    let debug = '';
    child.stderr!.on('data', (d: Buffer) => (debug += d.toString()));
    // foot 1.13 binds version 2: its events end with xdg_output.done; version 3's with wl_output.done.
    const done = /zxdg_output_v1@\d+\.done\(\)|zxdg_output_v1@\d+\.description\([^\n]*\n[^\n]*wl_output@\d+\.done\(\)/;
    await h.until('foot\'s xdg_output events and done', () => done.test(debug), 15000);
    expect(debug).to.match(/-> wl_registry@\d+\.bind\(\d+, "zxdg_output_manager_v1", [23],/);
    expect(debug).to.match(/-> zxdg_output_manager_v1@\d+\.get_xdg_output\(new id zxdg_output_v1@\d+, wl_output@\d+\)/);
    expect(debug).to.match(/zxdg_output_v1@\d+\.logical_position\(0, 0\)/);
    expect(debug).to.match(/zxdg_output_v1@\d+\.logical_size\(1280, 720\)/);
    expect(debug).to.match(/zxdg_output_v1@\d+\.name\("BUFSHARE-1"\)/);
    expect(debug).not.to.match(/error/i);
  });
});
