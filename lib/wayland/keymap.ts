/**
 * The keymap wl_keyboard hands clients: XKB text (xkb_v1) in a sealed memfd.
 *
 * Where the system has xkb data and xkbcomp (Debian: xkb-data, x11-xkb-utils),
 * a US keymap is compiled from it, as a compositor using libxkbcommon would
 * send. Without xkbcomp but with the data, the keymap names its parts by
 * include and the client's libxkbcommon resolves them. With neither, a small
 * built-in US keymap: letters, digits, space, Return, BackSpace, Tab, Escape,
 * Shift and Control, enough to type in a terminal.
 *
 * Sealed (F_SEAL_SHRINK | GROW | WRITE | SEAL): clients map it, and none can
 * change or truncate what the others read.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as native from '../native';

const XKB_ROOT = '/usr/share/X11/xkb';

const INCLUDE_KEYMAP = `xkb_keymap {
  xkb_keycodes { include "evdev+aliases(qwerty)" };
  xkb_types { include "complete" };
  xkb_compat { include "complete" };
  xkb_symbols { include "pc+us+inet(evdev)" };
};
`;

/** evdev code -> [lower, upper] keysym names, for the built-in keymap. XKB keycodes are evdev + 8. */
const BUILTIN_KEYS: readonly [number, string, string][] = [
  ...'qwertyuiop'.split('').map((c, i) => [16 + i, c, c.toUpperCase()] as [number, string, string]),
  ...'asdfghjkl'.split('').map((c, i) => [30 + i, c, c.toUpperCase()] as [number, string, string]),
  ...'zxcvbnm'.split('').map((c, i) => [44 + i, c, c.toUpperCase()] as [number, string, string]),
  ...[['1', 'exclam'], ['2', 'at'], ['3', 'numbersign'], ['4', 'dollar'], ['5', 'percent'], ['6', 'asciicircum'],
    ['7', 'ampersand'], ['8', 'asterisk'], ['9', 'parenleft'], ['0', 'parenright']].map(([a, b], i) => [2 + i, a!, b!] as [number, string, string]),
  [57, 'space', 'space'], [28, 'Return', 'Return'], [14, 'BackSpace', 'BackSpace'], [15, 'Tab', 'ISO_Left_Tab'], [1, 'Escape', 'Escape'],
  [12, 'minus', 'underscore'], [13, 'equal', 'plus'], [51, 'comma', 'less'], [52, 'period', 'greater'], [53, 'slash', 'question'],
];

function builtinKeymap(): string {
  const codes = BUILTIN_KEYS.map(([c]) => `    <K${c}> = ${c + 8};`).join('\n');
  const symbols = BUILTIN_KEYS.map(([c, lo, up]) => `    key <K${c}> { [ ${lo}, ${up} ] };`).join('\n');
  return `xkb_keymap {
xkb_keycodes "bufshare" {
    minimum = 8;
    maximum = 255;
${codes}
    <LFSH> = 50;
    <RTSH> = 62;
    <LCTL> = 37;
};
xkb_types "bufshare" {
    virtual_modifiers NumLock;
    type "ONE_LEVEL" { modifiers = none; level_name[Level1] = "Any"; };
    type "TWO_LEVEL" { modifiers = Shift; map[Shift] = Level2; level_name[Level1] = "Base"; level_name[Level2] = "Shift"; };
    type "ALPHABETIC" { modifiers = Shift + Lock; map[Shift] = Level2; map[Lock] = Level2; level_name[Level1] = "Base"; level_name[Level2] = "Caps"; };
};
xkb_compat "bufshare" {
    interpret Shift_L { action = SetMods(modifiers = Shift); };
    interpret Shift_R { action = SetMods(modifiers = Shift); };
    interpret Control_L { action = SetMods(modifiers = Control); };
};
xkb_symbols "bufshare" {
${symbols}
    key <LFSH> { [ Shift_L ] };
    key <RTSH> { [ Shift_R ] };
    key <LCTL> { [ Control_L ] };
    modifier_map Shift { <LFSH>, <RTSH> };
    modifier_map Control { <LCTL> };
};
};
`;
}

export type KeymapSource = 'compiled' | 'includes' | 'builtin';

/** The keymap's text and where it came from (`BUFSHARE_KEYMAP=builtin` forces the built-in one). */
export function keymapText(): { text: string; source: KeymapSource } {
  if (process.env.BUFSHARE_KEYMAP !== 'builtin' && existsSync(`${XKB_ROOT}/symbols/us`)) {
    const r = spawnSync('xkbcomp', ['-w', '0', `-I${XKB_ROOT}`, '-xkb', '-', '-'], { input: INCLUDE_KEYMAP, encoding: 'utf8', timeout: 5000 });
    if (r.status === 0 && r.stdout.startsWith('xkb_keymap')) return { text: r.stdout, source: 'compiled' };
    return { text: INCLUDE_KEYMAP, source: 'includes' };
  }
  return { text: builtinKeymap(), source: 'builtin' };
}

export interface Keymap {
  /** A sealed memfd; the server owns it (close with close()). */
  readonly fd: number;
  /** Bytes, the terminating NUL included, as wl_keyboard.keymap's size. */
  readonly size: number;
  readonly source: KeymapSource;
  close(): void;
}

export function createKeymap(): Keymap {
  const { text, source } = keymapText();
  const bytes = Buffer.from(`${text}\0`, 'utf8');
  const c = native.constants;
  const fd = native.memfdCreate('bufshare-keymap', bytes.byteLength, 0);
  try {
    const memory = native.mmapFd(fd, bytes.byteLength, 0, native.PROT_READ | native.PROT_WRITE);
    new Uint8Array(memory).set(bytes);
    native.unmapBuffer(memory);
    native.addSeals(fd, c.F_SEAL_SHRINK | c.F_SEAL_GROW | c.F_SEAL_WRITE | c.F_SEAL_SEAL);
  } catch (e) {
    native.closeFd(fd);
    throw e;
  }
  let open = true;
  return {
    fd,
    size: bytes.byteLength,
    source,
    close: () => {
      if (!open) return;
      open = false;
      native.closeFd(fd);
    },
  };
}
