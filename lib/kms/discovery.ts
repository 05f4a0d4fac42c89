/**
 * What a DRM card can display: connectors (status, modes, EDID monitor name),
 * CRTCs, planes (type, formats, IN_FORMATS modifiers, zpos, damage clips) and
 * writeback connectors, after asking for the client caps UNIVERSAL_PLANES,
 * ATOMIC and WRITEBACK_CONNECTORS.
 *
 * How am I supposed to use this? `discoverKms(device)` on a card node's
 * DrmDevice. Client caps belong to the open file: on a borrowed fd they are set
 * for its owner too (what any KMS user of that fd needs anyway).
 */
import { formats, fourccToString } from '../format';
import type { DrmDevice } from '../drm/device';
import * as native from '../native';
import { edidIdentity, edidMonitorName, type EdidIdentity } from './edid';
import { parseInFormats } from './in-formats';
import type { KmsModeInfo, KmsPropertyRaw } from './native-types';
import { KmsProperties } from './properties';

export interface KmsClientCaps {
  readonly universalPlanes: boolean;
  readonly atomic: boolean;
  readonly writebackConnectors: boolean;
}

/** Sets the client caps a compositor needs; each is false where the kernel refuses it. */
export function enableClientCaps(fd: number): KmsClientCaps {
  const c = native.constants;
  const set = (cap: number): boolean => {
    try {
      native.drmSetClientCap(fd, cap, 1);
      return true;
    } catch {
      return false;
    }
  };
  const universalPlanes = set(c.DRM_CLIENT_CAP_UNIVERSAL_PLANES);
  const atomic = set(c.DRM_CLIENT_CAP_ATOMIC);
  // Writeback connectors need ATOMIC first (the kernel checks).
  const writebackConnectors = atomic && set(c.DRM_CLIENT_CAP_WRITEBACK_CONNECTORS);
  return { universalPlanes, atomic, writebackConnectors };
}

const CONNECTOR_TYPE_NAMES = [
  'Unknown', 'VGA', 'DVI-I', 'DVI-D', 'DVI-A', 'Composite', 'SVIDEO', 'LVDS', 'Component', '9PinDIN',
  'DP', 'HDMI-A', 'HDMI-B', 'TV', 'eDP', 'Virtual', 'DSI', 'DPI', 'Writeback', 'SPI', 'USB',
];
export const CONNECTOR_TYPE_WRITEBACK = 18;
/** DRM_MODE_TYPE_PREFERRED */
export const MODE_TYPE_PREFERRED = 1 << 3;

export type ConnectorStatus = 'connected' | 'disconnected' | 'unknown';

export interface KmsConnector {
  readonly id: number;
  /** "Virtual-1", "HDMI-A-2": the kernel's naming (type and per-type index). */
  readonly name: string;
  readonly type: number;
  readonly status: ConnectorStatus;
  readonly modes: KmsModeInfo[];
  /** From the EDID's monitor name descriptor, where the connector has an EDID. */
  readonly monitorName?: string;
  /** Make, model and serial from the EDID ({} without one). */
  readonly edid: EdidIdentity;
  readonly mmWidth: number;
  readonly mmHeight: number;
  /** Bit i: the i-th CRTC (of KmsInfo.crtcs) can drive this connector. */
  readonly possibleCrtcs: number;
  /** The CRTC driving it now (0: none). */
  readonly crtcId: number;
  readonly properties: KmsProperties;
}

export interface KmsWritebackConnector {
  readonly id: number;
  readonly name: string;
  readonly possibleCrtcs: number;
  /** WRITEBACK_PIXEL_FORMATS: what the writeback framebuffer may be. */
  readonly formats: number[];
  readonly properties: KmsProperties;
}

export interface KmsCrtc {
  readonly id: number;
  /** Its index in GETRESOURCES: the bit in possibleCrtcs masks. */
  readonly index: number;
  readonly mode: KmsModeInfo | null;
  readonly fbId: number;
  readonly properties: KmsProperties;
}

export type PlaneType = 'primary' | 'overlay' | 'cursor';

export interface KmsPlane {
  readonly id: number;
  readonly type: PlaneType;
  readonly possibleCrtcs: number;
  readonly crtcId: number;
  readonly fbId: number;
  /** Fourccs the plane scans out. */
  readonly formats: number[];
  /** IN_FORMATS: the modifiers per fourcc (absent: the driver did not say; assume LINEAR only). */
  readonly modifiers?: ReadonlyMap<number, bigint[]>;
  /** zpos: its current value and, when immutable, that it cannot change. */
  readonly zpos?: { readonly value: number; readonly immutable: boolean; readonly min?: number; readonly max?: number };
  /** FB_DAMAGE_CLIPS: the plane takes damage rectangles with a commit. */
  readonly damageClips: boolean;
  readonly properties: KmsProperties;
}

export interface KmsInfo {
  readonly caps: KmsClientCaps;
  readonly connectors: KmsConnector[];
  readonly writeback: KmsWritebackConnector[];
  readonly crtcs: KmsCrtc[];
  readonly planes: KmsPlane[];
  readonly maxWidth: number;
  readonly maxHeight: number;
}

const PROP_IMMUTABLE = 4;

function connectorName(type: number, typeId: number): string {
  return `${CONNECTOR_TYPE_NAMES[type] ?? `Type${type}`}-${typeId}`;
}

function status(connection: number): ConnectorStatus {
  return connection === 1 ? 'connected' : connection === 2 ? 'disconnected' : 'unknown';
}

