/**
 * lib/input without devices: classification from capability bitmaps (as the
 * kernel reports qemu's virtio and real devices), evdev framing, SYN_DROPPED
 * recovery against a device state read back, wheel units, touch, pointer
 * acceleration curves and the compositor's key repeat on a fake clock. The
 * VM suite (test/drivers/input.test.ts) runs the same code on real devices.
 */
import { expect } from 'chai';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  adaptiveFactor, EvdevDevice, InputDevices, attachInput, classify, flatFactor, KeyRepeat, PointerAccel, EvdevTranslator,
  type DeviceBitmaps, type DeviceClass, type InputEvent, type RepeatClock,
} from '../../lib/input';
import * as c from '../../lib/input/codes';
import { EventEmitter } from 'eventemitter3';

function bits(size: number, set: readonly number[]): Uint8Array {
  const b = new Uint8Array(Math.ceil((size + 1) / 8));
  for (const n of set) b[n >> 3]! |= 1 << (n & 7);
  return b;
}

const range = (a: number, b: number): number[] => [...Array(b - a + 1).keys()].map((i) => a + i);

function device(o: { props?: number[]; ev: number[]; key?: number[]; rel?: number[]; abs?: number[] }): DeviceBitmaps {
  return {
    props: bits(c.INPUT_PROP_MAX, o.props ?? []),
    ev: bits(c.EV_MAX, o.ev),
    key: bits(c.KEY_MAX, o.key ?? []),
    rel: bits(c.REL_MAX, o.rel ?? []),
    abs: bits(c.ABS_MAX, o.abs ?? []),
  };
}

// What qemu's virtio-input devices report (hw/input/virtio-input-hid.c: keyboard all keys, mouse REL_X/Y + wheel, tablet ABS_X/Y + wheel).
const VIRTIO_KEYBOARD = device({ ev: [c.EV_SYN, c.EV_KEY, 0x11 /* EV_LED */, 0x14 /* EV_REP */], key: range(1, 248) });
const VIRTIO_MOUSE = device({ ev: [c.EV_SYN, c.EV_KEY, c.EV_REL], key: range(c.BTN_LEFT, c.BTN_EXTRA), rel: [c.REL_X, c.REL_Y, c.REL_WHEEL] });
const VIRTIO_TABLET = device({ ev: [c.EV_SYN, c.EV_KEY, c.EV_REL, c.EV_ABS], key: range(c.BTN_LEFT, c.BTN_EXTRA), rel: [c.REL_WHEEL], abs: [c.ABS_X, c.ABS_Y] });
const HIRES_MOUSE = device({ ev: [c.EV_SYN, c.EV_KEY, c.EV_REL], key: [c.BTN_LEFT, c.BTN_RIGHT, c.BTN_MIDDLE], rel: [c.REL_X, c.REL_Y, c.REL_WHEEL, c.REL_WHEEL_HI_RES, c.REL_HWHEEL, c.REL_HWHEEL_HI_RES] });
const TOUCHSCREEN = device({ props: [c.INPUT_PROP_DIRECT], ev: [c.EV_SYN, c.EV_KEY, c.EV_ABS], key: [c.BTN_TOUCH], abs: [c.ABS_X, c.ABS_Y, c.ABS_MT_SLOT, c.ABS_MT_POSITION_X, c.ABS_MT_POSITION_Y, c.ABS_MT_TRACKING_ID] });
const TOUCHPAD = device({ props: [c.INPUT_PROP_POINTER, c.INPUT_PROP_BUTTONPAD], ev: [c.EV_SYN, c.EV_KEY, c.EV_ABS], key: [c.BTN_LEFT, c.BTN_TOOL_FINGER, c.BTN_TOUCH], abs: [c.ABS_X, c.ABS_Y, c.ABS_MT_SLOT, c.ABS_MT_POSITION_X, c.ABS_MT_POSITION_Y, c.ABS_MT_TRACKING_ID] });
const POWER_BUTTON = device({ ev: [c.EV_SYN, c.EV_KEY], key: [116] });
const GAMEPAD = device({ ev: [c.EV_SYN, c.EV_KEY, c.EV_ABS], key: range(c.BTN_GAMEPAD, c.BTN_GAMEPAD + 10), abs: [c.ABS_X, c.ABS_Y] });

