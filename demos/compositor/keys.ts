/**
 * DOM KeyboardEvent.code -> Linux evdev key code (what wl_keyboard.key and the
 * shared model's keyboard input carry). The physical key, not the character:
 * the client's keymap turns it into text, as on a real seat.
 */
const LETTERS: Readonly<Record<string, number>> = {
  Q: 16, W: 17, E: 18, R: 19, T: 20, Y: 21, U: 22, I: 23, O: 24, P: 25,
  A: 30, S: 31, D: 32, F: 33, G: 34, H: 35, J: 36, K: 37, L: 38,
  Z: 44, X: 45, C: 46, V: 47, B: 48, N: 49, M: 50,
};

const OTHERS: Readonly<Record<string, number>> = {
  Escape: 1, Minus: 12, Equal: 13, Backspace: 14, Tab: 15, BracketLeft: 26, BracketRight: 27, Enter: 28,
  ControlLeft: 29, Semicolon: 39, Quote: 40, Backquote: 41, ShiftLeft: 42, Backslash: 43, Comma: 51, Period: 52,
  Slash: 53, ShiftRight: 54, AltLeft: 56, Space: 57, CapsLock: 58, ControlRight: 97, AltRight: 100,
  Home: 102, ArrowUp: 103, PageUp: 104, ArrowLeft: 105, ArrowRight: 106, End: 107, ArrowDown: 108, PageDown: 109,
  Insert: 110, Delete: 111, MetaLeft: 125, MetaRight: 126,
};

/** The evdev code of a DOM `code` ("KeyA" -> 30), or undefined for keys the demo does not pass on. */
export function evdevKey(code: string): number | undefined {
  const letter = /^Key([A-Z])$/.exec(code)?.[1];
  if (letter !== undefined) return LETTERS[letter];
  const digit = /^Digit([0-9])$/.exec(code)?.[1];
  if (digit !== undefined) return digit === '0' ? 11 : 1 + Number(digit);
  const f = /^F([1-9]|10)$/.exec(code)?.[1];
  if (f !== undefined) return 58 + Number(f);
  return Object.hasOwn(OTHERS, code) ? OTHERS[code] : undefined;
}
