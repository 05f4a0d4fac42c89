/**
 * The ClientBuffer descriptor: everything a client needs to use a buffer the
 * server allocated, as JSON. The fds travel beside it (SCM_RIGHTS), never inside;
 * `fds` names the role of each, in order.
 *
 * validateDescriptor() is the receiving side's first line of defence: it accepts
 * only a descriptor that is consistent with itself, so that mapping it can never
 * reach past the memory its fds hold.
 */
import { BufshareError } from './errors';
import { lookupFormat, parseModifier, fourccToString } from './format';
import { MAX_DIMENSION } from './layout';

export const DESCRIPTOR_VERSION = 1;

/** Where the buffer's memory comes from. */
export type BufferKind = 'shm' | 'dumb' | 'gbm' | 'udmabuf';
export const BUFFER_KINDS: readonly BufferKind[] = ['shm', 'dumb', 'gbm', 'udmabuf'];

/**
 * How the client draws: `direct` maps the buffer's own fd (zero copy); `shadow`
 * maps a shm shadow of the same geometry, and the server copies the damage the
 * client submits into the buffer.
 */
export type ClientAccess = 'direct' | 'shadow';

/** The role of each fd sent with a descriptor. */
export type FdRole = 'buffer' | 'shadow';

export interface PlaneLayout {
  readonly offset: number;
  readonly stride: number;
}

export interface ShadowLayout {
  readonly stride: number;
  readonly size: number;
}

export interface ClientBufferDescriptor {
  readonly version: typeof DESCRIPTOR_VERSION;
  readonly id: number;
  readonly width: number;
  readonly height: number;
  /** DRM fourcc. */
  readonly format: number;
  /** DRM format modifier, '0x' + 16 hex digits. */
  readonly modifier: string;
  readonly planes: readonly PlaneLayout[];
  /** Bytes the buffer fd holds. */
  readonly size: number;
  readonly kind: BufferKind;
  readonly access: ClientAccess;
  /** The buffer fd can only be mapped for reading (a read-only dma-buf export). */
  readonly readOnly: boolean;
  /** Geometry of the shadow, present exactly when access is 'shadow'. */
  readonly shadow?: ShadowLayout;
  /** The role of each fd, in the order they are sent. */
  readonly fds: readonly FdRole[];
}

/** The most bytes a descriptor may claim (hardware buffers may be padded beyond MAX_BUFFER_BYTES). */
export const MAX_DESCRIPTOR_BYTES = 2 ** 31;

function fail(message: string): never {
  throw new BufshareError('ERR_BUFSHARE_INVALID_DESCRIPTOR', `invalid buffer descriptor: ${message}`);
}

function int(o: Record<string, unknown>, key: string, min: number, max: number): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) fail(`${key} must be an integer in ${min}..${max}, got ${JSON.stringify(v)}`);
  return v;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Checks a parsed descriptor field by field and returns it typed. Throws
 * ERR_BUFSHARE_INVALID_DESCRIPTOR naming the first inconsistency.
 */
export function validateDescriptor(input: unknown): ClientBufferDescriptor {
  if (!isRecord(input)) fail('not an object');
  if (input.version !== DESCRIPTOR_VERSION) fail(`version must be ${DESCRIPTOR_VERSION}, got ${JSON.stringify(input.version)}`);
  const id = int(input, 'id', 0, Number.MAX_SAFE_INTEGER);
  const width = int(input, 'width', 1, MAX_DIMENSION);
  const height = int(input, 'height', 1, MAX_DIMENSION);
  const fourcc = int(input, 'format', 0, 0xffffffff);
  const format = lookupFormat(fourcc);
  if (!format) fail(`unknown format 0x${fourcc.toString(16)} ('${fourccToString(fourcc)}')`);
  if (typeof input.modifier !== 'string' || parseModifier(input.modifier) === undefined) fail(`modifier must be a hex string like "0x0000000000000000", got ${JSON.stringify(input.modifier)}`);
  const size = int(input, 'size', 1, MAX_DESCRIPTOR_BYTES);
  if (!Array.isArray(input.planes) || input.planes.length !== 1) fail('planes must be an array of exactly one plane (single-plane formats)');
  const plane: unknown = input.planes[0];
  if (!isRecord(plane)) fail('plane 0 is not an object');
  const offset = int(plane, 'offset', 0, MAX_DESCRIPTOR_BYTES);
  const stride = int(plane, 'stride', 1, MAX_DESCRIPTOR_BYTES);
  if (stride < width * format.bpp) fail(`stride ${stride} is too small for width ${width} of ${format.name} (needs >= ${width * format.bpp})`);
  if (offset + stride * height > size) fail(`size ${size} is too small for offset ${offset} + stride ${stride} x height ${height}`);
  const kind = input.kind;
  if (typeof kind !== 'string' || !(BUFFER_KINDS as readonly string[]).includes(kind)) fail(`kind must be one of ${BUFFER_KINDS.join(', ')}, got ${JSON.stringify(kind)}`);
  const access = input.access;
  if (access !== 'direct' && access !== 'shadow') fail(`access must be 'direct' or 'shadow', got ${JSON.stringify(access)}`);
  if (typeof input.readOnly !== 'boolean') fail('readOnly must be a boolean');
  let shadow: ShadowLayout | undefined;
  if (access === 'shadow') {
    if (!isRecord(input.shadow)) fail('a shadow-access descriptor needs shadow {stride, size}');
    const sStride = int(input.shadow, 'stride', 1, MAX_DESCRIPTOR_BYTES);
    const sSize = int(input.shadow, 'size', 1, MAX_DESCRIPTOR_BYTES);
    if (sStride < width * format.bpp) fail(`shadow stride ${sStride} is too small for width ${width} (needs >= ${width * format.bpp})`);
    if (sStride * height > sSize) fail(`shadow size ${sSize} is too small for stride ${sStride} x height ${height}`);
    shadow = { stride: sStride, size: sSize };
  } else if (input.shadow !== undefined) {
    fail('shadow is only allowed with access "shadow"');
  }
  if (!Array.isArray(input.fds) || input.fds.length < 1 || input.fds.length > 2) fail('fds must list 1 or 2 fd roles');
  const roles = input.fds as unknown[];
  if (roles.some((r) => r !== 'buffer' && r !== 'shadow') || new Set(roles).size !== roles.length) fail(`fds must be distinct roles 'buffer' | 'shadow', got ${JSON.stringify(roles)}`);
  if (access === 'shadow' && !roles.includes('shadow')) fail('a shadow-access descriptor must send its shadow fd');
  if (access === 'direct' && (!roles.includes('buffer') || roles.includes('shadow'))) fail("a direct-access descriptor sends exactly its 'buffer' fd");
  const out: ClientBufferDescriptor = {
    version: DESCRIPTOR_VERSION, id, width, height, format: fourcc, modifier: input.modifier,
    planes: [{ offset, stride }], size, kind: kind as BufferKind, access, readOnly: input.readOnly,
    fds: roles as FdRole[], ...(shadow ? { shadow } : {}),
  };
  return out;
}