const ABS_0_32767 = { value: 0, minimum: 0, maximum: 32767, fuzz: 0, flat: 0, resolution: 0 };

/** Raw events at time t ms: [type, code, value] triples, closed by SYN_REPORT unless open. */
function frame(t: number, triples: [number, number, number][], open = false): number[] {
  const out: number[] = [];
  const sec = Math.floor(t / 1000);
  const usec = Math.round((t - sec * 1000) * 1000);
  for (const [type, code, value] of triples) out.push(sec, usec, type, code, value);
  if (!open) out.push(sec, usec, c.EV_SYN, c.SYN_REPORT, 0);
  return out;
}

function translator(kind: DeviceClass, state: { keys?: number[]; abs?: Record<number, number> } = {}, absInfo: Record<number, typeof ABS_0_32767> = {}): { t: EvdevTranslator; out: InputEvent[]; reads: { n: number } } {
  const out: InputEvent[] = [];
  const reads = { n: 0 };
  const t = new EvdevTranslator(kind, absInfo, undefined, {
    keyState: () => {
      reads.n++;
      return bits(c.KEY_MAX, state.keys ?? []);
    },
    absValue: (code) => state.abs?.[code] ?? 0,
  }, (e) => out.push(e));
  return { t, out, reads };
}

const strip = (events: InputEvent[]): unknown[] => events.map(({ time: _t, ...rest }) => rest);

describe('input: classification from capability bitmaps', () => {
  it('qemu virtio keyboard, mouse and tablet', () => {
    expect(classify(VIRTIO_KEYBOARD)).to.include({ keyboard: true, pointer: undefined, touch: false, ignored: undefined });
    expect(classify(VIRTIO_MOUSE)).to.include({ keyboard: false, pointer: 'relative', wheel: true, hiResWheel: false });
    expect(classify(VIRTIO_TABLET)).to.include({ keyboard: false, pointer: 'absolute', wheel: true, touch: false });
  });

  it('a hi-res wheel mouse, a touch screen; touchpads, power buttons and gamepads are not driven', () => {
    expect(classify(HIRES_MOUSE)).to.include({ pointer: 'relative', wheel: true, hiResWheel: true });
    expect(classify(TOUCHSCREEN)).to.include({ touch: true, pointer: undefined, keyboard: false });
    const pad = classify(TOUCHPAD);
    expect(pad.pointer).to.equal(undefined);
    expect(pad.ignored).to.match(/touchpad/);
    expect(classify(POWER_BUTTON)).to.include({ keyboard: false, pointer: undefined, touch: false });
    expect(classify(POWER_BUTTON).ignored).to.be.a('string');
    expect(classify(GAMEPAD).ignored).to.match(/joystick|gamepad/);
  });

  it('a keyboard missing letters is no keyboard; a device with keys and a mouse is both', () => {
    expect(classify(device({ ev: [c.EV_KEY], key: range(1, 40) })).keyboard).to.equal(false); // stops before KEY_Z..KEY_M
    const combo = classify(device({ ev: [c.EV_KEY, c.EV_REL], key: [...range(1, 88), c.BTN_LEFT], rel: [c.REL_X, c.REL_Y] }));
    expect(combo).to.include({ keyboard: true, pointer: 'relative' });
  });

  it('bits of an event type the device does not report do not count', () => {
    // EV_REL missing from the event types: REL_X/Y bits are meaningless.
    expect(classify(device({ ev: [c.EV_KEY], key: [c.BTN_LEFT], rel: [c.REL_X, c.REL_Y] })).pointer).to.equal(undefined);
  });
});

