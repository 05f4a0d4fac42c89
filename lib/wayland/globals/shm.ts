/**
 * wl_shm: pools from the client's fds, buffers as views of a pool.
 *
 * A pool is the client's memory, mapped read-only here. Client pools are
 * unsealed, so the client can truncate the file under us at any time: the
 * mapping is made through the SIGBUS guard (native mmap registers every mapping
 * whose reads can fault: all but a regular file sealed against shrinking, so a
 * dma-buf or device fd passed as a pool too), and every hold checks
 * that the guard did not fire and that the file still covers the buffer (fstat
 * while the pool has its fd, else a read of the buffer's last byte).
 *
 * Memory lifetime: the pool's mapping lives while the wl_shm_pool or any buffer
 * made from it lives; a resize maps the file again and the old mapping stays
 * until the last frame reading it is released. The pool's fd lives only as long
 * as the wl_shm_pool: it serves resize (a new mapping) and the truncation check,
 * and once the pool is destroyed no resize can come, so buffers that outlive it
 * hold no fd (weston, on libwayland, holds none either), save in one case: a
 * file that cannot shrink but is shorter than the pool keeps it (poolDestroyed). Clients that make a pool
 * per buffer and destroy it at once (weston-simple-shm, simple-damage) then cost
 * one fd, their socket: the memory bench (wayland.memory) measured three with two
 * live buffers, against weston's two (libwayland's event loop dups each client's
 * socket).
 */
import { lookupFormat, type FormatInfo } from '../../format';
import { GraphicsRegion } from '../../mapping/graphics-region';
import type { GuardAccount } from '../../mapping/guard-shares';
import * as native from '../../native';
import { registerBuffer, type BufferHold, type WaylandBuffer } from '../buffer';
import { wl_buffer, wl_shm, wl_shm_pool } from '../protocol/wayland';
import type { Resource } from '../resource';
import { DISPLAY_ERROR, type WaylandClient } from '../client';
import type { Global } from '../global';

const SHM_ERROR = wl_shm.enums.error as { invalid_format: number; invalid_stride: number; invalid_fd: number };

/** wl_shm's codes: 0 and 1 for ARGB/XRGB8888, the DRM fourcc for every other format. */
export function shmCodeToFourcc(code: number): number {
  if (code === 0) return lookupFormat('ARGB8888')!.fourcc;
  if (code === 1) return lookupFormat('XRGB8888')!.fourcc;
  return code;
}

function fourccToShmCode(fourcc: number): number {
  if (fourcc === lookupFormat('ARGB8888')!.fourcc) return 0;
  if (fourcc === lookupFormat('XRGB8888')!.fourcc) return 1;
  return fourcc;
}

/**
 * The largest pool (bytes): the protocol's int32 bound. Pools are the client's
 * own memory; here they cost address space only (foot maps a sparse 512 MiB
 * pool and scrolls by moving buffer offsets in it).
 */
export const MAX_POOL_BYTES = 2 ** 31 - 1;

/**
 * Pools one client may hold at once (live wl_shm_pools and pools kept alive by
 * their buffers). Each guarded mapping also takes a slot of the client's share
 * of the SIGBUS guard's table (lib/mapping/guard-shares.ts). foot holds 1-3,
 * simple clients 1.
 */
export const MAX_POOLS_PER_CLIENT = 128;

/** Where probe reads go, so that the optimizer cannot drop them. */
let probeSink = 0;

/** A client past its share of the SIGBUS guard's table: wl_display no_memory, not invalid_fd. */
class OverGuardShare extends Error {}

class Mapping {
  readonly memory: ArrayBuffer;
  /**
   * The SIGBUS guard watches it: every fd but a regular file sealed against
   * shrinking (an unsealed file can be truncated; a dma-buf or device fd a client
   * passes as a pool can fault too). Each such mapping takes one of the client's
   * guard slots (lib/mapping/guard-shares.ts).
   */
  readonly guarded: boolean;
  private readonly bytes: Uint8Array;
  private readonly guards: GuardAccount;
  private refs = 1;

  constructor(fd: number, size: number, guards: GuardAccount) {
    this.memory = native.mmapFd(fd, size, 0, native.PROT_READ);
    this.guarded = native.mappingState(this.memory).guarded;
    if (this.guarded && !guards.take()) {
      native.unmapBuffer(this.memory);
      throw new OverGuardShare(`over this client's share of ${guards.share} guarded mappings (pools and dma-bufs the SIGBUS guard watches)`);
    }
    this.guards = guards;
    this.bytes = new Uint8Array(this.memory);
  }

