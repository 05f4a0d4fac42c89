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
 *     --vm QMP_SOCKET        also show a running qemu's screens (qemu -display dbus,p2p=yes
 *                            -qmp unix:QMP_SOCKET,server=on,wait=off): each console is a window
 *     --input on|off         read keyboards, mice, tablets and touch screens from /dev/input
 *                            (grabbed: keys do not reach the VT below) into the seat, as the
 *                            browser viewer's input. Default: on with --output kms (a screen
 *                            needs its own input; a missing or unreadable /dev/input is then
 *                            a warning), off otherwise
 *
 * Prints "socket: PATH", "wayland: WAYLAND_DISPLAY=NAME" (with --wayland) and
 * "viewer: URL" (or "screenshot: FILE") on stdout.
 * SIGINT/SIGTERM close the server (the socket file goes with it) and exit 0.
 */
import { parseArgs } from 'node:util';
import { KmsDevice, KmsOutput } from '../lib/kms';
import { Session } from '../lib/session';
import { VmDisplay } from '../lib/vm';
import { attachInput, describeClass, InputDevices } from '../lib/input';
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

/**
 * `kms` or `kms:/dev/dri/cardN`: the given card, else pickDisplayCard()'s (a connected screen, hardware before vkms),
 * opened through the session: seatd (or logind through libseat) for a normal user on a VT, else directly (root).
 */
async function openKmsOutput(spec: string): Promise<{ output: KmsOutput; session: Session }> {
  const m = /^kms(?::(.+))?$/.exec(spec) ?? usage(`--output must be kms or kms:/dev/dri/cardN, got ${spec}`);
  try {
    const session = await Session.open();
    const card = KmsDevice.openInSession(session, m[1]);
    try {
      return { output: KmsOutput.open({ device: card }), session };
    } finally {
      card.unref(); // the output holds its own reference
    }
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
      vm: { type: 'string' },
      input: { type: 'string' },
    },
  });
  const screen = values.output === undefined ? undefined : await openKmsOutput(values.output);
  const kms = screen?.output;
  if (values.input !== undefined && values.input !== 'on' && values.input !== 'off') usage(`--input must be on or off, got ${values.input}`);
  const inputWanted = values.input === 'on' || (values.input === undefined && kms !== undefined);
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
  // Before the socket is announced: the VM's screen is placed first, the clients the launcher starts after it.
  let vm: VmDisplay | undefined;
  if (values.vm !== undefined) {
    try {
      vm = await VmDisplay.attach(values.vm);
    } catch (e) {
      usage(`--vm ${values.vm}: ${(e as Error).message}`);
    }
    // A peer source of the bufshare and Wayland servers: the guest's screens are windows, and take input, like any.
    compositor.addSource(vm);
    vm.on('surface', (s) => console.log(`vm: console "${s.title ?? ''}" ${s.width}x${s.height} ${s.format.name}`));
    vm.on('close', (reason) => console.log(`vm: detached: ${reason}`));
    vm.on('inputError', (e) => console.error(`compositor: vm input: ${e.message}`));
  }
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
    console.log(`kms: ${kms.device} ${kms.pipe.connector.name} ${kms.width}x${kms.height}@${kms.mode.vrefresh} (${kms.api}), session ${screen!.session.backend}`);
    screen!.session.on('pause', () => console.log('kms: session paused (another VT)'));
    screen!.session.on('resume', () => console.log('kms: session back: modeset, repaint'));
    process.on('exit', () => console.log(`kms: ${presenter.commits} frames committed (${presenter.directCommits} scanned out directly), ${presenter.copied} pixels copied`));
  }
  let input: InputDevices | undefined;
  if (inputWanted) {
    // Opened directly (a normal user needs the input group): a session device's fd would have two
    // owners here (the session closes what it opened, and so does the input device). A VT switch
    // pauses them through the session (grabs dropped, taken again on resume).
    input = new InputDevices();
    screen?.session.listen(input);
    input.on('added', (d) => console.log(`input: ${d.path} "${d.name}" (${describeClass(d.kind)})${d.isGrabbed ? ' grabbed' : ''}`));
    input.on('removed', (d, reason) => console.log(`input: ${d.path} "${d.name}" ${reason}`));
    input.on('ignored', (path, reason) => console.log(`input: ${path} ignored: ${reason}`));
    input.on('error', (e, path) => console.error(`compositor: input: ${path}: ${e.message}`));
    try {
      input.start();
      // The pointer moves over the output's part of the layout (in layout units: half its pixels at --scale 2).
      attachInput(compositor.seat, input, () => compositor.output.rect);
      console.log(`input: ${input.devices.length} devices`);
    } catch (e) {
      input.close();
      input = undefined;
      if (values.input === 'on') usage(`--input on: ${(e as Error).message}`);
      console.error(`compositor: no input devices: ${(e as Error).message} (--input off to silence)`);
    }
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
    vm?.close();
    input?.close(); // ungrabs: the keyboard is the VT's again
    await compositor.close();
    kms?.close();
    screen?.session.close();
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
