/**
 * Hardware-buffer logic that runs without DRM: device discovery on a machine
 * without /dev/dri, the auto allocator's fallback, the environment overrides,
 * the quirk table, decideAccess(), the probe report, and the shadow path of
 * HardwareBuffer over real shared memory. The drivers themselves are tested in
 * test/drivers (the VM).
 */
import { expect } from 'chai';
import { existsSync } from 'node:fs';
import {
  AutoAllocator, DumbAllocator, GbmAllocator, UdmabufAllocator, createAllocator, createShmFile, drmUnavailableReason, fromDescriptor,
  listDrmNodes, probe, Region, rect, resolveFormat, accessFromEnv, allocatorFromEnv, MODIFIER_LINEAR,
} from '../../lib';
import { forcedShadowReason } from '../../lib/allocator/env';
import { createHardwareBuffer, exportOnce, type RawBuffer } from '../../lib/allocator/hardware-buffer';
import { debugEnabled, setDebugSink } from '../../lib/debug';
import { computeLayout } from '../../lib/layout';
import { mapFd } from '../../lib/mapping/fd-mapping';
import * as native from '../../lib/native';
import type { KindCapability } from '../../lib/capabilities/access';
import { fillPattern, findMismatch } from '../helpers/pattern';
import { openFds } from '../helpers/fds';

const hasDri = existsSync('/dev/dri');
const hasUdmabuf = existsSync('/dev/udmabuf');

