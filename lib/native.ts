/**
 * The only module that loads the addon: a typed facade over src-native/.
 *
 * Every function converts the addon's errors into BufshareErrors, so callers see
 * `code`, `syscall` and `errno` and never a bare native Error.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BufshareError, fromNativeError } from './errors';
import { readPageSize } from './page-size';

// node-gyp-build ships no types: it takes the package root and returns the loaded addon.
const nodeGypBuild = require('node-gyp-build') as (root: string) => unknown;
import type { DrmEventRaw, DrmEventWatcherNative, KmsConstants, KmsNative } from './kms/native-types';
import type { EvdevInfoRaw, EvdevNative, EvdevReaderNative } from './input/native-types';

import type { SeatNative, UeventSocketNative } from './session/native-types';

export interface FdStat {
  size: number;
  mode: number;
  regular: boolean;
  uid: number;
}

export interface NativeConstants extends KmsConstants {
  F_SEAL_SEAL: number;
  F_SEAL_SHRINK: number;
  F_SEAL_GROW: number;
  F_SEAL_WRITE: number;
  O_ACCMODE: number;
  O_RDONLY: number;
  O_WRONLY: number;
  O_RDWR: number;
  /** Slots of the SIGBUS guard's process-wide table (kMaxGuardedMappings). */
  GUARD_SLOTS: number;
  DMA_BUF_SYNC_READ: number;
  DMA_BUF_SYNC_WRITE: number;
  DMA_BUF_SYNC_RW: number;
  DMA_BUF_SYNC_START: number;
  DMA_BUF_SYNC_END: number;
  DRM_CAP_DUMB_BUFFER: number;
  DRM_CAP_DUMB_PREFERRED_DEPTH: number;
  DRM_CAP_PRIME: number;
  DRM_CAP_ADDFB2_MODIFIERS: number;
  DRM_PRIME_CAP_IMPORT: number;
  DRM_PRIME_CAP_EXPORT: number;
  GBM_BO_USE_SCANOUT: number;
  GBM_BO_USE_RENDERING: number;
  GBM_BO_USE_WRITE: number;
  GBM_BO_USE_LINEAR: number;
  /** recv() meta[2]: the message was longer than the receive buffer. */
  RECV_TRUNCATED: number;
  /** recv() meta[2]: fds were lost in transit; the ones that arrived were closed. */
  RECV_CONTROL_TRUNCATED: number;
  POLL_READABLE: number;
  POLL_WRITABLE: number;
  /** The most fds the native socket passes in one message (its SCM_RIGHTS space); the protocol's own limit, MAX_FDS_PER_MESSAGE, is lower. */
  SOCKET_MAX_FDS: number;
  /** socket.cc's kMaxStreamFds: the Wayland stream's fds per sendmsg (MAX_FDS_PER_STREAM_SEND). */
  MAX_FDS_PER_STREAM_SEND: number;
}

/** DRM_IOCTL_VERSION. */
export interface DrmVersion {
  major: number;
  minor: number;
  patchlevel: number;
  /** The kernel driver ("virtio_gpu", "vgem", "i915"). */
  name: string;
  date: string;
  desc: string;
}

/** DRM_IOCTL_MODE_CREATE_DUMB's answer. */
export interface DumbBufferInfo {
  /** GEM handle on the fd that created it; close with drmDestroyDumb. */
  handle: number;
  /** Bytes per row, the driver's choice. */
  pitch: number;
  size: number;
}

export interface GbmBoInfo {
  /** GEM handle on the gbm device's DRM fd (owned by the bo: never GEM_CLOSE it). */
  handle: number;
  stride: number;
  offset: number;
  modifier: bigint;
  planeCount: number;
  /** Every plane (at most 4), plane 0 first; stride 0 where libgbm cannot tell a later plane's. */
  planes: { offset: number; stride: number }[];
}

export interface GbmMapping {
  /** Detach and unmap with gbmBoUnmap(buffer). */
  buffer: ArrayBuffer;
  /** The mapping's own stride (a staging copy may differ from the bo's). */
  stride: number;
}

export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

/**
 * A SOCK_SEQPACKET socket on the libuv loop (src-native/socket.h). Owns its fd.
 * `onEvent(status, events)` runs on the JS thread when the socket is readable (1)
 * or writable (2) as asked with poll(); status is 0 or a negative libuv error.
 */
