// A minimal compositor: accepts clients, reads each frame they submit, shows it
// (here: prints its damage and centre pixel), releases it and asks for the next.
// Run: npx tsx examples/compositor.ts [socket-path]   (default $XDG_RUNTIME_DIR/bufshare-0)
import { BufferServer } from 'bufshare';

async function main(): Promise<void> {
  const server = BufferServer.listen({ path: process.argv[2] });
  console.log(`listening on ${server.path}`);
  server.on('surface', (s) => console.log(`client ${s.client.pid}: surface ${s.width}x${s.height} ${s.format.name} (${s.kind}, ${s.access})`));
  server.on('frame', (frame) => {
    const { region, damage, surface } = frame;
    const centre = region.pixels32[(region.height >> 1) * region.stride32 + (region.width >> 1)]!;
    console.log(`frame: ${damage.rects.length} rect(s), ${damage.area} px damaged, centre 0x${centre.toString(16).padStart(8, '0')}`);
    frame.release();       // the client may draw into this buffer again
    surface.frameDone();   // and should draw its next frame
  });
  server.on('disconnect', (client, reason) => console.log(`client ${client.pid} left: ${reason}`));
  process.on('SIGINT', () => void server.close().then(() => process.exit(0)));
  process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
}

void main();
