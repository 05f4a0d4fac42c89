/**
 * Text input through the scene's seat (SceneSeat.text, CompositorSurface
 * textInput/textInputState): GTK 3's focused entry (text-input v3) takes
 * committed text and tells its new surrounding text back; weston-editor
 * (text-input v1, which it needs to run at all) does once its entry is
 * clicked; and from a raw v3 client, the protocol's rules: state
 * double-buffered until commit, done's serial counting commits, leave with the
 * keyboard, surrounding text bounded.
 */
import { expect } from 'chai';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as native from '../../lib/native';
import { followSource, Scene, SceneSeat, type SceneSurface } from '../../lib/scene';
import { zwp_text_input_manager_v3, zwp_text_input_v3 } from '../../lib/wayland/protocol/text-input';
import { wl_buffer, wl_seat, wl_shm, wl_shm_pool, wl_surface } from '../../lib/wayland/protocol/wayland';
import { WaylandServer } from '../../lib/wayland/server';
import type { WaylandSurface } from '../../lib/wayland/surface';
import { WaylandHarness } from '../helpers/wayland';
import { RawWaylandClient } from '../helpers/wayland-client';

const until = async (what: string, predicate: () => boolean, ms = 15000): Promise<void> => {
  const end = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > end) expect.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('Wayland text input with real clients', function () {
  this.timeout(30000);
  let h: WaylandHarness | undefined;
  let timer: NodeJS.Timeout | undefined;
  afterEach(async () => {
    clearInterval(timer);
    await h?.close();
    h = undefined;
  });

  /** A scene over the harness's server, presenting at 60 Hz (frame callbacks), the keyboard on each new window. */
  function sceneFor(harness: WaylandHarness): { seat: SceneSeat; views: SceneSurface[] } {
    const scene = new Scene();
    const output = scene.addOutput({ width: 1280, height: 720 });
    const seat = new SceneSeat(scene, { cursor: false });
    const views: SceneSurface[] = [];
    followSource(scene, harness.server, scene.root, (v) => {
      views.push(v);
      seat.focusKeyboard(v);
    });
    timer = setInterval(() => output.present(), 16);
    return { seat, views };
  }

  it('gtk3-widget-factory\'s focused entry (text-input v3) takes committed text and reports it back', async function () {
    if (!existsSync('/usr/bin/gtk3-widget-factory')) this.skip(); // .ci/run installs gtk-3-examples
    h = new WaylandHarness();
    const { seat, views } = sceneFor(h);
    h.run('gtk3-widget-factory', [], { GDK_BACKEND: 'wayland' });
    await until('GTK\'s entry enabling text input', () => views.some((v) => v.surface.textInputState?.enabled === true && v.surface.textInputState.surroundingText !== undefined));
    const window = views.find((v) => v.surface.textInputState?.enabled)!;
    expect(window.surface.textInputState!.surroundingText).to.equal('comboboxentry');
    // The entry's text is selected when it takes focus: committed text replaces it.
    expect(seat.text({ action: 'commit', text: 'héllo ✓' })).to.equal(true);
    await until('the entry\'s new text', () => window.surface.textInputState?.surroundingText === 'héllo ✓');
    expect(window.surface.textInputState!.cursor, 'after the text, in UTF-8 bytes').to.equal(Buffer.byteLength('héllo ✓'));
  });

  it('weston-editor (text-input v1) runs, and its clicked entry takes committed text', async function () {
    if (!existsSync('/usr/bin/weston-editor')) this.skip(); // .ci/run installs weston
    h = new WaylandHarness();
    const { seat, views } = sceneFor(h);
    h.run('weston-editor');
    await until('weston-editor\'s window', () => views.some((v) => v.mapped));
    // Its first entry fills the top half of the window, inside weston's frame.
    seat.pointer({ action: 'move', x: 150, y: 150, buttons: 0 });
    seat.pointer({ action: 'down', x: 150, y: 150, buttons: 1, button: 0 });
    seat.pointer({ action: 'up', x: 150, y: 150, buttons: 0, button: 0 });
    const editor = views[0]!;
    await until('the entry activating text input', () => editor.surface.textInputState?.surroundingText === 'Entry');
    expect(seat.text({ action: 'commit', text: 'héllo' })).to.equal(true);
    await until('the entry\'s new text', () => editor.surface.textInputState?.surroundingText === 'Entryhéllo');
  });
});

