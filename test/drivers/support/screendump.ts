/**
 * Independent readback of an emulated display, for driver tests in the VM: qemu's
 * own `screendump` of the device, i.e. what the emulated hardware scans out, read
 * without going through the kernel driver under test.
 *
 * How am I supposed to use this? In test/vm (run.sh exports BUFSHARE_VM_SCREENDUMP):
 *   const reason = screendumpUnavailableReason(); // skip the test when set
 *   const shot = await screendump(displayOfCard('/dev/dri/card3'));
 *   shot.rgb[(y * shot.width + x) * 3]  // red of pixel (x, y)
 *
 * The request travels through the job's 9p dir to test/vm/screendump-host.js on the
 * host, which asks qemu over QMP and writes a PPM (8 bits per channel, whatever the
 * device's own depth: qemu converts with pixman) back into the same dir.
 */
import { existsSync, readFileSync, readlinkSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

export interface Screendump {
  /** The qdev id qemu dumped (run.sh names them bochs, virtio, qxl, cirrus, std). */
  readonly device: string;
  readonly width: number;
  readonly height: number;
  /** width * height * 3 bytes, R G B per pixel, rows top to bottom. */
  readonly rgb: Uint8Array;
}

/** A display device: by qemu qdev id, or by PCI address as sysfs names it ("0000:00:05.0"). */
export type DisplayRef = { readonly device: string } | { readonly pci: string };

export interface ScreendumpOptions {
  /** Give up after this long (default 30 s: a screendump under TCG takes ~0.1-1 s). */
  readonly timeoutMs?: number;
  /** For multi-head devices. */
  readonly head?: number;
}

let counter = 0;

/** Why there is no readback here, or undefined when there is. */
export function screendumpUnavailableReason(): string | undefined {
  const dir = process.env.BUFSHARE_VM_SCREENDUMP;
  if (!dir) return 'BUFSHARE_VM_SCREENDUMP is not set: not in the test/vm harness (no qemu to ask)';
  if (!existsSync(dir)) return `BUFSHARE_VM_SCREENDUMP=${dir} does not exist`;
  return undefined;
}

/**
 * The PCI display device behind a card node (/sys/class/drm/cardN/device), or
 * undefined for a platform device (vgem, vkms): qemu shows nothing of those.
 */
export function displayOfCard(cardPath: string): DisplayRef | undefined {
  let target: string;
  try {
    target = readlinkSync(`/sys/class/drm/${basename(cardPath)}/device`);
  } catch {
    return undefined;
  }
  const pci = basename(target);
  return /^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/.test(pci) ? { pci } : undefined;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Parses a binary PPM (P6, maxval 255) into RGB bytes. */
export function parsePpm(data: Uint8Array): { width: number; height: number; rgb: Uint8Array } {
  const fields: string[] = [];
  let i = 0;
  while (fields.length < 4) {
    while (i < data.length && /\s/.test(String.fromCharCode(data[i]!))) i++;
    if (data[i] === 0x23) { // '#': a comment to the end of the line
      while (i < data.length && data[i] !== 0x0a) i++;
      continue;
    }
    const start = i;
    while (i < data.length && !/\s/.test(String.fromCharCode(data[i]!))) i++;
    if (start === i) throw new Error('PPM: truncated header');
    fields.push(Buffer.from(data.subarray(start, i)).toString('latin1'));
  }
  i++; // the single whitespace byte after maxval
  const [magic, w, h, maxval] = fields as [string, string, string, string];
  const width = Number(w);
  const height = Number(h);
  if (magic !== 'P6' || maxval !== '255' || !(width > 0) || !(height > 0)) {
    throw new Error(`PPM: expected P6 with maxval 255, got ${magic} ${w}x${h} maxval ${maxval}`);
  }
  const size = width * height * 3;
  if (data.length - i < size) throw new Error(`PPM: ${data.length - i} bytes of pixels, ${size} expected`);
  return { width, height, rgb: data.subarray(i, i + size) };
}

/** Sends `body` to the host process as a request and returns its parsed reply (throws on ok: false). */
async function ask(body: object, what: string, timeoutMs = 30000, pollAfter?: Promise<unknown>): Promise<Record<string, unknown>> {
  const why = screendumpUnavailableReason();
  if (why) throw new Error(`${what}: ${why}`);
  const dir = process.env.BUFSHARE_VM_SCREENDUMP!;
  const name = `sd-${process.pid}-${++counter}`;
  const reply = join(dir, `${name}.reply`);
  const tmp = join(dir, `.${name}.tmp`);
  writeFileSync(tmp, JSON.stringify(body));
  renameSync(tmp, join(dir, `${name}.req`)); // the host never reads half a request
  const deadline = Date.now() + timeoutMs;
  try {
    // Each poll is a synchronous 9p walk that holds the loop: a caller timing what the
    // request causes waits for it first (bounded by the timeout).
    if (pollAfter) await Promise.race([pollAfter.catch(() => {}), sleep(timeoutMs)]);
    // 9p shows the guest nothing of the host's inotify: poll (each check is one 9p walk).
    while (!existsSync(reply)) {
      if (Date.now() > deadline) {
        throw new Error(`${what}: no answer from the host in ${timeoutMs} ms (is test/vm/screendump-host.js running?)`);
      }
      await sleep(5);
    }
    const answer = JSON.parse(readFileSync(reply, 'utf8')) as Record<string, unknown> & { ok: boolean; error?: string };
    if (!answer.ok) throw new Error(`${what}: ${answer.error ?? 'failed'}`);
    return answer;
  } finally {
    rmSync(join(dir, `${name}.req`), { force: true });
    rmSync(reply, { force: true });
  }
}

/** Asks qemu (through the harness) for what `display` shows now. */
export async function screendump(display: DisplayRef, options: ScreendumpOptions = {}): Promise<Screendump> {
  const answer = await ask({ ...display, ...(options.head === undefined ? {} : { head: options.head }) }, `screendump of ${JSON.stringify(display)}`, options.timeoutMs);
  const file = join(process.env.BUFSHARE_VM_SCREENDUMP!, answer.file as string);
  try {
    const image = parsePpm(readFileSync(file));
    return { device: answer.device as string, ...image };
  } finally {
    rmSync(file, { force: true });
  }
}

/** QMP's InputEvent (qapi/ui.json), as input-send-event takes it. */
export type QmpInputEvent =
  | { readonly type: 'key'; readonly data: { readonly down: boolean; readonly key: { readonly type: 'qcode'; readonly data: string } } }
  | { readonly type: 'btn'; readonly data: { readonly down: boolean; readonly button: 'left' | 'middle' | 'right' | 'wheel-up' | 'wheel-down' | 'side' | 'extra' } }
  | { readonly type: 'rel' | 'abs'; readonly data: { readonly axis: 'x' | 'y'; readonly value: number } };

/**
 * Injects input into the VM's virtio input devices (run.sh --input) with QMP
 * input-send-event, at most 64 events at once. Resolves when qemu took them.
 * `pollAfter`: look for the host's reply only once it resolves (a latency
 * measurement waits for the input first: the polling's 9p walks block the loop).
 */
export async function injectInput(events: readonly QmpInputEvent[], pollAfter?: Promise<unknown>): Promise<void> {
  await ask({ input: events }, 'input-send-event', 30000, pollAfter);
}

/** Key down and up events for each qcode ("a", "shift", "ret", "spc", "1"). */
export function keyTaps(qcodes: readonly string[]): QmpInputEvent[] {
  return qcodes.flatMap((q) => [true, false].map((down) => ({ type: 'key' as const, data: { down, key: { type: 'qcode' as const, data: q } } })));
}

/** Adds (device_add, on the harness' free root port) or removes (device_del) a virtio input device. */
export async function hotplugInput(action: 'add' | 'del', id: string, driver?: 'virtio-keyboard-pci' | 'virtio-mouse-pci' | 'virtio-tablet-pci'): Promise<void> {
  await ask(action === 'add' ? { hotplug: 'add', id, driver } : { hotplug: 'del', id }, `hotplug ${action} ${id}`);
}
