/**
 * A plane's IN_FORMATS blob (struct drm_format_modifier_blob, drm_mode.h): which
 * modifiers the plane scans out, per format. Layout: a 24-byte header (version,
 * flags, count_formats, formats_offset, count_modifiers, modifiers_offset), the
 * u32 formats, then 24-byte entries { u64 formats (bit i: formats[offset + i]),
 * u32 offset, u32 pad, u64 modifier }. Every count and offset is checked against
 * the blob's length before use.
 */
export function parseInFormats(blob: Uint8Array): Map<number, bigint[]> {
  const out = new Map<number, bigint[]>();
  if (blob.length < 24) return out;
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const countFormats = view.getUint32(8, true);
  const formatsOffset = view.getUint32(12, true);
  const countModifiers = view.getUint32(16, true);
  const modifiersOffset = view.getUint32(20, true);
  if (formatsOffset + countFormats * 4 > blob.length || modifiersOffset + countModifiers * 24 > blob.length) return out;
  const formats: number[] = [];
  for (let i = 0; i < countFormats; i++) {
    const f = view.getUint32(formatsOffset + i * 4, true);
    formats.push(f);
    if (!out.has(f)) out.set(f, []);
  }
  for (let m = 0; m < countModifiers; m++) {
    const at = modifiersOffset + m * 24;
    const mask = view.getBigUint64(at, true);
    const offset = view.getUint32(at + 8, true);
    const modifier = view.getBigUint64(at + 16, true);
    for (let bit = 0; bit < 64; bit++) {
      if ((mask & (1n << BigInt(bit))) === 0n) continue;
      const f = formats[offset + bit];
      if (f === undefined) continue;
      const list = out.get(f)!;
      if (!list.includes(modifier)) list.push(modifier);
    }
  }
  return out;
}
