/**
 * Input devices on real kernels (issue 21, "No input on the display machine"):
 * qemu's virtio keyboard, mouse and tablet (test/vm/run.sh --input), fed by QMP
 * input-send-event from the host (test/vm/screendump-host.js), read by
 * lib/input through the addon's evdev reader.
 *
 * - the three devices are found and classified from their capabilities;
 * - a grab (EVIOCGRAB) keeps every event from a second reader of the node, which
 *   gets them again once ungrabbed; a second grab is EBUSY; pause() releases held
 *   keys and the grabs and discards input, resume() grabs again;
 * - a keyboard hotplugged while running (QMP device_add on a PCIe root port)
 *   is opened and typed on, and its unplug (device_del) removes it;
 * - the demo compositor on the bochs screen (--output kms, input on by
 *   default): keys typed through QMP show in foot, and the screen qemu dumps is
 *   pixel for pixel the screen of a foot that printed the same text itself; a
 *   click on a window under another raises it and gives it the keyboard; a wheel
 *   reaches a Wayland client as wl_pointer.axis; the latency from the guest's
 *   injection request to the client's wl_keyboard.key is measured.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { DrmDevice, listDrmNodes } from '../../lib';
import { EvdevDevice, InputDevices, type InputEvent } from '../../lib/input';
import * as native from '../../lib/native';
import { wl_keyboard, wl_pointer, wl_seat, wl_shm, wl_shm_pool, wl_surface } from '../../lib/wayland/protocol/wayland';
import { RawWaylandClient } from '../helpers/wayland-client';
import { inputLatency } from '../../bench/measurements/input-latency';
import type { BenchContext } from '../../bench/measurement';
import {
  displayOfCard, hotplugInput, injectInput, keyTaps, screendump, screendumpUnavailableReason,
  type DisplayRef, type QmpInputEvent, type Screendump,
} from './support/screendump';

const ROOT = join(__dirname, '..', '..');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

/** event node path by device name, from sysfs. */
function inputNodes(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (!existsSync('/sys/class/input')) return out;
  for (const n of readdirSync('/sys/class/input').filter((x) => /^event\d+$/.test(x))) {
    let name: string;
    try {
      name = readFileSync(`/sys/class/input/${n}/device/name`, 'utf8').trim();
    } catch {
      continue;
    }
    out.set(name, [...(out.get(name) ?? []), `/dev/input/${n}`]);
  }
  return out;
}

const KBD = 'QEMU Virtio Keyboard';
const MOUSE = 'QEMU Virtio Mouse';
const TABLET = 'QEMU Virtio Tablet';

function unavailable(): string | undefined {
  const why = screendumpUnavailableReason();
  if (why) return why;
  const nodes = inputNodes();
  const missing = [KBD, MOUSE, TABLET].filter((n) => !nodes.has(n));
  if (missing.length > 0) return `no ${missing.join(', ')} in /sys/class/input (test/vm/run.sh --input adds them; evdev and virtio_input must load)`;
  return undefined;
}

