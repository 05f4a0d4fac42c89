/**
 * Errors with stable codes, like Node's own (`err.code === 'ERR_BUFSHARE_UNSUPPORTED_FORMAT'`).
 *
 * Match on `code`, never on the message. A failed system call carries the call
 * (`syscall`, e.g. `"mmap"`) and the errno name (`errno`, e.g. `"EACCES"`).
 */

export const ErrorCodes = [
  /** A system call failed; see `syscall` and `errno`. */
  'ERR_BUFSHARE_SYSCALL',
  /** An argument of the wrong type or out of range. */
  'ERR_BUFSHARE_INVALID_ARGUMENT',
  /** A DRM fourcc or format name bufshare (or the device) does not support. */
  'ERR_BUFSHARE_UNSUPPORTED_FORMAT',
  /** A format modifier the allocator cannot honour. */
  'ERR_BUFSHARE_UNSUPPORTED_MODIFIER',
  /** Width or height is 0, not an integer, or above the limit. */
  'ERR_BUFSHARE_INVALID_DIMENSIONS',
  /** stride x height (or an aligned stride) does not fit the size limit. */
  'ERR_BUFSHARE_SIZE_OVERFLOW',
  /** A ClientBuffer descriptor that is inconsistent with itself or with its fds. */
  'ERR_BUFSHARE_INVALID_DESCRIPTOR',
  /** A rectangle with non-integer, non-finite or out-of-range fields. */
  'ERR_BUFSHARE_INVALID_RECT',
  /** The buffer was destroyed. */
  'ERR_BUFSHARE_DESTROYED',
  /** The graphics region was unmapped. */
  'ERR_BUFSHARE_UNMAPPED',
  /** A write mapping of a buffer that its exporter made read-only. */
  'ERR_BUFSHARE_READ_ONLY',
  /** A library, device or kernel feature is missing on this machine. */
  'ERR_BUFSHARE_NOT_AVAILABLE',
  /** The operation is not supported by this buffer or device. */
  'ERR_BUFSHARE_UNSUPPORTED',
  /**
   * A render node (renderD*) was asked for what only a card node (card*) can do:
   * the kernel refuses DRM_IOCTL_MODE_CREATE_DUMB there with EACCES.
   */
  'ERR_BUFSHARE_RENDER_NODE',
  /** A peer sent a malformed, oversized or out-of-order message, or fds it may not send. Fatal for the connection. */
  'ERR_BUFSHARE_PROTOCOL',
  /** The peers speak different protocol versions. */
  'ERR_BUFSHARE_VERSION_MISMATCH',
  /** A client went past one of its limits (surfaces, buffers, bytes, queued messages). Fatal for the connection. */
  'ERR_BUFSHARE_LIMIT_EXCEEDED',
  /** The server refused the client: its uid is not allowed. */
  'ERR_BUFSHARE_ACCESS_DENIED',
  /** $XDG_RUNTIME_DIR (or the socket's directory) is unset, missing, not a directory, or not private (0700). */
  'ERR_BUFSHARE_RUNTIME_DIR',
  /** The socket path is taken: a live server answers there, or it is not a socket. */
  'ERR_BUFSHARE_ADDRESS_IN_USE',
  /** No server listens at the path. */
  'ERR_BUFSHARE_NO_SERVER',
  /** The connection is closed (either side closed it, or it broke). */
  'ERR_BUFSHARE_CONNECTION_CLOSED',
  /**
   * The native addon could not be loaded (no prebuilt binary for this platform and
   * no source build, or the binary failed to load); the message says why. Only what
   * needs the addon throws it: formats, layout, Region, descriptors and the
   * protocol codecs work without it.
   */
  'ERR_BUFSHARE_NATIVE_UNAVAILABLE',
  /** A peer, or the kernel (a fence that never signalled), did not answer in time. */
  'ERR_BUFSHARE_TIMEOUT',
  /** A KMS output was asked to commit while its previous commit's page flip is still pending. Nothing was committed. */
  'ERR_BUFSHARE_COMMIT_PENDING',
  /** A KMS commit needs DRM master, and another process (a compositor, logind's session) holds it. */
  'ERR_BUFSHARE_NOT_MASTER',
  /** A D-Bus peer sent bytes that are not a valid message (truncated, misaligned, bad signature, oversized, nested too deep). Fatal for the connection. */
  'ERR_BUFSHARE_DBUS_MALFORMED',
  /** D-Bus authentication (SASL EXTERNAL, unix fd negotiation) failed or the peer broke its rules. */
  'ERR_BUFSHARE_DBUS_AUTH',
  /** A D-Bus method call was answered with an error reply; `dbusName` says which. */
  'ERR_BUFSHARE_DBUS_ERROR',
  /** A QMP command failed (qemu's `error` reply) or qemu's monitor broke its protocol. */
  'ERR_BUFSHARE_QMP',
] as const;

export type ErrorCode = (typeof ErrorCodes)[number];

export interface ErrorDetails {
  syscall?: string;
  errno?: string;
  cause?: unknown;
}

export class BufshareError extends Error {
  override readonly name = 'BufshareError';
  readonly code: ErrorCode;
  /** The system call that failed, for ERR_BUFSHARE_SYSCALL. */
  readonly syscall?: string;
  /** errno's name ("EACCES"), for ERR_BUFSHARE_SYSCALL. */
  readonly errno?: string;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    if (details.syscall !== undefined) this.syscall = details.syscall;
    if (details.errno !== undefined) this.errno = details.errno;
  }
}

interface NativeErrorShape {
  message: string;
  code?: unknown;
  syscall?: unknown;
  errno?: unknown;
}

function isNativeError(e: unknown): e is NativeErrorShape {
  return e instanceof Error && typeof (e as NativeErrorShape).code === 'string';
}

/** Turns an error thrown by the addon into a BufshareError; passes anything else through. */
export function fromNativeError(e: unknown, context?: string): unknown {
  if (e instanceof BufshareError || !isNativeError(e)) return e;
  const code = (ErrorCodes as readonly string[]).includes(e.code as string) ? (e.code as ErrorCode) : 'ERR_BUFSHARE_SYSCALL';
  const details: ErrorDetails = { cause: e };
  if (typeof e.syscall === 'string') details.syscall = e.syscall;
  if (typeof e.errno === 'string') details.errno = e.errno;
  return new BufshareError(code, context ? `${context}: ${e.message}` : e.message, details);
}

/** True when `e` is a BufshareError for a failed system call with one of these errnos. */
export function isErrno(e: unknown, ...names: string[]): e is BufshareError {
  return e instanceof BufshareError && e.errno !== undefined && names.includes(e.errno);
}
