/**
 * The guest's half of test/integration/vm-dbus-display.test.ts, run inside the
 * VM (test/vm/run.sh) with the shared work dir as cwd. Steps, each started by
 * the host's file `go-<step>` and acknowledged with `done-<step>`:
 *   a: bufshare's KmsOutput on the bochs card at 1024x768, pattern A everywhere
 *   b: a 320x240 rectangle at (512, 384) repainted (B) in the buffer on screen, no commit: a partial
 *      update as an fbdev client makes one (qemu finds the dirty pages; a flip would be a new scanout)
 *   c: a new output at 800x600 (a guest mode change), pattern C
 *   ui: the host asked for 800x600 on the virtio-gpu console (SetUIInfo): polls that card's connector
 *       until its preferred mode is 800x600 (or 20 s), answers the mode it saw
 *   input: reads every /dev/input/event* and appends EV_KEY events to input.jsonl until `go-end`
 * With the argument `bench` (bench/measurements/vm-dbus.ts) it instead shows pattern A at 1024x768,
 * writes `ready`, and repaints the 320x240 rectangle (10% of the screen) in the buffer on screen at
 * each key press it reads, alternating patterns, until `go-end`.
 */
import { appendFileSync, existsSync, openSync, read, readdirSync, renameSync, writeFileSync } from 'node:fs';
// The built library (dist/, made by npm run build and npm test's pretest): tsx transpiling lib/ under
// TCG took 13 s of the guest's time, loading dist/ takes under 2 s.
import { discoverKms, KmsOutput, preferredMode } from '../../../dist/lib/kms';
import { DrmDevice, listDrmNodes } from '../../../dist/lib';
import { patternPixel, RECT_B } from './vm-dbus-pattern';

/** Written whole, then renamed: the host (over 9p) sees the file only with its content. */
function answer(name: string, text: string): void {
  writeFileSync(`${name}.tmp`, text);
  renameSync(`${name}.tmp`, name);
}

async function waitFor(file: string, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!existsSync(file)) {
    if (Date.now() > end) throw new Error(`guest: no ${file} in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function fill(words: Uint32Array, stride32: number, width: number, height: number, variant: number, rect?: typeof RECT_B): void {
  const x0 = rect?.x ?? 0;
  const y0 = rect?.y ?? 0;
  for (let y = y0; y < y0 + (rect?.height ?? height); y++) {
    for (let x = x0; x < x0 + (rect?.width ?? width); x++) words[y * stride32 + x] = patternPixel(variant, x, y);
  }
}

/** Calls `onKey(code)` for each key press (EV_KEY value 1) on any event device. */
function readKeys(onKey: (code: number) => void): string[] {
  const devices = readdirSync('/dev/input').filter((n) => n.startsWith('event'));
  for (const name of devices) {
    const fd = openSync(`/dev/input/${name}`, 'r');
    const buf = Buffer.alloc(24 * 16);
    const loop = (): void => {
      read(fd, buf, 0, buf.byteLength, null, (err, n) => {
        if (err) return;
        for (let o = 0; o + 24 <= n; o += 24) {
          if (buf.readUInt16LE(o + 16) === 1) onKey(buf.readUInt16LE(o + 18) * 2 + buf.readInt32LE(o + 20));
        }
        loop();
      });
    };
    loop();
  }
  return devices;
}

async function bench(): Promise<void> {
  const card = listDrmNodes().find((n) => n.type === 'card' && n.sysfs.driver === 'bochs-drm');
  if (card === undefined) throw new Error('guest: no bochs card');
  const output = KmsOutput.open({ device: card.path, mode: '1024x768' });
  const frame = output.acquire();
  fill(frame.region.pixels32, frame.region.stride32, output.width, output.height, 0);
  output.commit(frame);
  let variant = 0;
  readKeys((codeAndValue) => {
    if (codeAndValue % 2 !== 1) return; // presses only
    variant = variant === 1 ? 2 : 1;
    fill(frame.region.pixels32, frame.region.stride32, output.width, output.height, variant, RECT_B);
  });
  answer('ready', '');
  await waitFor('go-end', 600_000);
  output.close();
  process.exit(0);
}

async function main(): Promise<void> {
  if (process.argv[2] === 'bench') return bench();
  const card = listDrmNodes().find((n) => n.type === 'card' && n.sysfs.driver === 'bochs-drm');
  if (card === undefined) throw new Error(`guest: no bochs card in ${JSON.stringify(listDrmNodes())}`);
  await waitFor('go-a');
  let output = KmsOutput.open({ device: card.path, mode: '1024x768' });
  let frame = output.acquire();
  fill(frame.region.pixels32, frame.region.stride32, output.width, output.height, 0);
  output.commit(frame);
  await sleep(300);
  answer('done-a', `${output.width}x${output.height}`);

  await waitFor('go-b');
  fill(frame.region.pixels32, frame.region.stride32, output.width, output.height, 1, RECT_B);
  await sleep(300);
  answer('done-b', '');

  await waitFor('go-c');
  output.close();
  output = KmsOutput.open({ device: card.path, mode: '800x600' });
  frame = output.acquire();
  fill(frame.region.pixels32, frame.region.stride32, output.width, output.height, 2);
  output.commit(frame);
  await sleep(300);
  answer('done-c', `${output.width}x${output.height}`);

  await waitFor('go-ui');
  // The DRM driver's name (sysfs names the virtio device's PCI driver, virtio-pci).
  const virtio = listDrmNodes().filter((n) => n.type === 'card').find((n) => {
    const d = DrmDevice.open(n.path);
    try {
      return d.driver.name === 'virtio_gpu';
    } finally {
      d.unref();
    }
  });
  let seen = 'no virtio_gpu card';
  for (const end = Date.now() + 20_000; virtio !== undefined && Date.now() < end; await sleep(200)) {
    const device = DrmDevice.open(virtio.path);
    try {
      const connector = discoverKms(device).connectors.find((c) => c.status === 'connected');
      const mode = connector === undefined ? undefined : preferredMode(connector);
      seen = mode === undefined ? 'no mode' : `${mode.hdisplay}x${mode.vdisplay}`;
    } finally {
      device.unref();
    }
    if (seen === '800x600') break;
  }
  answer('done-ui', seen);

  // Input: every event device, EV_KEY events (struct input_event on x86-64: 16-byte timeval, u16 type, u16 code, s32 value).
  const devices = readdirSync('/dev/input').filter((n) => n.startsWith('event'));
  let ended = false;
  for (const name of devices) {
    const fd = openSync(`/dev/input/${name}`, 'r');
    const buf = Buffer.alloc(24 * 16);
    const loop = (): void => {
      read(fd, buf, 0, buf.byteLength, null, (err, n) => {
        if (err || ended) return;
        for (let o = 0; o + 24 <= n; o += 24) {
          const type = buf.readUInt16LE(o + 16);
          const code = buf.readUInt16LE(o + 18);
          const value = buf.readInt32LE(o + 20);
          if (type === 1) appendFileSync('input.jsonl', JSON.stringify({ device: name, code, value }) + '\n');
        }
        loop();
      });
    };
    loop();
  }
  answer('done-input', devices.join(' '));
  await waitFor('go-end', 40_000);
  ended = true;
  output.close();
  // Blocked reads of the event devices would keep the process alive.
  process.exit(0);
}

if (require.main === module) {
  main().catch((e) => {
    writeFileSync('guest-error', String((e as Error).stack ?? e));
    process.exit(1);
  });
}