async function until(what: string, predicate: () => boolean, timeoutMs = 15000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

describe('input devices in the VM (virtio keyboard, mouse, tablet; QMP input)', function () {
  this.timeout(400000);
  const why = unavailable();
  if (why) {
    it.skip(`no injectable input here (${why})`, () => {});
    return;
  }
  const kbdPath = (): string => inputNodes().get(KBD)![0]!;

  it('finds the three virtio devices and classifies them by capabilities; closing closes every fd', async () => {
    const fds = openFds();
    const devices = new InputDevices({ grab: false, hotplug: false }).start();
    try {
      const byName = new Map(devices.devices.map((d) => [d.name, d]));
      expect(byName.get(KBD)?.kind).to.include({ keyboard: true, pointer: undefined, touch: false });
      expect(byName.get(MOUSE)?.kind).to.include({ keyboard: false, pointer: 'relative', wheel: true, touch: false });
      expect(byName.get(TABLET)?.kind).to.include({ keyboard: false, pointer: 'absolute', wheel: true, touch: false });
      expect(byName.get(TABLET)!.absInfo[0]).to.include({ minimum: 0, maximum: 32767 });
      expect(byName.get(KBD)!.path).to.equal(kbdPath());
      console.log(`      found: ${devices.devices.map((d) => `${d.path} "${d.name}"`).join(', ')}`);
    } finally {
      devices.close();
    }
    expect(openFds()).to.equal(fds);
  });

  it('QMP keys, buttons, motion and wheel arrive as normalised events, with kernel times', async () => {
    const devices = new InputDevices({ hotplug: false }).start();
    const got: [InputEvent, string][] = [];
    devices.on('input', (e, d) => got.push([e, d.name]));
    try {
      await injectInput([
        ...keyTaps(['shift', 'a']),
        { type: 'abs', data: { axis: 'x', value: 32767 } }, { type: 'abs', data: { axis: 'y', value: 0 } },
        { type: 'rel', data: { axis: 'x', value: 40 } },
        { type: 'btn', data: { down: true, button: 'right' } }, { type: 'btn', data: { down: false, button: 'right' } },
        { type: 'btn', data: { down: true, button: 'wheel-down' } }, { type: 'btn', data: { down: false, button: 'wheel-down' } },
      ]);
      await until('the wheel', () => got.some(([e]) => e.type === 'axis'));
      const keys = got.filter(([e]) => e.type === 'key').map(([e, n]) => [n, (e as { key: number }).key, (e as { pressed: boolean }).pressed]);
      expect(keys).to.deep.equal([[KBD, 42, true], [KBD, 42, false], [KBD, 30, true], [KBD, 30, false]]);
      expect(got.find(([e]) => e.type === 'position')![1]).to.equal(TABLET);
      expect(got.find(([e]) => e.type === 'position')![0]).to.include({ x: 1, y: 0 });
      const motion = got.find(([e]) => e.type === 'motion');
      expect(motion?.[1]).to.equal(MOUSE);
      expect(motion?.[0]).to.include({ unaccelX: 40, unaccelY: 0 });
      const buttons = got.filter(([e]) => e.type === 'button').map(([e]) => [(e as { button: number }).button, (e as { pressed: boolean }).pressed]);
      expect(buttons).to.deep.equal([[0x111, true], [0x111, false]]);
      expect(got.find(([e]) => e.type === 'axis')![0]).to.include({ axis: 'vertical', value120: 120 });
      // evdev's times are CLOCK_MONOTONIC (EVIOCSCLOCKID): before now, and recent.
      const t = got[0]![0].time;
      expect(t).to.be.lessThan(nowMs());
      expect(nowMs() - t).to.be.lessThan(10000);
      // The kernel's event time to our 'input' listener (the evdev reader, framing and translation), one key at a time.
      const lag: number[] = [];
      const onKey = (e: InputEvent): void => {
        if (e.type === 'key' && e.pressed) lag.push(nowMs() - e.time);
      };
      devices.on('input', onKey);
      for (let i = 0; i < 10; i++) {
        const arrived = until('b', () => lag.length > i);
        await injectInput(keyTaps(['b']), arrived);
      }
      lag.sort((a, b) => a - b);
      console.log(`      evdev event time -> InputDevices 'input' listener: p50 ${lag[5]!.toFixed(2)} ms, max ${lag[9]!.toFixed(2)} ms (10 keys, TCG)`);
    } finally {
      devices.close();
    }
  });

  it('a grab keeps the keys from a second reader of the node (EVIOCGRAB); ungrabbed it gets them; a second grab is EBUSY', async () => {
    const path = kbdPath();
    const dev = EvdevDevice.open(path);
    const mine: number[] = [];
    dev.on('input', (e) => {
      if (e.type === 'key') mine.push(e.key);
    });
    const rawFd = native.evdevOpen(path);
    const theirs: number[] = [];
    const raw = native.openEvdevReader(rawFd, (events) => {
      for (let i = 0; events !== null && i < events.length; i += 5) if (events[i + 2] === 1) theirs.push(events[i + 3]!);
    });
    try {
      dev.grab();
      dev.start();
      raw.start();
      expect(() => native.evdevGrab(rawFd, true)).to.throw().with.property('errno', 'EBUSY');
      await injectInput(keyTaps(['x']));
      await until('the grabbing reader\'s x', () => mine.filter((k) => k === 45).length === 2);
      await sleep(500); // the other reader would have had it by now
      expect(theirs, 'keys the second reader got while grabbed').to.deep.equal([]);
      dev.ungrab();
      await injectInput(keyTaps(['y']));
      await until('the second reader\'s y', () => theirs.filter((k) => k === 21).length === 2);
      await until('the first reader\'s y', () => mine.filter((k) => k === 21).length === 2);
    } finally {
      raw.stop();
      native.closeFd(rawFd);
      dev.close();
    }
  });

  it('pause() releases held keys and the grabs (a second reader gets the keys, we none); resume() grabs again', async () => {
    const devices = new InputDevices({ hotplug: false }).start();
    const mine: [number, boolean][] = [];
    devices.on('input', (e) => {
      if (e.type === 'key') mine.push([e.key, e.pressed]);
    });
    const rawFd = native.evdevOpen(kbdPath());
    const theirs: number[] = [];
    const raw = native.openEvdevReader(rawFd, (events) => {
      for (let i = 0; events !== null && i < events.length; i += 5) if (events[i + 2] === 1 && events[i + 4] === 1) theirs.push(events[i + 3]!);
    });
    raw.start();
    try {
      expect(devices.devices.find((d) => d.name === KBD)?.isGrabbed).to.equal(true);
      // Shift held when the session goes: it is released (as an event) at the pause.
      await injectInput([{ type: 'key', data: { down: true, key: { type: 'qcode', data: 'shift' } } }]);
      await until('shift down', () => mine.some(([k, p]) => k === 42 && p));
      devices.pause();
      expect(mine).to.deep.equal([[42, true], [42, false]]);
      expect(devices.devices.every((d) => !d.isGrabbed)).to.equal(true);
      await injectInput([{ type: 'key', data: { down: false, key: { type: 'qcode', data: 'shift' } } }, ...keyTaps(['p'])]);
      await until('the second reader\'s p', () => theirs.includes(25));
      await sleep(300);
      expect(mine, 'nothing while paused').to.deep.equal([[42, true], [42, false]]);
      devices.resume();
      expect(devices.devices.find((d) => d.name === KBD)?.isGrabbed).to.equal(true);
      await injectInput(keyTaps(['r']));
      await until('r', () => mine.some(([k]) => k === 19));
      await sleep(300);
      expect(theirs.includes(19), 'the second reader got r while grabbed again').to.equal(false);
    } finally {
      raw.stop();
      native.closeFd(rawFd);
      devices.close();
    }
  });

  it('the bench row input.key.latency runs (quick, in this process): QMP key -> evdev -> wl_keyboard.key', async () => {
    const ctx = { quick: true, runs: 1, machine: {}, log: () => {} } as unknown as BenchContext;
    const [row] = await inputLatency.run(ctx);
    expect(row?.status, row?.reason).to.equal('reported');
    const d = row!.details as Record<string, number>;
    expect(d.evdevToClientP50Ms).to.be.greaterThan(0);
    expect(d.requestToClientP50Ms).to.be.greaterThan(d.evdevToClientP50Ms!);
    console.log(`      ${row!.reason}`);
  });

  describe('the demo compositor on the bochs screen (--output kms: input on by default)', () => {
    let demo: ChildProcess | undefined;
    const lines: string[] = [];
    let display: DisplayRef;
    let wayland = '';
    const children: ChildProcess[] = [];
    let width = 0;
    let height = 0;

    function bochsCard(): string | undefined {
      for (const n of listDrmNodes().filter((x) => x.type === 'card')) {
        const d = DrmDevice.open(n.path);
        try {
          if (d.driver.name === 'bochs-drm') return n.path;
        } finally {
          d.unref();
        }
      }
      return undefined;
    }

    const waitLine = (re: RegExp, timeoutMs = 180000): Promise<RegExpExecArray> => until(`${re}`, () => lines.some((l) => re.test(l)), timeoutMs)
      .then(() => re.exec(lines.find((l) => re.test(l))!)!, (e: Error) => { throw new Error(`${e.message}; demo output:\n${lines.join('\n')}`); });

    before(async function () {
      const card = bochsCard();
      if (!card || !existsSync('/usr/bin/foot')) this.skip();
      display = displayOfCard(card!)!;
      const name = `wayland-input-${process.pid}`;
      demo = spawn(process.execPath, ['--require', 'tsx/cjs', join(ROOT, 'demos', 'compositor.ts'), '--output', `kms:${card}`, '--wayland', name, '--port', '0', '--placement', 'cascade'], {
        cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'],
      });
      createInterface({ input: demo.stdout! }).on('line', (l) => lines.push(l));
      createInterface({ input: demo.stderr! }).on('line', (l) => lines.push(`stderr: ${l}`));
      const kms = await waitLine(/^kms: .* (\d+)x(\d+)@/);
      width = Number(kms[1]);
      height = Number(kms[2]);
      wayland = (await waitLine(/^wayland: WAYLAND_DISPLAY=(\S+)/))[1]!;
      await waitLine(/^input: \d+ devices/);
      expect(lines.filter((l) => /^input: .*QEMU Virtio/.test(l)).length).to.equal(3);
      expect(lines.filter((l) => /^input: .*QEMU Virtio Keyboard.*grabbed$/.test(l)).length).to.equal(1);
    });

    after(async () => {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
      if (demo && demo.exitCode === null) {
        demo.kill('SIGTERM');
        await new Promise((r) => demo!.once('exit', r));
      }
    });

    function foot(args: string[], shell: string): ChildProcess {
      const c = spawn('foot', ['-o', 'csd.preferred=none', '-o', 'cursor.blink=no', ...args, 'sh', '-c', shell], {
        stdio: 'ignore', env: { ...process.env, WAYLAND_DISPLAY: wayland },
      });
      children.push(c);
      return c;
    }

    async function stop(c: ChildProcess): Promise<void> {
      if (c.exitCode === null && c.signalCode === null) {
        c.kill('SIGTERM');
        await new Promise((r) => c.once('exit', r));
      }
      await waitLine(new RegExp(`^wayland client ${c.pid} left`));
    }

    /** Screendumps until two in a row are the same (foot has drawn, the flips are done). */
    async function steady(): Promise<Screendump> {
      let last = await screendump(display);
      for (let i = 0; i < 60; i++) {
        await sleep(300);
        const next = await screendump(display);
        if (Buffer.compare(Buffer.from(next.rgb), Buffer.from(last.rgb)) === 0) return next;
        last = next;
      }
      throw new Error('the screen did not settle in 60 screendumps');
    }

    /** Screendumps until the screen differs from `from` (up to 20 s), then until it settles. */
    async function changed(from: Screendump): Promise<Screendump> {
      const end = Date.now() + 20000;
      while (Date.now() < end) {
        const next = await screendump(display);
        if (Buffer.compare(Buffer.from(next.rgb), Buffer.from(from.rgb)) !== 0) return steady();
        await sleep(200);
      }
      return from;
    }

    const px = (s: Screendump, x: number, y: number): number => (s.rgb[(y * s.width + x) * 3]! << 16) | (s.rgb[(y * s.width + x) * 3 + 1]! << 8) | s.rgb[(y * s.width + x) * 3 + 2]!;

    /** Bounding box of the pixels of colour `rgb`. */
    function box(s: Screendump, rgb: number): { x0: number; y0: number; x1: number; y1: number; n: number } {
      let x0 = s.width, y0 = s.height, x1 = -1, y1 = -1, n = 0;
      for (let y = 0; y < s.height; y++) for (let x = 0; x < s.width; x++) {
        if (px(s, x, y) !== rgb) continue;
        n++;
        x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x); y1 = Math.max(y1, y);
      }
      return { x0, y0, x1, y1, n };
    }

    /** Bounding box of the pixels that differ, outside `skip` (the pointer's image, which its client may change). */
    function diff(a: Screendump, b: Screendump, skip?: { x: number; y: number; size: number }): { x0: number; y0: number; x1: number; y1: number; n: number } {
      let x0 = a.width, y0 = a.height, x1 = -1, y1 = -1, n = 0;
      for (let y = 0; y < a.height; y++) for (let x = 0; x < a.width; x++) {
        if (px(a, x, y) === px(b, x, y)) continue;
        if (skip && x >= skip.x - skip.size && x < skip.x + skip.size && y >= skip.y - skip.size && y < skip.y + skip.size) continue;
        n++;
        x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x); y1 = Math.max(y1, y);
      }
      return { x0, y0, x1, y1, n };
    }

    const HIDE_CURSOR = "printf '\\033[?25l'";
    const BG = 0x203040;

    it('keys typed through QMP show in foot: the screen is pixel for pixel that of a foot that printed the text itself', async () => {
      const typed = foot(['-o', `colors.background=${BG.toString(16).padStart(6, '0')}`], `${HIDE_CURSOR}; exec sleep 600`);
      await waitLine(new RegExp(`^wayland client ${typed.pid}: window`));
      const before = await steady();
      const win = box(before, BG);
      expect(win.n, 'foot\'s background on the screen').to.be.greaterThan(10000);
      // h e l l o, then Shift+1: "hello!" (the modifier goes through the seat's xkb state to foot).
      await injectInput([...keyTaps(['h', 'e', 'l', 'l', 'o']), ...[true].flatMap(() => [
        { type: 'key', data: { down: true, key: { type: 'qcode', data: 'shift' } } },
        { type: 'key', data: { down: true, key: { type: 'qcode', data: '1' } } },
        { type: 'key', data: { down: false, key: { type: 'qcode', data: '1' } } },
        { type: 'key', data: { down: false, key: { type: 'qcode', data: 'shift' } } },
      ] as QmpInputEvent[])]);
      const after = await changed(before);
      const d = diff(before, after);
      expect(d.n, 'pixels the typing changed').to.be.greaterThan(50);
      // Only in foot's window, in its first text row.
      expect(d.x0).to.be.at.least(win.x0);
      expect(d.x1).to.be.at.most(win.x1);
      expect(d.y0).to.be.at.least(win.y0);
      expect(d.y1 - win.y0, 'the changes stay in the first row').to.be.lessThan(40);
      await stop(typed);

      const printed = foot(['-o', `colors.background=${BG.toString(16).padStart(6, '0')}`], `${HIDE_CURSOR}; printf 'hello!'; exec sleep 600`);
      await waitLine(new RegExp(`^wayland client ${printed.pid}: window`));
      const reference = await steady();
      const r = diff(after, reference);
      expect(r.n, `pixels that differ from foot's own "hello!" (box ${JSON.stringify(r)})`).to.equal(0);
      await stop(printed);
    });

    it('a click on a window under another raises it and gives it the keyboard', async () => {
      const A = 0x803020;
      const B = 0x208030;
      const a = foot(['-o', `colors.background=${A.toString(16)}`], `${HIDE_CURSOR}; exec sleep 600`);
      await waitLine(new RegExp(`^wayland client ${a.pid}: window`));
      const b = foot(['-o', `colors.background=${B.toString(16)}`], `${HIDE_CURSOR}; exec sleep 600`);
      await waitLine(new RegExp(`^wayland client ${b.pid}: window`));
      const s1 = await steady();
      const boxA = box(s1, A);
      const boxB = box(s1, B);
      // Cascade: B is below and right of A, over A's lower right part.
      expect(boxB.x0).to.be.greaterThan(boxA.x0);
      expect(boxB.y0).to.be.greaterThan(boxA.y0);
      const overlap = { x0: boxB.x0, y0: boxB.y0, x1: Math.min(boxA.x1, boxB.x1), y1: Math.min(boxA.y1, boxB.y1) };
      const share = (s: Screendump, rgb: number): number => {
        let n = 0;
        let all = 0;
        for (let y = overlap.y0 + 40; y <= overlap.y1; y++) for (let x = overlap.x0; x <= overlap.x1; x++, all++) if (px(s, x, y) === rgb) n++;
        return n / all;
      };
      expect(share(s1, B), 'B covers the overlap').to.be.greaterThan(0.95);
      // Click on A's visible part (left of B and of B's title bar), through the tablet: its range spans the output.
      const cx = boxA.x0 + 5;
      const cy = (boxA.y0 + boxA.y1) >> 1;
      expect(px(s1, cx, cy)).to.equal(A);
      const abs = (v: number, size: number): number => Math.round((v / (size - 1)) * 32767);
      await injectInput([
        { type: 'abs', data: { axis: 'x', value: abs(cx, width) } }, { type: 'abs', data: { axis: 'y', value: abs(cy, height) } },
        { type: 'btn', data: { down: true, button: 'left' } },
      ]);
      await injectInput([{ type: 'btn', data: { down: false, button: 'left' } }]);
      const s2 = await changed(s1);
      expect(share(s2, A), 'A is raised over B').to.be.greaterThan(0.95);
      // The keyboard went with the click: typing shows in A's first row, nothing in B.
      await injectInput(keyTaps(['z', 'z', 'z']));
      const s3 = await changed(s2);
      // foot sets its pointer image when the pointer enters it: the 64 px around the pointer are left out.
      const d = diff(s2, s3, { x: cx, y: cy, size: 64 });
      expect(d.n).to.be.greaterThan(20);
      expect(d.y0).to.be.at.least(boxA.y0);
      expect(d.y1 - boxA.y0).to.be.lessThan(40);
      expect(d.x1).to.be.lessThan(boxB.x0 + 200);
      expect(box(s3, B)).to.deep.equal(box(s2, B));
      await stop(b);
      await stop(a);
    });

    it('a wheel reaches the client under the pointer as wl_pointer.axis; keys reach wl_keyboard.key (latency measured)', async () => {
      const c = new RawWaylandClient(wayland.startsWith('/') ? wayland : join(process.env.XDG_RUNTIME_DIR ?? '/run/user/0', wayland));
      c.defaultTimeoutMs = 30000; // TCG, and the machine shared
      const W = 240;
      const H = 160;
      const COLOR = 0x3355aa;
      const fd = native.memfdCreate('input-test', W * H * 4, 0);
      try {
        const registry = await c.registry();
        const { surface } = await c.configuredToplevel(registry);
        const pixels = new Uint32Array(native.mmapFd(fd, W * H * 4, 0, native.PROT_READ | native.PROT_WRITE));
        pixels.fill(0xff000000 | COLOR);
        native.unmapBuffer(pixels.buffer as ArrayBuffer);
        const shm = c.bind(registry, wl_shm);
        const pool = c.newId(wl_shm_pool);
        c.request(shm, wl_shm, 'create_pool', [pool, fd, W * H * 4]);
        const buffer = c.newId(RawWaylandClient.interface('wl_buffer'));
        c.request(pool, wl_shm_pool, 'create_buffer', [buffer, 0, W, H, W * 4, 1]);
        c.request(surface, wl_surface, 'attach', [buffer, 0, 0]);
        c.request(surface, wl_surface, 'commit', []);
        const seat = c.bind(registry, wl_seat);
        const pointer = c.newId(wl_pointer);
        c.request(seat, wl_seat, 'get_pointer', [pointer]);
        const keyboard = c.newId(wl_keyboard);
        c.request(seat, wl_seat, 'get_keyboard', [keyboard]);
        await c.roundtrip();
        const shot = await steady();
        const win = box(shot, COLOR);
        expect(win.n, 'the client\'s window on the screen').to.equal(W * H);
        const abs = (v: number, size: number): number => Math.round((v / (size - 1)) * 32767);
        await injectInput([{ type: 'abs', data: { axis: 'x', value: abs(win.x0 + 100, width) } }, { type: 'abs', data: { axis: 'y', value: abs(win.y0 + 50, height) } }]);
        await c.until(() => c.events.some((e) => e.objectId === pointer && e.name === 'enter'), 10000);
        const enter = c.events.find((e) => e.objectId === pointer && e.name === 'enter')!;
        // The tablet's 0..32767 maps onto the output: a fraction of a pixel off, as the scaling rounds.
        expect(enter.args[2] as number).to.be.closeTo(100, 0.5);
        expect(enter.args[3] as number).to.be.closeTo(50, 0.5);
        await injectInput([{ type: 'btn', data: { down: true, button: 'wheel-down' } }, { type: 'btn', data: { down: false, button: 'wheel-down' } }]);
        await injectInput([{ type: 'btn', data: { down: true, button: 'wheel-up' } }, { type: 'btn', data: { down: false, button: 'wheel-up' } }]);
        await c.until(() => c.events.filter((e) => e.objectId === pointer && e.name === 'axis').length === 2, 10000);
        const axes = c.events.filter((e) => e.objectId === pointer && e.name === 'axis').map((e) => [e.args[1], e.args[2]]);
        expect(axes, 'vertical axis, 15 px a detent, down then up').to.deep.equal([[0, 15], [0, -15]]);

        // wl_keyboard.key latency: from the guest's request to the host to the key at the client.
        const keysAt = (): number => c.events.filter((e) => e.objectId === keyboard && e.name === 'key').length;
        const endToEnd: number[] = [];
        for (let i = 0; i < 15; i++) {
          const n = keysAt();
          const t0 = nowMs();
          const arrived = c.until(() => keysAt() > n, 10000).then(() => nowMs());
          await injectInput(keyTaps(['a']), arrived);
          endToEnd.push((await arrived) - t0);
          await c.until(() => keysAt() >= n + 2, 10000);
          await sleep(50);
        }
        const p50 = (v: number[]): number => [...v].sort((x, y) => x - y)[v.length >> 1]!;
        const keyEvents = c.events.filter((e) => e.objectId === keyboard && e.name === 'key');
        expect(keyEvents.slice(0, 2).map((e) => [e.args[2], e.args[3]])).to.deep.equal([[30, 1], [30, 0]]);
        console.log(`      QMP key -> a raw Wayland client's wl_keyboard.key through the demo compositor: p50 ${p50(endToEnd).toFixed(1)} ms from the guest's request, ${endToEnd.length} keys`);
      } finally {
        c.close();
        native.closeFd(fd);
      }
    });
  });

  // Last (mocha runs a suite's own tests before its child suites, so this is one): after a
  // hotplugged keyboard goes, qemu may send keys to another handler (the i8042 keyboard).
  describe('hotplug', () => {
    it('a keyboard hotplugged while running (QMP device_add) is opened and typed on; device_del removes it', async () => {
      const devices = new InputDevices().start();
      const before = new Set(devices.devices.map((d) => d.path));
      const added: EvdevDevice[] = [];
      const removed: [string, string][] = [];
      const keys: [string, number][] = [];
      devices.on('added', (d) => added.push(d));
      devices.on('removed', (d, reason) => removed.push([d.path, reason]));
      devices.on('input', (e, d) => {
        if (e.type === 'key' && e.pressed) keys.push([d.path, e.key]);
      });
      const id = `hpkbd${process.pid}`;
      let plugged = false;
      try {
        await hotplugInput('add', id, 'virtio-keyboard-pci');
        plugged = true;
        await until('the hotplugged keyboard', () => added.length > 0, 30000);
        const d = added[0]!;
        expect(before.has(d.path)).to.equal(false);
        expect(d.name).to.equal(KBD);
        expect(d.kind.keyboard).to.equal(true);
        expect(d.isGrabbed).to.equal(true);
        // qemu sends keys to the input handler activated last: the new keyboard.
        await injectInput(keyTaps(['k']));
        await until('k', () => keys.some(([, k]) => k === 37));
        expect(keys.filter(([, k]) => k === 37)).to.deep.equal([[d.path, 37]]);
        await hotplugInput('del', id);
        plugged = false;
        await until('the unplug', () => removed.some(([p]) => p === d.path), 30000);
        expect(removed).to.deep.equal([[d.path, 'unplugged']]);
        expect(d.closed).to.equal(true);
      } finally {
        if (plugged) await hotplugInput('del', id).catch(() => {});
        devices.close();
      }
    });
  });
});
