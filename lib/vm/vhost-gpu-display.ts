/**
 * qemu's own display of a vhost-user-gpu guest: the socket qemu hands the
 * back-end with VHOST_USER_GPU_SET_SOCKET (qemu docs/interop/vhost-user-gpu.rst),
 * on which the back-end sends VHOST_USER_GPU_SCANOUT (a scanout's size) and
 * VHOST_USER_GPU_UPDATE (a damaged rectangle's pixels, x8r8g8b8) so that qemu's
 * console, its VNC or D-Bus display and its `screendump` show the guest too.
 *
 * This is a copy, and an optional one (VhostGpuServerOptions.mirrorToQemu): the
 * compositor's frames never need it. Its cost is counted apart from the frames'
 * (`bytesSent`). Bounded: one message in flight; damage that comes meanwhile is
 * merged into one pending rectangle per scanout and read from the guest's pages
 * when the socket takes more, so a slow qemu costs frames on its display, never
 * memory here.
 */
import * as native from '../native';
import type { FormatInfo } from '../format';

const GPU_SCANOUT = 7;
const GPU_UPDATE = 8;
const HEADER = 12;

export interface MirrorSource {
  readonly memory: ArrayBuffer;
  readonly offset: number;
  readonly stride: number;
  readonly width: number;
  readonly height: number;
  readonly format: FormatInfo;
}

interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export class QemuDisplayMirror {
  /** Pixel bytes sent to qemu (its display's copy; not the compositor's). */
  bytesSent = 0;
  updatesSent = 0;
  private readonly socket: native.StreamSocket;
  private inFlight: Uint8Array | undefined;
  private readonly pending = new Map<number, { rect: Rect; source: MirrorSource }>();
  private readonly scanouts: Uint8Array[] = [];
  private closed = false;
  private readonly scratch = new Uint8Array(4096);
  private readonly scratchFds = new Int32Array(native.MAX_FDS_PER_STREAM_SEND);
  private readonly scratchMeta = new Int32Array(2);

  /** Takes ownership of `fd` (the GPU socket). */
  constructor(fd: number) {
    this.socket = native.openStream(fd, (status, events) => this.onEvent(status, events));
    this.socket.poll(native.constants.POLL_READABLE);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** A scanout's new size (0 x 0: disabled). Sent before any update queued after it. */
  scanout(id: number, width: number, height: number): void {
    if (this.closed) return;
    const m = message(GPU_SCANOUT, 12);
    const v = new DataView(m.buffer);
    v.setUint32(HEADER, id, true);
    v.setUint32(HEADER + 4, width, true);
    v.setUint32(HEADER + 8, height, true);
    this.pending.delete(id);
    this.scanouts.push(m);
    this.pump();
  }

  /** Damage of a scanout; its pixels are read from `source` when the socket can take them. */
  update(id: number, rect: Rect, source: MirrorSource): void {
    if (this.closed || source.format.bpp !== 4 || (source.format.name !== 'XRGB8888' && source.format.name !== 'ARGB8888')) return;
    const had = this.pending.get(id);
    if (had !== undefined) {
      const x0 = Math.min(had.rect.x, rect.x), y0 = Math.min(had.rect.y, rect.y);
      const x1 = Math.max(had.rect.x + had.rect.width, rect.x + rect.width), y1 = Math.max(had.rect.y + had.rect.height, rect.y + rect.height);
      this.pending.set(id, { rect: { x: x0, y: y0, width: x1 - x0, height: y1 - y0 }, source });
    } else {
      this.pending.set(id, { rect: { ...rect }, source });
    }
    this.pump();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pending.clear();
    this.socket.close();
  }

  private onEvent(status: number, events: number): void {
    if (this.closed) return;
    if (status < 0) return this.close();
    if (events & native.constants.POLL_READABLE) {
      // qemu sends only replies to requests, and we make none: read and drop, to see it go.
      const n = this.socket.recvStream(this.scratch, this.scratchFds, this.scratchMeta);
      for (let i = 0; i < this.scratchMeta[0]!; i++) native.closeFd(this.scratchFds[i]!);
      if (n < 0) return this.close();
    }
    if (events & native.constants.POLL_WRITABLE) this.pump();
  }

  private pump(): void {
    while (!this.closed) {
      if (this.inFlight === undefined) this.inFlight = this.next();
      if (this.inFlight === undefined) break;
      let sent: number;
      try {
        sent = this.socket.sendStream(this.inFlight);
      } catch {
        return this.close();
      }
      if (sent === 0) {
        this.socket.poll(native.constants.POLL_READABLE | native.constants.POLL_WRITABLE);
        return;
      }
      this.inFlight = sent < this.inFlight.length ? this.inFlight.subarray(sent) : undefined;
    }
    if (!this.closed) this.socket.poll(native.constants.POLL_READABLE);
  }

  private next(): Uint8Array | undefined {
    const s = this.scanouts.shift();
    if (s !== undefined) return s;
    const first = this.pending.entries().next();
    if (first.done) return undefined;
    const [id, { rect, source }] = first.value;
    this.pending.delete(id);
    const x = Math.min(rect.x, source.width), y = Math.min(rect.y, source.height);
    const w = Math.min(rect.width, source.width - x), h = Math.min(rect.height, source.height - y);
    if (w <= 0 || h <= 0 || source.memory.byteLength === 0) return this.next();
    const m = message(GPU_UPDATE, 20 + w * h * 4);
    const v = new DataView(m.buffer);
    v.setUint32(HEADER, id, true);
    v.setUint32(HEADER + 4, x, true);
    v.setUint32(HEADER + 8, y, true);
    v.setUint32(HEADER + 12, w, true);
    v.setUint32(HEADER + 16, h, true);
    const src = new Uint8Array(source.memory);
    for (let row = 0; row < h; row++) {
      const from = source.offset + (y + row) * source.stride + x * 4;
      m.set(src.subarray(from, from + w * 4), HEADER + 20 + row * w * 4);
    }
    this.bytesSent += w * h * 4;
    this.updatesSent++;
    return m;
  }
}

function message(request: number, size: number): Uint8Array {
  const m = new Uint8Array(HEADER + size);
  const v = new DataView(m.buffer);
  v.setUint32(0, request, true);
  v.setUint32(4, 0, true);
  v.setUint32(8, size, true);
  return m;
}
