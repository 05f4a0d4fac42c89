/**
 * zwp_linux_dmabuf_v1 version 4, with feedback: clients hand us dma-bufs.
 *
 * Feedback: the main device is the DRM node the compositor names (its dev_t),
 * the format table (a sealed memfd of {u32 format, u32 pad, u64 modifier}) holds
 * the single-plane formats of lib/format.ts with the LINEAR modifier only: the
 * compositor reads client buffers with the CPU, which needs a linear layout.
 *
 * Import: each buffer is checked like fromDescriptor checks a descriptor (one
 * plane, a known format, LINEAR, stride >= width x bpp, offset + stride x height
 * within the dma-buf's size, no regular file) and mapped read-only once, under
 * the SIGBUS guard (a dma-buf's pages can go: a purged GEM-shmem object, an
 * unplugged device), one slot of the client's guard share; a buffer the
 * compositor cannot read (tiled modifier, a driver without dma-buf mmap) gets
 * `failed` (create) or invalid_wl_buffer (create_immed), never a crash; one whose
 * read faulted gets invalid_wl_buffer at its next commit. Frames bracket the read
 * with DMA_BUF_IOCTL_SYNC (START|READ while held, END at release) when no fence is
 * pending (see hold()).
 *
 * Implicit sync: the write fences of a client's dma-buf must signal before its
 * frame is made (whenReadable, with lib/sync's poll of the dma-buf on libuv, the
 * mechanism the bufshare server uses for its hardware buffers); WaylandSurface
 * holds the commit back until then and ends the client when they never do.
 */
import { statSync } from 'node:fs';
import { lookupFormat, MODIFIER_LINEAR, formats as allFormats, type FormatInfo } from '../../format';
import { GraphicsRegion } from '../../mapping/graphics-region';
import type { GuardAccount } from '../../mapping/guard-shares';
import * as native from '../../native';
import { implicitFencesSignalled, waitForImplicitFences } from '../../sync/implicit-fences';
import { registerBuffer, type BufferHold, type WaylandBuffer } from '../buffer';
import { DISPLAY_ERROR, type WaylandClient } from '../client';
import type { Global } from '../global';
import { zwp_linux_buffer_params_v1, zwp_linux_dmabuf_feedback_v1, zwp_linux_dmabuf_v1 } from '../protocol/linux-dmabuf';
import { wl_buffer } from '../protocol/wayland';
import type { Resource } from '../resource';
import type { ScanoutSource } from '../../surface-model';

const PARAMS_ERROR = zwp_linux_buffer_params_v1.enums.error as Record<
  'already_used' | 'plane_idx' | 'plane_set' | 'incomplete' | 'invalid_format' | 'invalid_dimensions' | 'out_of_bounds' | 'invalid_wl_buffer', number>;

/** Planes one buffer may have (the protocol's bound). */
const MAX_PLANES = 4;

interface Plane {
  fd: number;
  offset: number;
  stride: number;
  modifier: bigint;
}

function closeQuietly(fd: number): void {
  try {
    native.closeFd(fd);
  } catch {
    // Already closed.
  }
}

class DmabufBuffer implements WaylandBuffer {
  readonly resource: Resource<unknown>;
  readonly width: number;
  readonly height: number;
  readonly format: FormatInfo;
  private readonly fd: number;
  private readonly offset: number;
  private readonly stride: number;
  private readonly modifier: bigint;
  private readonly memory: ArrayBuffer;

  private readonly guarded: boolean;