export interface SeqPacketSocket {
  readonly fd: number;
  /** Watch for readable (1) and/or writable (2); 0 stops. A watched socket keeps itself alive. */
  poll(events: number): void;
  /** 1: a message (meta = [bytes, fds, flags]; bytes may be 0: an empty packet from a live peer); 0: none now; -1: end of stream. */
  recv(buf: Uint8Array, fds: Int32Array, meta: Int32Array): number;
  /** true: sent whole; false: EAGAIN, nothing sent. The fds stay the caller's. */
  send(data: Uint8Array, fds?: Int32Array): boolean;
  /** A new connection's fd, or -1 when none is pending. */
  accept(): number;
  peerCred(): PeerCredentials;
  /** shutdown(SHUT_RD): the peer can send no more (EPIPE); what it sent is still readable. */
  shutdownRead(): void;
  /** Stops watching and closes the fd. Idempotent. */
  close(): void;
}

interface SeqPacketConstructor {
  new (fd: number, onEvent: (status: number, events: number) => void): SeqPacketSocket;
}

/** What the SIGBUS guard knows of one mapping (see src-native/sigbus.h). */
export interface MappingState {
  /**
   * The guard watches the mapping: every mapping whose reads can fault, i.e. all
   * but those of a regular file sealed with F_SEAL_SHRINK (dma-bufs too).
   */
  guarded: boolean;
  /** A read faulted (a file shrank, a dma-buf lost its pages); the pages were replaced with zeros. */
  faulted: boolean;
}

export interface MappingStats {
  /** Mappings not yet unmapped. */
  live: number;
  /** Mappings made since the addon was loaded. */
  created: number;
  /** Live mappings the SIGBUS guard watches. */
  guarded: number;
  /** Mappings the guard replaced with zero pages since load. */
  sigbusFaults: number;
  /** The guard's handler is the current SIGBUS disposition. */
  sigbusHandler: boolean;
}

/** mmap protection bits as the addon takes them. */
export const PROT_READ = 1;
export const PROT_WRITE = 2;

interface Addon extends KmsNative, EvdevNative {
  constants: NativeConstants;
  // fd.cc
  close(fd: number): void;
  dup(fd: number): number;
  dup2(from: number, to: number): void;
  getSeals(fd: number): number;
  addSeals(fd: number, seals: number): void;
  truncate(fd: number, size: number): void;
  stat(fd: number): FdStat;
  seekSize(fd: number): number;
  getFlags(fd: number): number;
  // shm.cc
  memfdCreate(name: string, size: number, seals: number): number;
  shmFileCreate(dir: string, size: number): number;
  // map.cc
  mmap(fd: number, length: number, offset: number, prot: number): ArrayBuffer;
  unmap(buffer: ArrayBuffer): boolean;
  mappingState(buffer: ArrayBuffer): MappingState;
  mappingStats(): MappingStats;
  injectSigbus(buffer: ArrayBuffer, offset: number): void;
  dmabufSync(fd: number, flags: number): void;
  pageSize(): number;
  // drm.cc
  drmOpen(path: string): number;
  drmVersion(fd: number): DrmVersion;
  drmGetCap(fd: number, capability: number): number;
  drmCreateDumb(fd: number, width: number, height: number, bpp: number): DumbBufferInfo;
  drmMapDumb(fd: number, handle: number): number;
  drmDestroyDumb(fd: number, handle: number): void;
  drmGemClose(fd: number, handle: number): void;
  drmPrimeHandleToFd(fd: number, handle: number, readWrite: boolean): number;
  // gbm.cc
  gbmLoad(): boolean;
  gbmCreateDevice(drmFd: number): number;
  gbmDeviceBackend(device: number): string;
  gbmIsFormatSupported(device: number, format: number, usage: number): boolean;
  gbmDeviceDestroy(device: number): void;
  gbmBoCreate(device: number, width: number, height: number, format: number, flags: number, modifiers?: bigint[]): number;
  gbmBoInfo(bo: number): GbmBoInfo;
  gbmBoGetFd(bo: number): number;
  gbmBoMap(bo: number, write: boolean): GbmMapping;
  gbmBoUnmap(buffer: ArrayBuffer): boolean;
  /** True once the SIGBUS guard replaced a live gbm map's pages with zeros. */
  gbmMapFaulted(buffer: ArrayBuffer): boolean;
  gbmBoDestroy(bo: number): void;
  // udmabuf.cc
  udmabufCreate(memfd: number, offset: number, size: number): number;
  dmaHeapAlloc(heapPath: string, size: number): number;
  udmabufCreateList(list: Float64Array): number;
  // vhost.cc
  EventFdWatch: new (fd: number, onKick: (count: number, status: number) => void) => EventFdWatchNative;
  eventfdSignal(fd: number): boolean;
  eventfdCreate(): number;
  mapGuestPages(list: Float64Array): ArrayBuffer;
  memoryFence(): void;
  // copy.cc
  copyRects(
    src: Uint8Array, srcStride: number, dst: Uint8Array, dstStride: number,
    width: number, height: number, bpp: number, rects: Int32Array,
    /** With a cost model: plan the copy natively (damage_plan.cc); flags bit 0 sourceComplete, bit 1 eachPixelOnce, bit 2 streaming stores. */
    model?: Float64Array, flags?: number,
  ): number;
  // blend.cc
  blendRects(
    src: Uint8Array, srcStride: number, srcWidth: number, srcHeight: number,
    dst: Uint8Array, dstStride: number, dstWidth: number, dstHeight: number,
    offsetX: number, offsetY: number, rects: Int32Array, dstHasAlpha: boolean,
    below?: Uint8Array, belowStride?: number, belowWidth?: number, belowHeight?: number,
    /** With a cost model: rects planned natively into their union, each pixel once. */
    model?: Float64Array,
  ): number;
  blendKernel(): 'avx512' | 'avx2' | 'sse2' | 'scalar';
  // compose.cc
  /** ops: a header (output stride, width, height, background's, layer count, 0), then 8 ints per layer (compose.cc). */
  composeLayers(output: Uint8Array, background: Uint8Array, sources: Uint8Array[], ops: Int32Array, rects: Int32Array, numbers: Float64Array): void;
  // aligned_memory.cc
  alignedArrayBuffer(bytes: number): ArrayBuffer;
  // socket.cc
  seqpacketListen(path: string, backlog: number): number;
  seqpacketConnect(path: string): number;
  seqpacketPair(): [number, number];
  SeqPacket: SeqPacketConstructor;
}

