/**
 * The monitor name of an EDID (the 0xFC display descriptor), the name users know
 * a screen by. EDID 1.x base block: four 18-byte descriptors at 54, 72, 90, 108;
 * a display descriptor starts with three zero bytes and its tag, and holds up to
 * 13 bytes of text ending at a line feed.
 */
const DESCRIPTORS = [54, 72, 90, 108];
const TAG_MONITOR_NAME = 0xfc;

export function edidMonitorName(edid: Uint8Array): string | undefined {
  if (edid.length < 128) return undefined;
  for (const at of DESCRIPTORS) {
    if (edid[at] !== 0 || edid[at + 1] !== 0 || edid[at + 2] !== 0 || edid[at + 3] !== TAG_MONITOR_NAME) continue;
    let text = '';
    for (let i = at + 5; i < at + 18; i++) {
      const c = edid[i]!;
      if (c === 0x0a || c === 0) break;
      text += String.fromCharCode(c);
    }
    const name = text.trim();
    return name === '' ? undefined : name;
  }
  return undefined;
}
