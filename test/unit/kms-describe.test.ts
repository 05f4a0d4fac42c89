/**
 * What a KMS output says about itself to Wayland clients: the EDID's make, model
 * and serial (bytes a monitor chose: checked, never trusted), and the mode's
 * exact refresh rate in mHz from its timings.
 */
import { expect } from 'chai';
import { edidIdentity, refreshMilliHz } from '../../lib/kms';
import type { KmsModeInfo } from '../../lib/kms';

function edid(options: { pnp?: string; product?: number; serial?: number; name?: string; serialText?: string } = {}): Uint8Array {
  const e = new Uint8Array(128);
  e.set([0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00]);
  const pnp = options.pnp ?? 'DEL';
  const id = ((pnp.charCodeAt(0) - 64) << 10) | ((pnp.charCodeAt(1) - 64) << 5) | (pnp.charCodeAt(2) - 64);
  e[8] = id >> 8;
  e[9] = id & 0xff;
  const product = options.product ?? 0xa0b1;
  e[10] = product & 0xff;
  e[11] = product >> 8;
  new DataView(e.buffer).setUint32(12, options.serial ?? 0, true);
  const text = (at: number, tag: number, s: string): void => {
    e.set([0, 0, 0, tag, 0], at);
    const t = `${s}\n`.padEnd(13, ' ');
    for (let i = 0; i < 13; i++) e[at + 5 + i] = t.charCodeAt(i);
  };
  if (options.name !== undefined) text(72, 0xfc, options.name);
  if (options.serialText !== undefined) text(90, 0xff, options.serialText);
  return e;
}

function mode(m: Partial<KmsModeInfo>): KmsModeInfo {
  return {
    name: '', clock: 0, hdisplay: 0, hsyncStart: 0, hsyncEnd: 0, htotal: 0, vdisplay: 0, vsyncStart: 0, vsyncEnd: 0, vtotal: 0,
    vrefresh: 0, flags: 0, type: 0, raw: new Uint8Array(68), ...m,
  };
}

describe('edidIdentity', () => {
  it('make (PNP id), model (the monitor name, else the product code), serial', () => {
    expect(edidIdentity(edid({ pnp: 'DEL', name: 'DELL U2720Q', serialText: 'ABC123' }))).to.deep.equal({ make: 'DEL', model: 'DELL U2720Q', serial: 'ABC123' });
    expect(edidIdentity(edid({ pnp: 'RHT', product: 0x1234, serial: 42 }))).to.deep.equal({ make: 'RHT', model: '0x1234', serial: '42' });
  });

  it('says nothing for what is not an EDID base block, and drops what is not a letter or printable', () => {
    expect(edidIdentity(new Uint8Array(127))).to.deep.equal({});
    const bad = edid({ name: 'X' });
    bad[0] = 1;
    expect(edidIdentity(bad)).to.deep.equal({});
    const zeroId = edid({ product: 0 });
    zeroId[8] = 0;
    zeroId[9] = 0;
    expect(edidIdentity(zeroId)).to.deep.equal({});
    const ctl = edid({ serialText: 'A\u0007B' });
    expect(edidIdentity(ctl).serial).to.equal('AB');
  });
});

describe('refreshMilliHz', () => {
  it('from the timings, not the rounded vrefresh', () => {
    // CVT 1280x800 reduced blanking, 60 Hz: 71 MHz, 1440 x 823.
    expect(refreshMilliHz(mode({ clock: 71000, htotal: 1440, vtotal: 823, vrefresh: 60 }))).to.equal(59910);
    // 1920x1080@60 CEA: 148.5 MHz, 2200 x 1125: exactly 60000.
    expect(refreshMilliHz(mode({ clock: 148500, htotal: 2200, vtotal: 1125, vrefresh: 60 }))).to.equal(60000);
    // 59.94 Hz NTSC-rate variant.
    expect(refreshMilliHz(mode({ clock: 148352, htotal: 2200, vtotal: 1125, vrefresh: 60 }))).to.equal(59940);
  });

  it('interlaced modes count fields, doublescan halves; no timings: vrefresh', () => {
    expect(refreshMilliHz(mode({ clock: 74250, htotal: 2200, vtotal: 1125, flags: 1 << 4, vrefresh: 60 }))).to.equal(60000);
    expect(refreshMilliHz(mode({ clock: 25175, htotal: 800, vtotal: 525, flags: 1 << 5, vrefresh: 30 }))).to.equal(29970);
    expect(refreshMilliHz(mode({ vrefresh: 75 }))).to.equal(75000);
  });
});