/**
 * Where the addon is looked for, first found wins:
 * - BUFSHARE_ADDON, when set: the path of an addon build (the sanitizer build:
 *   `npm run test:asan` sets it to build-asan/build/Release/bufshare.node);
 * - build/Release: a source build (this checkout, or `npx node-gyp rebuild` in an
 *   installed package on a platform without a prebuilt binary);
 * - prebuilds/<platform>-<arch>/: the binaries the package ships (scripts/prebuild.sh).
 * node-gyp-build does the last two.
 */
function loadAddon(): Addon {
  const override = process.env.BUFSHARE_ADDON;
  if (override !== undefined && override !== '') return require(override) as Addon;
  return nodeGypBuild(packageRoot()) as Addon;
}

/** The directory holding package.json: `lib/` runs from the checkout, `dist/lib/` from the build and the package. */
function packageRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) return path.resolve(__dirname, '..', '..');
  }
}

let loaded: Addon | undefined;
let loadFailure: BufshareError | undefined;

/**
 * The addon, loaded on first use rather than on import, so the pure-JS modules
 * (formats, layout, Region, descriptors, the protocol codecs) work where it cannot
 * load. A failure is remembered: every later call throws the same error.
 */
function requireAddon(): Addon {
  if (loaded !== undefined) return loaded;
  if (loadFailure !== undefined) throw loadFailure;
  try {
    loaded = loadAddon();
    return loaded;
  } catch (e) {
    const reason = e instanceof Error ? e.message.split('\n')[0] : String(e);
    loadFailure = new BufshareError(
      'ERR_BUFSHARE_NATIVE_UNAVAILABLE',
      `bufshare's native addon could not be loaded for ${process.platform}-${process.arch}: ${reason}. ` +
        'Prebuilt binaries ship for linux-x64 and linux-arm64 (glibc); elsewhere build it from source: ' +
        `\`cd ${packageRoot()} && npx node-gyp rebuild\` (needs python3, make and a C++ compiler).`,
      { cause: e },
    );
    throw loadFailure;
  }
}

/** Whether the addon loads here, and if not the error its first use throws. */
export function nativeAvailability(): { available: true } | { available: false; error: BufshareError } {
  try {
    requireAddon();
    return { available: true };
  } catch (e) {
    return { available: false, error: e as BufshareError };
  }
}

/**
 * Stands for the addon until first use: `addon.f` is a function that loads the
 * addon and calls its `f`, so the `wrap(addon.f)` lines below stay one per function.
 */
