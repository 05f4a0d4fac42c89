/**
 * Choosing a DRM node automatically: the first card node on which `canAllocate`
 * succeeds. Render nodes are never picked: they refuse dumb buffers, and Mesa's
 * kms_swrast (GBM on virtual GPUs) needs dumb buffers (docs/design.md).
 */
import { debug } from '../debug';
import { BufshareError } from '../errors';
import { DrmDevice } from './device';
import { drmUnavailableReason, listDrmNodes } from './nodes';

export function pickCardNode(what: string, canAllocate: (device: DrmDevice) => void): string {
  const none = drmUnavailableReason();
  if (none) throw new BufshareError('ERR_BUFSHARE_NOT_AVAILABLE', `${what} buffers not available: ${none}`);
  const tried: string[] = [];
  for (const node of listDrmNodes().filter((n) => n.type === 'card')) {
    let device: DrmDevice;
    try {
      device = DrmDevice.open(node.path);
    } catch (e) {
      tried.push(`${node.path}: ${(e as Error).message}`);
      continue;
    }
    try {
      canAllocate(device);
      debug('drm', `picked ${device} for ${what} buffers`);
      return node.path;
    } catch (e) {
      tried.push(`${device}: ${(e as Error).message}`);
    } finally {
      device.unref();
    }
  }
  if (tried.length === 0) tried.push('no card node (only render nodes, which refuse dumb buffers)');
  throw new BufshareError('ERR_BUFSHARE_NOT_AVAILABLE', `${what} buffers not available on any DRM card node: ${tried.join('; ')}`);
}
