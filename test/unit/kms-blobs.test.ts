/**
 * Parsers of what KMS hands over as blobs: the EDID monitor name and a plane's
 * IN_FORMATS. Both read bytes a driver (or a monitor) chose, so every count and
 * offset must be checked: truncated or lying blobs give nothing, never a throw
 * or a read past the end.
 */
import { expect } from 'chai';
import { edidMonitorName, parseInFormats } from '../../lib/kms';
import { fourccCode } from '../../lib/format';

function edidWithName(name: string, at = 72): Uint8Array {
  const e = new Uint8Array(128);
  e.set([0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00]);
  e.set([0, 0, 0, 0xfc, 0], at);
  const text = `${name}\n`.padEnd(13, ' ');
  for (let i = 0; i < 13; i++) e[at + 5 + i] = text.charCodeAt(i);
  return e;
}

function inFormats(formats: number[], modifiers: { mask: bigint; offset: number; modifier: bigint }[]): Uint8Array {
  const formatsOffset = 24;
  const modifiersOffset = formatsOffset + formats.length * 4 + ((formats.length * 4) % 8);
  const out = new Uint8Array(modifiersOffset + modifiers.length * 24);
  const v = new DataView(out.buffer);
  v.setUint32(0, 1, true);
  v.setUint32(8, formats.length, true);
  v.setUint32(12, formatsOffset, true);
  v.setUint32(16, modifiers.length, true);
  v.setUint32(20, modifiersOffset, true);
  formats.forEach((f, i) => v.setUint32(formatsOffset + i * 4, f, true));
  modifiers.forEach((m, i) => {
    v.setBigUint64(modifiersOffset + i * 24, m.mask, true);
    v.setUint32(modifiersOffset + i * 24 + 8, m.offset, true);
    v.setBigUint64(modifiersOffset + i * 24 + 16, m.modifier, true);
  });
  return out;
}

describe('KMS blobs', () => {
  it('EDID: the monitor name descriptor, in any of the four slots', () => {
    expect(edidMonitorName(edidWithName('QEMU Monitor'))).to.equal('QEMU Monitor');
    expect(edidMonitorName(edidWithName('DELL U2720Q', 108))).to.equal('DELL U2720Q');
  });

  it('EDID: none without a name descriptor, or when truncated', () => {
    const e = edidWithName('X');
    e[72 + 3] = 0xff; // a serial number descriptor, not a name
    expect(edidMonitorName(e)).to.equal(undefined);
    expect(edidMonitorName(edidWithName('QEMU').subarray(0, 100))).to.equal(undefined);
    expect(edidMonitorName(new Uint8Array(0))).to.equal(undefined);
  });

  it('IN_FORMATS: modifiers per format from the bitmasks and offsets', () => {
    const x = fourccCode('XR24');
    const a = fourccCode('AR24');
    const tiled = 0x0100000000000001n;
    const blob = inFormats([x, a], [
      { mask: 0b11n, offset: 0, modifier: 0n },
      { mask: 0b1n, offset: 1, modifier: tiled }, // bit 0 at offset 1: AR24 only
    ]);
    const m = parseInFormats(blob);
    expect(m.get(x)).to.deep.equal([0n]);
    expect(m.get(a)).to.deep.equal([0n, tiled]);
  });

  it('IN_FORMATS: counts and offsets past the end give nothing; bits past the format list are ignored', () => {
    const x = fourccCode('XR24');
    const good = inFormats([x], [{ mask: 0xffn, offset: 0, modifier: 0n }]);
    expect(parseInFormats(good).get(x)).to.deep.equal([0n]);
    const lying = good.slice();
    new DataView(lying.buffer).setUint32(16, 1000, true); // 1000 modifiers
    expect(parseInFormats(lying).size).to.equal(0);
    expect(parseInFormats(good.subarray(0, 20)).size).to.equal(0);
  });
});