const addon = new Proxy({} as Addon, {
  get(_target, name: string | symbol) {
    let fn: ((...a: unknown[]) => unknown) | undefined;
    return (...args: unknown[]) => (fn ??= requireAddon()[name as keyof Addon] as (...a: unknown[]) => unknown)(...args);
  },
});

function wrap<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R {
  return (...args: A): R => {
    try {
      return fn(...args);
    } catch (e) {
      throw fromNativeError(e);
    }
  };
}

/** The addon's constants, read on first access (the addon loads then). */
export const constants: Readonly<NativeConstants> = new Proxy({} as NativeConstants, {
  get: (_target, name) => requireAddon().constants[name as keyof NativeConstants],
  has: (_target, name) => name in requireAddon().constants,
  ownKeys: () => Reflect.ownKeys(requireAddon().constants),
  getOwnPropertyDescriptor: (_target, name) => {
    const value = requireAddon().constants[name as keyof NativeConstants];
    return value === undefined ? undefined : { value, enumerable: true, configurable: true, writable: false };
  },
  set: () => false,
});

export const closeFd = wrap(addon.close);
export const dupFd = wrap(addon.dup);
export const dup2Fd = wrap(addon.dup2);
export const getSeals = wrap(addon.getSeals);
export const addSeals = wrap(addon.addSeals);
export const truncateFd = wrap(addon.truncate);
/** fstat: never moves the file offset (shared with whoever passed us the fd). */
export const statFd = wrap(addon.stat);
/** lseek(SEEK_END), the offset put back: the size of a dma-buf, whose st_size is 0; -1 if not seekable. */
export const seekSize = wrap(addon.seekSize);

/** The size an fd really holds: st_size for a file, lseek(SEEK_END) for the rest (a dma-buf). */
export function fdSize(fd: number): number {
  const st = statFd(fd);
  return st.regular ? st.size : seekSize(fd);
}
export const getFdFlags = wrap(addon.getFlags);

export const memfdCreate = wrap(addon.memfdCreate);
export const shmFileCreate = wrap(addon.shmFileCreate);

export const mmapFd = wrap(addon.mmap);
export const unmapBuffer = wrap(addon.unmap);
export const mappingState = wrap(addon.mappingState);
export const mappingStats = wrap(addon.mappingStats);
/**
 * For tests: delivers to this thread the SIGBUS the kernel sends when a read of
 * `buffer[offset]` faults, for faults no test can cause (a purged GEM object, an
 * unplugged device). Only inside a live mapping of ours.
 */
export const injectSigbus = wrap(addon.injectSigbus);
export const dmabufSync = wrap(addon.dmabufSync);
/**
 * From the kernel's auxiliary vector (AT_PAGESZ), which needs no addon (getconf
 * PAGESIZE agrees: test/unit/native-loading.test.ts); where /proc is not mounted (a
 * sandbox), the addon's sysconf answers.
 */
export const pageSize: number = systemPageSize();

function systemPageSize(): number {
  try {
    return readPageSize();
  } catch {
    return requireAddon().pageSize();
  }
}

export const copyRectsRaw = wrap(addon.copyRects);
export const blendRectsRaw = wrap(addon.blendRects);
/** The loop blendRects runs: the widest the CPU has, or BUFSHARE_BLEND_KERNEL's (scalar, sse2, avx2) at load. */
export const blendKernel = wrap(addon.blendKernel);
/**
 * One composition's layers painted in one call (lib/compose.ts). Called every
 * frame with a few microseconds of pixels: a plain function, without the two
 * rest-argument closures of wrap() and the lazy proxy (about 0.1 us a call).
 */
export function composeLayersRaw(output: Uint8Array, background: Uint8Array, sources: Uint8Array[], ops: Int32Array, rects: Int32Array, numbers: Float64Array): void {
  try {
    requireAddon().composeLayers(output, background, sources, ops, rects, numbers);
  } catch (e) {
    throw fromNativeError(e);
  }
}
/** Zeroed memory starting on a page (Node's own ArrayBuffers start 16 bytes past one). */
export const alignedArrayBuffer = wrap(addon.alignedArrayBuffer);

// DRM nodes and dumb buffers. Every fd is O_CLOEXEC.
export const drmOpen = wrap(addon.drmOpen);
export const drmVersion = wrap(addon.drmVersion);
export const drmGetCap = wrap(addon.drmGetCap);
export const drmCreateDumb = wrap(addon.drmCreateDumb);
export const drmMapDumb = wrap(addon.drmMapDumb);
export const drmDestroyDumb = wrap(addon.drmDestroyDumb);
export const drmGemClose = wrap(addon.drmGemClose);
/** DRM_IOCTL_PRIME_HANDLE_TO_FD with DRM_CLOEXEC, plus DRM_RDWR when `readWrite`. */
export const drmPrimeHandleToFd = wrap(addon.drmPrimeHandleToFd);

