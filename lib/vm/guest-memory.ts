/**
 * The guest's RAM as the front-end shared it (VHOST_USER_SET_MEM_TABLE): each
 * region an fd (a memfd of `-object memory-backend-memfd,share=on`) mapped
 * read-write shared, and the translations a back-end needs:
 * - guest physical address -> bytes (descriptor buffers, backing pages);
 * - front-end user address -> bytes (where qemu placed the vrings);
 * - guest physical address -> (fd, file offset) (the zero-copy views of
 *   lib/vm/guest-memory-view.ts map the file again there).
 *
 * Every translation is checked: a range that is not wholly inside one region
 * gives undefined, never a view past a mapping. The table owns its fds and
 * mappings; close() releases every one (idempotent).
 */
import { BufshareError } from '../errors';
import * as native from '../native';
import type { MemoryRegionWire } from './vhost-user-wire';

export interface GuestMemoryRegion extends MemoryRegionWire {
  /** Owned by the table. */
  readonly fd: number;
}

interface MappedRegion extends GuestMemoryRegion {
  /** The mapping, from the page below mmapOffset. */
  readonly memory: ArrayBuffer;
  /** Where guest address `guestAddress` is in `memory`. */
  readonly base: number;
  readonly bytes: Uint8Array;
}

function invalid(message: string): BufshareError {
  return new BufshareError('ERR_BUFSHARE_PROTOCOL', `vhost-user memory table: ${message}`);
}

export class GuestMemory {
  private readonly regions: MappedRegion[] = [];
  private closed = false;

  /**
   * Maps every region. Takes ownership of the fds whatever happens: on a bad
   * table (overlapping or empty regions, a file shorter than its region) every
   * fd is closed, every mapping made so far released, and ERR_BUFSHARE_PROTOCOL thrown.
   */
  constructor(regions: readonly GuestMemoryRegion[]) {
    try {
      const page = native.pageSize;
      const sorted = [...regions].sort((a, b) => a.guestAddress - b.guestAddress);
      for (let i = 0; i < sorted.length; i++) {
        const r = sorted[i];
        if (r.size <= 0) throw invalid(`region ${i} is empty`);
        if (r.guestAddress + r.size > Number.MAX_SAFE_INTEGER || r.userAddress + r.size > Number.MAX_SAFE_INTEGER) throw invalid(`region ${i} ends past 2^53`);
        if (i > 0 && sorted[i - 1].guestAddress + sorted[i - 1].size > r.guestAddress) throw invalid(`regions at 0x${sorted[i - 1].guestAddress.toString(16)} and 0x${r.guestAddress.toString(16)} overlap`);
      }
      for (const r of regions) {
        const fileSize = native.fdSize(r.fd);
        if (r.mmapOffset + r.size > fileSize) throw invalid(`region at 0x${r.guestAddress.toString(16)} (${r.size} bytes at file offset ${r.mmapOffset}) is past its ${fileSize}-byte file`);
        const start = Math.floor(r.mmapOffset / page) * page;
        const memory = native.mmapFd(r.fd, r.mmapOffset + r.size - start, start, native.PROT_READ | native.PROT_WRITE);
        const base = r.mmapOffset - start;
        this.regions.push({ ...r, memory, base, bytes: new Uint8Array(memory, base, r.size) });
      }
    } catch (e) {
      this.releaseMappings();
      for (const r of regions) closeQuietly(r.fd);
      this.closed = true;
      throw e instanceof BufshareError ? e : invalid((e as Error).message);
    }
  }

  get regionCount(): number {
    return this.regions.length;
  }

  /** The regions (for reports and tests), without their mappings. */
  get layout(): readonly MemoryRegionWire[] {
    return this.regions.map(({ guestAddress, size, userAddress, mmapOffset }) => ({ guestAddress, size, userAddress, mmapOffset }));
  }

  /** Bytes [gpa, gpa + length) of guest memory, or undefined unless they lie wholly inside one region. */
  guest(gpa: number, length: number): Uint8Array | undefined {
    const r = this.findGuest(gpa, length);
    return r === undefined ? undefined : r.bytes.subarray(gpa - r.guestAddress, gpa - r.guestAddress + length);
  }

  /** As guest(), for a front-end user address (the vrings' addresses in SET_VRING_ADDR). */
  user(uva: number, length: number): Uint8Array | undefined {
    if (!(length >= 0) || !Number.isSafeInteger(uva) || uva < 0) return undefined;
    for (const r of this.regions) {
      if (uva >= r.userAddress && uva + length <= r.userAddress + r.size) {
        return r.bytes.subarray(uva - r.userAddress, uva - r.userAddress + length);
      }
    }
    return undefined;
  }

  /** The file and offset holding [gpa, gpa + length), or undefined unless wholly inside one region. */
  fileRange(gpa: number, length: number): { fd: number; offset: number } | undefined {
    const r = this.findGuest(gpa, length);
    return r === undefined ? undefined : { fd: r.fd, offset: r.mmapOffset + (gpa - r.guestAddress) };
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Unmaps every region and closes every fd. Views taken from guest()/user() drop to length 0. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.releaseMappings();
    for (const r of this.regions) closeQuietly(r.fd);
  }

  private findGuest(gpa: number, length: number): MappedRegion | undefined {
    if (this.closed || !Number.isSafeInteger(gpa) || gpa < 0 || !Number.isSafeInteger(length) || length < 0) return undefined;
    for (const r of this.regions) {
      if (gpa >= r.guestAddress && gpa + length <= r.guestAddress + r.size) return r;
    }
    return undefined;
  }

  private releaseMappings(): void {
    for (const r of this.regions) native.unmapBuffer(r.memory);
  }
}

function closeQuietly(fd: number): void {
  try {
    native.closeFd(fd);
  } catch {
    // already closed
  }
}
