/**
 * The receiving side of a buffer: a descriptor and its fds rebuilt into a buffer
 * the client can map and draw into.
 *
 * Ownership: fromDescriptor() takes ownership of the fds, always. On success the
 * ImportedBuffer closes them on destroy(); on any validation error they are
 * closed before the error is thrown, so a bad descriptor never leaks an fd.
 */
import { validateDescriptor, type ClientBufferDescriptor, type ShadowLayout } from './descriptor';
import { BufshareError } from './errors';
import { parseModifier, resolveFormat } from './format';
import { BufferBase, closeAll } from './allocator/buffer-base';
import { fdIsReadWrite, mapFd } from './mapping/fd-mapping';
import { modeAllowsWrite, type GraphicsRegion, type MapMode } from './mapping/graphics-region';
import * as native from './native';

export class ImportedBuffer extends BufferBase {
  readonly descriptor: ClientBufferDescriptor;
  /** The buffer's own fd (the dma-buf or memfd), if it was sent. Owned by this object. */
  readonly bufferFd: number | undefined;
  /** The shadow's fd, for shadow access. Owned by this object. */
  readonly shadowFd: number | undefined;
  /**
   * The fds of planes after the first that have their own ('plane<i>' roles),
   * in descriptor order. Owned by this object; never mapped (a multi-plane
   * buffer is drawn into through its shadow), kept for whoever passes the
   * buffer on (a GPU import needs every plane).
   */
  readonly planeFds: readonly number[];
  private readonly shadow: ShadowLayout | undefined;

  /** Use fromDescriptor(). */
  constructor(descriptor: ClientBufferDescriptor, fds: readonly number[]) {
    super({
      id: descriptor.id, width: descriptor.width, height: descriptor.height, format: resolveFormat(descriptor.format),
      modifier: parseModifier(descriptor.modifier)!, planes: descriptor.planes, size: descriptor.size,
      kind: descriptor.kind, access: descriptor.access, readOnly: descriptor.readOnly,
    });
    this.descriptor = descriptor;
    const bi = descriptor.fds.indexOf('buffer');
    const si = descriptor.fds.indexOf('shadow');
    this.bufferFd = bi >= 0 ? fds[bi] : undefined;
    this.shadowFd = si >= 0 ? fds[si] : undefined;
    this.planeFds = descriptor.fds.flatMap((role, i) => (role.startsWith('plane') ? [fds[i]!] : []));
    this.shadow = descriptor.shadow;
    this.closeFdsIfForgotten(this.ownedFds());
  }

  protected mapRegion(mode: MapMode): GraphicsRegion {
    const geometry = { width: this.width, height: this.height, format: this.format };
    if (this.access === 'shadow') {
      // The shadow is the client's to draw in; readOnly applies to the buffer fd only.
      const shadow = this.shadow!;
      return mapFd({ ...geometry, fd: this.shadowFd!, size: shadow.size, stride: shadow.stride, offset: 0, mode, strategy: 'shadow', dmabuf: false });
    }
    if (this.readOnly && modeAllowsWrite(mode)) {
      throw new BufshareError('ERR_BUFSHARE_READ_ONLY', `buffer ${this.id} was exported read-only; map it with mode 'read'`);
    }
    const plane = this.planes[0]!;
    const dmabuf = this.kind !== 'shm';
    return mapFd({
      ...geometry, fd: this.bufferFd!, size: this.size, stride: plane.stride, offset: plane.offset, mode,
      strategy: dmabuf ? 'dmabuf-sync' : 'direct', dmabuf,
    });
  }

  private ownedFds(): number[] {
    return [this.bufferFd, this.shadowFd, ...this.planeFds].filter((fd): fd is number => fd !== undefined);
  }

  protected releaseResources(): void {
    closeAll(this.ownedFds(), native.closeFd);
  }
}


export interface ImportOptions {
  /**
   * The importer must draw into the buffer (a client's swapchain): refuse a
   * buffer whose pixels it could not write, whatever the descriptor's readOnly
   * flag says: a direct buffer flagged read-only, or an fd to draw into that is
   * not open read-write (mapping it writable would fail, and a read-only mapping
   * written by JS would kill the process).
   */
  readonly forDrawing?: boolean;
}

function checkDrawable(descriptor: ClientBufferDescriptor, fds: readonly number[]): void {
  if (descriptor.access === 'direct' && descriptor.readOnly) {
    throw new BufshareError('ERR_BUFSHARE_INVALID_DESCRIPTOR', 'invalid buffer descriptor: a direct-access buffer to draw into is flagged read-only (a read-only buffer needs a shadow)');
  }
  const role = descriptor.access === 'direct' ? 'buffer' : 'shadow';
  const fd = fds[descriptor.fds.indexOf(role)]!;
  if (!fdIsReadWrite(fd)) {
    throw new BufshareError('ERR_BUFSHARE_INVALID_DESCRIPTOR', `invalid buffer descriptor: the ${role} fd to draw into is not open read-write`);
  }
}

/**
 * Validates `json` (a parsed descriptor) against itself and against the fds it
 * arrived with, and returns the buffer. Takes ownership of `fds` (see above).
 * Throws ERR_BUFSHARE_INVALID_DESCRIPTOR for any inconsistency, including fds
 * that hold less memory than the descriptor claims (mapping past the end of a
 * file would fault with SIGBUS on first touch), and with `forDrawing`, a buffer
 * that could not be drawn into.
 */
export function fromDescriptor(json: unknown, fds: readonly number[], options: ImportOptions = {}): ImportedBuffer {
  try {
    const descriptor = validateDescriptor(json);
    if (fds.length !== descriptor.fds.length) {
      throw new BufshareError('ERR_BUFSHARE_INVALID_DESCRIPTOR', `invalid buffer descriptor: it lists ${descriptor.fds.length} fd(s) (${descriptor.fds.join(', ')}) but ${fds.length} arrived`);
    }
    descriptor.fds.forEach((role, i) => {
      const fd = fds[i]!;
      if (!Number.isInteger(fd) || fd < 0) throw new BufshareError('ERR_BUFSHARE_INVALID_DESCRIPTOR', `invalid buffer descriptor: fd ${String(fd)} is not a file descriptor`);
      const need = role === 'buffer' ? descriptor.size : role === 'shadow' ? descriptor.shadow!.size : descriptor.planes[Number(role.slice(5))]!.size!;
      let have: number;
      try {
        have = native.fdSize(fd);
      } catch (e) {
        throw new BufshareError('ERR_BUFSHARE_INVALID_DESCRIPTOR', `invalid buffer descriptor: cannot stat the ${role} fd`, { cause: e });
      }
      if (have >= 0 && have < need) {
        throw new BufshareError('ERR_BUFSHARE_INVALID_DESCRIPTOR', `invalid buffer descriptor: the ${role} fd holds ${have} bytes, the descriptor needs ${need}`);
      }
    });
    if (options.forDrawing) checkDrawable(descriptor, fds);
    return new ImportedBuffer(descriptor, fds);
  } catch (e) {
    closeAll(fds.filter((fd) => Number.isInteger(fd) && fd >= 0), (fd) => {
      try {
        native.closeFd(fd);
      } catch {
        // Already invalid: nothing left to leak.
      }
    });
    throw e;
  }
}
