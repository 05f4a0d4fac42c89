/**
 * KMS capabilities of one card, for bufshare-probe: client caps, connectors and
 * modes, planes with formats and modifiers, writeback, and per format whether a
 * dumb / GBM scanout buffer can become a framebuffer (ADDFB2) and pass an atomic
 * TEST_ONLY modeset on the first connected pipe.
 *
 * TEST_ONLY needs DRM master: the probe opens the node keeping the master its
 * open may gain (released when it closes the node, a few milliseconds later).
 * Where another process is master (a running compositor), scanout is not tested
 * and the report says so; nothing on screen changes either way.
 */
import { DrmDevice } from '../drm/device';
import { GbmDevice, gbmUsageFlags } from '../allocator/gbm';
import { formats, modifierToString as hexModifier, MODIFIER_INVALID, MODIFIER_LINEAR, type FormatInfo } from '../format';
import * as native from '../native';
import { AtomicRequest } from './atomic';
import { discoverKms, formatName, type KmsInfo } from './discovery';
import { addFramebuffer } from './framebuffer';
import { addModeset, addPlane, choosePipe, modeName, type KmsPipe } from './pipe';

/** LINEAR, implicit (INVALID: the driver's own layout), else the hex value. */
function modifierToString(m: bigint): string {
  return m === MODIFIER_LINEAR ? 'LINEAR' : m === MODIFIER_INVALID ? 'implicit' : hexModifier(m);
}

export type Outcome = 'ok' | { readonly error: string };

export interface ScanoutCheck {
  readonly buffer: 'dumb' | 'gbm';
  readonly format: string;
  readonly modifier?: string;
  readonly addfb2: Outcome;
  /** Absent when not tested (no master, no atomic, or ADDFB2 failed). */
  readonly testOnly?: Outcome;
}

export interface KmsCardReport {
  readonly path: string;
  readonly driver?: string;
  /** Why the card has no KMS report (vgem: no modesetting). */
  readonly unavailable?: string;
  readonly atomic?: boolean;
  readonly universalPlanes?: boolean;
  readonly writebackCap?: boolean;
  readonly addfb2Modifiers?: boolean;
  /** Whether the probe could be master (TEST_ONLY needs it). */
  readonly master?: boolean;
  readonly connectors?: { name: string; status: string; monitorName?: string; modes: string[]; preferred?: string }[];
  readonly crtcs?: number;
  readonly planes?: { id: number; type: string; formats: string[]; modifiers?: Record<string, string[]>; zpos?: number; damageClips: boolean }[];
  readonly writeback?: { name: string; formats: string[] }[];
  /** The pipe scanout was tested on. */
  readonly pipe?: string;
  readonly scanout?: ScanoutCheck[];
  /** Why scanout was not tested. */
  readonly scanoutSkipped?: string;
}

function outcome(fn: () => void): Outcome {
  try {
    fn();
    return 'ok';
  } catch (e) {
    return { error: `${(e as { errno?: string }).errno ?? ''} ${(e as Error).message}`.trim() };
  }
}

function testScanout(device: DrmDevice, pipe: KmsPipe, modeBlob: number, fbId: number): Outcome {
  return outcome(() => {
    const req = new AtomicRequest();
    addModeset(req, pipe, modeBlob);
    addPlane(req, pipe.primary, pipe.crtc.id, fbId, pipe.mode.hdisplay, pipe.mode.vdisplay);
    req.commit(device.fd, { testOnly: true, allowModeset: true });
  });
}

