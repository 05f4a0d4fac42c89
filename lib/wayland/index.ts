/**
 * The Wayland front door: a Wayland server whose surfaces and frames reach the
 * compositor through the shared model (lib/surface-model.ts). See server.ts.
 */
export { WaylandServer, type WaylandServerOptions, type WaylandServerEvents } from './server';
export { WaylandSurface, WaylandFrame } from './surface';
export { WaylandClient } from './client';
export { WaylandConnection, type WaylandConnectionOptions } from './connection';
export { WaylandListener } from './listener';
export { ProtocolError, type Resource } from './resource';
export { decodeArgs, encodeMessage, readHeader, WireError, MAX_MESSAGE_BYTES as WAYLAND_MAX_MESSAGE_BYTES, type ArgValue, type DynamicNewId } from './wire';
export type { InterfaceSpec, MessageSpec, ArgSpec } from './spec';