function withEnv<T>(vars: Record<string, string | undefined>, fn: () => T): T {
  const saved: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(vars)) {
    saved[k] = process.env[k];
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  try {
    return fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

describe('DRM devices without DRM', () => {
  it('lists no nodes and says why', function () {
    expect(listDrmNodes('/nonexistent-dri')).to.deep.equal([]);
    expect(drmUnavailableReason('/nonexistent-dri')).to.equal('no /nonexistent-dri');
    if (hasDri) this.skip();
    expect(drmUnavailableReason()).to.equal('no /dev/dri');
  });

  it('allocators say "not available" with the reason', function () {
    expect(() => new DumbAllocator({ device: '/nonexistent-dri/card0' })).to.throw(/not available: no such device/).with.property('code', 'ERR_BUFSHARE_NOT_AVAILABLE');
    if (hasDri) this.skip();
    expect(() => new DumbAllocator()).to.throw(/not available: no \/dev\/dri/).with.property('code', 'ERR_BUFSHARE_NOT_AVAILABLE');
    expect(() => new GbmAllocator()).to.throw(/not available/).with.property('code', 'ERR_BUFSHARE_NOT_AVAILABLE');
    if (!hasUdmabuf) expect(() => new UdmabufAllocator()).to.throw(/udmabuf not available: no \/dev\/udmabuf/).with.property('code', 'ERR_BUFSHARE_NOT_AVAILABLE');
  });
});

describe('environment overrides', () => {
  it('parses BUFSHARE_ALLOCATOR and BUFSHARE_ACCESS, rejecting anything else', () => {
    expect(allocatorFromEnv({})).to.equal(undefined);
    expect(allocatorFromEnv({ BUFSHARE_ALLOCATOR: ' GBM ' })).to.equal('gbm');
    expect(allocatorFromEnv({ BUFSHARE_ALLOCATOR: 'shm' })).to.equal('shm');
    expect(() => allocatorFromEnv({ BUFSHARE_ALLOCATOR: 'vulkan' })).to.throw(/gbm, dumb/).with.property('code', 'ERR_BUFSHARE_INVALID_ARGUMENT');
    expect(accessFromEnv({})).to.equal(undefined);
    expect(accessFromEnv({ BUFSHARE_ACCESS: 'auto' })).to.equal(undefined);
    expect(accessFromEnv({ BUFSHARE_ACCESS: 'Shadow' })).to.equal('shadow');
    expect(() => accessFromEnv({ BUFSHARE_ACCESS: 'direct!' })).to.throw().with.property('code', 'ERR_BUFSHARE_INVALID_ARGUMENT');
    expect(forcedShadowReason('shadow', {})).to.match(/request/);
    expect(forcedShadowReason(undefined, { BUFSHARE_ACCESS: 'shadow' })).to.equal('BUFSHARE_ACCESS=shadow');
    expect(forcedShadowReason('auto', {})).to.equal(undefined);
  });

  it('turns debug output on with BUFSHARE_DEBUG or DEBUG=bufshare', () => {
    expect(debugEnabled({})).to.equal(false);
    expect(debugEnabled({ BUFSHARE_DEBUG: '1' })).to.equal(true);
    expect(debugEnabled({ BUFSHARE_DEBUG: '0' })).to.equal(false);
    expect(debugEnabled({ DEBUG: 'express,bufshare' })).to.equal(true);
    expect(debugEnabled({ DEBUG: '*' })).to.equal(true);
    expect(debugEnabled({ DEBUG: 'bufsharex' })).to.equal(false);
  });
});

describe('AutoAllocator', () => {
  it('gives shm for software requests', () => {
    const a = createAllocator();
    const b = a.allocate({ width: 8, height: 8, format: 'XRGB8888' });
    expect(b.kind).to.equal('shm');
    b.destroy();
    a.close();
  });

  it('falls back to shm for hardware requests where nothing works, saying why (and in debug output)', function () {
    if (hasDri || hasUdmabuf) this.skip();
    const lines: string[] = [];
    const restore = setDebugSink((l) => lines.push(l));
    try {
      withEnv({ BUFSHARE_DEBUG: '1', BUFSHARE_ALLOCATOR: undefined, BUFSHARE_DEVICE: undefined }, () => {
        const a = new AutoAllocator();
        const b = a.allocate({ width: 8, height: 8, format: 'XRGB8888', usage: 'hardware', access: 'shadow' });
        expect(b.kind).to.equal('shm');
        expect(a.fallbackReason).to.match(/no \/dev\/dri/);
        expect(a.hardwareAllocator).to.equal(null);
        b.destroy();
        a.close();
      });
    } finally {
      restore();
    }
    expect(lines.some((l) => /^bufshare:auto .*allocating shm: .*no \/dev\/dri/.test(l))).to.equal(true);
  });

  it('honours BUFSHARE_ALLOCATOR=shm and an explicit backend (which must then exist)', function () {
    withEnv({ BUFSHARE_ALLOCATOR: 'shm' }, () => {
      const a = new AutoAllocator();
      expect(a.allocate({ width: 4, height: 4, format: 'XRGB8888', usage: 'hardware' }).kind).to.equal('shm');
      expect(a.fallbackReason).to.equal('BUFSHARE_ALLOCATOR=shm');
    });
    expect(() => withEnv({ BUFSHARE_ALLOCATOR: 'bogus' }, () => new AutoAllocator())).to.throw().with.property('code', 'ERR_BUFSHARE_INVALID_ARGUMENT');
    if (hasDri) this.skip();
    const a = new AutoAllocator({ allocator: 'dumb' });
    expect(() => a.allocate({ width: 4, height: 4, format: 'XRGB8888', usage: 'hardware' })).to.throw().with.property('code', 'ERR_BUFSHARE_NOT_AVAILABLE');
  });
});

const OKR = { ok: true } as const;
function capability(over: Partial<KindCapability> = {}): KindCapability {
  return {
    allocate: OKR, exportReadWrite: OKR, exportReadOnly: { ok: false, skipped: 'rw worked' }, dmabufMmapRead: OKR, dmabufMmapWrite: OKR,
    serverMaps: { 'dumb-map': OKR, 'dmabuf-sync': OKR }, ...over,
  };
}
const ENOSYS = { ok: false, call: 'mmap', errno: 'ENOSYS', message: 'mmap failed' } as const;

describe('decideAccess and the quirk table', () => {
  it('lists vmwgfx as never-mmap, and nothing for other drivers', () => {
    expect(probe.quirksFor('vmwgfx').map((q) => q.noDmabufMmap)).to.deep.equal([true]);
    expect(probe.quirksFor('virtio_gpu')).to.deep.equal([]);
    expect(probe.dmabufMmapForbidden('i915')).to.equal(undefined);
  });

  it('gives direct access with the backend\'s own server map when everything works', () => {
    expect(probe.decideAccess({ kind: 'dumb', driver: 'bochs-drm', capability: capability() })).to.deep.equal({
      kind: 'dumb', usable: true, clientAccess: 'direct', serverMapping: 'dumb-map', readOnly: false, exportsBuffer: true, reasons: [],
    });
  });

  it('gives vmwgfx a shadow even where mmap would work, and never maps its dma-buf on the server', () => {
    const v = probe.decideAccess({ kind: 'dumb', driver: 'vmwgfx', capability: capability() });
    expect(v).to.include({ usable: true, clientAccess: 'shadow', serverMapping: 'dumb-map' });
    expect(v.usable && v.reasons.join()).to.match(/quirk: vmwgfx/);
    const noOwn = probe.decideAccess({ kind: 'dumb', driver: 'vmwgfx', capability: capability({ serverMaps: { 'dumb-map': ENOSYS, 'dmabuf-sync': OKR } }) });
    expect(noOwn).to.include({ usable: false });
  });

  it('falls back to shadow when mmap fails, the export is read-only, or there is no export', () => {
    expect(probe.decideAccess({ kind: 'gbm', driver: 'qxl', capability: capability({ dmabufMmapWrite: ENOSYS, serverMaps: { 'gbm-map': OKR, 'dmabuf-sync': ENOSYS } }) }))
      .to.include({ clientAccess: 'shadow', serverMapping: 'gbm-map', readOnly: false });
    const ro = probe.decideAccess({ kind: 'gbm', driver: 'x', capability: capability({ exportReadWrite: { ...ENOSYS, call: 'ioctl' }, exportReadOnly: OKR, serverMaps: { 'gbm-map': OKR } }) });
    expect(ro).to.include({ clientAccess: 'shadow', readOnly: true, exportsBuffer: true });
    const none = probe.decideAccess({ kind: 'dumb', driver: 'bochs-drm', capability: capability({ exportReadWrite: ENOSYS, exportReadOnly: ENOSYS, serverMaps: { 'dumb-map': OKR } }) });
    expect(none).to.include({ clientAccess: 'shadow', readOnly: false, exportsBuffer: false });
  });

  it('maps the dma-buf on the server when its own map fails, and forces shadow on request', () => {
    expect(probe.decideAccess({ kind: 'dumb', driver: 'x', capability: capability({ serverMaps: { 'dumb-map': ENOSYS, 'dmabuf-sync': OKR } }) }))
      .to.include({ clientAccess: 'direct', serverMapping: 'dmabuf-sync' });
    expect(probe.decideAccess({ kind: 'dumb', driver: 'x', capability: capability(), forceShadow: 'test' })).to.include({ clientAccess: 'shadow' });
    expect(probe.decideAccess({ kind: 'dumb', driver: 'x', capability: capability({ allocate: ENOSYS }) })).to.include({ usable: false });
  });
});

describe('probeMachine', () => {
  it('returns a JSON-serialisable, versioned report; without DRM it says so and reports shm', function () {
    const r = probe.probeMachine({ width: 32, height: 16 });
    expect(JSON.parse(JSON.stringify(r))).to.deep.equal(r);
    expect(r.schemaVersion).to.equal(probe.PROBE_SCHEMA_VERSION);
    expect(r.request).to.deep.equal({ width: 32, height: 16, format: 'XRGB8888' });
    expect(r.machine.memfd).to.deep.include({ ok: true });
    expect(r.verdict.software).to.equal(true);
    for (const n of r.nodes) for (const k of [n.dumb, n.gbm]) expect(k.verdict).to.have.property('usable');
    if (hasDri || hasUdmabuf) this.skip();
    expect(r.drm).to.deep.equal({ available: false, reason: 'no /dev/dri' });
    expect(r.nodes).to.deep.equal([]);
    expect(r.verdict).to.include({ hardware: false });
    expect(r.verdict.reason).to.match(/no \/dev\/dri/);
  });

  it('reports a missing --device', () => {
    const r = probe.probeMachine({ device: '/dev/dri/card99' });
    expect(r.drm).to.deep.equal({ available: false, reason: 'no /dev/dri/card99' });
  });

  it('ranks direct before shadow, gbm before dumb before udmabuf, display nodes before vgem', () => {
    const node = (path: string, driver: string, gbm: 'direct' | 'shadow' | 'no', dumb: 'direct' | 'shadow' | 'no'): probe.NodeProbe => {
      const v = (kind: 'gbm' | 'dumb', a: string): probe.AccessVerdict => a === 'no' ? { kind, usable: false, reason: 'x' } : { kind, usable: true, clientAccess: a as 'direct', serverMapping: `${kind}-map` as 'gbm-map', readOnly: false, exportsBuffer: true, reasons: [] };
      return { path, name: path, type: 'card', sysfs: {}, open: OKR, driver: { name: driver, version: '1', date: '', description: '' }, quirks: [], dumb: { capability: capability(), verdict: v('dumb', dumb) }, gbm: { capability: capability(), verdict: v('gbm', gbm), device: OKR, scanout: OKR } } as probe.NodeProbe;
    };
    const udmabuf = { capability: capability(), verdict: { kind: 'udmabuf', usable: true, clientAccess: 'direct', serverMapping: 'direct', readOnly: false, exportsBuffer: true, reasons: [] } } as probe.KindProbe;
    const ranked = probe.rankChoices([node('/c0', 'vgem', 'direct', 'direct'), node('/c1', 'qxl', 'shadow', 'shadow'), node('/c2', 'bochs-drm', 'no', 'direct')], udmabuf);
    expect(ranked.map((c) => `${c.kind}@${c.device ?? '-'}:${c.clientAccess}`)).to.deep.equal([
      'gbm@/c0:direct', 'dumb@/c2:direct', 'dumb@/c0:direct', 'udmabuf@-:direct', 'gbm@/c1:shadow', 'dumb@/c1:shadow',
    ]);
  });
});

/**
 * A buffer object over a memfd: real shared memory standing in for the device
 * memory, so the shadow path (descriptor, fds, commitShadow clipping, cleanup)
 * runs on any host. What DRM adds is tested on real drivers in test/drivers.
 */
function memfdRaw(width: number, height: number, driver = 'memfd-test'): RawBuffer {
  const format = resolveFormat('XRGB8888');
  const { stride, size } = computeLayout(width, height, format, 128, native.pageSize);
  const file = createShmFile(size);
  const exported = exportOnce(() => native.dupFd(file.fd));
  let destroyed = false;
  return {
    kind: 'dumb', driver, width, height, format, modifier: MODIFIER_LINEAR, plane: { offset: 0, stride }, size, export: exported, ownMapping: 'dumb-map', ownMappingIsDirect: true,
    mapOwn: (mode) => mapFd({ fd: file.fd, size, mode, strategy: 'dumb-map', dmabuf: false, width, height, stride, format, offset: 0 }),
    destroy: () => {
      if (destroyed) return;
      destroyed = true;
      native.closeFd(exported.fd!);
      native.closeFd(file.fd);
    },
  };
}

describe('HardwareBuffer shadow access', () => {
  it('sends buffer + sealed shadow fds; commitShadow copies only the damage, clipped; destroy closes everything', () => {
    const before = openFds();
    const liveMappings = native.mappingStats().live;
    const b = createHardwareBuffer(memfdRaw(40, 20, 'vmwgfx'), capability(), undefined);
    expect(b).to.include({ access: 'shadow', serverMapping: 'dumb-map', readOnly: false });
    const { descriptor, fds } = b.export();
    expect(descriptor.fds).to.deep.equal(['buffer', 'shadow']);
    expect(descriptor.shadow).to.deep.equal({ stride: 192, size: native.pageSize * Math.ceil(192 * 20 / native.pageSize) });
    const c = native.constants;
    expect(native.getSeals(fds[1]!) & (c.F_SEAL_SHRINK | c.F_SEAL_GROW)).to.equal(c.F_SEAL_SHRINK | c.F_SEAL_GROW);
    // The client side, in this process: draws into the shadow through fromDescriptor.
    const client = fromDescriptor(JSON.parse(JSON.stringify(descriptor)), fds.map((fd) => native.dupFd(fd)));
    const region = client.map({ mode: 'write' });
    expect(region.strategy).to.equal('shadow');
    fillPattern(region, 3);
    region.unmap();
    client.destroy();
    expect(b.commitShadow(Region.from([rect(30, 10, 100, 100)]))).to.equal(10 * 10);
    let server = b.map({ mode: 'read' });
    const first = findMismatch(server, 3);
    expect(first).to.deep.equal({ x: 0, y: 0 });
    server.unmap();
    expect(b.commitShadow(Region.full(40, 20))).to.equal(800);
    server = b.map({ mode: 'read' });
    expect(findMismatch(server, 3)).to.equal(undefined);
    b.destroy();
    expect(server.mapped).to.equal(false);
    // The shadow and the commit target stay mapped across commits; destroy unmaps them.
    expect(native.mappingStats().live).to.equal(liveMappings);
    expect(openFds().filter((fd) => !before.includes(fd))).to.deep.equal([]);
  });

  it('forced shadow and direct: a direct buffer commits nothing', () => {
    const forced = createHardwareBuffer(memfdRaw(8, 8), capability(), 'test');
    expect(forced.access).to.equal('shadow');
    forced.destroy();
    const direct = createHardwareBuffer(memfdRaw(8, 8), capability(), undefined);
    expect(direct.access).to.equal('direct');
    expect(direct.export().descriptor.fds).to.deep.equal(['buffer']);
    expect(direct.commitShadow(Region.full(8, 8))).to.equal(0);
    direct.destroy();
  });
});
