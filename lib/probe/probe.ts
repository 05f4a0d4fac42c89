/**
 * probeMachine(): every DRM node and every machine-wide path, tried for real,
 * with a verdict per buffer kind computed by decideAccess() (the allocators' own
 * decision). Leaves no buffer, mapping or fd behind: each object made here is
 * destroyed before the next path is tried.
 */
import { existsSync, readdirSync } from 'node:fs';
import { release, machine } from 'node:os';
import { join } from 'node:path';
import { createDumbObject } from '../allocator/dumb';
import { forcedShadowReason } from '../allocator/env';
import { createGbmObject, GbmDevice } from '../allocator/gbm';
import { probeCapability } from '../allocator/hardware-buffer';
import { createShmFile, shmSeals } from '../allocator/shm-file';
import { createUdmabufObject, udmabufUnavailableReason } from '../allocator/udmabuf';
import { DrmDevice } from '../drm/device';
import { drmUnavailableReason, listDrmNodes, type DrmCaps, type DrmNode, type DrmNodeDescription } from '../drm/nodes';
import { resolveFormat, type FormatInfo, type FormatSpec } from '../format';
import { computeLayout } from '../layout';
import { mapFd } from '../mapping/fd-mapping';
import * as native from '../native';
import { decideAccess, type AccessVerdict, type HardwareKind, type KindCapability } from '../capabilities/access';
import { checkPattern, fillCheckPattern } from '../capabilities/pattern';
import { quirksFor, type DriverQuirk } from '../capabilities/quirks';
import { attempt, failed, failureOf, ok, skipped, type PathResult } from '../capabilities/result';

/** Bumped whenever a field changes meaning or is removed (adding fields keeps it). */
export const PROBE_SCHEMA_VERSION = 1;

export interface ProbeOptions {
  /** Probe only this node (default: every node in /dev/dri). */
  readonly device?: string;
  /** Test buffer size; default 256x256. */
  readonly width?: number;
  readonly height?: number;
  /** Test buffer format; default XRGB8888. */
  readonly format?: FormatSpec;
  /** Verdicts as if shadow were forced (BUFSHARE_ACCESS=shadow is honoured too). */
  readonly forceShadow?: boolean;
  /** Directory of DRM nodes; default /dev/dri (tests). */
  readonly driDir?: string;
}

/** One buffer kind on one node (or the machine, for udmabuf): what was tried and the verdict. */
export interface KindProbe {
  readonly capability: KindCapability;
  readonly verdict: AccessVerdict;
}

export interface GbmProbe extends KindProbe {
  /** gbm_create_device on the node (libgbm is loaded first: its absence fails here). */
  readonly device: PathResult;
  /** The GBM backend Mesa chose ("drm", or a driver name). */
  readonly backend?: string;
  /** A buffer object with GBM_BO_USE_SCANOUT | LINEAR. */
  readonly scanout: PathResult;
  /** Formats gbm_device_is_format_supported accepts for rendering. */
  readonly formats?: readonly string[];
}

export interface NodeProbe {
  readonly path: string;
  readonly name: string;
  readonly type: DrmNode['type'];
  readonly sysfs: DrmNode['sysfs'];
  readonly open: PathResult;
  readonly driver?: DrmNodeDescription['driver'];
  readonly caps?: DrmCaps;
  readonly quirks: readonly DriverQuirk[];
  readonly dumb: KindProbe;
  readonly gbm: GbmProbe;
}

export interface HeapProbe {
  readonly name: string;
  readonly path: string;
  /** Allocation, then mmap read/write with DMA_BUF_IOCTL_SYNC and a pattern read back through a second mapping. */
  readonly result: PathResult;
}

/** The best hardware choice, as the auto allocator makes it. */
export interface HardwareChoice {
  readonly kind: HardwareKind;
  /** The node, for dumb and gbm. */
  readonly device?: string;
  readonly driver?: string;
  readonly clientAccess: 'direct' | 'shadow';
  readonly serverMapping: string;
}

