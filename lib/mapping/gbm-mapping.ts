/**
 * The server's mapping of a GBM buffer object: gbm_bo_map/gbm_bo_unmap. The
 * driver may hand out a staging copy with its own stride (written back on unmap),
 * so the region uses the stride gbm_bo_map returns, never the bo's.
 *
 * Mode 'read' maps with GBM_BO_TRANSFER_READ_WRITE too: Mesa's kms_swrast maps a
 * READ-only transfer PROT_READ, and a JS write into it would be a SIGSEGV
 * (fd-mapping.ts). A stray write then reaches the buffer, as it would in C.
 */
import type { FormatInfo } from '../format';
import * as native from '../native';
import { GraphicsRegion, type MapMode } from './graphics-region';

export interface GbmMapRequest {
  readonly bo: number;
  readonly width: number;
  readonly height: number;
  readonly format: FormatInfo;
  readonly mode: MapMode;
}

export function mapGbm(req: GbmMapRequest): GraphicsRegion {
  const { buffer, stride } = native.gbmBoMap(req.bo, true);
  try {
    return new GraphicsRegion(buffer, { width: req.width, height: req.height, stride, format: req.format, offset: 0 }, req.mode, 'gbm-map', () => {
      native.gbmBoUnmap(buffer);
    }, () => native.gbmMapFaulted(buffer));
  } catch (e) {
    native.gbmBoUnmap(buffer);
    throw e;
  }
}
