/**
 * The demo compositor: embeds a BufferServer, composes its clients' surfaces on
 * a 1280x720 XRGB8888 output, and shows it in a browser, or writes a PNG.
 *
 *   node --require tsx/cjs demos/compositor.ts [options]
 *     --socket PATH          socket path (default $XDG_RUNTIME_DIR/bufshare-0)
 *     --port N               viewer port on 127.0.0.1 (default 8080; 0: any free port)
 *     --size WxH             output size (default 1280x720)
 *     --refresh HZ           output rate: compositions and frame_done per second (default 60)
 *     --scale 1|2            output pixels per layout unit (default 1): at 2 (HiDPI), Wayland
 *                            clients draw at twice the pixels, shown 1:1; the rest is doubled
 *     --placement tile|cascade
 *     --headless             no viewer: compose, then write --screenshot after --frames
 *     --frames N             headless: output frames (refresh ticks) to run before the screenshot,
 *                            counted whether or not anything changed (default 60)
 *     --screenshot FILE      headless: the PNG to write (default screenshot.png)
 *     --wait-surfaces K      headless: start counting frames once K surfaces show pixels (default 1)
 *     --wayland NAME         also take Wayland clients: a name in $XDG_RUNTIME_DIR or an absolute path
 *     --output kms[:CARD]    also show the output on a display through KMS (a card with a
 *                            connected screen, real hardware before vkms, or CARD, e.g. /dev/dri/card1); the size
 *                            becomes the screen's mode unless --size is given. Needs DRM master:
 *                            run it from a free VT (no X or Wayland session on that card)
 *
 * Prints "socket: PATH", "wayland: WAYLAND_DISPLAY=NAME" (with --wayland) and
 * "viewer: URL" (or "screenshot: FILE") on stdout.
 * SIGINT/SIGTERM close the server (the socket file goes with it) and exit 0.
 */
import { parseArgs } from 'node:util';
import { KmsOutput } from '../lib/kms';
import { Compositor } from './compositor/compositor';
import { KmsSceneOutput } from '../lib/scene';
import { writePng } from './compositor/png';
import { DEFAULT_VIEWER_PORT, ViewerServer } from './compositor/viewer-server';

function usage(message: string): never {
  console.error(`compositor: ${message}`);
  process.exit(2);
}

function intOption(value: string | undefined, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) usage(`--${name} must be an integer in [${min}, ${max}], got ${value}`);
  return n;
}

