/**
 * One contiguous view of scattered guest pages: a virtio-gpu resource's
 * backing (RESOURCE_ATTACH_BACKING's page list) as the linear image the guest
 * draws into, zero copy.
 *
 * Two ways, both mapping the guest's own pages (no copy, the guest's writes are
 * seen at once):
 * - 'mmap': a PROT_NONE reservation of the total, then each piece of the memfd
 *   mapped over its part with MAP_FIXED (src-native/vhost.cc). Works on any
 *   kernel; the one this host (no /dev/udmabuf) uses and the one tested.
 * - 'udmabuf': UDMABUF_CREATE_LIST over the memfd pieces, then the dma-buf
 *   mapped. Where /dev/udmabuf exists (the harness's 6.12 guests have it, this
 *   host does not); it also gives a dma-buf a KMS plane could scan out. Not
 *   exercised by the tests here: on any failure the 'mmap' way is taken.
 *
 * Only whole pages can be mapped: an entry whose address or length is not a
 * page multiple gives no view (the caller copies at TRANSFER_TO_HOST_2D instead).
 *
 * A view is reference counted: the resource holds one reference, each frame a
 * scene still shows holds one, and the pages are unmapped when the last goes,
 * so no reader ever sees memory vanish.
 */
import { accessSync, constants as fsConstants } from 'node:fs';
import * as native from '../native';
import type { GuestMemory } from './guest-memory';

export interface BackingEntry {
  /** Guest physical address. */
  readonly addr: number;
  readonly length: number;
}

export type ViewStrategy = 'mmap' | 'udmabuf';
export type ViewPreference = 'auto' | ViewStrategy;

export class GuestMemoryView {
  readonly memory: ArrayBuffer;
  readonly length: number;
  readonly strategy: ViewStrategy;
  /** Mappings it is made of (kernel VMAs: each MAP_FIXED piece is one). */
  readonly pieces: number;
  private refs = 1;

  constructor(memory: ArrayBuffer, strategy: ViewStrategy, pieces: number) {
    this.memory = memory;
    this.length = memory.byteLength;
    this.strategy = strategy;
    this.pieces = pieces;
  }

  get live(): boolean {
    return this.refs > 0;
  }

  ref(): void {
    if (this.refs <= 0) throw new Error('GuestMemoryView.ref after its last unref');
    this.refs++;
  }

  /** Drops a reference; the last one unmaps the pages. */
  unref(): void {
    if (this.refs <= 0) return;
    if (--this.refs === 0) native.unmapBuffer(this.memory);
  }
}

let udmabufUsable: boolean | undefined;

function hasUdmabuf(): boolean {
  if (udmabufUsable === undefined) {
    try {
      accessSync('/dev/udmabuf', fsConstants.R_OK | fsConstants.W_OK);
      udmabufUsable = true;
    } catch {
      udmabufUsable = false;
    }
  }
  return udmabufUsable;
}

/**
 * The file pieces behind `entries`, adjacent ones merged, or undefined when an
 * entry is not whole pages or not wholly inside one memory region.
 */
export function filePieces(mem: GuestMemory, entries: readonly BackingEntry[]): { fd: number; offset: number; length: number }[] | undefined {
  const page = native.pageSize;
  const pieces: { fd: number; offset: number; length: number }[] = [];
  for (const e of entries) {
    if (e.length <= 0 || e.addr % page !== 0 || e.length % page !== 0) return undefined;
    const file = mem.fileRange(e.addr, e.length);
    if (file === undefined || file.offset % page !== 0) return undefined;
    const last = pieces[pieces.length - 1];
    if (last !== undefined && last.fd === file.fd && last.offset + last.length === file.offset) last.length += e.length;
    else pieces.push({ fd: file.fd, offset: file.offset, length: e.length });
  }
  return pieces.length > 0 ? pieces : undefined;
}

/**
 * Maps `entries` as one view, or returns undefined when they are not whole
 * pages inside the memory table, or would take more than `maxPieces` mappings
 * (each piece is a kernel VMA, and a process has vm.max_map_count of them, 65,530
 * by default, for everything it maps: a guest must not be able to use them up).
 */
export function mapGuestView(mem: GuestMemory, entries: readonly BackingEntry[], preference: ViewPreference = 'auto', maxPieces = Infinity): GuestMemoryView | undefined {
  const pieces = filePieces(mem, entries);
  if (pieces === undefined || pieces.length > maxPieces) return undefined;
  const list = new Float64Array(pieces.length * 3);
  pieces.forEach((p, i) => list.set([p.fd, p.offset, p.length], 3 * i));
  if (preference === 'udmabuf' || (preference === 'auto' && hasUdmabuf())) {
    try {
      const fd = native.udmabufCreateList(list);
      try {
        const total = pieces.reduce((s, p) => s + p.length, 0);
        return new GuestMemoryView(native.mmapFd(fd, total, 0, native.PROT_READ | native.PROT_WRITE), 'udmabuf', 1);
      } finally {
        native.closeFd(fd);
      }
    } catch (e) {
      if (preference === 'udmabuf') throw e;
      // 'auto': the memfd may lack F_SEAL_SHRINK, or the list be over the kernel's limit; map instead.
    }
  }
  return new GuestMemoryView(native.mapGuestPages(list), 'mmap', pieces.length);
}