  constructor(resource: Resource<unknown>, plane: Plane, width: number, height: number, format: FormatInfo, memory: ArrayBuffer) {
    this.resource = resource;
    this.fd = plane.fd;
    this.offset = plane.offset;
    this.stride = plane.stride;
    this.modifier = plane.modifier;
    this.width = width;
    this.height = height;
    this.format = format;
    this.memory = memory;
    // importPlane took a guard slot for it (a dma-buf's reads can fault: see guard-shares.ts).
    this.guarded = native.mappingState(memory).guarded;
    let holds = 0;
    let destroyed = false;
    const gone: (() => void)[] = [];
    // The fd and mapping go when the wl_buffer is destroyed and no frame reads them any more.
    const free = (): void => {
      native.unmapBuffer(this.memory);
      if (this.guarded) resource.client.guards.give();
      closeQuietly(this.fd);
      this.isGone = true;
      for (const listener of gone.splice(0)) listener();
    };
    const fd = this.fd;
    // One object for the buffer's life: an output keys what it made of it (a KMS framebuffer) on it.
    this.scanout = {
      width, height, format, modifier: this.modifier,
      planes: [{ offset: this.offset, stride: this.stride }],
      export: () => ({ descriptor: { fds: ['buffer'] }, fds: [fd] }),
      onceGone: (listener) => {
        if (this.isGone) listener();
        else gone.push(listener);
      },
    };
    resource.onDestroy(() => {
      destroyed = true;
      if (holds === 0) free();
    });
    this.acquire = () => {
      holds++;
      return () => {
        if (--holds === 0 && destroyed) free();
      };
    };
  }

  private readonly acquire: () => () => void;

  /** The client's dma-buf, for direct scanout; valid while a frame holds the buffer (the fd closes after the last hold). */
  readonly scanout: ScanoutSource;
  private isGone = false;

  whenReadable(timeoutMs: number, signal: AbortSignal): Promise<void> | undefined {
    if (implicitFencesSignalled(this.fd, 'read')) return undefined;
    // The fd must stay open while it is polled, even if the client destroys the wl_buffer meanwhile.
    const unhold = this.acquire();
    return waitForImplicitFences(this.fd, { access: 'read', timeoutMs, signal }).finally(unhold);
  }

  /** The SIGBUS guard replaced the mapping's pages: a read of the dma-buf faulted (purged, unplugged). */
  private get faulted(): boolean {
    return this.guarded && native.mappingState(this.memory).faulted;
  }

  hold(): BufferHold {
    if (this.faulted) {
      throw this.resource.error(PARAMS_ERROR.invalid_wl_buffer, 'a read of the dma-buf faulted (its memory is gone: purged by the driver, or its device unplugged)');
    }
    const c = native.constants;
    // The commit waited for the write fences it had (whenReadable). A fence added
    // since is the client writing a buffer it committed: SYNC START would wait for
    // it on the event loop, unbounded, so the frame goes without the bracket.
    const bracket = implicitFencesSignalled(this.fd, 'read');
    if (bracket) native.dmabufSync(this.fd, c.DMA_BUF_SYNC_START | c.DMA_BUF_SYNC_READ);
    const unhold = this.acquire();
    const memory = this.memory;
    const region = new GraphicsRegion(memory,
      { width: this.width, height: this.height, stride: this.stride, format: this.format, offset: this.offset }, 'read', 'dmabuf-sync', () => {},
      this.guarded ? () => native.mappingState(memory).faulted : undefined);
    let released = false;
    return {
      region,
      release: () => {
        if (released) return;
        released = true;
        try {
          if (bracket) native.dmabufSync(this.fd, c.DMA_BUF_SYNC_END | c.DMA_BUF_SYNC_READ);
        } finally {
          unhold();
        }
      },
    };
  }
}

/** True for a linux-dmabuf buffer (explicit sync applies to these only). */
export function isDmabufBuffer(buffer: WaylandBuffer): boolean {
  return buffer instanceof DmabufBuffer;
}

/** A client past its share of the SIGBUS guard's table (see guard-shares.ts). */
class OverGuardShare extends Error {}