describe('input: evdev frames', () => {
  it('applies a frame at SYN_REPORT, not before; autorepeat (value 2) is not passed on', () => {
    const { t, out } = translator(classify(VIRTIO_KEYBOARD));
    t.feed(frame(10, [[c.EV_KEY, 30, 1]], true));
    expect(out).to.deep.equal([]);
    t.feed(frame(10, []));
    t.feed(frame(20, [[c.EV_KEY, 30, 2]]));
    t.feed(frame(30, [[c.EV_KEY, 30, 0]]));
    expect(strip(out)).to.deep.equal([{ type: 'key', key: 30, pressed: true }, { type: 'key', key: 30, pressed: false }]);
    expect(out[0]!.time).to.equal(10);
  });

  it('relative motion sums over a frame; the button of the same frame comes after it (the click is where the pointer went)', () => {
    const { t, out } = translator(classify(VIRTIO_MOUSE));
    t.feed(frame(5, [[c.EV_KEY, c.BTN_LEFT, 1], [c.EV_REL, c.REL_X, 3], [c.EV_REL, c.REL_Y, -2], [c.EV_REL, c.REL_X, 4]]));
    expect(strip(out)).to.deep.equal([
      { type: 'motion', dx: 7, dy: -2, unaccelX: 7, unaccelY: -2 },
      { type: 'button', button: c.BTN_LEFT, pressed: true },
    ]);
  });

  it('a tablet\'s position and button in one frame: the position first', () => {
    const { t, out } = translator(classify(VIRTIO_TABLET), {}, { [c.ABS_X]: ABS_0_32767, [c.ABS_Y]: ABS_0_32767 });
    t.feed(frame(5, [[c.EV_ABS, c.ABS_X, 0], [c.EV_ABS, c.ABS_Y, 32767], [c.EV_KEY, c.BTN_LEFT, 1]]));
    expect(strip(out)).to.deep.equal([{ type: 'position', x: 0, y: 1 }, { type: 'button', button: c.BTN_LEFT, pressed: true }]);
  });

  it('absolute positions are normalised over the axis range', () => {
    const { t, out } = translator(classify(VIRTIO_TABLET), {}, { [c.ABS_X]: ABS_0_32767, [c.ABS_Y]: ABS_0_32767 });
    t.feed(frame(1, [[c.EV_ABS, c.ABS_X, 32767], [c.EV_ABS, c.ABS_Y, 0]]));
    t.feed(frame(2, [[c.EV_ABS, c.ABS_Y, 16383.5 * 2]]));
    expect(strip(out)).to.deep.equal([{ type: 'position', x: 1, y: 0 }, { type: 'position', x: 1, y: 1 }]);
  });

  it('wheels: a detent is 120, down is positive; a hi-res wheel counts its hi-res events only', () => {
    const low = translator(classify(VIRTIO_MOUSE));
    low.t.feed(frame(1, [[c.EV_REL, c.REL_WHEEL, -1]]));
    expect(strip(low.out)).to.deep.equal([{ type: 'axis', axis: 'vertical', value120: 120 }]);
    const hi = translator(classify(HIRES_MOUSE));
    hi.t.feed(frame(1, [[c.EV_REL, c.REL_WHEEL_HI_RES, 30]]));
    hi.t.feed(frame(2, [[c.EV_REL, c.REL_WHEEL_HI_RES, 90], [c.EV_REL, c.REL_WHEEL, 1], [c.EV_REL, c.REL_HWHEEL_HI_RES, -120], [c.EV_REL, c.REL_HWHEEL, -1]]));
    expect(strip(hi.out)).to.deep.equal([
      { type: 'axis', axis: 'vertical', value120: -30 },
      { type: 'axis', axis: 'vertical', value120: -90 },
      { type: 'axis', axis: 'horizontal', value120: -120 },
    ]);
  });

  it('multitouch slots become touch down, motion and up', () => {
    const info = { [c.ABS_MT_POSITION_X]: { ...ABS_0_32767, maximum: 1000 }, [c.ABS_MT_POSITION_Y]: { ...ABS_0_32767, maximum: 1000 }, [c.ABS_X]: ABS_0_32767, [c.ABS_Y]: ABS_0_32767 };
    const { t, out } = translator(classify(TOUCHSCREEN), {}, info);
    t.feed(frame(1, [[c.EV_ABS, c.ABS_MT_SLOT, 0], [c.EV_ABS, c.ABS_MT_TRACKING_ID, 7], [c.EV_ABS, c.ABS_MT_POSITION_X, 500], [c.EV_ABS, c.ABS_MT_POSITION_Y, 250], [c.EV_KEY, c.BTN_TOUCH, 1]]));
    t.feed(frame(2, [[c.EV_ABS, c.ABS_MT_SLOT, 1], [c.EV_ABS, c.ABS_MT_TRACKING_ID, 8], [c.EV_ABS, c.ABS_MT_POSITION_X, 100], [c.EV_ABS, c.ABS_MT_POSITION_Y, 100], [c.EV_ABS, c.ABS_MT_SLOT, 0], [c.EV_ABS, c.ABS_MT_POSITION_X, 600]]));
    t.feed(frame(3, [[c.EV_ABS, c.ABS_MT_TRACKING_ID, -1], [c.EV_ABS, c.ABS_MT_SLOT, 1], [c.EV_ABS, c.ABS_MT_TRACKING_ID, -1], [c.EV_KEY, c.BTN_TOUCH, 0]]));
    expect(strip(out)).to.deep.equal([
      { type: 'touch', action: 'down', id: 0, x: 0.5, y: 0.25 }, { type: 'touchFrame' },
      { type: 'touch', action: 'motion', id: 0, x: 0.6, y: 0.25 },
      { type: 'touch', action: 'down', id: 1, x: 0.1, y: 0.1 }, { type: 'touchFrame' },
      { type: 'touch', action: 'up', id: 0, x: 0.6, y: 0.25 },
      { type: 'touch', action: 'up', id: 1, x: 0.1, y: 0.1 }, { type: 'touchFrame' },
    ]);
  });

  it('touches down at a drop or an unplug end, with their slot ids, and a frame', () => {
    const info = { [c.ABS_MT_POSITION_X]: { ...ABS_0_32767, maximum: 1000 }, [c.ABS_MT_POSITION_Y]: { ...ABS_0_32767, maximum: 1000 } };
    const { t, out } = translator(classify(TOUCHSCREEN), {}, info);
    t.feed(frame(1, [[c.EV_ABS, c.ABS_MT_SLOT, 2], [c.EV_ABS, c.ABS_MT_TRACKING_ID, 40], [c.EV_ABS, c.ABS_MT_POSITION_X, 1000], [c.EV_KEY, c.BTN_TOUCH, 1]]));
    t.releaseAll(2);
    t.releaseAll(3);
    expect(strip(out).slice(2)).to.deep.equal([{ type: 'touch', action: 'up', id: 2, x: 1, y: 0 }, { type: 'touchFrame' }]);
  });
});

