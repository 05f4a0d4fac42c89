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

/** What an EDID base block says about the monitor (each field absent where the block does not say). */
export interface EdidIdentity {
  /** The manufacturer's three-letter PNP id ("QEM", "DEL"), bytes 8-9. */
  readonly make?: string;
  /** The monitor name descriptor, else the product code ("0x1234"), bytes 10-11. */
  readonly model?: string;
  /** The serial number descriptor (0xFF), else the 32-bit serial (bytes 12-15) when not 0. */
  readonly serial?: string;
}

const EDID_HEADER = [0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00];
const TAG_SERIAL = 0xff;

function descriptorText(edid: Uint8Array, tag: number): string | undefined {
  for (const at of DESCRIPTORS) {
    if (edid[at] !== 0 || edid[at + 1] !== 0 || edid[at + 2] !== 0 || edid[at + 3] !== tag) continue;
    let text = '';
    for (let i = at + 5; i < at + 18; i++) {
      const c = edid[i]!;
      if (c === 0x0a || c === 0) break;
      // Printable ASCII only: the text goes into protocol strings and logs.
      if (c >= 0x20 && c < 0x7f) text += String.fromCharCode(c);
    }
    const t = text.trim();
    return t === '' ? undefined : t;
  }
  return undefined;
}

/** Make, model and serial of an EDID; {} for anything that is not a 128-byte EDID 1.x base block. */
export function edidIdentity(edid: Uint8Array): EdidIdentity {
  if (edid.length < 128 || EDID_HEADER.some((b, i) => edid[i] !== b)) return {};
  const id = (edid[8]! << 8) | edid[9]!;
  const letters = [(id >> 10) & 31, (id >> 5) & 31, id & 31];
  // Each letter is 1..26 for A..Z; anything else means no (valid) PNP id.
  const make = letters.every((l) => l >= 1 && l <= 26) ? letters.map((l) => String.fromCharCode(64 + l)).join('') : undefined;
  const product = edid[10]! | (edid[11]! << 8);
  const model = edidMonitorName(edid) ?? (product !== 0 ? `0x${product.toString(16).padStart(4, '0')}` : undefined);
  const serialNumber = (edid[12]! | (edid[13]! << 8) | (edid[14]! << 16) | (edid[15]! << 24)) >>> 0;
  const serial = descriptorText(edid, TAG_SERIAL) ?? (serialNumber !== 0 ? String(serialNumber) : undefined);
  return { ...(make ? { make } : {}), ...(model ? { model } : {}), ...(serial ? { serial } : {}) };
}