// GBM, dlopen'ed on first use: each throws ERR_BUFSHARE_NOT_AVAILABLE without libgbm.so.1.
export const gbmLoad = wrap(addon.gbmLoad);
export const gbmCreateDevice = wrap(addon.gbmCreateDevice);
export const gbmDeviceBackend = wrap(addon.gbmDeviceBackend);
export const gbmIsFormatSupported = wrap(addon.gbmIsFormatSupported);
export const gbmDeviceDestroy = wrap(addon.gbmDeviceDestroy);
export const gbmBoCreate = wrap(addon.gbmBoCreate);
export const gbmBoInfo = wrap(addon.gbmBoInfo);
export const gbmBoGetFd = wrap(addon.gbmBoGetFd);
export const gbmBoMap = wrap(addon.gbmBoMap);
export const gbmBoUnmap = wrap(addon.gbmBoUnmap);
export const gbmMapFaulted = wrap(addon.gbmMapFaulted);
export const gbmBoDestroy = wrap(addon.gbmBoDestroy);

export const udmabufCreate = wrap(addon.udmabufCreate);
export const dmaHeapAlloc = wrap(addon.dmaHeapAlloc);
export const seqpacketListen = wrap(addon.seqpacketListen);
export const seqpacketConnect = wrap(addon.seqpacketConnect);
export const seqpacketPair = wrap(addon.seqpacketPair);

/**
 * Wraps `fd` in a SeqPacketSocket whose methods throw BufshareErrors. Takes
 * ownership of `fd` even when it throws (the fd is then closed).
 */
export function openSeqPacket(fd: number, onEvent: (status: number, events: number) => void): SeqPacketSocket {
  return wrapSocket(constructSocket(fd, onEvent));
}

/** The native socket object for `fd`; on failure `fd` is closed (the callers' ownership rule). */
function constructSocket<T extends SeqPacketSocket>(fd: number, onEvent: (status: number, events: number) => void): T {
  try {
    return new (requireAddon().SeqPacket)(fd, onEvent) as T;
  } catch (e) {
    try {
      addon.close(fd);
    } catch {
      // Not an fd: nothing to close.
    }
    throw fromNativeError(e);
  }
}

function wrapSocket(raw: SeqPacketSocket): SeqPacketSocket {
  return {
    get fd() {
      return raw.fd;
    },
    poll: wrap((events: number) => raw.poll(events)),
    recv: wrap((buf: Uint8Array, fds: Int32Array, meta: Int32Array) => raw.recv(buf, fds, meta)),
    send: wrap((data: Uint8Array, fds?: Int32Array) => raw.send(data, fds)),
    accept: wrap(() => raw.accept()),
    peerCred: wrap(() => raw.peerCred()),
    shutdownRead: wrap(() => raw.shutdownRead()),
    close: wrap(() => raw.close()),
  };
}

// ---------------------------------------------------------------------------
// Hostile-input and coherence additions (issue 15), kept apart from the facade
// above so that other changes to it merge cleanly.

/** A wait for a dma-buf's implicit fences on the event loop (fence.cc). */
export interface FenceWatch {
  /** Stops waiting; onReady is then never called. Idempotent. */
  cancel(): void;
}

interface FenceWatchConstructor {
  /** access: 1 read (write fences signalled), 2 write (all fences signalled). Watches a dup of fd. */
  new (fd: number, access: number, onReady: (status: number) => void): FenceWatch;
}

interface RobustnessAddon {
  // shm.cc
  punchHole(fd: number, size: number): void;
  // fence.cc
  dmabufReady(fd: number, access: number): boolean;
  exportSyncFile(fd: number, access: number): number;
  FenceWatch: FenceWatchConstructor;
  vgemFenceAttach(drmFd: number, handle: number, write: boolean): number;
  vgemFenceSignal(drmFd: number, fence: number): void;
  primeFdToHandle(drmFd: number, dmabufFd: number): number;
}

const robustness = addon as unknown as RobustnessAddon;