/** `kms` or `kms:/dev/dri/cardN`: the given card, else pickDisplayCard()'s (a connected screen, hardware before vkms). */
function openKmsOutput(spec: string): KmsOutput {
  const m = /^kms(?::(.+))?$/.exec(spec) ?? usage(`--output must be kms or kms:/dev/dri/cardN, got ${spec}`);
  try {
    return KmsOutput.open({ device: m[1] });
  } catch (e) {
    usage(`--output ${spec}: ${(e as Error).message}`);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      socket: { type: 'string' }, port: { type: 'string' }, size: { type: 'string' }, refresh: { type: 'string' }, scale: { type: 'string' },
      placement: { type: 'string' }, headless: { type: 'boolean' }, frames: { type: 'string' },
      screenshot: { type: 'string' }, 'wait-surfaces': { type: 'string' }, wayland: { type: 'string' }, output: { type: 'string' },
    },
  });
  const kms = values.output === undefined ? undefined : openKmsOutput(values.output);
  const size = /^(\d+)x(\d+)$/.exec(values.size ?? (kms ? `${kms.width}x${kms.height}` : '1280x720')) ?? usage(`--size must be WxH, got ${values.size}`);
  const placement = values.placement ?? 'tile';
  if (placement !== 'tile' && placement !== 'cascade') usage(`--placement must be tile or cascade, got ${placement}`);
  // On a screen, the viewer's output ticks at the mode's rate (75 Hz on qemu's displays), as the screen's flips do.
  const refreshHz = intOption(values.refresh, 'refresh', kms ? Math.max(1, Math.round(kms.describe().refreshMilliHz / 1000)) : 60, 1, 240);

  const compositor = await Compositor.start({
    socketPath: values.socket, width: Number(size[1]), height: Number(size[2]), refreshHz, placement, wayland: values.wayland,
    scale: intOption(values.scale, 'scale', 1, 1, 2),
    // The screen's own name, make, model, physical size and exact rate, for Wayland clients.
    ...(kms ? { outputInfo: kms.describe() } : {}),
    // A screen shows the pointer only if the compositor draws it; the browser viewer has its own.
    cursor: kms !== undefined,
  });
  console.log(`socket: ${compositor.socketPath}`);
  const wayland = compositor.wayland;
  if (wayland !== undefined) {
    console.log(`wayland: WAYLAND_DISPLAY=${wayland.path}`);
    wayland.on('client', (c) => console.log(`wayland client ${c.pid} (${c.name ?? '?'}) connected`));
    wayland.on('disconnect', (c, reason) => console.log(`wayland client ${c.pid} left: ${reason}`));
    wayland.on('surface', (s) => console.log(`wayland client ${s.client.pid}: window ${s.width}x${s.height} ${s.format.name} "${s.title ?? ''}"`));
    wayland.on('error', (e) => console.error(`compositor: ${e.message}`));
  }
  if (kms) {
    // The screen is a second output of the same scene, over the same part of the layout as the viewer's.
    const presenter = new KmsSceneOutput(compositor.scene, kms, { scale: compositor.output.scale });
    presenter.on('error', (e) => console.error(`compositor: kms: ${e.message}`));
    console.log(`kms: ${kms.device} ${kms.pipe.connector.name} ${kms.width}x${kms.height}@${kms.mode.vrefresh} (${kms.api})`);
    process.on('exit', () => console.log(`kms: ${presenter.commits} frames committed (${presenter.directCommits} scanned out directly), ${presenter.copied} pixels copied`));
  }
  compositor.server.on('error', (e) => console.error(`compositor: ${e.message}`));
  compositor.server.on('disconnect', (client, reason) => console.log(`client ${client.pid} left: ${reason}`));
  compositor.server.on('surface', (s) => console.log(`client ${s.client.pid}: surface ${s.width}x${s.height} ${s.format.name}, ${s.kind} buffers, ${s.access} access`));

  let viewer: ViewerServer | undefined;
  let stopping = false;
  const stop = async (code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await viewer?.close();
    await compositor.close();
    kms?.close();
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  // Started by the demo launcher with an IPC channel: go when it goes (no orphan).
  process.on('disconnect', () => void stop(0));

  if (values.headless) {
    const frames = intOption(values.frames, 'frames', 60, 1, 1_000_000);
    const file = values.screenshot ?? 'screenshot.png';
    const waitFor = intOption(values['wait-surfaces'], 'wait-surfaces', 1, 0, 64);
    let counted = 0;
    // Ticks, not compositions: a client that draws once and waits (foot at its prompt)
    // composes once, and the screenshot must still come.
    compositor.on('tick', () => {
      if (stopping || compositor.surfaceInfo().length < waitFor) return;
      if (++counted < frames) return;
      writePng(compositor.framebuffer, file);
      console.log(`surfaces: ${JSON.stringify(compositor.surfaceInfo())}`);
      console.log(`screenshot: ${file} (${frames} frames, ${compositor.surfaceInfo().length} surfaces)`);
      void stop(0);
    });
    return;
  }

  viewer = await ViewerServer.listen({ output: compositor.framebuffer, port: intOption(values.port, 'port', DEFAULT_VIEWER_PORT, 0, 65535), refreshHz });
  const v = viewer;
  compositor.on('composed', (damage) => v.publishFrame(damage));
  compositor.on('surfaces', (list) => v.publishSurfaces(list));
  v.on('pointer', (input) => compositor.pointer(input));
  v.on('move', (id, x, y) => compositor.move(id, x, y));
  v.on('raise', (id) => compositor.raise(id));
  v.on('key', (key, pressed) => compositor.key(key, pressed));
  console.log(`viewer: ${v.url}`);
}

main().catch((e: unknown) => {
  const inUse = (e as NodeJS.ErrnoException).code === 'EADDRINUSE';
  console.error(`compositor: ${e instanceof Error ? e.message : String(e)}${inUse ? ' (another program has the port: try --port 0)' : ''}`);
  process.exit(1);
});
