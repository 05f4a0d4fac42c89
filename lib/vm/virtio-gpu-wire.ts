/**
 * virtio-gpu 2D command layouts (virtio 1.x, 5.7 GPU Device): command and
 * response types, the control header, formats, and the little-endian structs
 * the device reads and writes. Facts from the specification; no logic.
 */
import { lookupFormat, type FormatInfo } from '../format';

export const Cmd = {
  GET_DISPLAY_INFO: 0x0100,
  RESOURCE_CREATE_2D: 0x0101,
  RESOURCE_UNREF: 0x0102,
  SET_SCANOUT: 0x0103,
  RESOURCE_FLUSH: 0x0104,
  TRANSFER_TO_HOST_2D: 0x0105,
  RESOURCE_ATTACH_BACKING: 0x0106,
  RESOURCE_DETACH_BACKING: 0x0107,
  GET_CAPSET_INFO: 0x0108,
  GET_CAPSET: 0x0109,
  GET_EDID: 0x010a,
  UPDATE_CURSOR: 0x0300,
  MOVE_CURSOR: 0x0301,
} as const;

export const Resp = {
  OK_NODATA: 0x1100,
  OK_DISPLAY_INFO: 0x1101,
  OK_EDID: 0x1104,
  ERR_UNSPEC: 0x1200,
  ERR_OUT_OF_MEMORY: 0x1201,
  ERR_INVALID_SCANOUT_ID: 0x1202,
  ERR_INVALID_RESOURCE_ID: 0x1203,
  ERR_INVALID_CONTEXT_ID: 0x1204,
  ERR_INVALID_PARAMETER: 0x1205,
} as const;

export const VIRTIO_GPU_FLAG_FENCE = 1;
export const VIRTIO_GPU_FLAG_INFO_RING_IDX = 2;
export const VIRTIO_GPU_EVENT_DISPLAY = 1;
export const VIRTIO_GPU_MAX_SCANOUTS = 16;
export const CTRL_HDR_BYTES = 24;
export const DISPLAY_INFO_BYTES = CTRL_HDR_BYTES + VIRTIO_GPU_MAX_SCANOUTS * 24;
export const EDID_RESP_BYTES = CTRL_HDR_BYTES + 8 + 1024;
/** virtio_gpu_config: events_read, events_clear, num_scanouts, num_capsets. */
export const CONFIG_BYTES = 16;

/**
 * virtio-gpu formats are named by byte order in memory; DRM fourccs by the
 * little-endian 32-bit word. B8G8R8X8 (bytes B, G, R, X) is XRGB8888, the
 * format Linux's virtio_gpu uses for its framebuffers.
 */
const FORMATS: ReadonlyMap<number, string> = new Map([
  [1, 'ARGB8888'], // B8G8R8A8_UNORM
  [2, 'XRGB8888'], // B8G8R8X8_UNORM
  [3, 'BGRA8888'], // A8R8G8B8_UNORM
  [4, 'BGRX8888'], // X8R8G8B8_UNORM
  [67, 'ABGR8888'], // R8G8B8A8_UNORM
  [68, 'RGBX8888'], // X8B8G8R8_UNORM
  [121, 'RGBA8888'], // A8B8G8R8_UNORM
  [134, 'XBGR8888'], // R8G8B8X8_UNORM
]);

export function virtioFormat(code: number): FormatInfo | undefined {
  const name = FORMATS.get(code);
  return name === undefined ? undefined : lookupFormat(name);
}

export interface CtrlHeader {
  readonly type: number;
  readonly flags: number;
  readonly fenceId: bigint;
  readonly ctxId: number;
  readonly ringIdx: number;
}

export function readHeader(v: DataView): CtrlHeader {
  return { type: v.getUint32(0, true), flags: v.getUint32(4, true), fenceId: v.getBigUint64(8, true), ctxId: v.getUint32(16, true), ringIdx: v.getUint8(20) };
}

/** A response header answering `req`: its fence (and ring index) echoed when it asked for one. */
export function writeResponseHeader(v: DataView, type: number, req: CtrlHeader): void {
  v.setUint32(0, type, true);
  const fenced = (req.flags & VIRTIO_GPU_FLAG_FENCE) !== 0;
  v.setUint32(4, fenced ? req.flags & (VIRTIO_GPU_FLAG_FENCE | VIRTIO_GPU_FLAG_INFO_RING_IDX) : 0, true);
  v.setBigUint64(8, fenced ? req.fenceId : 0n, true);
  v.setUint32(16, req.ctxId, true);
  v.setUint8(20, fenced ? req.ringIdx : 0);
}

export interface GpuRect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export function readRect(v: DataView, at: number): GpuRect {
  return { x: v.getUint32(at, true), y: v.getUint32(at + 4, true), width: v.getUint32(at + 8, true), height: v.getUint32(at + 12, true) };
}

/** The bytes each command needs (header included); shorter is ERR_INVALID_PARAMETER. */
export const COMMAND_BYTES: ReadonlyMap<number, number> = new Map([
  [Cmd.GET_DISPLAY_INFO, CTRL_HDR_BYTES],
  [Cmd.RESOURCE_CREATE_2D, CTRL_HDR_BYTES + 16],
  [Cmd.RESOURCE_UNREF, CTRL_HDR_BYTES + 8],
  [Cmd.SET_SCANOUT, CTRL_HDR_BYTES + 24],
  [Cmd.RESOURCE_FLUSH, CTRL_HDR_BYTES + 24],
  [Cmd.TRANSFER_TO_HOST_2D, CTRL_HDR_BYTES + 32],
  [Cmd.RESOURCE_ATTACH_BACKING, CTRL_HDR_BYTES + 8],
  [Cmd.RESOURCE_DETACH_BACKING, CTRL_HDR_BYTES + 8],
  [Cmd.GET_EDID, CTRL_HDR_BYTES + 8],
  [Cmd.UPDATE_CURSOR, CTRL_HDR_BYTES + 32],
  [Cmd.MOVE_CURSOR, CTRL_HDR_BYTES + 32],
]);

/** Encodes a command (tests and the bench drive the device as a guest driver would). */
export function encodeCommand(type: number, body: readonly number[] = [], flags = 0, fenceId = 0n): Uint8Array {
  const out = new Uint8Array(CTRL_HDR_BYTES + 4 * body.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, type, true);
  v.setUint32(4, flags, true);
  v.setBigUint64(8, fenceId, true);
  body.forEach((x, i) => v.setUint32(CTRL_HDR_BYTES + 4 * i, x >>> 0, true));
  return out;
}
