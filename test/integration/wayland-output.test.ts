// wl_output tells clients what the output is: the mode's size and rate in mHz, the
// connector's name, the monitor's make, model and physical size where known.
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OutputInfo } from '../../lib/wayland/globals/output';
import { WaylandServer } from '../../lib/wayland/server';
import * as core from '../../lib/wayland/protocol/wayland';
import { RawWaylandClient } from '../helpers/wayland-client';

describe('Wayland: wl_output', function () {
  this.timeout(10000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bufshare-wl-output-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function outputEvents(output: Partial<OutputInfo>, version?: number): Promise<Map<string, unknown[]>> {
    const server = WaylandServer.listen({ name: join(dir, 'w'), output });
    const c = new RawWaylandClient(server.path);
    try {
      const reg = await c.registry();
      const id = c.bind(reg, core.wl_output, version);
      await c.roundtrip();
      expect(c.error).to.equal(undefined);
      return new Map(c.events.filter((e) => e.objectId === id).map((e) => [e.name, e.args]));
    } finally {
      c.close();
      await server.close();
    }
  }

  it('a KMS output\'s description: make, model, physical size, mHz, connector name', async () => {
    const ev = await outputEvents({ width: 1280, height: 800, refreshMilliHz: 59910, name: 'HDMI-A-1', make: 'DEL', model: 'DELL U2720Q', physicalWidth: 597, physicalHeight: 336 });
    expect(ev.get('geometry')).to.deep.equal([0, 0, 597, 336, 0, 'DEL', 'DELL U2720Q', 0]);
    expect(ev.get('mode')).to.deep.equal([3, 1280, 800, 59910]);
    expect(ev.get('name')).to.deep.equal(['HDMI-A-1']);
    expect(ev.get('description')).to.deep.equal(['DEL DELL U2720Q (HDMI-A-1)']);
    expect(ev.has('done')).to.equal(true);
  });

  it('without a monitor: 0 x 0 mm, make "bufshare"; version 3 gets no name or description', async () => {
    const ev = await outputEvents({ width: 640, height: 480, refreshMilliHz: 60000, name: 'BUFSHARE-1' }, 3);
    expect(ev.get('geometry')).to.deep.equal([0, 0, 0, 0, 0, 'bufshare', 'BUFSHARE-1', 0]);
    expect(ev.has('name')).to.equal(false);
    expect(ev.has('description')).to.equal(false);
    expect(ev.has('done')).to.equal(true);
  });
});
