/**
 * The evdev codes lib/input uses (linux/input-event-codes.h; the kernel's ABI,
 * stable by its rules). Key codes are what wl_keyboard.key carries too.
 */
export const EV_SYN = 0x00;
export const EV_KEY = 0x01;
export const EV_REL = 0x02;
export const EV_ABS = 0x03;
export const EV_MSC = 0x04;
export const EV_MAX = 0x1f;

export const SYN_REPORT = 0;
export const SYN_DROPPED = 3;

export const KEY_ESC = 1;
export const KEY_A = 30;
export const KEY_Z = 44;
export const KEY_Q = 16;
export const KEY_SPACE = 57;
export const KEY_LEFTSHIFT = 42;
export const KEY_CAPSLOCK = 58;
export const KEY_MAX = 0x2ff;

export const BTN_MISC = 0x100;
export const BTN_MOUSE = 0x110;
export const BTN_LEFT = 0x110;
export const BTN_RIGHT = 0x111;
export const BTN_MIDDLE = 0x112;
export const BTN_SIDE = 0x113;
export const BTN_EXTRA = 0x114;
export const BTN_JOYSTICK = 0x120;
export const BTN_GAMEPAD = 0x130;
export const BTN_DIGI = 0x140;
export const BTN_TOOL_PEN = 0x140;
export const BTN_TOOL_FINGER = 0x145;
export const BTN_TOUCH = 0x14a;
export const BTN_STYLUS = 0x14b;
/** Key codes from here on are buttons and the like (BTN_*), not keyboard keys, up to KEY_OK. */
export const KEY_OK = 0x160;

export const REL_X = 0x00;
export const REL_Y = 0x01;
export const REL_HWHEEL = 0x06;
export const REL_WHEEL = 0x08;
export const REL_WHEEL_HI_RES = 0x0b;
export const REL_HWHEEL_HI_RES = 0x0c;
export const REL_MAX = 0x0f;

export const ABS_X = 0x00;
export const ABS_Y = 0x01;
export const ABS_MT_SLOT = 0x2f;
export const ABS_MT_POSITION_X = 0x35;
export const ABS_MT_POSITION_Y = 0x36;
export const ABS_MT_TRACKING_ID = 0x39;
export const ABS_MAX = 0x3f;

export const INPUT_PROP_POINTER = 0x00;
export const INPUT_PROP_DIRECT = 0x01;
export const INPUT_PROP_BUTTONPAD = 0x02;
export const INPUT_PROP_MAX = 0x1f;

/** One hi-res wheel unit: a detent is 120 (as wl_pointer.axis_value120). */
export const WHEEL_HI_RES_PER_DETENT = 120;