function checkFormat(device: DrmDevice, gbm: GbmDevice | undefined, pipe: KmsPipe, format: FormatInfo, canTest: boolean, modeBlob: number): ScanoutCheck[] {
  const { hdisplay: w, vdisplay: h } = pipe.mode;
  const out: ScanoutCheck[] = [];
  const tryFb = (buffer: 'dumb' | 'gbm', layout: { handle: number; pitch: number; offset: number; modifier?: bigint }): void => {
    let fbId = 0;
    const addfb2 = outcome(() => {
      fbId = addFramebuffer(device, { width: w, height: h, fourcc: format.fourcc, ...layout });
    });
    const modifier = layout.modifier !== undefined ? { modifier: modifierToString(layout.modifier) } : {};
    const testOnly = addfb2 === 'ok' && canTest ? { testOnly: testScanout(device, pipe, modeBlob, fbId) } : {};
    if (fbId) native.kmsRmFb(device.fd, fbId);
    out.push({ buffer, format: format.name, ...modifier, addfb2, ...testOnly });
  };
  if (format.bpp === 2 || format.bpp === 4) {
    let dumb: native.DumbBufferInfo | undefined;
    const created = outcome(() => {
      dumb = native.drmCreateDumb(device.fd, w, h, format.bpp * 8);
    });
    if (dumb) {
      try {
        tryFb('dumb', { handle: dumb.handle, pitch: dumb.pitch, offset: 0, modifier: MODIFIER_LINEAR });
      } finally {
        native.drmDestroyDumb(device.fd, dumb.handle);
      }
    } else {
      out.push({ buffer: 'dumb', format: format.name, addfb2: created });
    }
  }
  if (gbm) {
    let bo = 0;
    const created = outcome(() => {
      bo = native.gbmBoCreate(gbm.id, w, h, format.fourcc, gbmUsageFlags(true));
    });
    if (bo) {
      try {
        const info = native.gbmBoInfo(bo);
        tryFb('gbm', { handle: info.handle, pitch: info.stride, offset: info.offset, modifier: info.modifier });
      } finally {
        native.gbmBoDestroy(bo);
      }
    } else {
      out.push({ buffer: 'gbm', format: format.name, addfb2: created });
    }
  }
  return out;
}

function describe(kms: KmsInfo): Pick<KmsCardReport, 'connectors' | 'crtcs' | 'planes' | 'writeback'> {
  return {
    connectors: kms.connectors.map((c) => {
      const preferred = c.modes.find((m) => (m.type & 8) !== 0);
      return {
        name: c.name, status: c.status, ...(c.monitorName ? { monitorName: c.monitorName } : {}),
        modes: [...new Set(c.modes.map(modeName))], ...(preferred ? { preferred: modeName(preferred) } : {}),
      };
    }),
    crtcs: kms.crtcs.length,
    planes: kms.planes.map((p) => ({
      id: p.id, type: p.type, formats: p.formats.map(formatName), damageClips: p.damageClips,
      ...(p.modifiers ? { modifiers: Object.fromEntries([...p.modifiers].map(([f, m]) => [formatName(f), m.map(modifierToString)])) } : {}),
      ...(p.zpos ? { zpos: p.zpos.value } : {}),
    })),
    writeback: kms.writeback.map((w) => ({ name: w.name, formats: w.formats.map(formatName) })),
  };
}

export function probeKmsCard(path: string): KmsCardReport {
  let device: DrmDevice;
  try {
    device = DrmDevice.open(path, { master: true });
  } catch (e) {
    return { path, unavailable: (e as Error).message };
  }
  try {
    let kms: KmsInfo;
    try {
      kms = discoverKms(device);
    } catch (e) {
      return { path, driver: device.driver.name, unavailable: `no modesetting (${(e as { errno?: string }).errno ?? (e as Error).message})` };
    }
    const master = device.isMaster;
    const base = {
      path, driver: device.driver.name, atomic: kms.caps.atomic, universalPlanes: kms.caps.universalPlanes,
      writebackCap: kms.caps.writebackConnectors, addfb2Modifiers: device.caps.addfb2Modifiers, master, ...describe(kms),
    };
    let pipe: KmsPipe;
    try {
      pipe = choosePipe(kms);
    } catch (e) {
      return { ...base, scanoutSkipped: (e as Error).message };
    }
    const canTest = master && kms.caps.atomic;
    const skipped = !master ? 'another process is DRM master: TEST_ONLY not tried' : !kms.caps.atomic ? 'no atomic modesetting: TEST_ONLY not available' : undefined;
    let gbm: GbmDevice | undefined;
    try {
      gbm = new GbmDevice(device);
    } catch {
      gbm = undefined;
    }
    const modeBlob = canTest ? native.kmsCreateBlob(device.fd, pipe.mode.raw) : 0;
    try {
      const wanted = formats.filter((f) => pipe.primary.formats.includes(f.fourcc));
      const scanout = wanted.flatMap((f) => checkFormat(device, gbm, pipe, f, canTest, modeBlob));
      return { ...base, pipe: `${pipe.connector.name} ${modeName(pipe.mode)} on CRTC ${pipe.crtc.id}, plane ${pipe.primary.id}`, scanout, ...(skipped ? { scanoutSkipped: skipped } : {}) };
    } finally {
      if (modeBlob) native.kmsDestroyBlob(device.fd, modeBlob);
      gbm?.close();
    }
  } finally {
    device.unref();
  }
}
