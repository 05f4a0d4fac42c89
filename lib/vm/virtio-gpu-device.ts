/**
 * The virtio-gpu 2D device: the guest driver's control and cursor commands,
 * answered over guest memory. Transport-free (the vhost-user back-end feeds it
 * chains; tests and the bench can too): it reads a chain, acts, writes the
 * response into the chain's writable buffers and says how many bytes it wrote.
 *
 * Zero copy: a resource whose backing is whole pages gets one contiguous view
 * of them (lib/vm/guest-memory-view.ts); its image *is* the guest's memory, so
 * TRANSFER_TO_HOST_2D has nothing to do and a RESOURCE_FLUSH hands that memory
 * to the compositor as the frame. Backing that is not whole pages gets a host
 * copy filled at TRANSFER_TO_HOST_2D, and the bytes copied are counted.
 *
 * Bounds (what a guest can make us hold): MAX_RESOURCES resources, each at most
 * MAX_DIMENSION pixels a side and MAX_RESOURCE_BYTES, MAX_BACKING_ENTRIES
 * entries, and MAX_COPY_BYTES of host copies in all. Past them a command gets
 * ERR_OUT_OF_MEMORY or ERR_INVALID_PARAMETER, never a throw.
 *
 * Fences: every command is done when its response is written, so a fenced
 * command's response (which carries its fence id) is the fence signalling.
 */
import { EventEmitter } from 'eventemitter3';
import type { FormatInfo } from '../format';
import type { GuestMemory } from './guest-memory';
import { mapGuestView, type BackingEntry, type GuestMemoryView, type ViewPreference } from './guest-memory-view';
import { gather, scatter, type DescriptorChain } from './virtio-queue';
import {
  Cmd, COMMAND_BYTES, CTRL_HDR_BYTES, DISPLAY_INFO_BYTES, readHeader, readRect, Resp, VIRTIO_GPU_MAX_SCANOUTS,
  virtioFormat, writeResponseHeader, type CtrlHeader, type GpuRect,
} from './virtio-gpu-wire';

export const MAX_RESOURCES = 1024;
export const MAX_DIMENSION = 16384;
export const MAX_RESOURCE_BYTES = 256 * 1024 * 1024;
export const MAX_BACKING_ENTRIES = 65536;
export const MAX_COPY_BYTES = 512 * 1024 * 1024;
/**
 * Mappings all of a device's zero-copy views may take (each MAP_FIXED piece is a
 * kernel VMA, out of the process's vm.max_map_count, 65,530 by default). A
 * 4K XRGB scanout in the worst case (no two pages adjacent) takes 8,100.
 */
export const MAX_VIEW_PIECES = 16384;
/** The largest command read: ATTACH_BACKING with MAX_BACKING_ENTRIES entries. */
const MAX_COMMAND_BYTES = CTRL_HDR_BYTES + 8 + 16 * MAX_BACKING_ENTRIES;

interface Resource {
  readonly id: number;
  readonly format: FormatInfo;
  readonly width: number;
  readonly height: number;
  readonly stride: number;
  entries: readonly BackingEntry[] | undefined;
  /** The zero-copy image. */
  view: GuestMemoryView | undefined;
  /** The host copy, when the backing could not be viewed. */
  copy: ArrayBuffer | undefined;
  /** Bytes copied into `copy` since the last flush. */
  copiedSinceFlush: number;
}

export interface ScanoutState {
  readonly resourceId: number;
  /** The part of the resource shown, in resource pixels. */
  readonly rect: GpuRect;
  readonly format: FormatInfo;
}

/** One flushed frame of a scanout: the memory to read, where, and what changed. */
export interface ScanoutFlush {
  readonly scanout: number;
  readonly memory: ArrayBuffer;
  /** Held for the frame: unref() when the frame is released (undefined for a host copy, kept alive by the GC). */
  readonly view: GuestMemoryView | undefined;
  readonly format: FormatInfo;
  readonly width: number;
  readonly height: number;
  readonly stride: number;
  /** Byte offset of the scanout's pixel (0, 0) in memory. */
  readonly offset: number;
  /** Damage in scanout coordinates, clipped. */
  readonly damage: GpuRect;
  /** Bytes copied to make this frame (0 on the zero-copy path). */
  readonly bytesCopied: number;
}

