/**
 * A WaylandServer in its own process, for tests whose failure would be a signal
 * that kills the server (a SIGBUS): listens at argv[2]; per frame, reads every
 * pixel (as a compositor composing it does), keeps the newest frame and releases
 * the one before, and answers frame callbacks at once. Prints "listening" once
 * the socket is up, and "frame <sum>" for each frame it read.
 */
import type { CompositorFrame, CompositorSurface } from '../../lib/surface-model';
import { WaylandServer } from '../../lib/wayland/server';

const server = WaylandServer.listen({ name: process.argv[2]!, dmabufDevice: false });
const shown = new Map<CompositorSurface, CompositorFrame>();
server.on('frame', (f) => {
  let sum = 0;
  for (const v of f.region.pixels) sum += v;
  console.log(`frame ${sum}`);
  shown.get(f.surface)?.release();
  shown.set(f.surface, f);
  f.surface.frameDone();
});
server.on('surfaceDestroyed', (s) => {
  shown.get(s)?.release();
  shown.delete(s);
});
console.log('listening');
