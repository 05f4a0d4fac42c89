/**
 * bufshare's capability probe: the library face the `bufshare-probe` CLI is
 * built on.
 *
 * How am I supposed to use this?
 *
 *   const report = probeMachine({ width: 256, height: 256, format: 'XRGB8888' });
 *   JSON.stringify(report);             // plain JSON: no bigints, no functions
 *   report.verdict.hardware             // true when any hardware kind works (CLI exit 0, else 1)
 *   report.verdict.best                 // what AutoAllocator picks for usage 'hardware'
 *   for (const node of report.nodes) {  // one per /dev/dri node (or only options.device)
 *     node.driver?.name; node.caps;     // DRM_IOCTL_VERSION, GET_CAP
 *     node.dumb.capability.allocate;    // PathResult of each path tried
 *     node.dumb.verdict;                // decideAccess(): usable? client direct|shadow, server mapping
 *     node.gbm.scanout; node.gbm.formats;
 *   }
 *   report.machine.memfd / .udmabuf / .dmaHeaps
 *
 * Every path is a PathResult: `{ ok: true }`, `{ ok: false, call, errno, message }`
 * (the failing call and its errno name; `call: 'verify'`, errno 'EIO' when a
 * pattern written through one mapping read back differently through another) or
 * `{ ok: false, skipped }` (not tried, and why). describeResult() renders one.
 *
 * KindCapability fields, per kind (dumb and gbm per node, udmabuf machine-wide):
 * - allocate: CREATE_DUMB / gbm_bo_create(LINEAR|RENDERING) / memfd + UDMABUF_CREATE
 * - exportReadWrite / exportReadOnly: PRIME with and without DRM_RDWR (read-only
 *   tried only where read-write failed; gbm_bo_get_fd is the last resort)
 * - dmabufMmapRead: mmap(PROT_READ) + DMA_BUF_IOCTL_SYNC, verified against a
 *   pattern written through the server's own mapping
 * - dmabufMmapWrite: mmap(PROT_READ|PROT_WRITE) + sync, pattern read back through
 *   a second dma-buf mapping and through the own mapping
 * - serverMaps: { 'dumb-map' | 'gbm-map' | 'direct' (udmabuf's memfd), 'dmabuf-sync' }
 *
 * Verdicts come from decideAccess() (access.ts), the very function the
 * allocators call for each buffer: if the probe says "shadow", the allocator does
 * shadow. rankChoices() orders usable kinds the way AutoAllocator picks.
 * The report's `schemaVersion` (PROBE_SCHEMA_VERSION) changes whenever a field
 * changes meaning or goes away.
 *
 * probeMachine() never leaves a buffer, mapping or fd behind; every ioctl it
 * makes returns (no waits on the device).
 */
export {
  probeMachine, probeNode, rankChoices, machineVerdict, PROBE_SCHEMA_VERSION,
  type VerdictInputs,
  type ProbeOptions, type ProbeReport, type NodeProbe, type KindProbe, type GbmProbe, type HeapProbe, type HardwareChoice,
} from '../probe/probe';
export {
  decideAccess, verdictLabel, HARDWARE_KINDS, SERVER_MAPPINGS,
  type AccessInputs, type AccessVerdict, type HardwareKind, type KindCapability, type ServerMapping,
} from '../capabilities/access';
export { DRIVER_QUIRKS, quirksFor, dmabufMmapForbidden, type DriverQuirk } from '../capabilities/quirks';
export { describeResult, type PathResult } from '../capabilities/result';
export { listDrmNodes, drmUnavailableReason, describeNode, type DrmNode, type DrmNodeType, type DrmCaps, type DrmNodeDescription, type DrmSysfsIdentity } from '../drm/nodes';
