/**
 * bufshare/protocol: the wire level, for tools that speak the protocol themselves
 * (a client in another language, a fuzzer, a proxy). A compositor and its clients
 * need none of it: BufferServer and BufferClient speak it for them.
 */
export {
  PROTOCOL_VERSION, MAX_MESSAGE_BYTES, MAX_FDS_PER_MESSAGE, MAX_BUFFERS_PER_SURFACE, DEFAULT_LIMITS, Opcode,
  encodeHello, encodeCreateSurface, encodeSubmit, encodeResize, encodeDestroySurface, encodeRequest,
  decodeClientMessage, decodeServerMessage,
  type ClientLimits, type JsonValue, type BufferUsageName, type ClientMessage, type ServerMessage,
} from './ipc/protocol';
export { Connection, Listener, type ConnectionEvents, type ConnectionOptions } from './ipc/transport';
