/**
 * A frame of any source (a bufshare Frame, a WaylandFrame) shown on a KMS output
 * by direct scanout, without a scene (KmsSceneOutput does this for a scene). On
 * success the output owns the frame: it releases it to its client
 * (frame.release()) only when the flip that replaces it has completed, so the
 * client never draws into a buffer that is still on screen. On a refusal
 * nothing changed: composite the frame as usual (and release it yourself).
 */
import type { CompositorFrame } from '../surface-model';
import type { DirectScanoutRefusal, KmsOutput } from './output';

export function scanoutFrame(output: KmsOutput, frame: CompositorFrame, options: { opaque?: boolean } = {}): number | DirectScanoutRefusal {
  if (frame.scanout === undefined) return 'no-dmabuf';
  return output.commitDirect(frame.scanout, () => frame.release(), { damage: frame.damage, ...(options.opaque ? { opaque: true } : {}) });
}
