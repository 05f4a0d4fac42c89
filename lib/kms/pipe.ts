/**
 * A display pipe: connector -> CRTC -> primary plane, with a mode. Chosen by
 * trying what the hardware says can connect (possible CRTCs per encoder and
 * plane), never by guessing from ids.
 */
import { BufshareError } from '../errors';
import { preferredMode, type KmsConnector, type KmsCrtc, type KmsInfo, type KmsPlane } from './discovery';
import type { KmsModeInfo } from './native-types';
import type { AtomicRequest } from './atomic';

export interface KmsPipe {
  readonly connector: KmsConnector;
  readonly crtc: KmsCrtc;
  readonly primary: KmsPlane;
  readonly mode: KmsModeInfo;
}

export interface PipeChoice {
  /** A connector by name ("Virtual-1") or id; default: the first connected one. */
  readonly connector?: string | number;
  /** A mode by "WxH" or "WxH@R"; default: the preferred mode. */
  readonly mode?: string;
}

/** What other outputs on the card already drive (a KmsDevice's inUse). */
export interface PipesInUse {
  readonly crtcs: ReadonlySet<number>;
  readonly connectors: ReadonlySet<number>;
  readonly planes: ReadonlySet<number>;
}

const NONE_IN_USE: PipesInUse = { crtcs: new Set(), connectors: new Set(), planes: new Set() };

function modeMatches(mode: KmsModeInfo, spec: string): boolean {
  const m = /^(\d+)x(\d+)(?:@(\d+))?$/.exec(spec);
  if (!m) throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', `mode must be WxH or WxH@R, got ${JSON.stringify(spec)}`);
  return mode.hdisplay === Number(m[1]) && mode.vdisplay === Number(m[2]) && (m[3] === undefined || mode.vrefresh === Number(m[3]));
}

/** A pipe for `choice`, leaving alone what `inUse` lists (with no connector named: the first connected one not in use). */
export function choosePipe(kms: KmsInfo, choice: PipeChoice = {}, inUse: PipesInUse = NONE_IN_USE): KmsPipe {
  const candidates = kms.connectors.filter((c) => choice.connector === undefined
    ? c.status === 'connected' && c.modes.length > 0 && !inUse.connectors.has(c.id)
    : c.name === choice.connector || c.id === choice.connector);
  if (candidates.length === 0) {
    const seen = kms.connectors.map((c) => `${c.name} (${c.status})`).join(', ') || 'none';
    throw new BufshareError('ERR_BUFSHARE_NOT_AVAILABLE', choice.connector === undefined
      ? `no connected connector with modes${inUse.connectors.size > 0 ? ' that no other output shows' : ''}; connectors: ${seen}` : `no connector ${String(choice.connector)}; connectors: ${seen}`);
  }
  const tried: string[] = [];
  for (const connector of candidates) {
    if (inUse.connectors.has(connector.id)) {
      tried.push(`${connector.name}: another output shows it`);
      continue;
    }
    const mode = choice.mode === undefined ? preferredMode(connector) : connector.modes.find((m) => modeMatches(m, choice.mode!));
    if (!mode) {
      tried.push(`${connector.name}: no mode ${choice.mode ?? ''} (has ${connector.modes.map((m) => `${m.hdisplay}x${m.vdisplay}@${m.vrefresh}`).slice(0, 8).join(', ')})`);
      continue;
    }
    // Prefer the CRTC already driving it (no modeset flicker), then any possible one.
    const crtcs = kms.crtcs.filter((c) => (connector.possibleCrtcs & (1 << c.index)) !== 0 && !inUse.crtcs.has(c.id))
      .sort((a, b) => Number(b.id === connector.crtcId) - Number(a.id === connector.crtcId));
    for (const crtc of crtcs) {
      const primary = kms.planes.find((p) => p.type === 'primary' && (p.possibleCrtcs & (1 << crtc.index)) !== 0 && !inUse.planes.has(p.id));
      if (primary) return { connector, crtc, primary, mode };
    }
    tried.push(`${connector.name}: no ${inUse.crtcs.size > 0 ? 'free ' : ''}CRTC with a primary plane`);
  }
  throw new BufshareError('ERR_BUFSHARE_NOT_AVAILABLE', `no usable display pipe: ${tried.join('; ')}`);
}

export function modeName(mode: KmsModeInfo): string {
  return `${mode.hdisplay}x${mode.vdisplay}@${mode.vrefresh}`;
}

/** The properties that light the pipe up: connector -> CRTC, the mode blob, ACTIVE. Needs allowModeset. */
export function addModeset(req: AtomicRequest, pipe: KmsPipe, modeBlobId: number): AtomicRequest {
  return req.set(pipe.connector.properties, 'CRTC_ID', pipe.crtc.id)
    .set(pipe.crtc.properties, 'MODE_ID', modeBlobId)
    .set(pipe.crtc.properties, 'ACTIVE', 1);
}

/** `fbId` on `plane`, its whole `width` x `height` shown 1:1 at the CRTC's origin (SRC_* are 16.16 fixed point). */
export function addPlane(req: AtomicRequest, plane: KmsPlane, crtcId: number, fbId: number, width: number, height: number): AtomicRequest {
  const p = plane.properties;
  return req.set(p, 'FB_ID', fbId).set(p, 'CRTC_ID', crtcId)
    .set(p, 'SRC_X', 0).set(p, 'SRC_Y', 0).set(p, 'SRC_W', BigInt(width) << 16n).set(p, 'SRC_H', BigInt(height) << 16n)
    .set(p, 'CRTC_X', 0).set(p, 'CRTC_Y', 0).set(p, 'CRTC_W', width).set(p, 'CRTC_H', height);
}