export interface CursorUpdate {
  readonly scanout: number;
  readonly x: number;
  readonly y: number;
  /** Only for UPDATE_CURSOR: the image (undefined: hidden, resource 0). */
  readonly image?: { readonly pixels: Uint8Array; readonly width: number; readonly height: number; readonly stride: number; readonly format: FormatInfo; readonly hotX: number; readonly hotY: number } | null;
}

export interface VirtioGpuDeviceEvents {
  scanout: [scanout: number, state: ScanoutState | undefined];
  flush: [flush: ScanoutFlush];
  cursor: [update: CursorUpdate];
}

export interface VirtioGpuDeviceOptions {
  readonly numScanouts: number;
  /** The display size each scanout offers (GET_DISPLAY_INFO); undefined: disabled. */
  readonly displaySizes: readonly ({ width: number; height: number } | undefined)[];
  readonly view?: ViewPreference;
}

export interface DeviceStats {
  commands: number;
  errors: number;
  badChains: number;
  zeroCopyResources: number;
  copiedResources: number;
  bytesCopied: number;
  transfersRefused: number;
  /** Commands by type (hex), and error responses by type (hex): for reports. */
  byCommand: Record<string, number>;
  byError: Record<string, number>;
}

function inside(r: GpuRect, w: number, h: number): boolean {
  return r.x + r.width <= w && r.y + r.height <= h && r.x <= w && r.y <= h;
}

export class VirtioGpuDevice extends EventEmitter<VirtioGpuDeviceEvents> {
  readonly numScanouts: number;
  readonly stats: DeviceStats = { commands: 0, errors: 0, badChains: 0, zeroCopyResources: 0, copiedResources: 0, bytesCopied: 0, transfersRefused: 0, byCommand: {}, byError: {} };
  private readonly displaySizes: ({ width: number; height: number } | undefined)[];
  private readonly viewPreference: ViewPreference;
  private readonly resources = new Map<number, Resource>();
  private readonly scanouts: (ScanoutState | undefined)[];
  private copyBytes = 0;
  private viewPieces = 0;
  private readonly memory: () => GuestMemory | undefined;

  constructor(memory: () => GuestMemory | undefined, options: VirtioGpuDeviceOptions) {
    super();
    this.memory = memory;
    this.numScanouts = Math.max(1, Math.min(VIRTIO_GPU_MAX_SCANOUTS, options.numScanouts));
    this.displaySizes = Array.from({ length: this.numScanouts }, (_, i) => options.displaySizes[i]);
    this.scanouts = Array.from({ length: this.numScanouts }, () => undefined);
    this.viewPreference = options.view ?? 'auto';
  }

  setDisplaySize(scanout: number, size: { width: number; height: number } | undefined): void {
    this.displaySizes[scanout] = size;
  }

  displaySize(scanout: number): { width: number; height: number } | undefined {
    return this.displaySizes[scanout];
  }

  scanoutState(scanout: number): ScanoutState | undefined {
    return this.scanouts[scanout];
  }

  get resourceCount(): number {
    return this.resources.size;
  }

  /** Handles one control-queue chain; returns the bytes written into it. */
  control(chain: DescriptorChain): number {
    return this.handle(chain, false);
  }

  /** Handles one cursor-queue chain (UPDATE_CURSOR, MOVE_CURSOR); returns the bytes written. */
  cursor(chain: DescriptorChain): number {
    return this.handle(chain, true);
  }

  /** Drops every resource and scanout (device reset, or the front-end went away). */
  reset(): void {
    for (let i = 0; i < this.numScanouts; i++) this.setScanout(i, undefined);
    for (const r of this.resources.values()) this.releaseBacking(r);
    this.resources.clear();
    this.copyBytes = 0;
    this.viewPieces = 0;
  }

  /** Mappings the zero-copy views take now (bounded by MAX_VIEW_PIECES). */
  get mappedViewPieces(): number {
    return this.viewPieces;
  }

