/**
 * The compositor under attack, in its own process: a Scene on a 60 Hz headless
 * 1280x720 output with a SceneSeat (so focus, popups, drag and drop, text input,
 * pointer constraints and cursors are live), a WaylandServer and a BufferServer
 * followed into it, as examples/scene-compositor.ts plus a seat.
 *
 *   node --expose-gc --require tsx/cjs scene-server-child.ts <wayland-name> <bufshare-socket>
 *
 * stdout (one line each): "listening", "F <pid>" per Wayland frame, "D <pid> <reason>"
 * per disconnected Wayland client, "E <pid> <code> <message>" per clientError,
 * "S <rssKiB> <heapUsedKiB> <fds> <maxLoopLagMs>" answering "stat".
 * stdin commands: "stat" (after a full GC), "click <pid>" (pointer to the middle of
 * that client's newest window, press and release: pointer and keyboard focus),
 * "press <x> <y>", "move <x> <y>", "release <x> <y>", "text <string>" (committed
 * text to the focused text field), "key <code>".
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { BufferServer } from '../../../lib/ipc/server';
import { followSource, HeadlessOutput, Scene, SceneSeat, type SceneSurface } from '../../../lib/scene';
import { WaylandServer } from '../../../lib/wayland/server';

const [name, socket] = process.argv.slice(2);
const scene = new Scene({ background: 0xff303846 });
const screen = new HeadlessOutput(scene, { width: 1280, height: 720, refreshHz: 60 });
const windows = scene.createTree();
const wayland = WaylandServer.listen({ name: name!, output: { width: 1280, height: 720, refreshMilliHz: 60000 }, dmabufDevice: false });
const bufshare = BufferServer.listen({ path: socket });
const seat = new SceneSeat(scene);
const out = (s: string): void => void process.stdout.write(`${s}\n`);

const views = new Map<number, SceneSurface[]>();
let placed = 0;
const place = (view: SceneSurface): void => {
  view.tree.setPosition(20 + (placed % 8) * 120, 20 + (placed % 8) * 70);
  placed++;
  const pid = view.surface.client.pid;
  const list = views.get(pid) ?? [];
  list.push(view);
  views.set(pid, list);
};
followSource(scene, wayland, windows, place);
followSource(scene, bufshare, windows, place);
// Nothing here raises or moves windows: what a click does is the seat's (focus, grabs, drags).

wayland.on('frame', (f) => out(`F ${f.surface.client.pid}`));
wayland.on('disconnect', (c, reason) => out(`D ${c.pid} ${String(reason).replace(/\n/g, ' ')}`));
wayland.on('clientError', (c, e) => out(`E ${c.pid} ${e.code} ${e.message.replace(/\n/g, ' ')}`));
wayland.on('error', () => undefined);
bufshare.on('error', () => undefined);

let maxLag = 0;
let last = Date.now();
setInterval(() => {
  const now = Date.now();
  maxLag = Math.max(maxLag, now - last - 50);
  last = now;
}, 50);

function newest(pid: number): SceneSurface | undefined {
  const list = (views.get(pid) ?? []).filter((v) => !v.node.destroyed && !v.popup);
  return list[list.length - 1];
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const [cmd, ...args] = line.split(' ');
  const n = args.map(Number);
  switch (cmd) {
    case 'stat': {
      (globalThis as { gc?: () => void }).gc?.();
      const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]);
      const fds = readdirSync('/proc/self/fd').length;
      out(`S ${rss} ${Math.round(process.memoryUsage().heapUsed / 1024)} ${fds} ${maxLag}`);
      maxLag = 0;
      break;
    }
    case 'click': {
      const v = newest(n[0]!);
      if (v === undefined) {
        out('C none');
        break;
      }
      const x = v.tree.x + Math.max(1, Math.floor(v.surface.width / 2));
      const y = v.tree.y + Math.max(1, Math.floor(v.surface.height / 2));
      seat.pointer({ action: 'move', x, y, buttons: 0 });
      seat.pointer({ action: 'down', x, y, buttons: 1, button: 0 });
      seat.pointer({ action: 'up', x, y, buttons: 0, button: 0 });
      seat.focusKeyboard(v);
      out(`C ${x} ${y}`);
      break;
    }
    case 'press':
      seat.pointer({ action: 'move', x: n[0]!, y: n[1]!, buttons: 0 });
      seat.pointer({ action: 'down', x: n[0]!, y: n[1]!, buttons: 1, button: 0 });
      break;
    case 'move':
      seat.pointer({ action: 'move', x: n[0]!, y: n[1]!, buttons: Number(args[2] ?? 0) });
      break;
    case 'release':
      seat.pointer({ action: 'up', x: n[0]!, y: n[1]!, buttons: 0, button: 0 });
      break;
    case 'text':
      out(`T ${seat.text({ action: 'commit', text: args.join(' ') })}`);
      break;
    case 'key':
      seat.key(n[0]!, true);
      seat.key(n[0]!, false);
      break;
  }
});

screen.start();
void wayland;
out(`listening ${bufshare.path}`);