describe('input: SYN_DROPPED', () => {
  it('drops the events up to the next SYN_REPORT, then reads the key state back: a key released in the gap is released', () => {
    const { t, out, reads } = translator(classify(VIRTIO_KEYBOARD), { keys: [31] });
    t.feed(frame(1, [[c.EV_KEY, 30, 1]]));
    t.feed(frame(2, [[c.EV_KEY, 30, 0]], true)); // half a frame, then the overflow
    t.feed([0, 3000, c.EV_SYN, c.SYN_DROPPED, 0]);
    t.feed(frame(4, [[c.EV_KEY, 31, 1], [c.EV_KEY, 44, 1]])); // part of the lost frame: ignored, state is read instead
    expect(reads.n).to.equal(1);
    expect(t.drops).to.equal(1);
    // 30 is up now (the kernel says so), 31 down; 44's press was in the dropped frame and the kernel shows it up.
    expect(strip(out)).to.deep.equal([
      { type: 'key', key: 30, pressed: true },
      { type: 'key', key: 30, pressed: false },
      { type: 'key', key: 31, pressed: true },
    ]);
    t.feed(frame(5, [[c.EV_KEY, 31, 0]]));
    expect(strip(out).at(-1)).to.deep.equal({ type: 'key', key: 31, pressed: false });
  });

  it('a tablet moved during the drop gets its real position; touches end', () => {
    const { t, out } = translator(classify(VIRTIO_TABLET), { keys: [c.BTN_LEFT], abs: { [c.ABS_X]: 32767, [c.ABS_Y]: 0 } }, { [c.ABS_X]: ABS_0_32767, [c.ABS_Y]: ABS_0_32767 });
    t.feed([0, 0, c.EV_SYN, c.SYN_DROPPED, 0, ...frame(1, [])]);
    expect(strip(out)).to.deep.equal([{ type: 'position', x: 1, y: 0 }, { type: 'button', button: c.BTN_LEFT, pressed: true }]);
  });

  it('releaseAll releases what is held, once', () => {
    const { t, out } = translator(classify(VIRTIO_MOUSE));
    t.feed(frame(1, [[c.EV_KEY, c.BTN_RIGHT, 1], [c.EV_KEY, c.BTN_LEFT, 1]]));
    t.releaseAll(9);
    t.releaseAll(10);
    expect(strip(out).slice(2)).to.deep.equal([{ type: 'button', button: c.BTN_LEFT, pressed: false }, { type: 'button', button: c.BTN_RIGHT, pressed: false }]);
  });
});