  get faulted(): boolean {
    return this.refs > 0 && native.mappingState(this.memory).faulted;
  }

  /**
   * Only on a guarded mapping: whether the file still covers byte `at` (and so
   * every byte before it: a file only shrinks from its end), found without an fd:
   * read it. Past the file's end the read is a SIGBUS, which the guard turns into
   * zero pages and the faulted flag. Within the file's last page the read
   * succeeds and the bytes past the end read as zeros: nothing there can fault.
   */
  covers(at: number): boolean {
    probeSink = (probeSink + this.bytes[at]!) | 0;
    return !this.faulted;
  }

  ref(): void {
    this.refs++;
  }

  unref(): void {
    if (--this.refs > 0) return;
    native.unmapBuffer(this.memory);
    if (this.guarded) this.guards.give();
  }
}

class Pool {
  /** Open while the wl_shm_pool lives (see the module comment). */
  private fd: number | undefined;
  size: number;
  mapping: Mapping;
  private refs = 1;

  private readonly guards: GuardAccount;

  constructor(fd: number, size: number, guards: GuardAccount) {
    this.mapping = new Mapping(fd, size, guards);
    this.guards = guards;
    this.fd = fd;
    this.size = size;
  }

  /** Only while the wl_shm_pool lives (the request comes through it). */
  resize(size: number): void {
    const next = new Mapping(this.fd!, size, this.guards);
    this.mapping.unref();
    this.mapping = next;
    this.size = size;
  }

  /** Whether the file still covers bytes [0, end) (a client may have truncated it) and no read of it faulted. */
  covers(end: number): boolean {
    if (this.mapping.faulted) return false;
    if (this.fd !== undefined) return native.statFd(this.fd).size >= end;
    // No fd: a file that cannot shrink covered the whole pool when it was closed (poolDestroyed).
    return !this.mapping.guarded || this.mapping.covers(end - 1);
  }

  /**
   * The wl_shm_pool was destroyed: no resize can come, so the fd is closed, unless
   * the truncation check still needs it. A file that cannot shrink is not guarded:
   * a read past its end would be a SIGBUS that kills the server. If it covers the
   * pool now it always will; if not (a client declared a pool larger than its
   * sealed file), the fd stays for fstat.
   */
  poolDestroyed(): void {
    if (this.fd === undefined) return;
    if (!this.mapping.guarded && native.statFd(this.fd).size < this.size) return;
    this.closeFd();
  }

  private closeFd(): void {
    if (this.fd === undefined) return;
    native.closeFd(this.fd);
    this.fd = undefined;
  }

  ref(): void {
    this.refs++;
  }

  /** Called once the pool's last holder went (its mapping is unmapped). */
  onFreed: () => void = () => {};

  unref(): void {
    if (--this.refs > 0) return;
    this.mapping.unref();
    this.closeFd();
    this.onFreed();
  }
}

class ShmBuffer implements WaylandBuffer {
  readonly resource: Resource<unknown>;
  readonly width: number;
  readonly height: number;
  readonly format: FormatInfo;
  private readonly pool: Pool;
  private readonly offset: number;
  private readonly stride: number;

  constructor(resource: Resource<unknown>, pool: Pool, offset: number, width: number, height: number, stride: number, format: FormatInfo) {
    this.resource = resource;
    this.pool = pool;
    this.offset = offset;
    this.width = width;
    this.height = height;
    this.stride = stride;
    this.format = format;
    pool.ref();
    resource.onDestroy(() => pool.unref());
  }

  hold(): BufferHold {
    const end = this.offset + this.stride * this.height;
    const mapping = this.pool.mapping;
    if (!this.pool.covers(end)) {
      throw this.resource.error(SHM_ERROR.invalid_fd, `the pool's file does not cover the buffer (bytes ${this.offset}..${end}): it was truncated, or is shorter than the pool`);
    }
    mapping.ref();
    // A held frame learns of a fault too (a pool truncated, or a dma-buf pool that lost its pages, while it is shown).
    const region = new GraphicsRegion(mapping.memory,
      { width: this.width, height: this.height, stride: this.stride, format: this.format, offset: this.offset },
      'read', 'direct', () => {}, mapping.guarded ? () => mapping.faulted : undefined);
    let released = false;
    return {
      region,
      release: () => {
        if (released) return;
        released = true;
        mapping.unref();
      },
    };
  }
}

