/**
 * The session's host-side pieces: the uevent parser (pure), the kernel's uevent
 * socket with a real uevent (a "change" written to a sysfs uevent file), and
 * Session.open's choice when no seat manager answers. The seatd path itself
 * runs in the VM (test/drivers/session.test.ts).
 */
import { expect } from 'chai';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { Session } from '../../lib/session';
import { isDrmHotplug, parseUevent, ueventSocketOpen, watchUevents, type Uevent } from '../../lib/session/uevent';
import * as native from '../../lib/native';

const msg = (...parts: string[]): Buffer => Buffer.from(parts.join('\0') + '\0', 'latin1');
const fdCount = (): number => readdirSync('/proc/self/fd').length;

describe('session: uevents', () => {
  it('parses a kernel DRM hotplug message (drm_sysfs_hotplug_event)', () => {
    const e = parseUevent(msg('change@/devices/pci0000:00/0000:00:02.0/drm/card0', 'ACTION=change', 'DEVPATH=/devices/pci0000:00/0000:00:02.0/drm/card0',
      'SUBSYSTEM=drm', 'HOTPLUG=1', 'CONNECTOR=36', 'DEVNAME=dri/card0', 'DEVTYPE=drm_minor', 'SEQNUM=2011', 'MAJOR=226', 'MINOR=0'))!;
    expect(e).to.include({ action: 'change', subsystem: 'drm', devname: 'dri/card0', devpath: '/devices/pci0000:00/0000:00:02.0/drm/card0' });
    expect(e.env.get('CONNECTOR')).to.equal('36');
    expect(isDrmHotplug(e)).to.equal(true);
  });

  it('a synthetic change (written to the card\'s uevent file) counts as a hotplug; other drm and non-drm events do not', () => {
    const base = ['change@/devices/x/drm/card1', 'ACTION=change', 'DEVPATH=/devices/x/drm/card1', 'SUBSYSTEM=drm', 'DEVNAME=dri/card1'];
    expect(isDrmHotplug(parseUevent(msg(...base, 'SYNTH_UUID=0'))!)).to.equal(true);
    expect(isDrmHotplug(parseUevent(msg(...base, 'SYNTH_UUID=1234', 'SYNTH_ARG_HOTPLUG=1'))!)).to.equal(true);
    expect(isDrmHotplug(parseUevent(msg(...base, 'LEASE=1'))!), 'a lease event is no hotplug').to.equal(false);
    expect(isDrmHotplug(parseUevent(msg('change@/devices/x/drm/renderD128', 'ACTION=change', 'SUBSYSTEM=drm', 'DEVNAME=dri/renderD128', 'HOTPLUG=1'))!)).to.equal(false);
    expect(isDrmHotplug(parseUevent(msg('add@/devices/x/drm/card1', 'ACTION=add', 'SUBSYSTEM=drm', 'DEVNAME=dri/card1', 'HOTPLUG=1'))!)).to.equal(false);
    expect(isDrmHotplug(parseUevent(msg('change@/devices/virtual/net/lo', 'ACTION=change', 'SUBSYSTEM=net', 'HOTPLUG=1'))!)).to.equal(false);
  });

  it('bad input is undefined, never a throw or an out-of-bounds read: udev\'s rebroadcast, no @, no SUBSYSTEM, garbage, empty', () => {
    expect(parseUevent(Buffer.from('libudev\0\xfe\xed\xca\xfe', 'latin1'))).to.equal(undefined);
    expect(parseUevent(msg('change', 'SUBSYSTEM=drm'))).to.equal(undefined);
    expect(parseUevent(msg('@/x', 'SUBSYSTEM=drm'))).to.equal(undefined);
    expect(parseUevent(msg('change@/x', 'ACTION=change'))).to.equal(undefined);
    expect(parseUevent(new Uint8Array(0))).to.equal(undefined);
    for (let i = 0; i < 200; i++) {
      const junk = Buffer.alloc(1 + (i * 37) % 300);
      for (let j = 0; j < junk.length; j++) junk[j] = (i * 131 + j * 17) & 0xff;
      expect(() => parseUevent(junk)).to.not.throw();
    }
    // A view into a larger buffer reads only its own bytes.
    const big = Buffer.concat([msg('change@/a', 'SUBSYSTEM=drm', 'HOTPLUG=1'), Buffer.from('EXTRA=1\0')]);
    const view = new Uint8Array(big.buffer, big.byteOffset, big.length - 8);
    expect(parseUevent(view)!.env.has('EXTRA')).to.equal(false);
    // Keys beyond the bound are ignored.
    const many = parseUevent(msg('change@/a', 'SUBSYSTEM=drm', ...Array.from({ length: 1000 }, (_, k) => `K${k}=v`)))!;
    expect(many.env.size).to.be.at.most(64);
  });

  it('the kernel\'s uevent socket delivers a real uevent (a "change" written to lo\'s uevent file), and closes with its last subscriber', async function () {
    const file = '/sys/class/net/lo/uevent';
    try {
      writeFileSync(file, 'change');
    } catch (e) {
      this.skip(); // not root, or /sys read-only here: the VM test writes a DRM card's
    }
    const before = fdCount();
    const seen: Uevent[] = [];
    let resolve!: () => void;
    const got = new Promise<void>((r) => (resolve = r));
    const stop = watchUevents((e) => {
      seen.push(e);
      if (e.subsystem === 'net' && e.devpath.endsWith('/net/lo') && e.action === 'change') resolve();
    });
    const second = watchUevents(() => {});
    try {
      expect(fdCount()).to.equal(before + 1); // one socket for both subscribers
      writeFileSync(file, 'change');
      await Promise.race([got, new Promise((_, rej) => setTimeout(() => rej(new Error(`no uevent for lo within 5 s; saw ${seen.map((e) => `${e.action}@${e.devpath}`).join(', ')}`)), 5000))]);
    } finally {
      stop();
      expect(ueventSocketOpen()).to.equal(true);
      second();
    }
    expect(ueventSocketOpen()).to.equal(false);
    expect(fdCount()).to.equal(before);
  });
});

