/** A D-Bus layer of our own (wire format, SASL EXTERNAL, connections on the native stream socket): qemu's display, logind. */
export { DBusConnection, DBusCallError, DBusErrorReply, DEFAULT_MAX_MESSAGE_BYTES } from './connection';
export type { DBusConnectionOptions, DBusInterfaceImpl, DBusReply, MethodHandler, ReceivedFds } from './connection';
export { Variant, Reader, Writer, MAX_NESTING } from './marshal';
export { decodeMessage, encodeMessage, frameLength, MessageFlags, MessageType } from './message';
export type { DBusMessage, OutgoingMessage } from './message';
export { parseSignature } from './signature';
