/**
 * The server's frame model on a KMS output: a client's submitted Frame shown by
 * direct scanout. On success the output owns the frame: it releases it to its
 * client (frame.release()) only when the flip that replaces it has completed,
 * so the client never draws into a buffer that is still on screen. On a refusal
 * nothing changed: composite the frame as usual (and release it yourself).
 */
import type { Frame } from '../ipc/frame';
import type { DirectScanoutRefusal, KmsOutput } from './output';

export function scanoutFrame(output: KmsOutput, frame: Frame, options: { opaque?: boolean } = {}): number | DirectScanoutRefusal {
  return output.commitDirect(frame.buffer, () => frame.release(), { damage: frame.damage, ...(options.opaque ? { opaque: true } : {}) });
}