describe('input: pointer acceleration', () => {
  it('flat: a constant 1 + speed', () => {
    expect(flatFactor(0)).to.equal(1);
    expect(flatFactor(-0.5)).to.equal(0.5);
    const a = new PointerAccel({ profile: 'flat', speed: 0.5 });
    expect(a.apply(4, -2, 0)).to.deep.equal([6, -3]);
    expect(a.apply(100, 0, 1)).to.deep.equal([150, 0]);
  });

  it('adaptive: 0.3 at rest, 1:1 on the plateau, a linear rise to 2 (3.5 at speed 1)', () => {
    expect(adaptiveFactor(0)).to.be.closeTo(0.3, 1e-9);
    expect(adaptiveFactor(0.035)).to.be.closeTo(0.65, 1e-9);
    expect(adaptiveFactor(0.07)).to.equal(1);
    expect(adaptiveFactor(0.39)).to.equal(1);
    expect(adaptiveFactor(0.9)).to.be.closeTo(1 + 1.1 * 0.5, 1e-9);
    expect(adaptiveFactor(10)).to.equal(2);
    expect(adaptiveFactor(10, 1)).to.equal(3.5);
    expect(adaptiveFactor(10, -1)).to.equal(0.5);
    // Faster speed settings reach acceleration sooner.
    expect(adaptiveFactor(0.3, 0.5)).to.be.greaterThan(1);
    expect(adaptiveFactor(0.3, 0)).to.equal(1);
  });

  it('adaptive on a steady motion: slow moves are slowed, fast ones accelerated, monotonic in speed', () => {
    const run = (perEvent: number): number => {
      const a = new PointerAccel();
      let out = 0;
      for (let i = 0; i < 20; i++) out = a.apply(perEvent, 0, i * 8)[0] / perEvent; // 125 Hz mouse
      return out;
    };
    const slow = run(0.25); // 0.03 u/ms
    const normal = run(2); // 0.25 u/ms
    const fast = run(20); // 2.5 u/ms
    expect(slow).to.be.closeTo(10 * (0.25 / 8) + 0.3, 0.02);
    expect(normal).to.be.closeTo(1, 1e-9);
    expect(fast).to.equal(2);
    expect(new PointerAccel({ dpi: 2000 }).apply(2, 0, 0)[0]).to.be.lessThan(2); // normalised to 1000 dpi: half the speed
  });

  it('refuses an unknown profile', () => {
    expect(() => new PointerAccel({ profile: 'custom' as 'flat' })).to.throw(RangeError);
  });
});

