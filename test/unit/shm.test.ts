import { expect } from 'chai';
import { ShmAllocator, fromDescriptor, createShmFile, resolveFormat, type ShmBuffer } from '../../lib';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as native from '../../lib/native';
import { mapFd } from '../../lib/mapping/fd-mapping';
import { fdTarget, openFdCount } from '../helpers/fds';
import { fillPattern, findMismatch } from '../helpers/pattern';

describe('ShmAllocator', () => {
  const alloc = new ShmAllocator();
  const live: ShmBuffer[] = [];
  function allocate(width: number, height: number, format: 'XRGB8888' | 'ARGB8888' | 'RGB565' | 'ABGR8888' | 'XBGR8888' = 'XRGB8888'): ShmBuffer {
    const b = alloc.allocate({ width, height, format, usage: 'software' });
    live.push(b);
    return b;
  }
  afterEach(() => {
    while (live.length) live.pop()!.destroy();
  });

  it('allocates a sealed memfd of the right size and describes it', () => {
    const b = allocate(100, 50);
    expect(fdTarget(b.fd)).to.match(/^\/memfd:bufshare-100x50/);
    expect(b.sealed).to.equal(true);
    const c = native.constants;
    expect(native.getSeals(b.fd) & (c.F_SEAL_SHRINK | c.F_SEAL_GROW | c.F_SEAL_SEAL)).to.equal(c.F_SEAL_SHRINK | c.F_SEAL_GROW | c.F_SEAL_SEAL);
    const { descriptor, fds } = b.export();
    expect(descriptor).to.deep.include({ width: 100, height: 50, format: 0x34325258, kind: 'shm', access: 'direct', readOnly: false });
    expect(descriptor.planes).to.deep.equal([{ offset: 0, stride: 448 }]);
    expect(descriptor.size).to.equal(native.statFd(b.fd).size);
    expect(descriptor.size % native.pageSize).to.equal(0);
    expect(fds).to.deep.equal([b.fd]);
  });

  it('honours the stride alignment option', () => {
    const b = new ShmAllocator({ strideAlign: 256 }).allocate({ width: 100, height: 2, format: 'RGB565' });
    live.push(b);
    expect(b.planes[0]!.stride).to.equal(256);
  });

  it('rejects non-linear modifiers, and shadow access, with stable codes', () => {
    expect(() => allocate(0, 10)).to.throw().with.property('code', 'ERR_BUFSHARE_INVALID_DIMENSIONS');
    expect(() => alloc.allocate({ width: 8, height: 8, format: 'XRGB8888', modifiers: [0x0100000000000001n] })).to.throw(/LINEAR/).with.property('code', 'ERR_BUFSHARE_UNSUPPORTED_MODIFIER');
    expect(() => alloc.allocate({ width: 8, height: 8, format: 'XRGB8888', access: 'shadow' })).to.throw().with.property('code', 'ERR_BUFSHARE_UNSUPPORTED');
    expect(() => alloc.allocate({ width: 8, height: 8, format: 0x3231564e })).to.throw().with.property('code', 'ERR_BUFSHARE_UNSUPPORTED_FORMAT');
  });

  for (const format of ['XRGB8888', 'ARGB8888', 'ABGR8888', 'XBGR8888', 'RGB565'] as const) {
    it(`maps ${format} for writing and reads the same pixels through a second mapping`, () => {
      const b = allocate(33, 17, format);
      const w = b.map({ mode: 'write' });
      expect(w).to.include({ width: 33, height: 17, stride: b.planes[0]!.stride, mode: 'write', strategy: 'direct' });
      expect(w.format).to.equal(resolveFormat(format));
      fillPattern(w, 5);
      const r = b.map({ mode: 'read' });
      expect(findMismatch(r, 5)).to.equal(undefined);
      w.unmap();
      r.unmap();
    });
  }

  it('gives pixels32 words in native order over the same memory (zero copy)', () => {
    const b = allocate(4, 2, 'ARGB8888');
    const region = b.map();
    region.pixels32[region.stride32 + 3] = 0x80ff2010;
    const o = region.stride + 12;
    expect(Array.from(region.pixels.subarray(o, o + 4))).to.deep.equal([0x10, 0x20, 0xff, 0x80]);
    expect(region.pixels.buffer).to.equal(region.pixels32.buffer);
    region.unmap();
  });

  it('unmap detaches every view: length 0, nothing reachable', () => {
    const b = allocate(64, 64);
    const region = b.map();
    const view = region.pixels;
    const sub = region.pixels32.subarray(10, 20);
    const before = native.mappingStats().live;
    region.unmap();
    expect(native.mappingStats().live).to.equal(before - 1);
    expect(view.length).to.equal(0);
    expect(sub.length).to.equal(0);
    expect(region.pixels.length).to.equal(0);
    expect(view[0]).to.equal(undefined);
    expect(region.mapped).to.equal(false);
    region.unmap(); // idempotent
  });

  it('a region the program forgot is unmapped when its memory is garbage collected', async function () {
    this.timeout(30000);
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const before = native.mappingStats().live;
    (() => {
      for (let i = 0; i < 20; i++) {
        const f = createShmFile(64 * 1024);
        const region = mapFd({ fd: f.fd, size: f.size, mode: 'readwrite', strategy: 'direct', dmabuf: false, width: 128, height: 128, stride: 512, format: resolveFormat('XRGB8888'), offset: 0 });
        region.pixels[i] = 1;
        native.closeFd(f.fd); // the mapping outlives the fd; only GC can release it now
      }
    })();
    expect(native.mappingStats().live).to.equal(before + 20);
    for (let i = 0; i < 20 && native.mappingStats().live > before; i++) {
      gc();
      await new Promise((r) => setImmediate(r)); // Node-API finalizers may run after the GC pass
    }
    expect(native.mappingStats().live).to.equal(before);
  });

  it('buffers the program forgot (never destroyed) have their fds closed when collected', async function () {
    this.timeout(30000);
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const base = openFdCount();
    (() => {
      for (let i = 0; i < 20; i++) {
        const b = alloc.allocate({ width: 32, height: 32, format: 'XRGB8888' });
        const imported = fromDescriptor(b.export().descriptor, [native.dupFd(b.fd)]);
        imported.map({ mode: 'read' }).pixels[0];
      }
    })();
    expect(openFdCount()).to.equal(base + 40);
    for (let i = 0; i < 20 && openFdCount() > base; i++) {
      gc();
      await new Promise((r) => setImmediate(r));
    }
    expect(openFdCount()).to.equal(base);
  });

  it('a destroyed buffer is not closed again when collected', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    let fd = -1;
    (() => {
      const b = alloc.allocate({ width: 8, height: 8, format: 'XRGB8888' });
      fd = b.fd;
      b.destroy();
    })();
    // The number is free again: whatever opens next may get it, and must keep it.
    const other = native.memfdCreate('reuse', 4096, 0);
    gc();
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(fdTarget(other), `fd ${other} (was ${fd})`).to.match(/memfd:reuse/);
    native.closeFd(other);
  });

  it('a transferred view never reaches unmapped memory (structuredClone copies the external memory)', () => {
    const b = allocate(16, 16);
    const region = b.map();
    region.pixels.fill(0xab);
    let cloned: ArrayBuffer | undefined;
    try {
      cloned = structuredClone(region.pixels.buffer, { transfer: [region.pixels.buffer] });
    } catch (e) {
      // Refusing to transfer an external buffer is also safe.
      expect((e as Error).name).to.match(/DataCloneError|TypeError/);
    }
    region.unmap();
    if (cloned) {
      expect(new Uint8Array(cloned)[0]).to.equal(0xab); // its own copy, still readable
    }
  });

  it('destroy unmaps live regions and closes the fd exactly once', () => {
    const b = alloc.allocate({ width: 8, height: 8, format: 'XRGB8888' });
    const fd = b.fd;
    const region = b.map();
    expect(b.mappedRegions).to.equal(1);
    b.destroy();
    expect(region.pixels.length).to.equal(0);
    expect(fdTarget(fd)).to.equal(undefined);
    b.destroy(); // no double close
    expect(() => b.map()).to.throw().with.property('code', 'ERR_BUFSHARE_DESTROYED');
    expect(() => b.export()).to.throw().with.property('code', 'ERR_BUFSHARE_DESTROYED');
  });

  it('seals stop any holder of the fd from resizing it (EPERM)', () => {
    const b = allocate(32, 32);
    const other = native.dupFd(b.fd);
    try {
      for (const size of [0, 100, b.size * 2]) {
        expect(() => native.truncateFd(other, size)).to.throw().with.include({ code: 'ERR_BUFSHARE_SYSCALL', errno: 'EPERM', syscall: 'ftruncate' });
      }
      expect(() => native.addSeals(other, native.constants.F_SEAL_WRITE)).to.throw().with.property('errno', 'EPERM');
      expect(native.statFd(b.fd).size).to.equal(b.size);
    } finally {
      native.closeFd(other);
    }
  });

  it('falls back to an unsealed /dev/shm file when forced, and says so', () => {
    const b = new ShmAllocator({ forceFallback: true }).allocate({ width: 20, height: 20, format: 'XRGB8888' });
    live.push(b);
    expect(b.sealed).to.equal(false);
    expect(fdTarget(b.fd)).to.not.match(/memfd/);
    const region = b.map();
    fillPattern(region, 9);
    region.unmap();
    const imported = fromDescriptor(b.export().descriptor, [native.dupFd(b.fd)]);
    expect(findMismatch(imported.map({ mode: 'read' }), 9)).to.equal(undefined);
    imported.destroy();
  });

  it('the environment variable forces the fallback too', () => {
    process.env.BUFSHARE_SHM_FALLBACK = '1';
    try {
      const f = createShmFile(4096);
      expect(f.sealed).to.equal(false);
      native.closeFd(f.fd);
    } finally {
      delete process.env.BUFSHARE_SHM_FALLBACK;
    }
    const f = createShmFile(4096);
    expect(f.sealed).to.equal(true);
    native.closeFd(f.fd);
  });

  it('10,000 allocate/map/unmap/destroy cycles leave the open fd count where it started', function () {
    this.timeout(60000);
    const base = openFdCount();
    const mappingsBefore = native.mappingStats().live;
    for (let i = 0; i < 10000; i++) {
      const b = alloc.allocate({ width: 64, height: 32, format: i % 2 ? 'XRGB8888' : 'RGB565' });
      const region = b.map({ mode: 'write' });
      region.pixels[0] = i & 0xff;
      region.unmap();
      b.destroy();
    }
    expect(openFdCount()).to.equal(base);
    expect(native.mappingStats().live).to.equal(mappingsBefore);
  });
});