describe('Wayland text input v3 from a raw client', function () {
  this.timeout(20000);
  let dir: string;
  let server: WaylandServer;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bufshare-text-input-'));
    server = WaylandServer.listen({ name: join(dir, 'wayland-ti') });
  });
  afterEach(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a client has at most 64 text inputs: the 65th is no_memory for it alone (9,000 with long surrounding text held 81 MiB)', async () => {
    const c = new RawWaylandClient(server.path);
    const other = new RawWaylandClient(server.path);
    try {
      const registry = await c.registry();
      const seat = c.bind(registry, wl_seat);
      const manager = c.bind(registry, zwp_text_input_manager_v3);
      for (let i = 0; i < 64; i++) c.request(manager, zwp_text_input_manager_v3, 'get_text_input', [c.newId(zwp_text_input_v3), seat]);
      expect(await c.roundtrip()).to.equal(true);
      expect(c.error).to.equal(undefined);
      c.request(manager, zwp_text_input_manager_v3, 'get_text_input', [c.newId(zwp_text_input_v3), seat]);
      await c.roundtrip().catch(() => false);
      expect(c.error?.message).to.match(/over 64 text inputs/);
      await other.registry();
      expect(await other.roundtrip()).to.equal(true);
    } finally {
      c.close();
      other.close();
    }
  });

  it('follows the keyboard; state waits for commit; done counts commits; text goes only to an enabled field; surrounding text is bounded', async () => {
    const c = new RawWaylandClient(server.path);
    try {
      const registry = await c.registry();
      const { surface } = await c.configuredToplevel(registry);
      const shown = new Promise<WaylandSurface>((resolve) => server.once('surface', resolve));
      // A toplevel is announced on its first buffer: give it one through a raw pool.
      const fd = native.memfdCreate('ti', 64, 0);
      const shm = c.bind(registry, wl_shm);
      const pool = c.newId(wl_shm_pool);
      c.request(shm, wl_shm, 'create_pool', [pool, fd, 64]);
      native.closeFd(fd);
      const buffer = c.newId(wl_buffer);
      c.request(pool, wl_shm_pool, 'create_buffer', [buffer, 0, 4, 4, 16, 1]);
      c.request(surface, wl_surface, 'attach', [buffer, 0, 0]);
      c.request(surface, wl_surface, 'commit', []);
      const s = await shown;
      const seatId = c.bind(registry, wl_seat);
      const manager = c.bind(registry, zwp_text_input_manager_v3);
      const ti = c.newId(zwp_text_input_v3);
      c.request(manager, zwp_text_input_manager_v3, 'get_text_input', [ti, seatId]);
      await c.roundtrip();
      const events = (): unknown[][] => c.events.filter((e) => e.objectId === ti).map((e) => [e.name, ...e.args]);
      expect(events(), 'no keyboard focus yet').to.deep.equal([]);
      s.keyboard({ action: 'enter' });
      await c.roundtrip();
      expect(events()).to.deep.equal([['enter', surface]]);
      expect(s.textInput({ action: 'commit', text: 'x' }), 'not enabled: nowhere to go').to.equal(false);

      c.request(ti, zwp_text_input_v3, 'enable', []);
      c.request(ti, zwp_text_input_v3, 'set_surrounding_text', ['abc', 3, 3]);
      c.request(ti, zwp_text_input_v3, 'set_content_type', [0, 8]); // a password field
      await c.roundtrip();
      expect(s.textInputState, 'nothing before commit').to.equal(undefined);
      c.request(ti, zwp_text_input_v3, 'commit', []);
      await c.roundtrip();
      expect(s.textInputState).to.deep.include({ enabled: true, surroundingText: 'abc', cursor: 3, contentPurpose: 8 });
      expect(s.textInput({ action: 'preedit', text: 'dé' })).to.equal(true);
      expect(s.textInput({ action: 'commit', text: 'dé' })).to.equal(true);
      await c.roundtrip();
      expect(events().slice(1)).to.deep.equal([
        ['preedit_string', 'dé', 3, 3], ['done', 1],
        ['commit_string', 'dé'], ['done', 1],
      ]);
      // Past the protocol's 4000 bytes, the surrounding text is not kept.
      c.request(ti, zwp_text_input_v3, 'set_surrounding_text', ['y'.repeat(4040), 0, 0]);
      c.request(ti, zwp_text_input_v3, 'commit', []);
      await c.roundtrip();
      expect(s.textInputState?.surroundingText).to.equal(undefined);
      s.textInput({ action: 'deleteSurrounding', before: 2, after: 0 });
      await c.roundtrip();
      expect(events().slice(-2)).to.deep.equal([['delete_surrounding_text', 2, 0], ['done', 2]]);
      // The keyboard leaves: so does the text input, and the field is no longer the compositor's to fill.
      s.keyboard({ action: 'leave' });
      await c.roundtrip();
      expect(events().at(-1)).to.deep.equal(['leave', surface]);
      expect(s.textInputState).to.equal(undefined);
      expect(c.error).to.equal(undefined);
    } finally {
      c.close();
    }
  });
});