/** Checks and maps one plane; a reason string when the compositor cannot read it. */
function importPlane(plane: Plane, width: number, height: number, format: FormatInfo, guards: GuardAccount): ArrayBuffer | string {
  if (plane.modifier !== MODIFIER_LINEAR) return `modifier 0x${plane.modifier.toString(16)} is not LINEAR: the compositor reads buffers with the CPU`;
  // A regular file (a memfd) is no dma-buf: it has no fences and no sync bracket
  // (DMA_BUF_IOCTL_SYNC fails with ENOTTY), and wl_shm is the protocol for it.
  if (native.statFd(plane.fd).regular) return 'the fd is a regular file, not a dma-buf (use wl_shm for shared memory)';
  const size = native.fdSize(plane.fd);
  if (size <= 0) return 'the fd has no size (not a dma-buf?)';
  if (plane.offset + plane.stride * height > size) return `offset ${plane.offset} + stride ${plane.stride} x ${height} is beyond the dma-buf's ${size} bytes`;
  if (plane.stride < width * format.bpp) return `stride ${plane.stride} is below ${width} x ${format.bpp}`;
  let memory: ArrayBuffer;
  try {
    memory = native.mmapFd(plane.fd, size, 0, native.PROT_READ);
  } catch (e) {
    return `the dma-buf cannot be mapped: ${(e as Error).message}`;
  }
  if (native.mappingState(memory).guarded && !guards.take()) {
    native.unmapBuffer(memory);
    throw new OverGuardShare(`over this client's share of ${guards.share} guarded mappings (dma-bufs and pools the SIGBUS guard watches)`);
  }
  return memory;
}

export interface DmabufOptions {
  /** The DRM node clients should allocate on (its dev_t is the main device). */
  readonly device: string;
}

/** The formats offered: single-plane formats of lib/format.ts, LINEAR. */
function offeredFormats(): FormatInfo[] {
  return allFormats.filter((f) => f.bpp >= 2);
}

function formatTable(list: FormatInfo[]): { fd: number; size: number } {
  const bytes = new Uint8Array(16 * list.length);
  const view = new DataView(bytes.buffer);
  list.forEach((f, i) => {
    view.setUint32(16 * i, f.fourcc, true);
    view.setBigUint64(16 * i + 8, MODIFIER_LINEAR, true);
  });
  const c = native.constants;
  const fd = native.memfdCreate('bufshare-dmabuf-formats', bytes.byteLength, 0);
  const memory = native.mmapFd(fd, bytes.byteLength, 0, native.PROT_READ | native.PROT_WRITE);
  new Uint8Array(memory).set(bytes);
  native.unmapBuffer(memory);
  native.addSeals(fd, c.F_SEAL_SHRINK | c.F_SEAL_GROW | c.F_SEAL_WRITE | c.F_SEAL_SEAL);
  return { fd, size: bytes.byteLength };
}

function devT(path: string): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(statSync(path).rdev), true);
  return out;
}

export interface DmabufGlobal extends Global {
  /** Closes the format table. */
  close(): void;
}