export interface ProbeReport {
  readonly schemaVersion: typeof PROBE_SCHEMA_VERSION;
  readonly kernel: { readonly release: string; readonly machine: string };
  readonly request: { readonly width: number; readonly height: number; readonly format: string };
  /** Why every verdict is shadow (BUFSHARE_ACCESS=shadow, or the forceShadow option), when it is forced. */
  readonly forcedShadow?: string;
  /** Whether DRM nodes exist at all, and why not. */
  readonly drm: { readonly available: boolean; readonly reason?: string };
  readonly nodes: readonly NodeProbe[];
  readonly machine: {
    /** memfd_create + F_SEAL_SHRINK|GROW|SEAL, mapped and written: what shm buffers and shadows need. */
    readonly memfd: PathResult;
    readonly udmabuf: KindProbe & { readonly available: PathResult };
    readonly dmaHeaps: { readonly available: PathResult; readonly heaps: readonly HeapProbe[] };
  };
  readonly verdict: {
    /** At least one hardware kind is usable. */
    readonly hardware: boolean;
    /** What the auto allocator picks for `usage: 'hardware'`, if anything. */
    readonly best?: HardwareChoice;
    /** Every usable hardware choice, best first. */
    readonly usable: readonly HardwareChoice[];
    /** Software buffers (sealed memfd) work: the memfd probe's outcome (machine.memfd). */
    readonly software: boolean;
    /** The node the probe was scoped to (--device); the verdict counts only it. */
    readonly scope?: string;
    /** Why there is no hardware buffer, when there is none. */
    readonly reason?: string;
  };
}

const NONE = skipped('not tried');

function unusable(kind: HardwareKind, reason: string): KindProbe {
  const s = skipped(reason);
  return {
    capability: { allocate: s, exportReadWrite: NONE, exportReadOnly: NONE, dmabufMmapRead: NONE, dmabufMmapWrite: NONE, serverMaps: {} },
    verdict: { kind, usable: false, reason },
  };
}

/** `layout`: the probe buffer's modifier, so that the probe judges it as the allocator will (modifiers decide access). */
function judged(kind: HardwareKind, driver: string, capability: KindCapability, forceShadow: string | undefined, layout?: { modifier: bigint; planes: number }): KindProbe {
  return { capability, verdict: decideAccess({ kind, driver, capability, ...(forceShadow ? { forceShadow } : {}), ...(layout ? { layout } : {}) }) };
}

function probeGbm(device: DrmDevice, width: number, height: number, format: FormatInfo, forceShadow: string | undefined): GbmProbe {
  let gbm: GbmDevice;
  try {
    gbm = new GbmDevice(device);
  } catch (e) {
    const f = failureOf('gbm_create_device', e);
    return { ...unusable('gbm', `gbm device: ${f.message}`), device: f, scanout: skipped('no gbm device') };
  }
  try {
    const formats = gbm.supportedFormats().map((f) => f.name);
    const scanout = attempt('gbm_bo_create(SCANOUT)', () => createGbmObject(gbm, width, height, format, { scanout: true }).destroy()).result;
    let modifier: bigint | undefined;
    const capability = probeCapability(() => {
      const raw = createGbmObject(gbm, width, height, format);
      modifier = raw.modifier;
      return raw;
    });
    const layout = modifier === undefined ? undefined : { modifier, planes: 1 };
    return { ...judged('gbm', device.driver.name, capability, forceShadow, layout), device: ok(), backend: gbm.backend, scanout, formats };
  } finally {
    gbm.close();
  }
}

export function probeNode(node: DrmNode, options: ProbeOptions = {}): NodeProbe {
  const { width, height, format } = requestOf(options);
  const forceShadow = options.forceShadow ? 'probe option forceShadow' : forcedShadowReason(undefined);
  const base = { path: node.path, name: node.name, type: node.type, sysfs: node.sysfs };
  let device: DrmDevice;
  try {
    device = DrmDevice.open(node.path);
  } catch (e) {
    const f = failureOf('open', e);
    return { ...base, open: f, quirks: [], dumb: unusable('dumb', 'the node cannot be opened'), gbm: { ...unusable('gbm', 'the node cannot be opened'), device: NONE, scanout: NONE } };
  }
  try {
    const driver = device.driver.name;
    const dumb = judged('dumb', driver, probeCapability(() => createDumbObject(device, width, height, format)), forceShadow);
    const gbm = probeGbm(device, width, height, format, forceShadow);
    return { ...base, open: ok(), driver: device.driver, caps: device.caps, quirks: quirksFor(driver), dumb, gbm };
  } finally {
    device.unref();
  }
}