describe('session: Session.open without a seat manager', () => {
  const sock = '/run/seatd.sock';
  let saved: string | undefined;
  beforeEach(function () {
    if (native.libseatAvailable() !== '') this.skip(); // libseat1 not installed: the VM test says so too
    if (existsSync(sock)) this.skip(); // a real seatd answers here
    saved = process.env.LIBSEAT_BACKEND;
    process.env.LIBSEAT_BACKEND = 'seatd'; // no logind fallback from a logged-in host session
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.LIBSEAT_BACKEND;
    else process.env.LIBSEAT_BACKEND = saved;
  });

  it("backend 'libseat': ERR_BUFSHARE_NOT_AVAILABLE in libseat's own words", async () => {
    const err = await Session.open({ backend: 'libseat' }).then(() => undefined, (e: unknown) => e as { code: string; message: string });
    expect(err?.code).to.equal('ERR_BUFSHARE_NOT_AVAILABLE');
    expect(err?.message).to.match(/seatd\.sock|backend/i);
  });

  it("'auto' opens devices directly, saying why; direct sessions cannot switch VTs", async () => {
    const before = fdCount();
    const s = await Session.open();
    try {
      expect(s.backend).to.equal('direct');
      expect(s.active).to.equal(true);
      expect(s.fallbackReason).to.match(/seatd\.sock|backend/i);
      expect(() => s.switchSession(2)).to.throw().with.property('code', 'ERR_BUFSHARE_UNSUPPORTED');
      const dev = s.openDevice('/dev/null');
      expect(fdCount()).to.equal(before + 1);
      dev.close();
      dev.close();
      expect(fdCount()).to.equal(before);
      const again = s.openDevice('/dev/null');
      s.close();
      expect(fdCount(), 'close() gives back every device').to.equal(before);
      expect(() => again.close()).to.not.throw();
      expect(() => s.openDevice('/dev/null')).to.throw().with.property('code', 'ERR_BUFSHARE_DESTROYED');
    } finally {
      s.close();
    }
  });
});
