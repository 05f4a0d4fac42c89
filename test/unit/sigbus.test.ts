import { closeSync, openSync } from 'node:fs';
import { expect } from 'chai';
import { ShmAllocator, fromDescriptor, copyRects, type ShmBuffer } from '../../lib';
import * as native from '../../lib/native';
import { fillPattern, findMismatch } from '../helpers/pattern';
import { runTs } from '../helpers/spawn';

/** Truncates the file behind `fd` through a second fd, as a hostile client holding it would. */
function truncateBehind(fd: number, size: number): void {
  const other = native.dupFd(fd);
  try {
    native.truncateFd(other, size);
  } finally {
    native.closeFd(other);
  }
}

function sum(bytes: Uint8Array): number {
  let s = 0;
  for (const v of bytes) s += v;
  return s;
}

describe('SIGBUS guard (a file truncated under a live mapping)', () => {
  const fallback = new ShmAllocator({ forceFallback: true });
  const live: ShmBuffer[] = [];
  function allocate(width = 64, height = 64): ShmBuffer {
    const b = fallback.allocate({ width, height, format: 'XRGB8888' });
    live.push(b);
    return b;
  }
  afterEach(() => {
    while (live.length) live.pop()!.destroy();
  });

  it('guards mappings of files that can shrink, and only those', () => {
    const unsealed = allocate();
    const sealed = new ShmAllocator().allocate({ width: 8, height: 8, format: 'XRGB8888' });
    live.push(sealed);
    expect(unsealed.sealed).to.equal(false);
    expect(sealed.sealed).to.equal(true);
    const before = native.mappingStats().guarded;
    const r1 = unsealed.map();
    const r2 = sealed.map();
    expect(native.mappingStats().guarded).to.equal(before + 1);
    expect(native.mappingStats().sigbusHandler).to.equal(true);
    r1.unmap();
    r2.unmap();
    expect(native.mappingStats().guarded).to.equal(before);
  });

  it('reading a truncated buffer returns zeros instead of killing the process, and the buffer reports faulted', () => {
    const b = allocate(64, 64);
    const region = b.map({ mode: 'read' });
    const writer = b.map({ mode: 'write' });
    fillPattern(writer, 3);
    expect(findMismatch(region, 3)).to.equal(undefined);
    expect(region.faulted).to.equal(false);
    expect(b.faulted).to.equal(false);
    const faultsBefore = native.mappingStats().sigbusFaults;

    truncateBehind(b.fd, 0);
    // Without the guard this read dies with SIGBUS.
    expect(sum(region.pixels)).to.equal(0);
    expect(region.faulted).to.equal(true);
    expect(b.faulted).to.equal(true);
    expect(writer.faulted).to.equal(false); // not touched yet
    writer.pixels[100] = 7; // writing faults too, and lands in the private zero page
    expect(writer.faulted).to.equal(true);
    expect(writer.pixels[100]).to.equal(7);
    expect(native.mappingStats().sigbusFaults).to.equal(faultsBefore + 2);

    region.unmap();
    writer.unmap();
    expect(region.faulted, 'a fault is remembered past unmap').to.equal(true);
    expect(b.faulted).to.equal(true);
  });

  it('pages still inside the file read normally until the first fault past its end', () => {
    const b = allocate(256, 64); // 64 KiB
    const region = b.map();
    fillPattern(region, 11);
    const firstRow = region.pixels.slice(0, region.stride);
    truncateBehind(b.fd, native.pageSize);
    expect(Buffer.compare(Buffer.from(region.pixels.subarray(0, region.stride)), Buffer.from(firstRow))).to.equal(0);
    expect(region.faulted).to.equal(false);
    const lastRow = region.pixels.subarray(63 * region.stride);
    expect(sum(lastRow)).to.equal(0); // faults: the whole mapping is replaced, as wl_shm does
    expect(region.faulted).to.equal(true);
    expect(sum(region.pixels)).to.equal(0);
  });

  it('copyRects out of a truncated shadow copies zeros and does not crash (the server commit path)', () => {
    const shadow = allocate(32, 32);
    const target = new ShmAllocator().allocate({ width: 32, height: 32, format: 'XRGB8888' });
    live.push(target);
    const src = shadow.map();
    fillPattern(src, 5);
    const dst = target.map();
    dst.pixels.fill(0xff);
    truncateBehind(shadow.fd, 0);
    expect(copyRects(src, dst, [{ x: 0, y: 0, width: 32, height: 32 }])).to.equal(32 * 32);
    expect(sum(dst.pixels.subarray(0, 32 * 4))).to.equal(0);
    expect(shadow.faulted).to.equal(true);
    expect(target.faulted).to.equal(false);
  });

  it('an imported buffer over an unsealed fd is guarded too', () => {
    const b = allocate(40, 40);
    const imported = fromDescriptor(b.export().descriptor, [native.dupFd(b.fd)]);
    const region = imported.map({ mode: 'read' });
    truncateBehind(b.fd, 0);
    expect(sum(region.pixels)).to.equal(0);
    expect(imported.faulted).to.equal(true);
    imported.destroy();
  });

  it('guards mappings of fds that are not regular files (a dma-buf, a device): a fault there reads zeros and is reported', function () {
    // valgrind stops at a queued SIGBUS ("Valgrind received a signal 7 (SIGBUS) - exiting").
    if (/vgpreload/.test(process.env.LD_PRELOAD ?? '')) this.skip();
    // No test can purge a GEM object or unplug a device, so the fault is the one
    // the kernel would deliver (SIGBUS, BUS_ADRERR at the address), queued to this
    // thread. Before: such mappings were not guarded and the signal killed the process.
    const fd = openSync('/dev/zero', 'r+');
    try {
      const memory = native.mmapFd(fd, 8192, 0, native.PROT_READ | native.PROT_WRITE);
      const bytes = new Uint8Array(memory);
      bytes.fill(7);
      expect(native.mappingState(memory)).to.deep.equal({ guarded: true, faulted: false });
      const faults = native.mappingStats().sigbusFaults;
      native.injectSigbus(memory, 4100);
      expect(native.mappingState(memory)).to.deep.equal({ guarded: true, faulted: true });
      expect(native.mappingStats().sigbusFaults).to.equal(faults + 1);
      expect(sum(bytes), 'the whole mapping reads zeros').to.equal(0);
      native.unmapBuffer(memory);
      expect(() => native.injectSigbus(memory, 0)).to.throw(/detached/);
    } finally {
      closeSync(fd);
    }
  });

  it('injectSigbus refuses an address no guard watches (a mapping of a sealed memfd, a plain ArrayBuffer): the signal would kill', () => {
    const sealed = new ShmAllocator().allocate({ width: 8, height: 8, format: 'XRGB8888' });
    try {
      const region = sealed.map();
      expect(region.guarded).to.equal(false);
      expect(() => native.injectSigbus(region.pixels.buffer as ArrayBuffer, 0)).to.throw(/not a mapping the SIGBUS guard watches/);
      expect(() => native.injectSigbus(new ArrayBuffer(64), 0)).to.throw(/not a mapping the SIGBUS guard watches/);
      expect(() => native.injectSigbus(new ArrayBuffer(64), 64)).to.throw(/outside the mapping/);
    } finally {
      sealed.destroy();
    }
  });

  it(`frees guard slots on unmap: more map/unmap cycles than the table holds`, function () {
    // 33,768 cycles: minutes under valgrind's interpreter (the ASan run keeps it).
    if (/vgpreload/.test(process.env.LD_PRELOAD ?? '')) this.skip();
    const b = allocate(8, 8);
    const before = native.mappingStats().guarded;
    for (let i = 0; i < native.constants.GUARD_SLOTS + 1000; i++) b.map().unmap();
    expect(native.mappingStats().guarded).to.equal(before);
  });

  it('hands any other SIGBUS to the previous disposition (the default one still kills)', async () => {
    const script = 'test/helpers/sigbus-child.ts';
    // Under test:asan, ASan's report must reach this child's stderr, not the run's report files.
    const asanOptions = (process.env.ASAN_OPTIONS ?? '').replace(/log_path=[^:]*:?/, '');
    const res = await runTs(script, ['kill-self'], [], asanOptions === '' ? {} : { ASAN_OPTIONS: asanOptions });
    expect(res.stdout).to.equal('guard installed\n');
    // Under `npm run test:asan` the previous disposition is AddressSanitizer's
    // handler, which reports the signal and exits instead.
    const asanHandled = process.env.BUFSHARE_ADDON !== undefined && /AddressSanitizer: BUS/.test(res.stderr);
    expect(res.signal === 'SIGBUS' || asanHandled, `signal ${res.signal}, code ${res.code}: ${res.stderr}`).to.equal(true);
  });

  it('hands a SIGBUS it does not own to a handler installed before it (a JS listener)', async () => {
    const res = await runTs('test/helpers/sigbus-child.ts', ['chain-to-listener']);
    expect(res.stdout, res.stderr).to.equal('listener saw SIGBUS\n');
    expect(res.code).to.equal(0);
  });
});