class FakeClock implements RepeatClock {
  now = 0;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private next = 1;
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.next++;
    this.timers.push({ at: this.now + ms, fn, id });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== h);
  }
  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const t = this.timers[0];
      if (!t || t.at > end) break;
      this.timers.shift();
      this.now = t.at;
      t.fn();
    }
    this.now = end;
  }
}

describe('input: key repeat', () => {
  it('repeats the last key after the delay at the rate, until released', () => {
    const clock = new FakeClock();
    const got: [number, number][] = [];
    const r = new KeyRepeat((k) => got.push([k, clock.now]), { rate: 20, delay: 300, clock });
    r.key(30, true);
    clock.advance(299);
    expect(got).to.deep.equal([]);
    clock.advance(1 + 150);
    expect(got).to.deep.equal([[30, 300], [30, 350], [30, 400], [30, 450]]);
    r.key(30, false);
    clock.advance(1000);
    expect(got.length).to.equal(4);
  });

  it('a second key takes over; releasing the first does not stop the second; modifiers never repeat', () => {
    const clock = new FakeClock();
    const got: number[] = [];
    const r = new KeyRepeat((k) => got.push(k), { rate: 10, delay: 100, clock });
    r.key(30, true);
    clock.advance(50);
    r.key(31, true);
    r.key(30, false);
    clock.advance(100);
    expect(got).to.deep.equal([31]);
    r.key(42, true); // Shift: no repeat, and 31 keeps going
    clock.advance(100);
    expect(got).to.deep.equal([31, 31]);
    r.key(31, false);
    r.key(29, true); // Ctrl alone
    clock.advance(1000);
    expect(got).to.deep.equal([31, 31]);
  });

  it('rate 0 is off; out-of-range settings are refused', () => {
    const clock = new FakeClock();
    const got: number[] = [];
    new KeyRepeat((k) => got.push(k), { rate: 0, clock }).key(30, true);
    clock.advance(5000);
    expect(got).to.deep.equal([]);
    expect(() => new KeyRepeat(() => {}, { rate: -1 })).to.throw(RangeError);
    expect(() => new KeyRepeat(() => {}, { delay: 1e9 })).to.throw(RangeError);
  });
});

