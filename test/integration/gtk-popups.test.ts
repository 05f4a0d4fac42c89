/**
 * A real toolkit's menu: gtk3-widget-factory (Debian's gtk-3-examples) on the
 * demo compositor, driven through the compositor's input API. A click on the
 * "Andrea" combo box opens its menu as an xdg_popup, drawn where its positioner
 * put it (over the combo box, the selected item on top, in GTK's highlight
 * colour); a click on an item closes it; reopened, a click outside the window
 * dismisses it (the popup grab); reopened, Escape closes it (the keyboard goes to
 * the grabbing menu).
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SceneSurface } from '../../lib/scene';
import { Compositor } from '../../demos/compositor/compositor';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('GTK 3 menus (xdg_popup) on the demo compositor', function () {
  this.timeout(60000);

  it('gtk3-widget-factory: a click opens the combo box menu over the combo box, a click on an item or outside closes it', async function () {
    if (!existsSync('/usr/bin/gtk3-widget-factory')) this.skip(); // .ci/run installs gtk-3-examples
    const dir = mkdtempSync(join(tmpdir(), 'bufshare-gtk-'));
    chmodSync(dir, 0o700);
    const compositor = await Compositor.start({ socketPath: join(dir, 'bufshare'), wayland: join(dir, 'wayland-gtk') });
    let app: ChildProcess | undefined;
    const until = async (what: string, ok: () => boolean, ms = 15000): Promise<void> => {
      const end = Date.now() + ms;
      while (!ok()) {
        if (Date.now() > end) expect.fail(`timed out waiting for ${what}`);
        await sleep(50);
      }
    };
    const popups = (): SceneSurface[] => compositor.scene.leaves().map((l) => l.node.data).filter((v): v is SceneSurface => v instanceof SceneSurface && v.popup && v.mapped);
    const click = async (x: number, y: number): Promise<void> => {
      compositor.pointer({ action: 'move', x, y, buttons: 0 });
      await sleep(50);
      compositor.pointer({ action: 'down', x, y, buttons: 1, button: 0 });
      await sleep(80);
      compositor.pointer({ action: 'up', x, y, buttons: 0, button: 0 });
    };
    try {
      app = spawn('gtk3-widget-factory', [], { stdio: 'ignore', env: { ...process.env, XDG_RUNTIME_DIR: dir, WAYLAND_DISPLAY: 'wayland-gtk', GDK_BACKEND: 'wayland' } });
      await until('the window', () => compositor.surfaceInfo().length === 1);
      await sleep(1500); // GTK's first frames settle (its layout, then its fonts)
      const w = compositor.surfaceInfo()[0]!;
      // The "Andrea" combo box, in the window's surface (GTK's default theme and DejaVu fonts).
      const combo = { x: w.x + 496, y: w.y + 272 };
      await click(combo.x, combo.y);
      await until('the menu', () => popups().length === 1);
      await sleep(300);
      const menu = popups()[0]!;
      const box = { x: menu.tree.layoutX, y: menu.tree.layoutY, width: menu.node.width, height: menu.node.height };
      expect(combo.x, 'the menu covers the combo box').to.be.within(box.x, box.x + box.width);
      expect(combo.y).to.be.within(box.y, box.y + box.height);
      expect(box.height, 'four items').to.be.above(100);
      // Shown on the output, over the window: GTK's selection blue somewhere in the menu.
      compositor.output.renderFull(compositor.framebuffer.region);
      const px = compositor.framebuffer.pixels32;
      let blue = 0;
      for (let y = box.y; y < box.y + box.height; y++) {
        for (let x = box.x; x < box.x + box.width; x++) {
          const p = px[y * compositor.framebuffer.width + x]!;
          if ((p & 0xff) > 0xc0 && ((p >> 16) & 0xff) < 0x60) blue++;
        }
      }
      expect(blue, 'highlighted item pixels').to.be.above(1000);
      // "Otto", the second item, a row below the selected one.
      await click(combo.x, combo.y + 30);
      await until('the menu to close on an item', () => popups().length === 0);
      await click(combo.x, combo.y);
      await until('the menu again', () => popups().length === 1);
      await sleep(300);
      await click(5, 5); // the background, outside every window
      await until('the menu to close on a click outside', () => popups().length === 0);
      // The keyboard reaches the open menu (it holds a grab): Escape closes it.
      await click(combo.x, combo.y);
      await until('the menu a third time', () => popups().length === 1);
      await sleep(300);
      compositor.key(1, true); // KEY_ESC
      compositor.key(1, false);
      await until('the menu to close on Escape', () => popups().length === 0);
      expect(compositor.surfaceInfo().length, 'the window stays').to.equal(1);
    } finally {
      app?.kill('SIGKILL');
      await compositor.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