describe('fromDescriptor', () => {
  const alloc = new ShmAllocator();

  it('rebuilds a buffer that shares pixels with the original', () => {
    const b = alloc.allocate({ width: 40, height: 30, format: 'ARGB8888' });
    const { descriptor, fds } = b.export();
    const imported = fromDescriptor(JSON.parse(JSON.stringify(descriptor)), fds.map(native.dupFd));
    const w = imported.map({ mode: 'write' });
    fillPattern(w, 77);
    w.unmap();
    const r = b.map({ mode: 'read' });
    expect(findMismatch(r, 77)).to.equal(undefined);
    expect(imported).to.include({ width: 40, height: 30, kind: 'shm', access: 'direct', id: b.id });
    imported.destroy();
    b.destroy();
  });

  it('closes the fds it was given when the descriptor is bad (nothing leaks)', () => {
    const b = alloc.allocate({ width: 40, height: 30, format: 'XRGB8888' });
    const { descriptor } = b.export();
    const cases: [unknown, number][] = [
      [{ ...descriptor, width: 0 }, 1],
      [{ ...descriptor, planes: [{ offset: 0, stride: 100 }] }, 1],
      [descriptor, 2], // wrong fd count
      [{ ...descriptor, size: descriptor.size * 2, planes: [{ offset: 0, stride: 160 * 2 }] }, 1], // fd holds less than claimed
    ];
    for (const [d, n] of cases) {
      const fds = Array.from({ length: n }, () => native.dupFd(b.fd));
      expect(() => fromDescriptor(d, fds)).to.throw().with.property('code', 'ERR_BUFSHARE_INVALID_DESCRIPTOR');
      for (const fd of fds) expect(fdTarget(fd), `fd ${fd} left open`).to.equal(undefined);
    }
    b.destroy();
  });

  it('refuses write mappings of a read-only buffer', () => {
    const b = alloc.allocate({ width: 8, height: 8, format: 'XRGB8888' });
    const imported = fromDescriptor({ ...b.export().descriptor, readOnly: true }, [native.dupFd(b.fd)]);
    expect(() => imported.map({ mode: 'write' })).to.throw().with.property('code', 'ERR_BUFSHARE_READ_ONLY');
    expect(() => imported.map({ mode: 'bogus' as never })).to.throw().with.property('code', 'ERR_BUFSHARE_INVALID_ARGUMENT');
    imported.map({ mode: 'read' }).unmap();
    imported.destroy();
    b.destroy();
  });
});