describe('input: attachInput into a SceneSeat', () => {
  type Call = [string, ...unknown[]];
  function fakeSeat(calls: Call[]) {
    return { pointer: (i: unknown) => calls.push(['pointer', i]), key: (k: number, p: boolean) => calls.push(['key', k, p]), touch: (i: unknown) => calls.push(['touch', i]) };
  }
  const dev = { path: '/dev/input/event9' };

  it('motion is clamped to the area, buttons become DOM masks, a wheel detent is 15 px, keys pass, repeats do not', () => {
    const calls: Call[] = [];
    const devices = new EventEmitter();
    const a = attachInput(fakeSeat(calls) as never, devices as never, { x: 0, y: 0, width: 100, height: 50 });
    expect([a.x, a.y]).to.deep.equal([50, 25]);
    devices.emit('input', { type: 'motion', dx: 500, dy: -3, unaccelX: 0, unaccelY: 0, time: 0 }, dev);
    devices.emit('input', { type: 'button', button: c.BTN_RIGHT, pressed: true, time: 0 }, dev);
    devices.emit('input', { type: 'axis', axis: 'vertical', value120: 240, time: 0 }, dev);
    devices.emit('input', { type: 'button', button: c.BTN_RIGHT, pressed: false, time: 0 }, dev);
    devices.emit('input', { type: 'key', key: 30, pressed: true, time: 0 }, dev);
    devices.emit('repeat', 30);
    expect(calls).to.deep.equal([
      ['pointer', { action: 'move', x: 99, y: 22, buttons: 0, dx: 500, dy: -3 }],
      ['pointer', { action: 'down', x: 99, y: 22, buttons: 2, button: 2 }],
      ['pointer', { action: 'axis', x: 99, y: 22, buttons: 2, axis: 'vertical', value: 30 }],
      ['pointer', { action: 'up', x: 99, y: 22, buttons: 0, button: 2 }],
      ['key', 30, true],
    ]);
  });

  it('a tablet maps onto the area; fingers go to seat.touch with seat-wide ids and frames, and end when their device goes', () => {
    const calls: Call[] = [];
    const devices = new EventEmitter();
    attachInput(fakeSeat(calls) as never, devices as never, { x: 100, y: 0, width: 201, height: 101 });
    const other = { path: '/dev/input/event10' };
    devices.emit('input', { type: 'position', x: 0.5, y: 1, time: 0 }, dev);
    devices.emit('input', { type: 'touch', action: 'down', id: 0, x: 0, y: 0, time: 0 }, dev);
    devices.emit('input', { type: 'touch', action: 'down', id: 0, x: 1, y: 1, time: 0 }, other);
    devices.emit('input', { type: 'touchFrame', time: 0 }, dev);
    devices.emit('input', { type: 'touch', action: 'motion', id: 0, x: 1, y: 0, time: 0 }, dev);
    devices.emit('input', { type: 'touch', action: 'up', id: 0, x: 1, y: 0, time: 0 }, dev);
    devices.emit('input', { type: 'touch', action: 'motion', id: 0, x: 0.5, y: 0.5, time: 0 }, dev); // no such point: nothing
    devices.emit('removed', other);
    expect(calls).to.deep.equal([
      ['pointer', { action: 'move', x: 200, y: 100, buttons: 0 }],
      ['touch', { action: 'down', id: 1, x: 100, y: 0 }],
      ['touch', { action: 'down', id: 2, x: 300, y: 100 }],
      ['touch', { action: 'frame' }],
      ['touch', { action: 'motion', id: 1, x: 300, y: 0 }],
      ['touch', { action: 'up', id: 1 }],
      ['touch', { action: 'up', id: 2 }],
      ['touch', { action: 'frame' }],
    ]);
  });
});

describe('input: devices that are not evdev nodes, directories that are not there', () => {
  const fds = (): number => readdirSync('/proc/self/fd').length;

  it('opening a node that is no evdev device is ERR_BUFSHARE_SYSCALL (ENOTTY from EVIOCGNAME), and its fd is closed', () => {
    const before = fds();
    expect(() => EvdevDevice.open('/dev/null')).to.throw().that.includes({ code: 'ERR_BUFSHARE_SYSCALL', errno: 'ENOTTY' });
    expect(() => EvdevDevice.open('/nonexistent/event0')).to.throw().that.includes({ code: 'ERR_BUFSHARE_SYSCALL', errno: 'ENOENT' });
    expect(fds()).to.equal(before);
  });

  it('an input directory that cannot be read is ERR_BUFSHARE_NOT_AVAILABLE', () => {
    expect(() => new InputDevices({ dir: '/nonexistent-input-dir' }).start()).to.throw().with.property('code', 'ERR_BUFSHARE_NOT_AVAILABLE');
  });

  it('hotplug: a node appearing in the watched directory is tried (inotify); one that is no evdev device is an error event, not a crash', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bufshare-input-'));
    const devices = new InputDevices({ dir });
    const errors: [string, string | undefined][] = [];
    devices.on('error', (e, path) => errors.push([path, (e as { errno?: string }).errno]));
    try {
      devices.start();
      expect(devices.devices).to.deep.equal([]);
      const before = fds();
      writeFileSync(join(dir, 'event7'), 'not a device');
      writeFileSync(join(dir, 'js0'), 'ignored by name');
      const end = Date.now() + 5000;
      while (errors.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
      expect(errors[0]).to.deep.equal([join(dir, 'event7'), 'ENOTTY']);
      expect(errors.every(([p]) => p === join(dir, 'event7'))).to.equal(true);
      expect(fds(), "no fd left open by the failed opens").to.be.at.most(before);
    } finally {
      devices.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