  private handle(chain: DescriptorChain, cursorQueue: boolean): number {
    this.stats.commands++;
    if (chain.error !== undefined) {
      // Nothing of a bad chain is touched: no buffer of it was validated.
      this.stats.badChains++;
      return 0;
    }
    const cmd = gather(chain, MAX_COMMAND_BYTES);
    const respond = (type: number, req: CtrlHeader, size = CTRL_HDR_BYTES, fill?: (v: DataView) => void): number => {
      if (type >= Resp.ERR_UNSPEC) {
        this.stats.errors++;
        const k = `0x${req.type.toString(16)}->0x${type.toString(16)}`;
        this.stats.byError[k] = (this.stats.byError[k] ?? 0) + 1;
      }
      const out = new Uint8Array(size);
      const v = new DataView(out.buffer);
      writeResponseHeader(v, type, req);
      fill?.(v);
      return scatter(chain, out);
    };
    if (cmd.length < CTRL_HDR_BYTES) {
      this.stats.errors++;
      return respond(Resp.ERR_INVALID_PARAMETER, { type: 0, flags: 0, fenceId: 0n, ctxId: 0, ringIdx: 0 });
    }
    const v = new DataView(cmd.buffer, cmd.byteOffset, cmd.byteLength);
    const hdr = readHeader(v);
    const key = `0x${hdr.type.toString(16)}`;
    if (Object.keys(this.stats.byCommand).length < 64 || key in this.stats.byCommand) this.stats.byCommand[key] = (this.stats.byCommand[key] ?? 0) + 1;
    const need = COMMAND_BYTES.get(hdr.type);
    const isCursorCmd = hdr.type === Cmd.UPDATE_CURSOR || hdr.type === Cmd.MOVE_CURSOR;
    if (need === undefined || isCursorCmd !== cursorQueue) return respond(Resp.ERR_UNSPEC, hdr);
    if (cmd.length < need) return respond(Resp.ERR_INVALID_PARAMETER, hdr);
    switch (hdr.type) {
      case Cmd.GET_DISPLAY_INFO:
        return respond(Resp.OK_DISPLAY_INFO, hdr, DISPLAY_INFO_BYTES, (out) => {
          for (let i = 0; i < this.numScanouts; i++) {
            const s = this.displaySizes[i];
            if (s === undefined) continue;
            const at = CTRL_HDR_BYTES + 24 * i;
            out.setUint32(at + 8, s.width, true);
            out.setUint32(at + 12, s.height, true);
            out.setUint32(at + 16, 1, true);
          }
        });
      case Cmd.RESOURCE_CREATE_2D:
        return respond(this.create2d(v.getUint32(24, true), v.getUint32(28, true), v.getUint32(32, true), v.getUint32(36, true)), hdr);
      case Cmd.RESOURCE_UNREF:
        return respond(this.unref(v.getUint32(24, true)), hdr);
      case Cmd.RESOURCE_ATTACH_BACKING:
        return respond(this.attach(v, cmd.length), hdr);
      case Cmd.RESOURCE_DETACH_BACKING: {
        const r = this.resources.get(v.getUint32(24, true));
        if (r === undefined) return respond(Resp.ERR_INVALID_RESOURCE_ID, hdr);
        this.releaseBacking(r);
        return respond(Resp.OK_NODATA, hdr);
      }
      case Cmd.SET_SCANOUT:
        return respond(this.setScanoutCmd(readRect(v, 24), v.getUint32(40, true), v.getUint32(44, true)), hdr);
      case Cmd.TRANSFER_TO_HOST_2D:
        return respond(this.transfer(readRect(v, 24), Number(v.getBigUint64(40, true)), v.getUint32(48, true)), hdr);
      case Cmd.RESOURCE_FLUSH:
        return respond(this.flush(readRect(v, 24), v.getUint32(40, true)), hdr);
      case Cmd.GET_EDID:
        // VIRTIO_GPU_F_EDID is not offered: a driver that asks anyway gets an error.
        return respond(Resp.ERR_UNSPEC, hdr);
      case Cmd.UPDATE_CURSOR:
      case Cmd.MOVE_CURSOR:
        this.cursorCmd(hdr.type, v);
        return respond(Resp.OK_NODATA, hdr);
      default:
        return respond(Resp.ERR_UNSPEC, hdr);
    }
  }

  private create2d(id: number, code: number, width: number, height: number): number {
    if (id === 0 || this.resources.has(id)) return Resp.ERR_INVALID_RESOURCE_ID;
    const format = virtioFormat(code);
    if (format === undefined || width === 0 || height === 0 || width > MAX_DIMENSION || height > MAX_DIMENSION) return Resp.ERR_INVALID_PARAMETER;
    const stride = width * format.bpp;
    if (stride * height > MAX_RESOURCE_BYTES) return Resp.ERR_OUT_OF_MEMORY;
    if (this.resources.size >= MAX_RESOURCES) return Resp.ERR_OUT_OF_MEMORY;
    this.resources.set(id, { id, format, width, height, stride, entries: undefined, view: undefined, copy: undefined, copiedSinceFlush: 0 });
    return Resp.OK_NODATA;
  }