export function linuxDmabufGlobal(options: DmabufOptions): DmabufGlobal {
  const list = offeredFormats();
  const table = formatTable(list);
  const mainDevice = devT(options.device);
  const indices = new Uint8Array(2 * list.length);
  list.forEach((_, i) => new DataView(indices.buffer).setUint16(2 * i, i, true));
  const byFourcc = new Map(list.map((f) => [f.fourcc, f]));

  const sendFeedback = (fb: Resource<undefined>): void => {
    fb.post('format_table', table.fd, table.size);
    fb.post('main_device', mainDevice);
    fb.post('tranche_target_device', mainDevice);
    fb.post('tranche_formats', indices);
    fb.post('tranche_flags', 0);
    fb.post('tranche_done');
    fb.post('done');
  };

  const paramsImplementation = (client: WaylandClient) => {
    const create = (r: Resource<{ planes: (Plane | undefined)[]; used: boolean }>, bufferId: number, width: number, height: number, fourcc: number): Resource<unknown> | string => {
      const p = r.data;
      if (p.used) throw r.error(PARAMS_ERROR.already_used, 'the params were already used to create a buffer');
      p.used = true;
      const format = byFourcc.get(fourcc >>> 0) ?? lookupFormat(fourcc >>> 0);
      if (format === undefined || !byFourcc.has(format.fourcc)) throw r.error(PARAMS_ERROR.invalid_format, `format 0x${(fourcc >>> 0).toString(16)} is not offered`);
      if (width <= 0 || height <= 0) throw r.error(PARAMS_ERROR.invalid_dimensions, `invalid size ${width}x${height}`);
      const plane = p.planes[0];
      if (plane === undefined || p.planes.some((x, i) => i > 0 && x !== undefined)) {
        throw r.error(PARAMS_ERROR.incomplete, `single-plane formats need exactly plane 0 (got planes ${p.planes.map((x, i) => (x ? i : -1)).filter((i) => i >= 0).join(', ')})`);
      }
      if (plane.offset + plane.stride * height > 2 ** 32) throw r.error(PARAMS_ERROR.out_of_bounds, 'offset + stride x height overflows');
      let mapped: ArrayBuffer | string;
      try {
        mapped = importPlane(plane, width, height, format, client.guards);
      } catch (e) {
        if (e instanceof OverGuardShare) throw client.display.error(DISPLAY_ERROR.no_memory, e.message);
        throw e;
      }
      if (typeof mapped === 'string') return mapped;
      const resource = client.create(bufferId, wl_buffer, 1, {}, undefined as unknown);
      p.planes[0] = undefined; // the buffer owns the fd now
      registerBuffer(new DmabufBuffer(resource, plane, width, height, format, mapped));
      return resource;
    };
    return {
      add: (r: Resource<{ planes: (Plane | undefined)[]; used: boolean }>, args: unknown[]) => {
        const [fd, index, offset, stride, hi, lo] = args as [number, number, number, number, number, number];
        if (r.data.used) {
          closeQuietly(fd);
          throw r.error(PARAMS_ERROR.already_used, 'add after create');
        }
        if (index >= MAX_PLANES) {
          closeQuietly(fd);
          throw r.error(PARAMS_ERROR.plane_idx, `plane index ${index} is not below ${MAX_PLANES}`);
        }
        if (r.data.planes[index] !== undefined) {
          closeQuietly(fd);
          throw r.error(PARAMS_ERROR.plane_set, `plane ${index} was already set`);
        }
        r.data.planes[index] = { fd, offset, stride, modifier: (BigInt(hi) << 32n) | BigInt(lo) };
      },
      create: (r: Resource<{ planes: (Plane | undefined)[]; used: boolean }>, [w, h, f]: unknown[]) => {
        // A server-made wl_buffer: the id comes from the server's range.
        const made = create(r, 0, w as number, h as number, f as number);
        if (typeof made === 'string') r.post('failed');
        else r.post('created', made.id);
      },
      create_immed: (r: Resource<{ planes: (Plane | undefined)[]; used: boolean }>, [id, w, h, f]: unknown[]) => {
        const made = create(r, id as number, w as number, h as number, f as number);
        if (typeof made === 'string') throw r.error(PARAMS_ERROR.invalid_wl_buffer, made);
      },
    };
  };

  return {
    spec: zwp_linux_dmabuf_v1,
    version: 4,
    bind(client, id, version) {
      const impl = paramsImplementation(client);
      client.create(id, zwp_linux_dmabuf_v1, version, {
        create_params: (_r, [pid]) => {
          const params = client.create(pid as number, zwp_linux_buffer_params_v1, version, impl, { planes: [] as (Plane | undefined)[], used: false });
          params.onDestroy(() => {
            for (const p of params.data.planes) if (p !== undefined) closeQuietly(p.fd);
          });
        },
        get_default_feedback: (_r, [fid]) => sendFeedback(client.create(fid as number, zwp_linux_dmabuf_feedback_v1, version, {}, undefined)),
        get_surface_feedback: (_r, [fid]) => sendFeedback(client.create(fid as number, zwp_linux_dmabuf_feedback_v1, version, {}, undefined)),
      }, undefined);
      // Before version 4, formats and modifiers are events of the global itself.
      const r = client.lookup(id) as Resource<undefined>;
      if (version < 4) {
        for (const f of list) {
          r.post('format', f.fourcc);
          r.post('modifier', f.fourcc, Number(MODIFIER_LINEAR >> 32n), Number(MODIFIER_LINEAR & 0xffffffffn));
        }
      }
    },
    close: () => closeQuietly(table.fd),
  };
}
