/**
 * The only module that loads the addon: a typed facade over src-native/.
 *
 * Every function converts the addon's errors into BufshareErrors, so callers see
 * `code`, `syscall` and `errno` and never a bare native Error.
 */
import bindings from 'bindings';
import { fromNativeError } from './errors';
import type { DrmEventRaw, DrmEventWatcherNative, KmsConstants, KmsNative } from './kms/native-types';

export interface FdStat {
  size: number;
  mode: number;
  regular: boolean;
  uid: number;
  /** lseek(SEEK_END): the size of a dma-buf, whose st_size is 0; -1 if not seekable. */
  seekSize: number;
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
  MAX_FDS_PER_MESSAGE: number;
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
  /** The file can shrink (not sealed with F_SEAL_SHRINK), so the guard watches the mapping. */
  guarded: boolean;
  /** The file shrank under the mapping; its pages were replaced with zeros. */
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

interface Addon extends KmsNative {
  constants: NativeConstants;
  // fd.cc
  close(fd: number): void;
  dup(fd: number): number;
  dup2(from: number, to: number): void;
  getSeals(fd: number): number;
  addSeals(fd: number, seals: number): void;
  truncate(fd: number, size: number): void;
  stat(fd: number): FdStat;
  getFlags(fd: number): number;
  // shm.cc
  memfdCreate(name: string, size: number, seals: number): number;
  shmFileCreate(dir: string, size: number): number;
  // map.cc
  mmap(fd: number, length: number, offset: number, prot: number): ArrayBuffer;
  unmap(buffer: ArrayBuffer): boolean;
  mappingState(buffer: ArrayBuffer): MappingState;
  mappingStats(): MappingStats;
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
  gbmBoDestroy(bo: number): void;
  // udmabuf.cc
  udmabufCreate(memfd: number, offset: number, size: number): number;
  dmaHeapAlloc(heapPath: string, size: number): number;
  // copy.cc
  copyRects(
    src: Uint8Array, srcStride: number, dst: Uint8Array, dstStride: number,
    width: number, height: number, bpp: number, rects: Int32Array,
  ): number;
  // blend.cc
  blendRects(
    src: Uint8Array, srcStride: number, srcWidth: number, srcHeight: number,
    dst: Uint8Array, dstStride: number, dstWidth: number, dstHeight: number,
    offsetX: number, offsetY: number, rects: Int32Array, dstHasAlpha: boolean,
    below?: Uint8Array, belowStride?: number, belowWidth?: number, belowHeight?: number,
  ): number;
  blendKernel(): 'avx2' | 'sse2' | 'scalar';
  // socket.cc
  seqpacketListen(path: string, backlog: number): number;
  seqpacketConnect(path: string): number;
  seqpacketPair(): [number, number];
  SeqPacket: SeqPacketConstructor;
}

/**
 * BUFSHARE_ADDON, when set, is the path of an addon build to load instead of
 * build/Release (the sanitizer build: `npm run test:asan` sets it to
 * build-asan/build/Release/bufshare.node).
 */
function loadAddon(): Addon {
  const override = process.env.BUFSHARE_ADDON;
  if (override !== undefined && override !== '') return require(override) as Addon;
  return bindings('bufshare') as Addon;
}

const addon = loadAddon();

function wrap<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R {
  return (...args: A): R => {
    try {
      return fn(...args);
    } catch (e) {
      throw fromNativeError(e);
    }
  };
}

export const constants: Readonly<NativeConstants> = Object.freeze({ ...addon.constants });

export const closeFd = wrap(addon.close);
export const dupFd = wrap(addon.dup);
export const dup2Fd = wrap(addon.dup2);
export const getSeals = wrap(addon.getSeals);
export const addSeals = wrap(addon.addSeals);
export const truncateFd = wrap(addon.truncate);
export const statFd = wrap(addon.stat);
export const getFdFlags = wrap(addon.getFlags);

export const memfdCreate = wrap(addon.memfdCreate);
export const shmFileCreate = wrap(addon.shmFileCreate);

export const mmapFd = wrap(addon.mmap);
export const unmapBuffer = wrap(addon.unmap);
export const mappingState = wrap(addon.mappingState);
export const mappingStats = wrap(addon.mappingStats);
export const dmabufSync = wrap(addon.dmabufSync);
export const pageSize: number = addon.pageSize();

export const copyRectsRaw = wrap(addon.copyRects);
export const blendRectsRaw = wrap(addon.blendRects);
/** The loop blendRects runs: the widest the CPU has, or BUFSHARE_BLEND_KERNEL's (scalar, sse2) at load. */
export const blendKernel = wrap(addon.blendKernel);

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
  let raw: SeqPacketSocket;
  try {
    raw = new addon.SeqPacket(fd, onEvent);
  } catch (e) {
    try {
      addon.close(fd);
    } catch {
      // Not an fd: nothing to close.
    }
    throw fromNativeError(e);
  }
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
    raw = new addon.DrmEventWatcher(fd, onEvents);
  } catch (e) {
    throw fromNativeError(e);
  }
  return { start: wrap(() => raw.start()), stop: wrap(() => raw.stop()), readNow: wrap(() => raw.readNow()) };
}
