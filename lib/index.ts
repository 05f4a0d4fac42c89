/** bufshare: share pixel buffers between a compositor and its client processes. */
export { BufshareError, ErrorCodes, type ErrorCode } from './errors';
export {
  formats, lookupFormat, resolveFormat, fourccCode, fourccToString, modifierToString, parseModifier,
  MODIFIER_LINEAR, MODIFIER_INVALID, type FormatInfo, type FormatName, type FormatSpec,
} from './format';
export { computeLayout, MAX_DIMENSION, MAX_BUFFER_BYTES, DEFAULT_STRIDE_ALIGN, type Layout } from './layout';
export { Region, rect, intersectRects, subtractRect, boundRects, rectArea, rectIsEmpty, checkRect, type Rect } from './region';
export {
  validateDescriptor, DESCRIPTOR_VERSION, BUFFER_KINDS, type ClientBufferDescriptor, type BufferKind,
  type ClientAccess, type PlaneLayout, type ShadowLayout, type FdRole,
} from './descriptor';
export { GraphicsRegion, type MapMode, type MappingStrategy } from './mapping/graphics-region';
export type { Allocator, AllocateRequest, BufferUsage, SharedBuffer, BufferInfo, ExportedBuffer, MapOptions } from './allocator/types';
export { ShmAllocator, ShmBuffer, type ShmAllocatorOptions } from './allocator/shm';
export { createShmFile, type ShmFile } from './allocator/shm-file';
export { fromDescriptor, ImportedBuffer } from './imported-buffer';
export { copyRects, type Damage } from './copy';
export { blendRects, blendKernel, type BlendOffset } from './blend';
export { DumbAllocator, createDumbObject, dumbFormats, type DrmAllocatorOptions } from './allocator/dumb';
export { GbmAllocator, GbmDevice, createGbmObject } from './allocator/gbm';
export { UdmabufAllocator, udmabufUnavailableReason } from './allocator/udmabuf';
export { AutoAllocator, createAllocator, type AutoAllocatorOptions } from './allocator/auto';
export { HardwareBuffer, type RawBuffer } from './allocator/hardware-buffer';
export { allocatorFromEnv, accessFromEnv, type AllocatorChoice } from './allocator/env';
export { DrmDevice, listDrmNodes, describeNode, drmUnavailableReason, type DrmNode, type DrmCaps } from './drm';
export * as probe from './probe';
export { debugEnabled } from './debug';
export { BufferServer, type BufferServerOptions, type BufferServerEvents } from './ipc/server';
export { ServerClient, type ServerClientEvents } from './ipc/server-client';
export { ServerSurface, type ServerSurfaceEvents } from './ipc/server-surface';
export { Frame } from './ipc/frame';
export { BufferClient, type BufferClientOptions, type BufferClientEvents, type CreateSurfaceOptions } from './ipc/client';
export { Surface, type SurfaceEvents } from './ipc/surface';
export type { AcquiredBuffer } from './ipc/swapchain';
export {
  PROTOCOL_VERSION, MAX_MESSAGE_BYTES, MAX_FDS_PER_MESSAGE, MAX_BUFFERS_PER_SURFACE, DEFAULT_LIMITS, Opcode,
  encodeHello, encodeCreateSurface, encodeSubmit, encodeResize, encodeDestroySurface, encodeRequest,
  decodeClientMessage, decodeServerMessage,
  type ClientLimits, type JsonValue, type BufferUsageName, type ClientMessage, type ServerMessage,
} from './ipc/protocol';
export { Connection, Listener, type ConnectionEvents, type ConnectionOptions } from './ipc/transport';
export { defaultSocketPath, DEFAULT_SOCKET_NAME } from './ipc/socket-path';
export { KmsOutput, WritebackCapture, discoverKms, choosePipe, type KmsOutputOptions, type FlipEvent, type OutputFrame, type KmsInfo } from './kms';
