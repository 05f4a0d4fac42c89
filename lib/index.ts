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
export { copyRects, type Damage, type CopyOptions } from './copy';
export { planDamage, type DamagePlan, type PlaneGeometry, type PlanOptions } from './damage/plan';
export { OUT_OF_CACHE_COPY, IN_CACHE_COPY, type CopyCostModel } from './damage/cost-model';
export { calibrateCopyCost, type Calibration, type CalibrateOptions } from './damage/calibrate';
export { blendRects, blendKernel, type BlendOffset } from './blend';
export { alignedPixelMemory, ComposePass, type ComposeCounts, type SourceRect } from './compose';
export { DumbAllocator, createDumbObject, dumbFormats, type DrmAllocatorOptions } from './allocator/dumb';
export { GbmAllocator, GbmDevice, createGbmObject } from './allocator/gbm';
export { UdmabufAllocator, udmabufUnavailableReason } from './allocator/udmabuf';
export { AutoAllocator, createAllocator, type AutoAllocatorOptions } from './probe/auto-allocator';
export { HardwareBuffer, type RawBuffer } from './allocator/hardware-buffer';
export { allocatorFromEnv, accessFromEnv, type AllocatorChoice } from './allocator/env';
export { DrmDevice, listDrmNodes, describeNode, drmUnavailableReason, type DrmNode, type DrmCaps } from './drm';
// Also 'bufshare/probe'.
export * as probe from './probe';
export { debugEnabled } from './debug';
export { BufferServer, type BufferServerOptions, type BufferServerEvents } from './ipc/server';
export { ServerClient, type ServerClientEvents } from './ipc/server-client';
export { ServerSurface, type ServerSurfaceEvents } from './ipc/server-surface';
export { Frame } from './ipc/frame';
export { BufferClient, type BufferClientOptions, type BufferClientEvents, type CreateSurfaceOptions } from './ipc/client';
export { Surface, type SurfaceEvents } from './ipc/surface';
export type { AcquiredBuffer } from './ipc/swapchain';
// The wire level (codecs, Opcode, Connection, Listener) is in 'bufshare/protocol'.
export {
  PROTOCOL_VERSION, MAX_MESSAGE_BYTES, MAX_BUFFERS_PER_SURFACE, DEFAULT_LIMITS,
  type ClientLimits, type JsonValue, type BufferUsageName,
} from './ipc/protocol';
export { defaultSocketPath, DEFAULT_SOCKET_NAME } from './ipc/socket-path';
export type {
  CompositorSurface, CompositorFrame, CompositorSurfaceEvents, SurfaceSource, SurfaceSourceEvents, SurfaceOwner,
  SurfacePointerInput, SurfaceKeyboardInput, FramePresentation,
} from './surface-model';
// The Wayland server; its wire level (codec, connections, specs) is bufshare/wayland.
export { WaylandServer, type WaylandServerOptions, type WaylandServerEvents } from './wayland/server';
export { WaylandSurface, WaylandFrame } from './wayland/surface';
export { WaylandClient } from './wayland/client';
export { KmsOutput, KmsDevice, WritebackCapture, discoverKms, choosePipe, pickDisplayCard, type KmsOutputOptions, type FlipEvent, type OutputFrame, type KmsInfo } from './kms';