function poolImplementation(formats: ReadonlyMap<number, FormatInfo>) {
  return {
    create_buffer(r: Resource<Pool>, args: unknown[]): void {
      const [id, offset, width, height, stride, code] = args as [number, number, number, number, number, number];
      const format = formats.get(shmCodeToFourcc(code >>> 0));
      if (format === undefined) throw r.error(SHM_ERROR.invalid_format, `unsupported format 0x${(code >>> 0).toString(16)}`);
      if (width <= 0 || height <= 0 || stride <= 0 || offset < 0) {
        throw r.error(SHM_ERROR.invalid_stride, `invalid width, height, stride or offset (${width}x${height}, stride ${stride}, offset ${offset})`);
      }
      if (stride < width * format.bpp || stride / format.bpp > 2 ** 31) throw r.error(SHM_ERROR.invalid_stride, `stride ${stride} is below ${width} x ${format.bpp}`);
      if (offset + stride * height > r.data.size) {
        throw r.error(SHM_ERROR.invalid_stride, `buffer (offset ${offset} + ${stride} x ${height}) does not fit the ${r.data.size}-byte pool`);
      }
      const resource = r.client.create(id, wl_buffer, 1, {}, undefined as unknown);
      registerBuffer(new ShmBuffer(resource, r.data, offset, width, height, stride, format));
    },
    resize(r: Resource<Pool>, args: unknown[]): void {
      const size = args[0] as number;
      // libwayland's code for a shrink: invalid_fd.
      if (size < r.data.size) throw r.error(SHM_ERROR.invalid_fd, `pool can only grow (${r.data.size} -> ${size})`);
      if (size > MAX_POOL_BYTES) throw r.error(SHM_ERROR.invalid_stride, `pool of ${size} bytes is over ${MAX_POOL_BYTES}`);
      if (size === r.data.size) return;
      try {
        r.data.resize(size);
      } catch (e) {
        if (e instanceof OverGuardShare) throw r.client.display.error(DISPLAY_ERROR.no_memory, e.message);
        throw r.error(SHM_ERROR.invalid_fd, `cannot map the pool at ${size} bytes: ${(e as Error).message}`);
      }
    },
  };
}

/** wl_shm, advertising every format of lib/format.ts (or `only`). */
export function shmGlobal(only?: readonly FormatInfo[]): Global {
  const poolsOf = new WeakMap<WaylandClient, number>();
  const list = only ?? (['ARGB8888', 'XRGB8888', 'ABGR8888', 'XBGR8888', 'RGB565'] as const).map((n) => lookupFormat(n)!);
  const formats = new Map(list.map((f) => [f.fourcc, f]));
  const pool = poolImplementation(formats);
  return {
    spec: wl_shm,
    version: 1,
    bind(client: WaylandClient, id: number, version: number): void {
      const r = client.create(id, wl_shm, version, {
        create_pool(shm: Resource<undefined>, args: unknown[]): void {
          const [poolId, fd, size] = args as [number, number, number];
          const held = poolsOf.get(client) ?? 0;
          if (held >= MAX_POOLS_PER_CLIENT) {
            native.closeFd(fd);
            throw client.display.error(DISPLAY_ERROR.no_memory, `over ${MAX_POOLS_PER_CLIENT} wl_shm pools`);
          }
          if (size <= 0 || size > MAX_POOL_BYTES) {
            native.closeFd(fd);
            throw shm.error(SHM_ERROR.invalid_stride, `invalid pool size ${size} (1..${MAX_POOL_BYTES})`);
          }
          let p: Pool;
          try {
            p = new Pool(fd, size, client.guards);
          } catch (e) {
            native.closeFd(fd);
            if (e instanceof OverGuardShare) throw client.display.error(DISPLAY_ERROR.no_memory, e.message);
            throw shm.error(SHM_ERROR.invalid_fd, `cannot map the pool's fd: ${(e as Error).message}`);
          }
          const res = client.create(poolId, wl_shm_pool, version, pool, p);
          res.onDestroy(() => {
            p.poolDestroyed();
            p.unref();
          });
          poolsOf.set(client, held + 1);
          p.onFreed = () => poolsOf.set(client, (poolsOf.get(client) ?? 1) - 1);
        },
      }, undefined);
      for (const f of list) r.post('format', fourccToShmCode(f.fourcc));
    },
  };
}