  private unref(id: number): number {
    const r = this.resources.get(id);
    if (r === undefined) return Resp.ERR_INVALID_RESOURCE_ID;
    for (let i = 0; i < this.numScanouts; i++) if (this.scanouts[i]?.resourceId === id) this.setScanout(i, undefined);
    this.releaseBacking(r);
    this.resources.delete(id);
    return Resp.OK_NODATA;
  }

  private attach(v: DataView, length: number): number {
    const r = this.resources.get(v.getUint32(24, true));
    if (r === undefined) return Resp.ERR_INVALID_RESOURCE_ID;
    const n = v.getUint32(28, true);
    if (n === 0 || n > MAX_BACKING_ENTRIES || 32 + 16 * n > length) return Resp.ERR_INVALID_PARAMETER;
    if (r.entries !== undefined) return Resp.ERR_UNSPEC; // already attached (qemu answers this too)
    const mem = this.memory();
    if (mem === undefined) return Resp.ERR_UNSPEC;
    const entries: BackingEntry[] = [];
    let total = 0;
    for (let i = 0; i < n; i++) {
      const at = 32 + 16 * i;
      const addr = Number(v.getBigUint64(at, true));
      const len = v.getUint32(at + 8, true);
      if (len === 0 || mem.guest(addr, len) === undefined) return Resp.ERR_INVALID_PARAMETER;
      entries.push({ addr, length: len });
      total += len;
    }
    const need = r.stride * r.height;
    let view: GuestMemoryView | undefined;
    try {
      view = total >= need ? mapGuestView(mem, entries, this.viewPreference, MAX_VIEW_PIECES - this.viewPieces) : undefined;
    } catch {
      view = undefined; // out of address space or fds: the copy path still works
    }
    if (view !== undefined) {
      r.view = view;
      this.viewPieces += view.pieces;
      this.stats.zeroCopyResources++;
    } else {
      if (this.copyBytes + need > MAX_COPY_BYTES) return Resp.ERR_OUT_OF_MEMORY;
      r.copy = new ArrayBuffer(need);
      this.copyBytes += need;
      this.stats.copiedResources++;
    }
    r.entries = entries;
    return Resp.OK_NODATA;
  }

  private releaseBacking(r: Resource): void {
    if (r.view !== undefined) this.viewPieces -= r.view.pieces;
    r.view?.unref();
    r.view = undefined;
    if (r.copy !== undefined) this.copyBytes -= r.copy.byteLength;
    r.copy = undefined;
    r.entries = undefined;
  }

  private setScanoutCmd(rect: GpuRect, scanout: number, resourceId: number): number {
    if (scanout >= this.numScanouts) return Resp.ERR_INVALID_SCANOUT_ID;
    if (resourceId === 0) {
      this.setScanout(scanout, undefined);
      return Resp.OK_NODATA;
    }
    const r = this.resources.get(resourceId);
    if (r === undefined) return Resp.ERR_INVALID_RESOURCE_ID;
    if (rect.width === 0 || rect.height === 0 || !inside(rect, r.width, r.height)) return Resp.ERR_INVALID_PARAMETER;
    this.setScanout(scanout, { resourceId, rect, format: r.format });
    return Resp.OK_NODATA;
  }

  private setScanout(scanout: number, state: ScanoutState | undefined): void {
    const was = this.scanouts[scanout];
    if (was === undefined && state === undefined) return;
    this.scanouts[scanout] = state;
    this.emit('scanout', scanout, state);
  }