function probeMemfd(): PathResult {
  let file;
  try {
    file = createShmFile(native.pageSize, { name: 'bufshare-probe' });
  } catch (e) {
    return failureOf('memfd_create', e);
  }
  try {
    if (!file.sealed) return failed('memfd_create', 'ENOSYS', 'memfd with seals unavailable: shm buffers use an unsealed /dev/shm file');
    const seals = native.getSeals(file.fd);
    if ((seals & shmSeals()) !== shmSeals()) return failed('fcntl(F_GET_SEALS)', 'EINVAL', `seals 0x${seals.toString(16)} lack SHRINK|GROW|SEAL`);
    const grow = attempt('ftruncate', () => native.truncateFd(file.fd, native.pageSize * 2)).result;
    if (grow.ok) return failed('ftruncate', 'EOK', 'a sealed memfd could be grown: seals are not enforced');
    return ok('sealed: SHRINK, GROW, SEAL');
  } finally {
    native.closeFd(file.fd);
  }
}

function probeHeap(path: string, width: number, height: number, format: FormatInfo): PathResult {
  const { stride, size } = computeLayout(width, height, format, 64, native.pageSize);
  const alloc = attempt('ioctl(DMA_HEAP_IOCTL_ALLOC)', () => native.dmaHeapAlloc(path, size));
  if (alloc.value === undefined) return alloc.result;
  const fd = alloc.value;
  const geometry = { fd, size, stride, width, height, format, offset: 0, strategy: 'dmabuf-sync' as const, dmabuf: true };
  try {
    const w = mapFd({ ...geometry, mode: 'write' });
    fillCheckPattern(w, 0x3c);
    w.unmap();
    const r = mapFd({ ...geometry, mode: 'read' });
    const bad = checkPattern(r, 0x3c);
    r.unmap();
    return bad ? failed('verify', 'EIO', `pixel (${bad.x}, ${bad.y}) read back differently through a second mapping`) : ok();
  } catch (e) {
    return failureOf('mmap', e);
  } finally {
    native.closeFd(fd);
  }
}

function probeHeaps(width: number, height: number, format: FormatInfo): ProbeReport['machine']['dmaHeaps'] {
  const dir = '/dev/dma_heap';
  if (!existsSync(dir)) return { available: failed('open(/dev/dma_heap)', 'ENOENT', 'no dma-buf heaps (CONFIG_DMABUF_HEAPS)'), heaps: [] };
  const names = readdirSync(dir).sort();
  return { available: ok(), heaps: names.map((name) => ({ name, path: join(dir, name), result: probeHeap(join(dir, name), width, height, format) })) };
}

function requestOf(options: ProbeOptions): { width: number; height: number; format: FormatInfo } {
  return { width: options.width ?? 256, height: options.height ?? 256, format: resolveFormat(options.format ?? 'XRGB8888') };
}

const KIND_RANK: Readonly<Record<HardwareKind, number>> = { gbm: 3, dumb: 2, udmabuf: 1 };

/**
 * Every usable choice, best first: direct access before shadow, then gbm, dumb,
 * udmabuf, then display nodes before vgem, then node order. The auto allocator takes the first.
 */
export function rankChoices(nodes: readonly NodeProbe[], udmabuf: KindProbe): HardwareChoice[] {
  const out: { choice: HardwareChoice; score: number; order: number }[] = [];
  const add = (v: AccessVerdict, order: number, node?: NodeProbe): void => {
    if (!v.usable) return;
    out.push({
      choice: { kind: v.kind, ...(node ? { device: node.path, driver: node.driver?.name ?? '' } : {}), clientAccess: v.clientAccess, serverMapping: v.serverMapping },
      // vgem has no display: a buffer from it can never be scanned out, so a
      // node with a real (or emulated) display controller wins a tie.
      score: (v.clientAccess === 'direct' ? 10 : 0) + KIND_RANK[v.kind] * 2 + (node?.driver?.name === 'vgem' ? 0 : 1),
      order,
    });
  };
  nodes.forEach((n, i) => {
    add(n.gbm.verdict, i, n);
    add(n.dumb.verdict, i, n);
  });
  add(udmabuf.verdict, nodes.length);
  return out.sort((a, b) => b.score - a.score || a.order - b.order).map((o) => o.choice);
}

