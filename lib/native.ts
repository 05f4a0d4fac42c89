/**
 * The only module that loads the addon: a typed facade over src-native/.
 *
 * Every function converts the addon's errors into BufshareErrors, so callers see
 * `code`, `syscall` and `errno` and never a bare native Error.
 */
import bindings from 'bindings';
import { fromNativeError } from './errors';

export interface FdStat {
  size: number;
  mode: number;
  regular: boolean;
  uid: number;
  /** lseek(SEEK_END): the size of a dma-buf, whose st_size is 0; -1 if not seekable. */
  seekSize: number;
}

export interface NativeConstants {
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

interface Addon {
  constants: NativeConstants;
  // fd.cc
  close(fd: number): void;
  dup(fd: number): number;
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
  // copy.cc
  copyRects(
    src: Uint8Array, srcStride: number, dst: Uint8Array, dstStride: number,
    width: number, height: number, bpp: number, rects: Int32Array,
  ): number;
}

/**
 * BUFSHARE_ADDON, when set, is the path of an addon build to load instead of
 * build/Release (the sanitizer build: `npm run test:asan` sets it to
 * build-asan/build/Release/bufshare.node).
 */
function loadAddon(): Addon {
  const override = process.env.BUFSHARE_ADDON;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
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
