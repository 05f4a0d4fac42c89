/**
 * KMS discovery and the probe's KMS section on real drivers: every card that
 * can modeset shows a connected connector with a preferred mode, a primary plane
 * that takes XRGB8888, and a dumb XRGB8888 framebuffer that passes ADDFB2 and an
 * atomic TEST_ONLY modeset. vkms (6.12) has a writeback connector; the emulated
 * monitors of virtio-gpu and bochs have an EDID named "QEMU Monitor".
 */
import { expect } from 'chai';
import { DrmDevice, drmUnavailableReason, listDrmNodes } from '../../lib';
import { probeKms } from '../../lib/cli/kms-report';
import { discoverKms, displayCards, KmsOutput, pickDisplayCard, type FlipEvent } from '../../lib/kms';
import { displayOfCard, screendump, screendumpUnavailableReason } from './support/screendump';
import { resolveFormat } from '../../lib/format';

describe('KMS discovery', function () {
  this.timeout(120000);
  const why = drmUnavailableReason();
  if (why) {
    it.skip(`no DRM here (${why})`, () => {});
    return;
  }
  const xrgb = resolveFormat('XRGB8888').fourcc;

  it('every KMS card: caps, a connected connector with a preferred mode, a primary plane taking XRGB8888', () => {
    let cards = 0;
    for (const node of listDrmNodes().filter((n) => n.type === 'card')) {
      const device = DrmDevice.open(node.path);
      try {
        let kms;
        try {
          kms = discoverKms(device);
        } catch (e) {
          expect(device.driver.name, `${node.path}: ${(e as Error).message}`).to.equal('vgem');
          continue;
        }
        cards++;
        const name = `${node.path} (${device.driver.name})`;
        expect(kms.caps.universalPlanes, name).to.equal(true);
        expect(kms.caps.atomic, name).to.equal(true);
        const connected = kms.connectors.filter((c) => c.status === 'connected');
        expect(connected.length, name).to.be.greaterThan(0);
        const mode = connected[0]!.modes.find((m) => (m.type & 8) !== 0);
        expect(mode, `${name}: a preferred mode`).to.not.equal(undefined);
        expect(mode!.raw.length).to.equal(68);
        expect(kms.crtcs.length, name).to.be.greaterThan(0);
        const primary = kms.planes.filter((p) => p.type === 'primary');
        expect(primary.length, name).to.be.greaterThan(0);
        expect(primary[0]!.formats, name).to.include(xrgb);
        expect(primary[0]!.properties.has('FB_ID'), name).to.equal(true);
        if (device.driver.name === 'vkms') {
          expect(kms.writeback.length, 'vkms writeback connector').to.equal(1);
          expect(kms.writeback[0]!.formats).to.include(xrgb);
          expect(kms.writeback[0]!.properties.has('WRITEBACK_FB_ID')).to.equal(true);
          expect(primary[0]!.modifiers?.get(xrgb), 'IN_FORMATS lists LINEAR for XRGB8888').to.include(0n);
        }
        if (device.driver.name === 'virtio_gpu' || device.driver.name === 'bochs-drm') {
          expect(connected[0]!.monitorName, `${name}: EDID monitor name`).to.equal('QEMU Monitor');
        }
      } finally {
        device.unref();
      }
    }
    expect(cards).to.be.greaterThan(0);
  });

  it('the probe: a dumb XRGB8888 framebuffer passes ADDFB2 and TEST_ONLY on every KMS card', () => {
    const reports = probeKms();
    const kmsCards = reports.filter((r) => !r.unavailable);
    expect(kmsCards.length).to.be.greaterThan(0);
    for (const r of reports.filter((x) => x.unavailable)) expect(r.driver, r.unavailable).to.equal('vgem');
    for (const r of kmsCards) {
      expect(r.master, `${r.path}: the probe was master`).to.equal(true);
      const dumb = r.scanout?.find((s) => s.buffer === 'dumb' && s.format === 'XRGB8888');
      expect(dumb, `${r.path} (${r.driver}) dumb XRGB8888 row`).to.not.equal(undefined);
      expect(dumb!.addfb2, r.path).to.equal('ok');
      expect(dumb!.testOnly, r.path).to.equal('ok');
    }
  });

  // The bug: with no card named, the demo took the first card with a connected
  // connector: vkms (card1 on 6.12, before virtio-gpu card2), which nothing shows.
  it('with no card named, the output goes on a screen qemu shows (not vkms), and that screen shows its frame', async function () {
    const cards = displayCards();
    console.log(`      display cards: ${cards.map((c) => `${c.path} ${c.driver}${c.bootVga ? ' (boot display)' : ''}: ${c.connected.join(' ') || 'nothing connected'}`).join('; ')}`);
    const picked = pickDisplayCard();
    const hardware = cards.filter((c) => c.driver !== 'vkms' && c.connected.length > 0);
    expect(hardware.length, 'the harness gives every kernel PCI display devices').to.be.greaterThan(0);
    const display = displayOfCard(picked);
    expect(display, `${picked} is a PCI display device, not a platform one (vkms)`).to.not.equal(undefined);
    const why = screendumpUnavailableReason();
    if (why) {
      console.log(`      no readback: ${why}`);
      return;
    }
    const output = KmsOutput.open({});
    try {
      expect(output.device.path).to.equal(picked);
      const frame = output.acquire();
      for (let y = 0; y < output.height; y++) frame.region.pixels32.fill(0xff20c040, y * frame.region.stride32, y * frame.region.stride32 + output.width);
      const flipped = new Promise<FlipEvent>((resolve) => output.once('flip', resolve));
      output.commit(frame);
      await flipped;
      const shot = await screendump(display!);
      expect([shot.width, shot.height]).to.deep.equal([output.width, output.height]);
      const at = ((shot.height >> 1) * shot.width + (shot.width >> 1)) * 3;
      expect([...shot.rgb.subarray(at, at + 3)], `${picked} (${output.device.driver.name}) on screen`).to.deep.equal([0x20, 0xc0, 0x40]);
      console.log(`      default display: ${picked} (${output.device.driver.name}) ${output.width}x${output.height}, shown by qemu's ${shot.device}`);
    } finally {
      output.close();
    }
  });

  it('describe(): the connector name, the EDID make and model, the physical size and the mode\'s exact rate (virtio-gpu, bochs)', () => {
    const cards = displayCards().filter((c) => c.driver === 'virtio_gpu' || c.driver === 'bochs-drm');
    expect(cards.length).to.be.greaterThan(0);
    for (const card of cards) {
      const output = KmsOutput.open({ device: card.path });
      try {
        const info = output.describe();
        console.log(`      ${card.driver}: ${JSON.stringify(info)} (vrefresh ${output.mode.vrefresh}, clock ${output.mode.clock} kHz, ${output.mode.htotal}x${output.mode.vtotal})`);
        expect(info.name).to.equal(output.pipe.connector.name);
        expect([info.width, info.height]).to.deep.equal([output.width, output.height]);
        expect(info.make, `${card.driver}: EDID PNP id`).to.match(/^[A-Z]{3}$/);
        expect(info.model, card.driver).to.equal('QEMU Monitor');
        expect(info.physicalWidth, `${card.driver}: mm`).to.be.greaterThan(0);
        expect(info.physicalHeight, `${card.driver}: mm`).to.be.greaterThan(0);
        // The exact rate, within half a hertz of the kernel's rounded one.
        expect(Math.abs(info.refreshMilliHz - output.mode.vrefresh * 1000), `${card.driver}: mHz`).to.be.at.most(500);
      } finally {
        output.close();
      }
    }
  });
});
