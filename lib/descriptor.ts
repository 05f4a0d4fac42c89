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
import { MODIFIER_INVALID, MODIFIER_LINEAR, lookupFormat, parseModifier, fourccToString } from './format';
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

/**
 * The role of each fd sent with a descriptor. 'buffer' holds plane 0 (and every
 * plane that has no fd of its own, as when a driver puts all of a bo's planes
 * in one dma-buf); 'plane1'..'plane3' hold the plane of that index.
 */
export type FdRole = 'buffer' | 'shadow' | PlaneFdRole;
export type PlaneFdRole = 'plane1' | 'plane2' | 'plane3';
const FD_ROLES: readonly FdRole[] = ['buffer', 'shadow', 'plane1', 'plane2', 'plane3'];

/** DRM buffers have at most 4 planes (drm_mode_fb_cmd2). */
export const MAX_PLANES = 4;
/**
 * Fds one descriptor may come with: a surface's 4 buffers must fit the
 * protocol's 16 fds per message (MAX_FDS_PER_MESSAGE / MAX_BUFFERS_PER_SURFACE).
 * A buffer with more planes than that puts the rest in its 'buffer' fd.
 */
export const MAX_FDS_PER_DESCRIPTOR = 4;

export interface PlaneLayout {
  readonly offset: number;
  readonly stride: number;
  /**
   * Planes after the first whose memory is an fd of their own ('plane<i>'):
   * the bytes that fd holds. Absent where the plane lives in the 'buffer' fd.
   */
  readonly size?: number;
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
 * A plane after the first. Its geometry depends on the format and modifier (a
 * compression plane of a tiled modifier has its own), which only the driver
 * knows: the client never maps it (such buffers are shadowed), so what is
 * checked is that its first row lies inside the fd it lives in.
 */
function extraPlane(p: unknown, index: number, roles: readonly unknown[], bufferSize: number): PlaneLayout {
  if (!isRecord(p)) fail(`plane ${index} is not an object`);
  const offset = int(p, 'offset', 0, MAX_DESCRIPTOR_BYTES);
  const stride = int(p, 'stride', 1, MAX_DESCRIPTOR_BYTES);
  const ownFd = roles.includes(`plane${index}`);
  if (ownFd !== (p.size !== undefined)) fail(`plane ${index} has a size exactly when it has its own fd ('plane${index}')`);
  const size = ownFd ? int(p, 'size', 1, MAX_DESCRIPTOR_BYTES) : bufferSize;
  if (offset + stride > size) fail(`plane ${index}: offset ${offset} + stride ${stride} is past the ${size} bytes of its fd`);
  return ownFd ? { offset, stride, size } : { offset, stride };
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
  if (!Array.isArray(input.planes) || input.planes.length < 1 || input.planes.length > MAX_PLANES) fail(`planes must be an array of 1 to ${MAX_PLANES} planes`);
  const plane: unknown = input.planes[0];
  if (!isRecord(plane)) fail('plane 0 is not an object');
  const offset = int(plane, 'offset', 0, MAX_DESCRIPTOR_BYTES);
  const stride = int(plane, 'stride', 1, MAX_DESCRIPTOR_BYTES);
  if (stride < width * format.bpp) fail(`stride ${stride} is too small for width ${width} of ${format.name} (needs >= ${width * format.bpp})`);
  if (offset + stride * height > size) fail(`size ${size} is too small for offset ${offset} + stride ${stride} x height ${height}`);
  if (plane.size !== undefined) fail('plane 0 lives in the buffer fd: its size is the descriptor\'s size');
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
  if (!Array.isArray(input.fds) || input.fds.length < 1 || input.fds.length > MAX_FDS_PER_DESCRIPTOR) fail(`fds must list 1 to ${MAX_FDS_PER_DESCRIPTOR} fd roles`);
  const roles = input.fds as unknown[];
  if (roles.some((r) => !(FD_ROLES as readonly unknown[]).includes(r)) || new Set(roles).size !== roles.length) fail(`fds must be distinct roles ${FD_ROLES.map((r) => `'${r}'`).join(' | ')}, got ${JSON.stringify(roles)}`);
  if (access === 'shadow' && !roles.includes('shadow')) fail('a shadow-access descriptor must send its shadow fd');
  if (access === 'direct' && (!roles.includes('buffer') || roles.includes('shadow'))) fail("a direct-access descriptor sends exactly its 'buffer' fd");
  const planes = [{ offset, stride }, ...(input.planes as unknown[]).slice(1).map((p, k) => extraPlane(p, k + 1, roles, size))];
  for (const r of roles) {
    if (typeof r === 'string' && r.startsWith('plane') && Number(r.slice(5)) >= planes.length) fail(`fd role '${r}' names a plane the descriptor does not have`);
  }
  // Never trust the server on access: a layout the CPU cannot read as linear rows
  // (more than one plane, or a tiled/compressed modifier) must come as a shadow.
  const modifier = parseModifier(input.modifier)!;
  if (access === 'direct' && planes.length > 1) fail(`a buffer of ${planes.length} planes cannot be drawn into directly (it needs a shadow)`);
  if (access === 'direct' && modifier !== MODIFIER_LINEAR && modifier !== MODIFIER_INVALID) {
    fail(`a buffer with modifier ${input.modifier} (not linear) cannot be drawn into directly (it needs a shadow)`);
  }
  const out: ClientBufferDescriptor = {
    version: DESCRIPTOR_VERSION, id, width, height, format: fourcc, modifier: input.modifier,
    planes, size, kind: kind as BufferKind, access, readOnly: input.readOnly,
    fds: roles as FdRole[], ...(shadow ? { shadow } : {}),
  };
  return out;
}
