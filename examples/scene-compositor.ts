// A compositor on bufshare/scene: bufshare and Wayland clients side by side on one
// headless 1280x720 output at 60 Hz, cascaded as they arrive; a PNG of the screen
// every second. No branch on where a window comes from.
// Run: npx tsx examples/scene-compositor.ts [out.png] [wayland-name] [bufshare-socket]
//      then: WAYLAND_DISPLAY=wayland-scene foot   or   npx tsx examples/client.ts <socket>
import { writeFileSync } from 'node:fs';
import { BufferServer, WaylandServer, type CompositorSurface } from 'bufshare';
import { HeadlessOutput, Scene, SceneSurface } from 'bufshare/scene';

async function main(): Promise<void> {
  const [png = 'screen.png', name = 'wayland-scene', socket] = process.argv.slice(2);
  const scene = new Scene({ background: 0xff303846 });
  const screen = new HeadlessOutput(scene, { width: 1280, height: 720, refreshHz: 60 });
  const windows = scene.createTree();       // one layer; a panel or a cursor would be another
  const bufshare = await BufferServer.listen({ path: socket });
  const wayland = WaylandServer.listen({ name, output: { width: 1280, height: 720, refreshMilliHz: 60000 } });
  console.log(`bufshare: ${bufshare.path}  WAYLAND_DISPLAY=${wayland.name}`);

  let placed = 0;
  const show = (surface: CompositorSurface): void => {
    const window = new SceneSurface(scene, surface, windows);   // follows its frames, damage and lifetime
    window.node.setPosition(40 + (placed % 10) * 48, 40 + (placed % 10) * 32);
    placed++;
    console.log(`window "${surface.title ?? surface.client.pid}" ${surface.width}x${surface.height}`);
  };
  bufshare.on('surface', show);
  wayland.on('surface', show);

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
