/**
 * The access decision: for one buffer kind on one driver, from what was really
 * tried, which CPU access strategy the client gets (direct dma-buf mmap or a shm
 * shadow) and how the server maps the buffer itself.
 *
 * One source of truth: the allocators call decideAccess() with what they probed
 * and tried on the buffer at hand, and the probe report calls it with what it
 * tried; if the probe says "shadow", the allocator does shadow.
 */
import { layoutProblem } from './layout-access';
import { dmabufMmapForbidden } from './quirks';
import { describeResult, type PathResult } from './result';

export type HardwareKind = 'dumb' | 'gbm' | 'udmabuf';
export const HARDWARE_KINDS: readonly HardwareKind[] = ['gbm', 'dumb', 'udmabuf'];

/** How the server reaches the pixels of a buffer it owns. */
export type ServerMapping = 'gbm-map' | 'dumb-map' | 'dmabuf-sync' | 'direct';

/** Preference order of server mappings per kind: the backend's own map, then the dma-buf. */
export const SERVER_MAPPINGS: Readonly<Record<HardwareKind, readonly ServerMapping[]>> = {
  gbm: ['gbm-map', 'dmabuf-sync'],
  dumb: ['dumb-map', 'dmabuf-sync'],
  udmabuf: ['direct', 'dmabuf-sync'],
};

/** What was tried for one buffer kind. */
export interface KindCapability {
  readonly allocate: PathResult;
  /** PRIME (or udmabuf) export with DRM_RDWR. */
  readonly exportReadWrite: PathResult;
  /** Export without DRM_RDWR (tried where the read-write one failed). */
  readonly exportReadOnly: PathResult;
  /** mmap(PROT_READ) of the dma-buf with DMA_BUF_IOCTL_SYNC, pixels verified. */
  readonly dmabufMmapRead: PathResult;
  /** mmap(PROT_READ|PROT_WRITE) of the dma-buf with DMA_BUF_IOCTL_SYNC, a pattern written and read back elsewhere. */
  readonly dmabufMmapWrite: PathResult;
  /** The server's own mappings, those the kind has. */
  readonly serverMaps: Readonly<Partial<Record<ServerMapping, PathResult>>>;
}

export interface AccessInputs {
  readonly kind: HardwareKind;
  /** DRM driver name, for the quirk table ('' for udmabuf: no driver). */
  readonly driver: string;
  readonly capability: KindCapability;
  /** Shadow forced (the request's `access: 'shadow'`, or BUFSHARE_ACCESS=shadow): why, else undefined. */
  readonly forceShadow?: string;
  /** The buffer's format modifier and plane count, when a real buffer is at hand: a non-linear layout means shadow (layout-access.ts). */
  readonly layout?: { readonly modifier: bigint; readonly planes: number };
}

export type AccessVerdict =
  | {
      readonly kind: HardwareKind;
      readonly usable: true;
      /** What the client maps: the dma-buf itself, or a shm shadow. */
      readonly clientAccess: 'direct' | 'shadow';
      readonly serverMapping: ServerMapping;
      /** The dma-buf the client gets is read-only (exported without DRM_RDWR). */
      readonly readOnly: boolean;
      /** A dma-buf fd goes to the client at all (false when every export failed: shadow only). */
      readonly exportsBuffer: boolean;
      /** Why each choice that is not the best one was made. */
      readonly reasons: readonly string[];
    }
  | { readonly kind: HardwareKind; readonly usable: false; readonly reason: string };

/** A short name for a verdict: "direct", "shadow (dumb-map)", "unusable". */
export function verdictLabel(v: AccessVerdict): string {
  if (!v.usable) return 'unusable';
  return v.clientAccess === 'direct' ? `direct (server: ${v.serverMapping})` : `shadow (server: ${v.serverMapping})`;
}

export function decideAccess(inputs: AccessInputs): AccessVerdict {
  const { kind, driver, capability: cap } = inputs;
  if (!cap.allocate.ok) return { kind, usable: false, reason: `allocation: ${describeResult(cap.allocate)}` };
  const quirk = dmabufMmapForbidden(driver);
  const reasons: string[] = [];
  const serverMapping = SERVER_MAPPINGS[kind].find((m) => {
    if (m === 'dmabuf-sync' && quirk) return false;
    return cap.serverMaps[m]?.ok === true;
  });
  if (serverMapping === undefined) {
    const tried = SERVER_MAPPINGS[kind].map((m) => `${m}: ${m === 'dmabuf-sync' && quirk ? 'forbidden by quirk' : describeResult(cap.serverMaps[m] ?? { ok: false, skipped: 'not tried' })}`);
    return { kind, usable: false, reason: `the server cannot map the buffer (${tried.join('; ')})` };
  }
  if (serverMapping !== SERVER_MAPPINGS[kind][0]) reasons.push(`server maps the dma-buf: ${SERVER_MAPPINGS[kind][0]} ${describeResult(cap.serverMaps[SERVER_MAPPINGS[kind][0]!] ?? { ok: false, skipped: 'not tried' })}`);
  const exportsBuffer = cap.exportReadWrite.ok || cap.exportReadOnly.ok;
  const readOnly = !cap.exportReadWrite.ok && cap.exportReadOnly.ok;
  const usable = (clientAccess: 'direct' | 'shadow'): AccessVerdict => ({ kind, usable: true, clientAccess, serverMapping, readOnly, exportsBuffer, reasons });
  if (!cap.exportReadWrite.ok) {
    reasons.push(`read-write export ${describeResult(cap.exportReadWrite)}${readOnly ? ': clients get a read-only dma-buf and draw into a shadow' : exportsBuffer ? '' : `; read-only export ${describeResult(cap.exportReadOnly)}: no dma-buf for clients`}`);
  }
  if (inputs.forceShadow !== undefined) {
    reasons.push(`shadow forced: ${inputs.forceShadow}`);
    return usable('shadow');
  }
  if (quirk) {
    reasons.push(`quirk: ${quirk.reason}`);
    return usable('shadow');
  }
  if (!cap.exportReadWrite.ok) return usable('shadow');
  const layout = inputs.layout && layoutProblem(kind, driver, inputs.layout.modifier, inputs.layout.planes);
  if (layout) {
    reasons.push(`layout: ${layout}: clients draw into a shadow, the server's map detiles`);
    return usable('shadow');
  }
  if (!cap.dmabufMmapWrite.ok) {
    reasons.push(`dma-buf mmap for writing ${describeResult(cap.dmabufMmapWrite)}: clients draw into a shadow`);
    return usable('shadow');
  }
  return usable('direct');
}