  private transfer(rect: GpuRect, offset: number, id: number): number {
    const r = this.resources.get(id);
    if (r === undefined) return Resp.ERR_INVALID_RESOURCE_ID;
    if (!inside(rect, r.width, r.height)) return Resp.ERR_INVALID_PARAMETER;
    if (r.entries === undefined) return Resp.ERR_UNSPEC;
    const bpp = r.format.bpp;
    if (r.view !== undefined) {
      // The image is the backing: a transfer from where each pixel already is costs nothing.
      // One from elsewhere would have to move guest memory under the guest; refused.
      if (rect.width > 0 && rect.height > 0 && offset !== rect.y * r.stride + rect.x * bpp) {
        this.stats.transfersRefused++;
        return Resp.ERR_INVALID_PARAMETER;
      }
      return Resp.OK_NODATA;
    }
    const mem = this.memory();
    if (mem === undefined || r.copy === undefined) return Resp.ERR_UNSPEC;
    const dst = new Uint8Array(r.copy);
    const rowBytes = rect.width * bpp;
    let copied = 0;
    for (let h = 0; h < rect.height; h++) {
      const src = offset + r.stride * h;
      const at = (rect.y + h) * r.stride + rect.x * bpp;
      copied += copyFromBacking(mem, r.entries, src, dst, at, rowBytes);
    }
    r.copiedSinceFlush += copied;
    this.stats.bytesCopied += copied;
    return Resp.OK_NODATA;
  }

  private flush(rect: GpuRect, id: number): number {
    const r = this.resources.get(id);
    if (r === undefined) return Resp.ERR_INVALID_RESOURCE_ID;
    if (!inside(rect, r.width, r.height)) return Resp.ERR_INVALID_PARAMETER;
    const copied = r.copiedSinceFlush;
    r.copiedSinceFlush = 0;
    const memory = r.view?.memory ?? r.copy;
    if (memory === undefined) return Resp.OK_NODATA; // nothing to show yet
    for (let i = 0; i < this.numScanouts; i++) {
      const s = this.scanouts[i];
      if (s?.resourceId !== id) continue;
      const x0 = Math.max(rect.x, s.rect.x), y0 = Math.max(rect.y, s.rect.y);
      const x1 = Math.min(rect.x + rect.width, s.rect.x + s.rect.width), y1 = Math.min(rect.y + rect.height, s.rect.y + s.rect.height);
      if (x1 <= x0 || y1 <= y0) continue;
      this.emitFlush(i, r, s, { x: x0 - s.rect.x, y: y0 - s.rect.y, width: x1 - x0, height: y1 - y0 }, copied);
    }
    return Resp.OK_NODATA;
  }

  private emitFlush(scanout: number, r: Resource, s: ScanoutState, damage: GpuRect, copied: number): void {
    const view = r.view;
    view?.ref();
    this.emit('flush', {
      scanout, memory: (view?.memory ?? r.copy)!, view, format: r.format, width: s.rect.width, height: s.rect.height, stride: r.stride,
      offset: s.rect.y * r.stride + s.rect.x * r.format.bpp, damage, bytesCopied: copied,
    });
  }

  private cursorCmd(type: number, v: DataView): void {
    const scanout = v.getUint32(24, true);
    const x = v.getUint32(28, true);
    const y = v.getUint32(32, true);
    if (scanout >= this.numScanouts) return;
    if (type === Cmd.MOVE_CURSOR) {
      this.emit('cursor', { scanout, x, y });
      return;
    }
    const id = v.getUint32(40, true);
    const hotX = v.getUint32(44, true);
    const hotY = v.getUint32(48, true);
    const r = id === 0 ? undefined : this.resources.get(id);
    const memory = r?.view?.memory ?? r?.copy;
    if (r === undefined || memory === undefined) {
      this.emit('cursor', { scanout, x, y, image: null });
      return;
    }
    // A cursor is small (64x64): copied, so the image stays what the guest set.
    const pixels = new Uint8Array(memory, 0, r.stride * r.height).slice();
    this.emit('cursor', { scanout, x, y, image: { pixels, width: r.width, height: r.height, stride: r.stride, format: r.format, hotX, hotY } });
  }
}

/** Copies `n` bytes starting `src` bytes into the backing's concatenation; returns the bytes copied (fewer past its end or a gone page). */
function copyFromBacking(mem: GuestMemory, entries: readonly BackingEntry[], src: number, dst: Uint8Array, at: number, n: number): number {
  let skip = src;
  let copied = 0;
  for (const e of entries) {
    if (copied >= n) break;
    if (skip >= e.length) {
      skip -= e.length;
      continue;
    }
    const take = Math.min(e.length - skip, n - copied);
    const bytes = mem.guest(e.addr + skip, take);
    if (bytes === undefined) break;
    dst.set(bytes, at + copied);
    copied += take;
    skip = 0;
  }
  return copied;
}
