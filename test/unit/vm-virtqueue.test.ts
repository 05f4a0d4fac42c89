/**
 * The vhost-user GPU back-end's guards, each against what a hostile guest or
 * front-end can write: the memory table (overlaps, files too short, fds
 * closed on refusal), address translation (never a view past a region), the
 * split-virtqueue walker (bad addresses, loops, out-of-range next, readable
 * after writable, indirect rules, ring overruns) and the message reader (fd
 * attribution across reads, oversized payloads).
 */
import { expect } from 'chai';
import * as native from '../../lib/native';
import { GuestMemory } from '../../lib/vm/guest-memory';
import { mapGuestView } from '../../lib/vm/guest-memory-view';
import { SplitQueue, VirtqueueError, VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from '../../lib/vm/virtio-queue';
import { encodeRequest, Req, VhostUserReader } from '../../lib/vm/vhost-user-wire';
import { fdTarget } from '../helpers/fds';

const MiB = 1024 * 1024;
const UVA = 0x7f0000000000;

function memfd(size: number): number {
  return native.memfdCreate('vq-test', size, 0x2 | 0x4);
}

describe('vhost-user GPU: guest memory table', () => {
  it('translates guest and user addresses only wholly inside one region', () => {
    const fd = memfd(4 * MiB);
    const fd2 = native.dupFd(fd);
    const mem = new GuestMemory([
      { guestAddress: 0, size: 2 * MiB, userAddress: UVA, mmapOffset: 0, fd },
      { guestAddress: 16 * MiB, size: 2 * MiB, userAddress: UVA + 16 * MiB, mmapOffset: 2 * MiB, fd: fd2 },
    ]);
    try {
      expect(mem.guest(0, 2 * MiB)!.length).to.equal(2 * MiB);
      expect(mem.guest(2 * MiB - 1, 2)).to.equal(undefined); // runs past region 0
      expect(mem.guest(4 * MiB, 1)).to.equal(undefined); // a hole
      expect(mem.guest(16 * MiB + 10, 10)!.length).to.equal(10);
      expect(mem.guest(-1, 1)).to.equal(undefined);
      expect(mem.guest(2 ** 60, 1)).to.equal(undefined);
      expect(mem.user(UVA + 16 * MiB, 8)!.length).to.equal(8);
      expect(mem.user(UVA + 2 * MiB, 1)).to.equal(undefined);
      // The second region is the file's second half: same bytes through both ways.
      mem.guest(16 * MiB, 1)![0] = 0x5a;
      const whole = new Uint8Array(native.mmapFd(fd, 4 * MiB, 0, 3));
      expect(whole[2 * MiB]).to.equal(0x5a);
      native.unmapBuffer(whole.buffer as ArrayBuffer);
      expect(mem.fileRange(16 * MiB + 4096, 4096)).to.deep.equal({ fd: fd2, offset: 2 * MiB + 4096 });
    } finally {
      mem.close();
    }
    expect(fdTarget(fd)).to.equal(undefined);
    expect(fdTarget(fd2)).to.equal(undefined);
    expect(mem.guest(0, 1)).to.equal(undefined);
  });

  it('refuses overlapping regions and regions past their file, closing every fd', () => {
    const a = memfd(MiB), b = memfd(MiB);
    expect(() => new GuestMemory([
      { guestAddress: 0, size: MiB, userAddress: UVA, mmapOffset: 0, fd: a },
      { guestAddress: MiB / 2, size: MiB / 2, userAddress: UVA + MiB, mmapOffset: 0, fd: b },
    ])).to.throw().with.property('code', 'ERR_BUFSHARE_PROTOCOL');
    expect(fdTarget(a)).to.equal(undefined);
    expect(fdTarget(b)).to.equal(undefined);
    const c = memfd(MiB);
    expect(() => new GuestMemory([{ guestAddress: 0, size: 2 * MiB, userAddress: UVA, mmapOffset: 0, fd: c }]))
      .to.throw(/past its/).with.property('code', 'ERR_BUFSHARE_PROTOCOL');
    expect(fdTarget(c)).to.equal(undefined);
  });

  it('maps scattered whole pages as one contiguous view of the same memory (MAP_FIXED over a reservation)', () => {
    const fd = memfd(4 * MiB);
    const mem = new GuestMemory([{ guestAddress: 0, size: 4 * MiB, userAddress: UVA, mmapOffset: 0, fd }]);
    try {
      const page = native.pageSize;
      // Pages 7, 3, 9 (out of order), then 10 (adjacent to 9: merged).
      const entries = [7, 3, 9, 10].map((p) => ({ addr: p * page, length: page }));
      for (const [i, e] of entries.entries()) mem.guest(e.addr, page)!.fill(i + 1);
      const view = mapGuestView(mem, entries, 'mmap')!;
      const bytes = new Uint8Array(view.memory);
      expect(bytes.length).to.equal(4 * page);
      for (let i = 0; i < 4; i++) expect(bytes[i * page]).to.equal(i + 1);
      // Zero copy: a later guest write shows through the view.
      mem.guest(3 * page + 5, 1)![0] = 0x77;
      expect(bytes[page + 5]).to.equal(0x77);
      // Not whole pages: no view (the caller copies).
      expect(mapGuestView(mem, [{ addr: 100, length: page }], 'mmap')).to.equal(undefined);
      expect(mapGuestView(mem, [{ addr: 0, length: page + 1 }], 'mmap')).to.equal(undefined);
      view.unref();
      expect(bytes.length).to.equal(0); // unmapped: the view detached
    } finally {
      mem.close();
    }
  });
});

describe('vhost-user GPU: split virtqueue validation', () => {
  const Q = 8;
  let fd: number;
  let mem: GuestMemory;
  let dv: DataView;
  const DESC = 0x1000, AVAIL = 0x2000, USED = 0x3000;
  beforeEach(() => {
    fd = memfd(2 * MiB);
    mem = new GuestMemory([{ guestAddress: 0, size: 2 * MiB, userAddress: UVA, mmapOffset: 0, fd }]);
    const b = mem.guest(0, 2 * MiB)!;
    dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  });
  afterEach(() => mem.close());

  const queue = (indirect = true): SplitQueue => new SplitQueue(mem, Q, { desc: UVA + DESC, avail: UVA + AVAIL, used: UVA + USED }, 0, { indirect });
  const desc = (table: number, i: number, addr: number, len: number, flags: number, next = 0): void => {
    dv.setBigUint64(table + 16 * i, BigInt(addr), true);
    dv.setUint32(table + 16 * i + 8, len, true);
    dv.setUint16(table + 16 * i + 12, flags, true);
    dv.setUint16(table + 16 * i + 14, next, true);
  };
  const offer = (...heads: number[]): void => {
    const idx = dv.getUint16(AVAIL + 2, true);
    heads.forEach((h, i) => dv.setUint16(AVAIL + 4 + 2 * ((idx + i) % Q), h, true));
    dv.setUint16(AVAIL + 2, (idx + heads.length) & 0xffff, true);
  };

  it('walks a good chain: readable buffers, then writable ones', () => {
    desc(DESC, 0, 0x10000, 24, VIRTQ_DESC_F_NEXT, 1);
    desc(DESC, 1, 0x10100, 64, VIRTQ_DESC_F_NEXT, 2);
    desc(DESC, 2, 0x10200, 24, VIRTQ_DESC_F_WRITE);
    offer(0);
    const q = queue();
    const c = q.pop()!;
    expect(c.error).to.equal(undefined);
    expect([c.readableBytes, c.writableBytes, c.readable.length, c.writable.length]).to.deep.equal([88, 24, 2, 1]);
    expect(q.pop()).to.equal(undefined);
    q.push(c.head, 24);
    expect(dv.getUint16(USED + 2, true)).to.equal(1);
    expect([dv.getUint32(USED + 4, true), dv.getUint32(USED + 8, true)]).to.deep.equal([0, 24]);
  });

  const badChains: [string, () => void, string][] = [
    ['a buffer outside guest memory', () => desc(DESC, 0, 2 * MiB - 8, 16, 0), 'bad-address'],
    ['a buffer at an address past 2^53', () => desc(DESC, 0, 2 ** 60, 16, 0), 'bad-address'],
    ['a length running past the region', () => desc(DESC, 0, 0x1000, 0xffffffff, 0), 'bad-address'],
    ['a loop', () => { desc(DESC, 0, 0x10000, 8, VIRTQ_DESC_F_NEXT, 1); desc(DESC, 1, 0x10000, 8, VIRTQ_DESC_F_NEXT, 0); }, 'loop'],
    ['a self loop', () => desc(DESC, 0, 0x10000, 8, VIRTQ_DESC_F_NEXT, 0), 'loop'],
    ['a next past the table', () => desc(DESC, 0, 0x10000, 8, VIRTQ_DESC_F_NEXT, Q), 'next-out-of-range'],
    ['readable after writable', () => { desc(DESC, 0, 0x10000, 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1); desc(DESC, 1, 0x10000, 8, 0); }, 'read-after-write'],
    ['INDIRECT with NEXT', () => desc(DESC, 0, 0x20000, 32, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1), 'indirect-with-next'],
    ['an indirect table of 20 bytes', () => desc(DESC, 0, 0x20000, 20, VIRTQ_DESC_F_INDIRECT), 'bad-indirect-table'],
    ['an indirect table outside memory', () => desc(DESC, 0, 4 * MiB, 32, VIRTQ_DESC_F_INDIRECT), 'bad-indirect-table'],
    ['nested indirect tables', () => { desc(DESC, 0, 0x20000, 32, VIRTQ_DESC_F_INDIRECT); desc(0x20000, 0, 0x20000, 32, VIRTQ_DESC_F_INDIRECT); }, 'nested-indirect'],
    ['a loop inside an indirect table', () => { desc(DESC, 0, 0x20000, 32, VIRTQ_DESC_F_INDIRECT); desc(0x20000, 0, 0x10000, 8, VIRTQ_DESC_F_NEXT, 1); desc(0x20000, 1, 0x10000, 8, VIRTQ_DESC_F_NEXT, 0); }, 'loop'],
  ];
  for (const [name, write, reason] of badChains) {
    it(`refuses a chain with ${name} (${reason}) and goes on with the next`, () => {
      write();
      desc(DESC, 4, 0x10000, 24, 0);
      offer(0, 4);
      const q = queue();
      const bad = q.pop()!;
      expect(bad.error?.reason).to.equal(reason);
      expect(bad.readable).to.have.length(0);
      expect(bad.writable).to.have.length(0);
      const good = q.pop()!;
      expect(good.error).to.equal(undefined);
      expect(good.head).to.equal(4);
    });
  }

  it('follows a good indirect table, and refuses one when INDIRECT_DESC was not negotiated', () => {
    desc(DESC, 0, 0x20000, 32, VIRTQ_DESC_F_INDIRECT);
    desc(0x20000, 0, 0x10000, 24, VIRTQ_DESC_F_NEXT, 1);
    desc(0x20000, 1, 0x10100, 24, VIRTQ_DESC_F_WRITE);
    offer(0, 0);
    const q = queue(true);
    const c = q.pop()!;
    expect([c.readableBytes, c.writableBytes]).to.deep.equal([24, 24]);
    const q2 = new SplitQueue(mem, Q, { desc: UVA + DESC, avail: UVA + AVAIL, used: UVA + USED }, 1, { indirect: false });
    expect(q2.pop()!.error?.reason).to.equal('nested-indirect');
  });

  it('stops the queue when the available index runs more than the queue size ahead, or a head is past the table', () => {
    dv.setUint16(AVAIL + 2, Q + 1, true);
    const q = queue();
    expect(() => q.pop()).to.throw(VirtqueueError).with.property('reason', 'avail-overrun');
    expect(() => q.pop()).to.throw(VirtqueueError); // stays stopped
    dv.setUint16(AVAIL + 2, 1, true);
    dv.setUint16(AVAIL + 4, Q + 3, true);
    expect(() => queue().pop()).to.throw(VirtqueueError).with.property('reason', 'head-out-of-range');
  });

  it('refuses rings that are misaligned, outside the table, or of a size that is not a power of two', () => {
    expect(() => new SplitQueue(mem, Q, { desc: UVA + DESC + 8, avail: UVA + AVAIL, used: UVA + USED }, 0, { indirect: true })).to.throw(VirtqueueError).with.property('reason', 'misaligned');
    expect(() => new SplitQueue(mem, Q, { desc: UVA + 2 * MiB - 16, avail: UVA + AVAIL, used: UVA + USED }, 0, { indirect: true })).to.throw(VirtqueueError).with.property('reason', 'bad-ring-address');
    expect(() => new SplitQueue(mem, 6, { desc: UVA + DESC, avail: UVA + AVAIL, used: UVA + USED }, 0, { indirect: true })).to.throw(VirtqueueError).with.property('reason', 'bad-size');
    expect(() => new SplitQueue(mem, 65536, { desc: UVA + DESC, avail: UVA + AVAIL, used: UVA + USED }, 0, { indirect: true })).to.throw(VirtqueueError).with.property('reason', 'bad-size');
  });

  it('with EVENT_IDX: publishes avail_event when the ring runs dry, and interrupts only once the used index passes used_event', () => {
    const q = new SplitQueue(mem, Q, { desc: UVA + DESC, avail: UVA + AVAIL, used: UVA + USED }, 0, { indirect: true, eventIdx: true });
    const availEvent = (): number => dv.getUint16(USED + 4 + 8 * Q, true);
    desc(DESC, 0, 0x10000, 8, 0);
    offer(0, 0);
    expect(q.pop()!.head).to.equal(0);
    expect(q.pop()!.head).to.equal(0);
    expect(q.pop()).to.equal(undefined);
    expect(availEvent()).to.equal(2); // kick me for slot 2
    // A chain offered after that is popped as usual.
    offer(0);
    expect(q.pop()!.head).to.equal(0);
    // used_event = 1: the driver wants an interrupt once entry 1 is used, not before.
    dv.setUint16(AVAIL + 4 + 2 * Q, 1, true);
    q.push(0, 0); // used 1
    expect(q.takeInterrupt()).to.equal(false);
    q.push(0, 0); // used 2: passes 1
    expect(q.takeInterrupt()).to.equal(true);
    q.push(0, 0); // used 3: used_event still 1, already signalled past it
    expect(q.takeInterrupt()).to.equal(false);
    // Without EVENT_IDX the flag decides.
    const plain = new SplitQueue(mem, Q, { desc: UVA + DESC, avail: UVA + AVAIL, used: UVA + USED }, 0, { indirect: true });
    expect(plain.takeInterrupt()).to.equal(true);
    dv.setUint16(AVAIL, 1, true); // VIRTQ_AVAIL_F_NO_INTERRUPT
    expect(plain.takeInterrupt()).to.equal(false);
  });

  it('handles the 16-bit index wrapping around', () => {
    const q = new SplitQueue(mem, Q, { desc: UVA + DESC, avail: UVA + AVAIL, used: UVA + USED }, 0xffff, { indirect: true });
    desc(DESC, 2, 0x10000, 8, 0);
    dv.setUint16(AVAIL + 4 + 2 * (0xffff % Q), 2, true);
    dv.setUint16(AVAIL + 2, 0, true); // 0xffff + 1
    expect(q.pop()!.head).to.equal(2);
    expect(q.nextAvail).to.equal(0);
    expect(q.pop()).to.equal(undefined);
  });
});

describe('vhost-user GPU: message reader', () => {
  const closed: number[] = [];
  const reader = (): VhostUserReader => new VhostUserReader((fd) => closed.push(fd));
  beforeEach(() => (closed.length = 0));

  it('reassembles messages split and joined across reads, giving each read\'s fds to the last message starting in it', () => {
    const a = encodeRequest(Req.SET_OWNER);
    const b = encodeRequest(Req.SET_VRING_KICK, new Uint8Array(8));
    const c = encodeRequest(Req.GET_FEATURES);
    const all = new Uint8Array([...a, ...b, ...c]);
    const r = reader();
    // Read 1: all of a and the first 5 bytes of b, with b's fd (the fd rides on b's first byte).
    const m1 = r.push(all.subarray(0, a.length + 5), [100]);
    expect(m1.map((m) => [m.request, m.fds])).to.deep.equal([[Req.SET_OWNER, []]]);
    const m2 = r.push(all.subarray(a.length + 5), []);
    expect(m2.map((m) => [m.request, m.fds])).to.deep.equal([[Req.SET_VRING_KICK, [100]], [Req.GET_FEATURES, []]]);
    // A read made of a's tail-less whole and b whole with fds: b's.
    const r2 = reader();
    expect(r2.push(new Uint8Array([...a, ...b]), [7]).map((m) => m.fds)).to.deep.equal([[], [7]]);
  });

  it('refuses a payload over the bound and closes every fd it held; the reader stays dead', () => {
    const r = reader();
    const big = new Uint8Array(12);
    new DataView(big.buffer).setUint32(8, 1 << 20, true);
    expect(() => r.push(big, [5, 6])).to.throw().with.property('code', 'ERR_BUFSHARE_PROTOCOL');
    expect(closed.sort()).to.deep.equal([5, 6]);
    expect(() => r.push(encodeRequest(Req.SET_OWNER), [9])).to.throw();
    expect(closed).to.include(9);
  });

  it('refuses more than 8 fds with one message', () => {
    const r = reader();
    expect(() => r.push(encodeRequest(Req.SET_OWNER), [1, 2, 3, 4, 5, 6, 7, 8, 9])).to.throw(/9 fds/);
    expect(closed).to.have.length(9);
  });
});
