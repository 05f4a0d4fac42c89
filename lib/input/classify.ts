/**
 * What an evdev device is, from its capability bitmaps alone (as udev's
 * input_id builtin and libinput decide, without their quirk databases):
 *
 * - keyboard: KEY_ESC, KEY_SPACE and all 26 letter keys (a power button or a
 *   headset's volume keys has keys, but is no keyboard to type on);
 * - relative pointer (mouse): REL_X, REL_Y and BTN_LEFT;
 * - absolute pointer (a tablet, qemu's usb/virtio tablet, a VM's absolute
 *   mouse): ABS_X, ABS_Y, no INPUT_PROP_DIRECT, a button, and no multitouch
 *   finger tool (that would be a touchpad);
 * - touch screen: INPUT_PROP_DIRECT with ABS_MT_POSITION_X/Y or ABS_X/Y and BTN_TOUCH.
 *
 * Touchpads (multitouch, indirect) and joysticks are named but not driven: a
 * touchpad needs libinput's gesture and palm logic, which we do not copy.
 * One device can be several things (a keyboard with a trackpoint).
 */
import * as c from './codes';

export interface DeviceBitmaps {
  readonly props: Uint8Array;
  readonly ev: Uint8Array;
  readonly key: Uint8Array;
  readonly rel: Uint8Array;
  readonly abs: Uint8Array;
}

export interface DeviceClass {
  readonly keyboard: boolean;
  /** How the device moves the pointer, if it does. */
  readonly pointer: 'relative' | 'absolute' | undefined;
  readonly touch: boolean;
  /** REL_WHEEL / REL_HWHEEL. */
  readonly wheel: boolean;
  /** REL_WHEEL_HI_RES (kernel 5.0+): 120 per detent. */
  readonly hiResWheel: boolean;
  /** Found but not driven (a touchpad, a joystick), with why. */
  readonly ignored: string | undefined;
}

export function hasBit(bits: Uint8Array, n: number): boolean {
  return n >> 3 < bits.length && ((bits[n >> 3]! >> (n & 7)) & 1) === 1;
}

const LETTERS = [...Array(10).keys()].map((i) => c.KEY_Q + i)
  .concat([...Array(9).keys()].map((i) => c.KEY_A + i), [...Array(7).keys()].map((i) => c.KEY_Z + i));

export function classify(b: DeviceBitmaps): DeviceClass {
  const ev = (t: number): boolean => hasBit(b.ev, t);
  const key = (k: number): boolean => ev(c.EV_KEY) && hasBit(b.key, k);
  const rel = (r: number): boolean => ev(c.EV_REL) && hasBit(b.rel, r);
  const abs = (a: number): boolean => ev(c.EV_ABS) && hasBit(b.abs, a);
  const direct = hasBit(b.props, c.INPUT_PROP_DIRECT);

  const keyboard = key(c.KEY_ESC) && key(c.KEY_SPACE) && LETTERS.every(key);
  const multitouch = abs(c.ABS_MT_POSITION_X) && abs(c.ABS_MT_POSITION_Y);
  const touch = direct && (multitouch || (abs(c.ABS_X) && abs(c.ABS_Y))) && key(c.BTN_TOUCH);
  const anyButton = key(c.BTN_LEFT) || key(c.BTN_TOOL_PEN) || key(c.BTN_TOUCH) || key(c.BTN_STYLUS);
  let pointer: DeviceClass['pointer'];
  let ignored: string | undefined;
  if (rel(c.REL_X) && rel(c.REL_Y) && key(c.BTN_LEFT)) pointer = 'relative';
  else if (!direct && abs(c.ABS_X) && abs(c.ABS_Y) && anyButton) {
    if (key(c.BTN_TOOL_FINGER) || multitouch) ignored = 'a touchpad (indirect multitouch): not driven without libinput';
    else pointer = 'absolute';
  }
  if (!keyboard && pointer === undefined && !touch && ignored === undefined) {
    if (key(c.BTN_JOYSTICK) || key(c.BTN_GAMEPAD)) ignored = 'a joystick or gamepad';
    else ignored = 'neither keyboard, pointer nor touch screen';
  }
  return {
    keyboard,
    pointer,
    touch,
    wheel: rel(c.REL_WHEEL) || rel(c.REL_HWHEEL),
    hiResWheel: rel(c.REL_WHEEL_HI_RES) || rel(c.REL_HWHEEL_HI_RES),
    ignored,
  };
}

/** A short description: "keyboard", "relative pointer, wheel", ... */
export function describeClass(k: DeviceClass): string {
  const parts: string[] = [];
  if (k.keyboard) parts.push('keyboard');
  if (k.pointer) parts.push(`${k.pointer} pointer`);
  if (k.touch) parts.push('touch');
  if (k.wheel) parts.push(k.hiResWheel ? 'hi-res wheel' : 'wheel');
  if (parts.length === 0) parts.push(`ignored: ${k.ignored ?? '?'}`);
  return parts.join(', ');
}