/** access for dmabufReady / watchFences. */
export const FENCE_ACCESS_READ = 1;
export const FENCE_ACCESS_WRITE = 2;
/** poll() of a dma-buf now: true when its fences allow `access` (FENCE_ACCESS_*). */
export const dmabufReady = wrap(robustness.dmabufReady);
/**
 * DMA_BUF_IOCTL_EXPORT_SYNC_FILE: a sync_file fd with the fences `access` must
 * wait for now (a snapshot; poll it for POLLIN), or -1 where the kernel lacks the
 * ioctl (before 6.0) or fd is not a dma-buf. The caller closes it.
 */
export const exportSyncFile = wrap(robustness.exportSyncFile);
/** Starts waiting on the loop for `fd`'s fences to allow `access`; onReady(status) runs once. */
// A class cannot come through the lazy stand-in (its functions are arrows, not constructors).
export const watchFences = wrap((fd: number, access: number, onReady: (status: number) => void): FenceWatch => new (requireAddon() as unknown as RobustnessAddon).FenceWatch(fd, access, onReady));
/** vgem only (tests): attaches a fence to a GEM object; returns its id. Signals on vgemFenceSignal or after 10 s. */
export const vgemFenceAttach = wrap(robustness.vgemFenceAttach);
export const vgemFenceSignal = wrap(robustness.vgemFenceSignal);
/** DRM_IOCTL_PRIME_FD_TO_HANDLE: a dma-buf imported as a GEM handle on drmFd (close it with drmGemClose). */
export const primeFdToHandle = wrap(robustness.primeFdToHandle);

/** fallocate(PUNCH_HOLE | KEEP_SIZE) over [0, size): frees a shm file's pages, even those another process holds the fd of. */
export const punchHole = wrap(robustness.punchHole);

// damage_plan.cc: which rectangles a damage copy should copy (lib/damage/plan.ts).
// Its own section, typed apart from Addon, so that it merges beside other additions.

export interface NativeDamagePlan {
  /** x, y, width, height quadruples, inside the plane, covering every damaged pixel. */
  rects: Int32Array;
  /** The cost model's estimate for `rects`, in nanoseconds. */
  cost: number;
  /** The estimate for the damage as given (clipped). */
  given: number;
  /** Which plan won: 'given', 'bound', 'bands', with ' (sweep over budget)' when the sweep gave up. */
  strategy: string;
}

interface DamagePlanAddon {
  planDamage(
    rects: Int32Array, width: number, height: number, bpp: number, srcStride: number, dstStride: number,
    sourceComplete: boolean, model: Float64Array, eachPixelOnce?: boolean,
  ): NativeDamagePlan;
  /** The planner's first pass over the rectangles: AVX2 where the CPU has it, unless BUFSHARE_PLAN_SURVEY=scalar. */
  planSurvey(): 'avx2' | 'scalar';
}

export const planDamageRaw = wrap((addon as unknown as DamagePlanAddon).planDamage);
export const planSurvey = wrap((addon as unknown as DamagePlanAddon).planSurvey);

// --- Wayland: SOCK_STREAM sockets (src-native/socket.cc) ---------------------

/** A SOCK_STREAM socket on the libuv loop: the same wrapper, with stream reads and writes. */
export interface StreamSocket extends SeqPacketSocket {
  /** > 0: bytes read, meta = [fd count, flags]; 0: nothing now; -1: end of stream. fds must hold >= 28. */
  recvStream(buf: Uint8Array, fds: Int32Array, meta: Int32Array): number;
  /** Bytes sent (a stream send may be partial; the fds go with the first byte); 0 on EAGAIN. */
  sendStream(data: Uint8Array, fds?: Int32Array): number;
}

interface StreamAddon {
  streamListen(path: string, backlog: number): number;
  streamConnect(path: string): number;
  streamPair(): [number, number];
  lockFile(path: string): number;
}

const streamAddon = addon as unknown as StreamAddon;
export const streamListen = wrap(streamAddon.streamListen);
export const streamConnect = wrap(streamAddon.streamConnect);
export const streamPair = wrap(streamAddon.streamPair);
/** open(O_CREAT) + flock(LOCK_EX | LOCK_NB); the lock is held while the fd is open. errno EWOULDBLOCK: held elsewhere. */
export const lockFile = wrap(streamAddon.lockFile);
/**
 * libwayland's bound: fds per sendmsg (and per recvmsg). Mirrors socket.cc's
 * kMaxStreamFds (constants.MAX_FDS_PER_STREAM_SEND, checked by a test) as a plain
 * number, so importing the Wayland modules never loads the addon.
 */
export const MAX_FDS_PER_STREAM_SEND = 28;

