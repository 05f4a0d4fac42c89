/**
 * The framebuffers an output made of client buffers for direct scanout, kept
 * while each buffer lives. Importing a dma-buf (PRIME_FD_TO_HANDLE, ADDFB2),
 * testing it (an atomic TEST_ONLY), then removing it (RMFB, GEM_CLOSE) on every
 * frame cost more than the scanout saved: direct scanout in the VM took 0.69x
 * the CPU of composing, against a target of 0.3x. wlroots keeps one framebuffer
 * per wlr_buffer, destroyed with it. So does this: a buffer whose source says
 * when it is gone (ScanoutSource.onceGone) keeps its framebuffer until then, and
 * is tested once (again after a session resume). A framebuffer on the plane, or
 * waiting for its flip, is never removed under it: a buffer gone meanwhile loses
 * it at the flip that replaces it.
 *
 * Bounded: past `limit` buffers, the least recently shown that is off screen
 * loses its framebuffer (it is imported again if it comes back).
 */
import type { ScanoutSource } from '../surface-model';
import type { KmsDevice } from './device';

interface Entry {
  readonly source: ScanoutSource;
  readonly fbId: number;
  /** TEST_ONLY accepted it on the plane since the last resume. */
  tested: boolean;
  /** Frames that hold it on the plane: the shown one and the one waiting for its flip. */
  onPlane: number;
  gone: boolean;
}

export class ClientFramebuffers {
  /** In the order last used (a Map keeps insertion order: used ones are re-inserted). */
  private readonly bySource = new Map<ScanoutSource, Entry>();
  private readonly byFb = new Map<number, Entry>();
  private closed = false;

  constructor(private readonly kmsDevice: KmsDevice, private readonly limit = 16) {}

  /** The cached framebuffer of `source`, most recently used now; undefined when none is kept. */
  lookup(source: ScanoutSource): { readonly fbId: number; readonly tested: boolean } | undefined {
    const e = this.bySource.get(source);
    if (!e) return undefined;
    this.bySource.delete(source);
    this.bySource.set(source, e);
    return e;
  }

  /**
   * Keeps `fbId` (just imported from `source`) for as long as the buffer lives.
   * False when the source cannot say when it is gone: the caller removes the
   * framebuffer itself when the frame is replaced, as before.
   */
  keep(source: ScanoutSource, fbId: number): boolean {
    if (!source.onceGone || this.closed) return false;
    const e: Entry = { source, fbId, tested: false, onPlane: 0, gone: false };
    this.bySource.set(source, e);
    this.byFb.set(fbId, e);
    source.onceGone(() => {
      e.gone = true;
      if (e.onPlane === 0) this.remove(e);
    });
    this.evict();
    return true;
  }

  /** TEST_ONLY accepted it. */
  markTested(fbId: number): void {
    const e = this.byFb.get(fbId);
    if (e) e.tested = true;
  }

  /** True when `fbId` is one of these (then onPlane/offPlane, not removeFramebuffer). */
  has(fbId: number): boolean {
    return this.byFb.has(fbId);
  }

  /** A frame put it on the plane (or queued it for the next flip). */
  onPlane(fbId: number): void {
    const e = this.byFb.get(fbId);
    if (e) e.onPlane++;
  }

  /** The flip that replaced it completed (or the output let go of the frame). */
  offPlane(fbId: number): void {
    const e = this.byFb.get(fbId);
    if (!e) return;
    e.onPlane = Math.max(0, e.onPlane - 1);
    if (e.onPlane === 0 && e.gone) this.remove(e);
    else this.evict();
  }

  /** A buffer TEST_ONLY refused: its framebuffer goes now. */
  forget(fbId: number): void {
    const e = this.byFb.get(fbId);
    if (e && e.onPlane === 0) this.remove(e);
  }

  /** Another master had the device: every framebuffer is tested again before it is shown. */
  untest(): void {
    for (const e of this.byFb.values()) e.tested = false;
  }

  /** Framebuffers kept now. */
  get size(): number {
    return this.byFb.size;
  }

  /** Removes every framebuffer (the output closes; nothing of ours is on its plane any more). */
  close(): void {
    this.closed = true;
    for (const e of [...this.byFb.values()]) this.remove(e);
  }

  private evict(): void {
    if (this.byFb.size <= this.limit) return;
    for (const e of this.bySource.values()) {
      if (this.byFb.size <= this.limit) return;
      if (e.onPlane === 0) this.remove(e);
    }
  }

  private remove(e: Entry): void {
    if (this.byFb.get(e.fbId) !== e) return;
    this.byFb.delete(e.fbId);
    if (this.bySource.get(e.source) === e) this.bySource.delete(e.source);
    this.kmsDevice.removeFramebuffer(e.fbId);
  }
}