function blob(fd: number, props: KmsProperties, name: string): Uint8Array | undefined {
  const p = props.get(name);
  if (!p || p.value === 0n) return undefined;
  try {
    return native.kmsGetBlob(fd, Number(p.value));
  } catch {
    return undefined;
  }
}

/** Every KMS object of the card. Throws (ERR_BUFSHARE_SYSCALL, EOPNOTSUPP/EINVAL) on a node without KMS (vgem, render nodes). */
export function discoverKms(device: DrmDevice): KmsInfo {
  const fd = device.fd;
  const caps = enableClientCaps(fd);
  const cache = new Map<number, KmsPropertyRaw>();
  const res = native.kmsGetResources(fd);
  const encoders = new Map(res.encoders.map((id) => [id, native.kmsGetEncoder(fd, id)] as const));
  const connectors: KmsConnector[] = [];
  const writeback: KmsWritebackConnector[] = [];
  for (const id of res.connectors) {
    const raw = native.kmsGetConnector(fd, id);
    const properties = new KmsProperties(fd, id, 'connector', cache);
    const possibleCrtcs = raw.encoders.reduce((m, e) => m | (encoders.get(e)?.possibleCrtcs ?? 0), 0);
    const name = connectorName(raw.type, raw.typeId);
    if (raw.type === CONNECTOR_TYPE_WRITEBACK) {
      const formatsBlob = blob(fd, properties, 'WRITEBACK_PIXEL_FORMATS');
      const list: number[] = [];
      if (formatsBlob) {
        const view = new DataView(formatsBlob.buffer, formatsBlob.byteOffset, formatsBlob.byteLength);
        for (let i = 0; i + 4 <= formatsBlob.length; i += 4) list.push(view.getUint32(i, true));
      }
      writeback.push({ id, name, possibleCrtcs, formats: list, properties });
      continue;
    }
    const edid = blob(fd, properties, 'EDID');
    const monitorName = edid ? edidMonitorName(edid) : undefined;
    const identity = edid ? edidIdentity(edid) : {};
    const crtcId = raw.encoderId ? (encoders.get(raw.encoderId)?.crtcId ?? 0) : 0;
    connectors.push({
      id, name, type: raw.type, status: status(raw.connection), modes: raw.modes, mmWidth: raw.mmWidth, mmHeight: raw.mmHeight,
      possibleCrtcs, crtcId, properties, edid: identity, ...(monitorName ? { monitorName } : {}),
    });
  }
  const crtcs: KmsCrtc[] = res.crtcs.map((id, index) => {
    const raw = native.kmsGetCrtc(fd, id);
    return { id, index, mode: raw.mode, fbId: raw.fbId, properties: new KmsProperties(fd, id, 'crtc', cache) };
  });
  const planes: KmsPlane[] = native.kmsGetPlaneIds(fd).map((id) => {
    const raw = native.kmsGetPlane(fd, id);
    const properties = new KmsProperties(fd, id, 'plane', cache);
    const typeName = properties.enumName('type');
    const type: PlaneType = typeName === 'Primary' ? 'primary' : typeName === 'Cursor' ? 'cursor' : 'overlay';
    const inFormats = blob(fd, properties, 'IN_FORMATS');
    const z = properties.get('zpos');
    const zpos = z ? {
      value: Number(z.value), immutable: (z.info.flags & PROP_IMMUTABLE) !== 0,
      ...(z.info.values.length >= 2 ? { min: Number(z.info.values[0]), max: Number(z.info.values[1]) } : {}),
    } : undefined;
    return {
      id, type, possibleCrtcs: raw.possibleCrtcs, crtcId: raw.crtcId, fbId: raw.fbId, formats: raw.formats,
      damageClips: properties.has('FB_DAMAGE_CLIPS'), properties,
      ...(inFormats ? { modifiers: parseInFormats(inFormats) } : {}), ...(zpos ? { zpos } : {}),
    };
  });
  return { caps, connectors, writeback, crtcs, planes, maxWidth: res.maxWidth, maxHeight: res.maxHeight };
}

/** A fourcc as a name bufshare knows ("XRGB8888"), else its four characters. */
export function formatName(fourcc: number): string {
  return formats.find((f) => f.fourcc === fourcc)?.name ?? fourccToString(fourcc);
}

const MODE_FLAG_INTERLACE = 1 << 4;
const MODE_FLAG_DBLSCAN = 1 << 5;

/**
 * The mode's refresh rate in mHz, from its timings (what wl_output and
 * presentation-time want), not the kernel's rounded vrefresh: CVT 1280x800
 * reduced blanking (71 MHz, 1440 x 823 total) is 59910 mHz; its vrefresh reads 60.
 */
export function refreshMilliHz(mode: KmsModeInfo): number {
  if (mode.htotal === 0 || mode.vtotal === 0) return mode.vrefresh * 1000;
  let mhz = (mode.clock * 1_000_000) / (mode.htotal * mode.vtotal);
  if (mode.flags & MODE_FLAG_INTERLACE) mhz *= 2;
  if (mode.flags & MODE_FLAG_DBLSCAN) mhz /= 2;
  return Math.round(mhz);
}

/** The preferred mode, else the first (the kernel lists the best first). */
export function preferredMode(connector: KmsConnector): KmsModeInfo | undefined {
  return connector.modes.find((m) => (m.type & MODE_TYPE_PREFERRED) !== 0) ?? connector.modes[0];
}