/** Like openSeqPacket, for a SOCK_STREAM fd. Takes ownership of `fd` even when it throws. */
export function openStream(fd: number, onEvent: (status: number, events: number) => void): StreamSocket {
  const raw = constructSocket<StreamSocket>(fd, onEvent);
  return Object.assign(wrapSocket(raw), {
    recvStream: wrap((buf: Uint8Array, fds: Int32Array, meta: Int32Array) => raw.recvStream(buf, fds, meta)),
    sendStream: wrap((data: Uint8Array, fds?: Int32Array) => raw.sendStream(data, fds)),
  });
}

// KMS (src-native/kms.cc): every function takes a DRM fd it does not own.
export const drmIsMaster = wrap(addon.drmIsMaster);
export const drmDropMaster = wrap(addon.drmDropMaster);
export const drmSetMaster = wrap(addon.drmSetMaster);
export const drmSetClientCap = wrap(addon.drmSetClientCap);
export const kmsGetResources = wrap(addon.kmsGetResources);
export const kmsGetConnector = wrap(addon.kmsGetConnector);
export const kmsGetEncoder = wrap(addon.kmsGetEncoder);
export const kmsGetCrtc = wrap(addon.kmsGetCrtc);
export const kmsGetPlaneIds = wrap(addon.kmsGetPlaneIds);
export const kmsGetPlane = wrap(addon.kmsGetPlane);
export const kmsGetProperties = wrap(addon.kmsGetProperties);
export const kmsGetProperty = wrap(addon.kmsGetProperty);
export const kmsGetBlob = wrap(addon.kmsGetBlob);
export const kmsCreateBlob = wrap(addon.kmsCreateBlob);
export const kmsDestroyBlob = wrap(addon.kmsDestroyBlob);
export const kmsAddFb2 = wrap(addon.kmsAddFb2);
export const kmsRmFb = wrap(addon.kmsRmFb);
export const kmsSetCrtc = wrap(addon.kmsSetCrtc);
export const kmsPageFlip = wrap(addon.kmsPageFlip);
export const kmsAtomic = wrap(addon.kmsAtomic);
export const drmPrimeFdToHandle = wrap(addon.drmPrimeFdToHandle);
/** poll(POLLIN) with a timeout, blocking: for fences known to signal soon (writeback). */
export const waitReadable = wrap(addon.waitReadable);

/** Watches a borrowed DRM fd for events on the loop (src-native/drm_events.cc). */
export function openDrmEventWatcher(fd: number, onEvents: (events: DrmEventRaw[] | null, errno?: string) => void): DrmEventWatcherNative {
  let raw: DrmEventWatcherNative;
  try {
    raw = new (requireAddon().DrmEventWatcher)(fd, onEvents);
  } catch (e) {
    throw fromNativeError(e);
  }
  return { start: wrap(() => raw.start()), stop: wrap(() => raw.stop()), readNow: wrap(() => raw.readNow()) };
}

/** An eventfd watched on the loop (src-native/vhost.cc); owns the fd until close(). */
export interface EventFdWatchNative {
  close(): void;
  /** Reads the counter now (0: nothing pending). */
  drain(): number;
}

/** Watches `fd` (taken over: closed by close()) and calls onKick after each readable, counter drained. */
export function watchEventFd(fd: number, onKick: (count: number) => void): EventFdWatchNative {
  let raw: EventFdWatchNative;
  try {
    raw = new (requireAddon().EventFdWatch)(fd, (count) => onKick(count));
  } catch (e) {
    throw fromNativeError(e);
  }
  return { close: wrap(() => raw.close()), drain: wrap(() => raw.drain()) };
}
/** Adds 1 to an eventfd (a virtqueue's call); false when its counter could not take it. */
export const eventfdSignal = wrap(addon.eventfdSignal);
export const eventfdCreate = wrap(addon.eventfdCreate);
/** A full memory barrier (store-load included): a virtqueue's EVENT_IDX steps need one (vhost.cc). */
export const memoryFence = addon.memoryFence as () => void;
/** [fd, offset, length] page-aligned triples -> one contiguous shared mapping (unmapBuffer releases it). */
export const mapGuestPages = wrap(addon.mapGuestPages);
/** [memfd, offset, size] triples -> one dma-buf (UDMABUF_CREATE_LIST). */
export const udmabufCreateList = wrap(addon.udmabufCreateList);

export const evdevOpen = wrap(addon.evdevOpen);
export const evdevInfo = wrap(addon.evdevInfo) as (fd: number) => EvdevInfoRaw;
export const evdevKeyState = wrap(addon.evdevKeyState);
export const evdevAbsValue = wrap(addon.evdevAbsValue);
export const evdevGrab = wrap(addon.evdevGrab);
export const evdevSetClock = wrap(addon.evdevSetClock);

