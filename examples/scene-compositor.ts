// A compositor on bufshare/scene: bufshare and Wayland clients side by side on one
// headless 1280x720 output at 60 Hz, cascaded as they arrive; a PNG of the screen
// every second. No branch on where a window comes from.
// Run: npx tsx examples/scene-compositor.ts [out.png] [wayland-name] [bufshare-socket]
//      then: WAYLAND_DISPLAY=wayland-scene foot   or   npx tsx examples/client.ts <socket>
import { writeFileSync } from 'node:fs';
import { BufferServer, WaylandServer } from 'bufshare';
import { followSource, HeadlessOutput, Scene, type SceneSurface } from 'bufshare/scene';

async function main(): Promise<void> {
  const [png = 'screen.png', name = 'wayland-scene', socket] = process.argv.slice(2);
  const scene = new Scene({ background: 0xff303846 });
  const screen = new HeadlessOutput(scene, { width: 1280, height: 720, refreshHz: 60 });
  const windows = scene.createTree();       // one layer; a panel or a cursor would be another
  const bufshare = BufferServer.listen({ path: socket });
  const wayland = WaylandServer.listen({ name, output: { width: 1280, height: 720, refreshMilliHz: 60000 } });
  console.log(`bufshare: ${bufshare.path}  WAYLAND_DISPLAY=${wayland.name}`);

  let placed = 0;
  const place = (window: SceneSurface): void => {             // follows its frames, damage, subsurfaces and lifetime
    window.tree.setPosition(40 + (placed % 10) * 48, 40 + (placed % 10) * 32);
    placed++;
    console.log(`window "${window.surface.title ?? window.surface.client.pid}" ${window.surface.width}x${window.surface.height}`);
  };
  followSource(scene, bufshare, windows, place);
  followSource(scene, wayland, windows, place);

  screen.start();                           // frame callbacks follow the output's ticks
  const timer = setInterval(() => {
    writeFileSync(png, screen.screenshot());
    console.log(`wrote ${png}: ${windows.children.length} window(s), ${screen.frames} frames`);
  }, 1000);
  const stop = (): void => {
    clearInterval(timer);
    screen.destroy();
    void Promise.all([wayland.close(), bufshare.close()]).then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

void main();
