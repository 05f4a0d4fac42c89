// A compositor for Wayland applications: the same 'surface' / 'frame' model as
// bufshare's own clients. Prints each window and its frames, types "ls" and Enter
// into the first window, and stops after --frames N frames.
// Run: npx tsx examples/wayland.ts [display-name] [frames]   then: WAYLAND_DISPLAY=<name> foot
import { WaylandServer, type CompositorFrame } from '../lib';

const wayland = WaylandServer.listen({ name: process.argv[2] ?? 'wayland-bufshare' });
const frames = Number(process.argv[3] ?? Infinity);
console.log(`WAYLAND_DISPLAY=${wayland.name}`);
const shown = new Map<unknown, CompositorFrame>();
let count = 0;
wayland.on('surface', (s) => {
  console.log(`window "${s.title ?? ''}" ${s.width}x${s.height} ${s.format.name} from pid ${s.client.pid}`);
  s.keyboard({ action: 'enter' });
  for (const key of [38, 31, 28]) {           // evdev KEY_L, KEY_S, KEY_ENTER
    s.keyboard({ action: 'key', key, pressed: true });
    s.keyboard({ action: 'key', key, pressed: false });
  }
});
wayland.on('frame', (frame) => {
  const { region, damage, surface } = frame;
  const corner = region.pixels32[0]!;
  console.log(`frame ${++count}: ${damage.area} px damaged, top-left 0x${corner.toString(16).padStart(8, '0')}`);
  shown.get(surface)?.release();   // keep the newest frame, give the previous buffer back
  shown.set(surface, frame);
  surface.frameDone();              // the client may draw its next frame
  if (count >= frames) void wayland.close().then(() => process.exit(0));
});
process.on('SIGINT', () => void wayland.close().then(() => process.exit(0)));