export interface VerdictInputs {
  readonly nodes: readonly NodeProbe[];
  readonly udmabuf: KindProbe;
  readonly memfd: PathResult;
  /** Why DRM cannot be used at all (or the --device node is missing). */
  readonly drmReason?: string;
  /** The probe was scoped to this node: machine-wide paths (udmabuf) do not count. */
  readonly device?: string;
}

/**
 * The verdict, from what was tried. Scoped to one node (`--device`), only that
 * node's buffers count: udmabuf working elsewhere on the machine must not make
 * a missing or useless node look fine.
 */
export function machineVerdict(inputs: VerdictInputs): ProbeReport['verdict'] {
  const { nodes, udmabuf, memfd, drmReason, device } = inputs;
  const usable = device === undefined ? rankChoices(nodes, udmabuf) : rankChoices(nodes, unusable('udmabuf', `not counted: the probe is scoped to ${device}`));
  let reason: string | undefined;
  if (usable.length === 0) {
    const parts = [drmReason ? `DRM: ${drmReason}` : `DRM: no node can allocate a usable buffer (${nodes.map((n) => `${n.path}: dumb ${n.dumb.verdict.usable ? 'ok' : n.dumb.verdict.reason}; gbm ${n.gbm.verdict.usable ? 'ok' : n.gbm.verdict.reason}`).join('; ')})`];
    if (device === undefined) parts.push(`udmabuf: ${udmabuf.verdict.usable ? 'ok' : udmabuf.verdict.reason}`);
    reason = parts.join('; ');
  }
  return {
    hardware: usable.length > 0,
    ...(usable[0] ? { best: usable[0] } : {}),
    usable,
    software: memfd.ok,
    ...(device !== undefined ? { scope: device } : {}),
    ...(reason ? { reason } : {}),
  };
}

export function probeMachine(options: ProbeOptions = {}): ProbeReport {
  const { width, height, format } = requestOf(options);
  const forceShadow = options.forceShadow ? 'probe option forceShadow' : forcedShadowReason(undefined);
  const dir = options.driDir;
  const drmReason = options.device ? (existsSync(options.device) ? undefined : `no ${options.device}`) : drmUnavailableReason(dir);
  let nodes: DrmNode[] = [];
  if (!drmReason) {
    nodes = options.device
      ? listDrmNodes(dir).filter((n) => n.path === options.device)
      : listDrmNodes(dir);
    if (options.device && nodes.length === 0) nodes = [{ path: options.device, name: options.device.replace(/^.*\//, ''), type: /renderD/.test(options.device) ? 'render' : 'card', sysfs: {} }];
  }
  const nodeProbes = nodes.map((n) => probeNode(n, options));
  const udmabufWhy = udmabufUnavailableReason();
  const udmabuf = udmabufWhy
    ? { ...unusable('udmabuf', udmabufWhy), available: failed('open(/dev/udmabuf)', 'ENOENT', udmabufWhy) }
    : { ...judged('udmabuf', '', probeCapability(() => createUdmabufObject(width, height, format)), forceShadow), available: ok() };
  const memfd = probeMemfd();
  return {
    schemaVersion: PROBE_SCHEMA_VERSION,
    kernel: { release: release(), machine: machine() },
    request: { width, height, format: format.name },
    ...(forceShadow ? { forcedShadow: forceShadow } : {}),
    drm: drmReason ? { available: false, reason: drmReason } : { available: true },
    nodes: nodeProbes,
    machine: { memfd, udmabuf, dmaHeaps: probeHeaps(width, height, format) },
    verdict: machineVerdict({ nodes: nodeProbes, udmabuf, memfd, ...(drmReason ? { drmReason } : {}), ...(options.device !== undefined ? { device: options.device } : {}) }),
  };
}
