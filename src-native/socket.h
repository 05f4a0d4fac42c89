// Unix SOCK_SEQPACKET sockets with SCM_RIGHTS, driven by the libuv loop; and
// SOCK_STREAM ones for Wayland (streamListen/Connect/Pair, recvStream/sendStream
// on the same wrapper, lockFile for <socket>.lock).
//
// Thin on purpose: the addon creates, connects, accepts, sends and receives one
// message at a time, never blocking; framing, queues, validation and policy are
// in lib/ipc/. Message boundaries come from SOCK_SEQPACKET itself.
//
// Ownership:
// - A SeqPacket owns its fd from construction until close() (or its finalizer,
//   if the program forgot it): it stops its uv_poll watcher before closing the
//   fd, as libuv requires.
// - recv() hands every received fd to the caller, O_CLOEXEC (MSG_CMSG_CLOEXEC).
//   When the control data was truncated (MSG_CTRUNC) it closes the fds that did
//   arrive and reports the truncation, so no received fd is ever left unowned.
// - send() never takes ownership of the fds it passes: the kernel duplicates them.
#pragma once
#include <napi.h>

namespace bufshare {
void InitSocket(Napi::Env env, Napi::Object exports);
}
