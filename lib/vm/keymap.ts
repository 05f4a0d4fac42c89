/**
 * Linux evdev key codes to qemu's key numbers ("qnum": what
 * org.qemu.Display1.Keyboard.Press/Release take; qemu turns them back into
 * Linux codes with qemu_input_key_number_to_linux, ui/dbus-console.c).
 *
 * A qnum is the key's PC/XT set-1 scancode, an 0xE0-prefixed one re-encoded
 * with the high bit set (E0 1C, keypad Enter, is 0x9C). The scancodes below are
 * the "XT KBD" column of keycodemapdb's data/keymaps.csv (E0-prefixed keys
 * written there as 0x100 | code), for Linux codes 1 to 194; codes the column
 * leaves empty have no qnum, and their keys are not sent.
 */

/** [evdev code, XT KBD scancode (0x100 | code: E0-prefixed)] for the codes that are not their own scancode (1-83 are). */
const XT_KBD: readonly (readonly [number, number])[] = [
  [85, 118], [86, 86], [87, 87], [88, 88], [89, 115], [90, 120], [91, 119], [92, 121], [93, 112], [94, 123], [95, 92],
  [96, 284], [97, 285], [98, 309], [99, 84], [100, 312], [101, 91], [102, 327], [103, 328], [104, 329], [105, 331],
  [106, 333], [107, 335], [108, 336], [109, 337], [110, 338], [111, 339], [112, 367], [113, 288], [114, 302], [115, 304],
  [116, 350], [117, 89], [118, 334], [119, 326], [120, 267], [121, 126], [123, 269], [124, 125], [125, 347], [126, 348],
  [127, 349], [128, 360], [129, 261], [130, 262], [131, 263], [132, 268], [133, 376], [134, 100], [135, 101], [136, 321],
  [137, 316], [138, 373], [139, 286], [140, 289], [141, 102], [142, 351], [143, 355], [144, 103], [145, 104], [146, 105],
  [147, 275], [148, 287], [149, 279], [150, 258], [151, 106], [152, 274], [153, 107], [154, 294], [155, 364], [156, 358],
  [157, 363], [158, 362], [159, 361], [160, 291], [161, 108], [162, 381], [163, 281], [164, 290], [165, 272], [166, 292],
  [167, 305], [168, 280], [169, 99], [170, 112], [171, 257], [172, 306], [173, 359], [174, 113], [175, 114], [176, 264],
  [177, 117], [178, 271], [179, 374], [180, 379], [181, 265], [182, 266], [183, 93], [184, 94], [185, 95], [186, 85],
  [187, 259], [188, 375], [189, 260], [190, 90], [191, 116], [192, 377], [193, 109], [194, 111],
];

const TABLE = new Map<number, number>();
for (let code = 1; code <= 83; code++) TABLE.set(code, code);
for (const [code, xt] of XT_KBD) TABLE.set(code, xt < 0x100 ? xt : 0x80 | (xt & 0x7f));

/** The qnum of an evdev key code, or undefined when qemu has none for it. */
export function evdevToQnum(code: number): number | undefined {
  return TABLE.get(code);
}