/** Reads a borrowed evdev fd on the loop (src-native/evdev.cc): 5 numbers per event, or null and an errno name once. */
export function openEvdevReader(fd: number, onEvents: (events: Float64Array | null, errno?: string) => void): EvdevReaderNative {
  let raw: EvdevReaderNative;
  try {
    raw = new (requireAddon().EvdevReader)(fd, onEvents);
  } catch (e) {
    throw fromNativeError(e);
  }
  return { start: wrap(() => raw.start()), stop: wrap(() => raw.stop()) };
}

// --- session (src-native/seat.cc, seat_uevent.cc): typed in lib/session/native-types.ts

/** '' when libseat.so.1 loads, else why not (dlopen's words). */
export function libseatAvailable(): string {
  return wrap(() => (requireAddon() as unknown as { libseatAvailable(): string }).libseatAvailable())();
}

/** Opens a seat through libseat; ERR_BUFSHARE_NOT_AVAILABLE with libseat's own reason when none answers. */
export function openSeat(onEvents: (events: string[] | null, errno?: string) => void): SeatNative {
  const Ctor = (requireAddon() as unknown as { Seat: new (cb: typeof onEvents) => SeatNative }).Seat;
  let raw: SeatNative;
  try {
    raw = new Ctor(onEvents);
  } catch (e) {
    throw fromNativeError(e);
  }
  return {
    name: wrap(() => raw.name()), start: wrap(() => raw.start()), dispatch: wrap(() => raw.dispatch()),
    openDevice: wrap((p: string) => raw.openDevice(p)), closeDevice: wrap((id: number) => raw.closeDevice(id)),
    disable: wrap(() => raw.disable()), switchSession: wrap((n: number) => raw.switchSession(n)), close: wrap(() => raw.close()),
  };
}

/** The kernel's uevent socket, read on the loop. */
export function openUeventSocket(onMessages: (messages: Buffer[] | null, errno?: string) => void): UeventSocketNative {
  const Ctor = (requireAddon() as unknown as { UeventSocket: new (cb: typeof onMessages) => UeventSocketNative }).UeventSocket;
  let raw: UeventSocketNative;
  try {
    raw = new Ctor(onMessages);
  } catch (e) {
    throw fromNativeError(e);
  }
  return { start: wrap(() => raw.start()), close: wrap(() => raw.close()) };
}

// ---------------------------------------------------------------------------
// DRM syncobj timelines (syncobj.cc), for explicit sync (linux-drm-syncobj-v1).

interface SyncobjAddon {
  syncobjCreate(drmFd: number): number;
  syncobjDestroy(drmFd: number, handle: number): void;
  syncobjHandleToFd(drmFd: number, handle: number): number;
  syncobjFdToHandle(drmFd: number, syncobjFd: number): number;
  syncobjQuery(drmFd: number, handle: number): bigint;
  syncobjTimelineSignal(drmFd: number, handle: number, point: bigint): void;
  syncobjEventfd(drmFd: number, handle: number, point: bigint): number;
}

const syncobjAddon = addon as unknown as SyncobjAddon;

/** DRM_CAP_SYNCOBJ_TIMELINE (drmGetCap): the driver has timeline syncobjs. */
export const DRM_CAP_SYNCOBJ_TIMELINE = 0x14;
/** DRM_IOCTL_SYNCOBJ_CREATE: a new syncobj (a timeline where the driver has them). */
export const syncobjCreate = wrap(syncobjAddon.syncobjCreate);
export const syncobjDestroy = wrap(syncobjAddon.syncobjDestroy);
/** The syncobj's own fd (what linux-drm-syncobj-v1's import_timeline carries). */
export const syncobjHandleToFd = wrap(syncobjAddon.syncobjHandleToFd);
/** Imports a syncobj fd as a handle on drmFd; the fd stays the caller's. */
export const syncobjFdToHandle = wrap(syncobjAddon.syncobjFdToHandle);
/** The last signalled point of a timeline. */
export const syncobjQuery = wrap(syncobjAddon.syncobjQuery);
/** Signals a timeline point from the CPU. */
export const syncobjTimelineSignal = wrap(syncobjAddon.syncobjTimelineSignal);
/** An eventfd (non-blocking, close-on-exec) readable once the point signalled (Linux 6.6+). */
export const syncobjEventfd = wrap(syncobjAddon.syncobjEventfd);
