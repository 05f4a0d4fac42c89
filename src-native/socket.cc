#include "socket.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "errors.h"
#include "poll_handle.h"

namespace bufshare {

namespace {

// The most fds the socket passes in one message, either way: the SCM_RIGHTS
// space of one sendmsg/recvmsg (the kernel's own cap is 253). A transport-level
// ceiling: the protocol allows fewer (MAX_FDS_PER_MESSAGE in lib/ipc/protocol.ts).
constexpr size_t kMaxSocketFds = 64;

// meta[2] flags reported by recv().
constexpr int32_t kRecvTruncated = 1;         // the message was longer than the buffer (MSG_TRUNC)
constexpr int32_t kRecvControlTruncated = 2;  // fds were lost (MSG_CTRUNC); the ones that arrived are closed

// poll() interest bits, as JS passes them.
constexpr int kWantReadable = 1;
constexpr int kWantWritable = 2;

bool FillAddress(Napi::Env env, const std::string& path, sockaddr_un* addr, socklen_t* len) {
  if (path.empty() || path.size() >= sizeof(addr->sun_path) || path.find('\0') != std::string::npos) {
    ThrowArgument(env, "socket path must be 1.." + std::to_string(sizeof(addr->sun_path) - 1) +
                           " bytes with no NUL, got " + std::to_string(path.size()) + " bytes");
    return false;
  }
  memset(addr, 0, sizeof *addr);
  addr->sun_family = AF_UNIX;
  memcpy(addr->sun_path, path.data(), path.size());
  *len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
  return true;
}

// The fds a received message carried (SCM_RIGHTS), into out (room for
// `capacity`); returns how many. All or none: where any fd was lost (MSG_CTRUNC,
// or more arrived than fit, which CMSG_SPACE's rounding lets the kernel do)
// every one that arrived is closed here and kRecvControlTruncated is set in
// *flags: a message with some of its fds is useless, and no fd may leak.
size_t TakeReceivedFds(msghdr* msg, int32_t* out, size_t capacity, int32_t* flags) {
  size_t taken = 0;
  bool lost = (msg->msg_flags & MSG_CTRUNC) != 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(msg); c != nullptr; c = CMSG_NXTHDR(msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    const unsigned char* data = CMSG_DATA(c);
    for (size_t i = 0; i < count; i++) {
      int fd;
      memcpy(&fd, data + i * sizeof(int), sizeof(int));
      if (!lost && taken < capacity) {
        out[taken++] = fd;
      } else {
        close(fd);
        lost = true;
      }
    }
  }
  if (!lost) return taken;
  for (size_t i = 0; i < taken; i++) close(out[i]);
  *flags |= kRecvControlTruncated;
  return 0;
}

bool GetPath(const Napi::CallbackInfo& info, size_t i, std::string* out) {
  if (info.Length() <= i || !info[i].IsString()) {
    ThrowArgument(info.Env(), "path must be a string");
    return false;
  }
  *out = info[i].As<Napi::String>().Utf8Value();
  return true;
}

// Listen, connect and pair, for either kind of socket this file serves:
// SOCK_SEQPACKET (bufshare's protocol: a message is a packet) and SOCK_STREAM
// (Wayland, below). Every fd is non-blocking and close-on-exec.
template <int kType>
int UnixSocket() {
  return socket(AF_UNIX, kType | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
}

// seqpacketListen(path, backlog), streamListen(path, backlog) -> fd: a listening socket.
template <int kType>
Napi::Value Listen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  uint32_t backlog;
  if (!GetPath(info, 0, &path) || !GetUint32(info, 1, "backlog", &backlog)) return Napi::Value();
  sockaddr_un addr;
  socklen_t len;
  if (!FillAddress(env, path, &addr, &len)) return Napi::Value();
  int fd = UnixSocket<kType>();
  if (fd < 0) return ThrowSyscall(env, "socket", errno);
  const char* failed = nullptr;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), len) < 0)
    failed = "bind";
  else if (listen(fd, static_cast<int>(backlog)) < 0)
    failed = "listen";
  if (failed) {
    int err = errno;
    close(fd);
    return ThrowSyscall(env, failed, err);
  }
  return Napi::Number::New(env, fd);
}

// seqpacketConnect(path), streamConnect(path) -> fd. Unix sockets connect at once
// or fail: EAGAIN when the listener's backlog is full, ECONNREFUSED when nobody listens.
template <int kType>
Napi::Value Connect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  if (!GetPath(info, 0, &path)) return Napi::Value();
  sockaddr_un addr;
  socklen_t len;
  if (!FillAddress(env, path, &addr, &len)) return Napi::Value();
  int fd = UnixSocket<kType>();
  if (fd < 0) return ThrowSyscall(env, "socket", errno);
  int r;
  do {
    r = connect(fd, reinterpret_cast<sockaddr*>(&addr), len);
  } while (r < 0 && errno == EINTR);
  if (r < 0) {
    int err = errno;
    close(fd);
    return ThrowSyscall(env, "connect", err);
  }
  return Napi::Number::New(env, fd);
}

// seqpacketPair(), streamPair() -> [fd, fd]: a connected pair (tests, in-process
// transports and clients).
template <int kType>
Napi::Value Pair(const Napi::CallbackInfo& info) {
  int fds[2];
  if (socketpair(AF_UNIX, kType | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) < 0) return ThrowSyscall(info.Env(), "socketpair", errno);
  Napi::Array a = Napi::Array::New(info.Env(), 2);
  a.Set(0u, Napi::Number::New(info.Env(), fds[0]));
  a.Set(1u, Napi::Number::New(info.Env(), fds[1]));
  return a;
}

// --- SOCK_STREAM (Wayland) -------------------------------------------------
// Wayland is a byte stream: messages are framed by their own header, fds ride
// along with whichever bytes the kernel delivers them with, and a send may be
// partial. The framing and the fd queue are in lib/wayland/connection.ts.

// libwayland's bound: at most 28 fds per sendmsg (MAX_FDS_OUT), and its receive
// buffer holds as many; more in one recvmsg is a hostile peer (MSG_CTRUNC).
constexpr size_t kMaxStreamFds = 28;
static_assert(kMaxStreamFds <= kMaxSocketFds, "SendWithFds sizes its control buffer for kMaxSocketFds");

// lockFile(path) -> fd: creates (0660) and flock(LOCK_EX | LOCK_NB)s `path`, as
// libwayland does with <socket>.lock: the lock lives as long as the fd (and the
// process), so a socket file whose lock nobody holds is stale, whatever a
// connect() says. EWOULDBLOCK: another live server holds it.
Napi::Value LockFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  if (!GetPath(info, 0, &path)) return Napi::Value();
  if (path.find('\0') != std::string::npos) return ThrowArgument(env, "lock path contains a NUL");
  int fd = open(path.c_str(), O_CREAT | O_CLOEXEC | O_RDWR, 0660);
  if (fd < 0) return ThrowSyscall(env, "open", errno);
  if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
    int err = errno;
    close(fd);
    return ThrowSyscall(env, "flock", err);
  }
  return Napi::Number::New(env, fd);
}

}  // namespace

// One socket fd, its uv_poll watcher, and the JS callback the watcher calls:
// onEvent(status, events) with status 0 or a negative libuv error.
// Reads the optional fds argument (info[1]) into fds[0..max): false (with a JS
// exception pending) when it is not an Int32Array of at most `max` fds >= 0.
bool ReadFdsArg(const Napi::CallbackInfo& info, int* fds, size_t max, size_t* nfds) {
  Napi::Env env = info.Env();
  *nfds = 0;
  if (info.Length() < 2 || info[1].IsUndefined() || info[1].IsNull()) return true;
  if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    ThrowArgument(env, "fds must be an Int32Array");
    return false;
  }
  Napi::Int32Array a = info[1].As<Napi::Int32Array>();
  if (a.ElementLength() > max) {
    ThrowArgument(env, "at most " + std::to_string(max) + " fds per message");
    return false;
  }
  for (size_t i = 0; i < a.ElementLength(); i++) {
    if (a[i] < 0) {
      ThrowArgument(env, "fds must be >= 0");
      return false;
    }
    fds[i] = a[i];
  }
  *nfds = a.ElementLength();
  return true;
}

// One non-blocking sendmsg of data with nfds fds (SCM_RIGHTS), retried on EINTR;
// sendmsg's result, errno set on failure. MSG_NOSIGNAL: a peer that went away is an
// EPIPE error, not a SIGPIPE that kills the compositor.
ssize_t SendWithFds(int fd, Napi::Uint8Array data, const int* fds, size_t nfds) {
  iovec iov{data.Data(), data.ByteLength()};
  // Zeroed: CMSG_SPACE pads an odd number of fds to 8 bytes, and those padding
  // bytes go to sendmsg too (valgrind memcheck: "sendmsg(msg.msg_control) points
  // to uninitialised byte(s)").
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxSocketFds)] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (nfds > 0) {
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
  }
  ssize_t n;
  do {
    n = sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n;
}

class SeqPacket : public Napi::ObjectWrap<SeqPacket> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "SeqPacket",
                       {
                           InstanceMethod("poll", &SeqPacket::Poll),
                           InstanceMethod("recv", &SeqPacket::Recv),
                           InstanceMethod("send", &SeqPacket::Send),
                           InstanceMethod("recvStream", &SeqPacket::RecvStream),
                           InstanceMethod("sendStream", &SeqPacket::SendStream),
                           InstanceMethod("accept", &SeqPacket::Accept),
                           InstanceMethod("peerCred", &SeqPacket::PeerCred),
                           InstanceMethod("shutdownRead", &SeqPacket::ShutdownRead),
                           InstanceMethod("close", &SeqPacket::Close),
                           InstanceAccessor("fd", &SeqPacket::GetFdValue, nullptr),
                       });
  }

  // new SeqPacket(fd, onEvent): takes ownership of fd.
  explicit SeqPacket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SeqPacket>(info) {
    Napi::Env env = info.Env();
    int fd;
    if (!GetFd(info, 0, &fd)) return;
    if (info.Length() < 2 || !info[1].IsFunction()) {
      ThrowArgument(env, "onEvent must be a function");
      return;
    }
    fd_ = fd;
    on_event_ = Napi::Persistent(info[1].As<Napi::Function>());
    napi_value name = Napi::String::New(env, "bufshare:SeqPacket");
    if (napi_async_init(env, nullptr, name, &async_context_) != napi_ok) async_context_ = nullptr;
  }

  ~SeqPacket() override {
    StopAndClose();
    if (async_context_ != nullptr) napi_async_destroy(Env(), async_context_);
  }

 private:
  // poll(events): watch for readable (1) and/or writable (2); 0 stops watching.
  // While watching, the object keeps itself alive: a socket with a watcher must
  // not disappear under the loop because the program dropped its last reference.
  Napi::Value Poll(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint32_t want;
    if (!GetUint32(info, 0, "events", &want)) return Napi::Value();
    if (fd_ < 0) return ThrowSyscall(env, "uv_poll_start", EBADF);
    if (want == 0) {
      poll_.Stop();
      SetAlive(false);
      return env.Undefined();
    }
    const int events = ((want & kWantReadable) ? UV_READABLE : 0) | ((want & kWantWritable) ? UV_WRITABLE : 0);
    const char* failed = nullptr;
    if (int err = poll_.Start(env, fd_, events, OnPoll, this, &failed)) return ThrowSyscall(env, failed, err);
    SetAlive(true);
    return env.Undefined();
  }

  static void OnPoll(uv_poll_t* handle, int status, int events) {
    SeqPacket* self = static_cast<SeqPacket*>(handle->data);
    if (self == nullptr || self->fd_ < 0) return;
    napi_env env = self->Env();
    try {
      Napi::HandleScope scope(self->Env());
      int js_events = ((events & UV_READABLE) ? kWantReadable : 0) | ((events & UV_WRITABLE) ? kWantWritable : 0);
      napi_value argv[2] = {Napi::Number::New(env, status), Napi::Number::New(env, js_events)};
      napi_value recv = self->Value();
      napi_value fn = self->on_event_.Value();
      napi_value result;
      // make_callback: runs the microtask queue afterwards, as for any libuv-driven callback.
      napi_status st = napi_make_callback(env, self->async_context_, recv, fn, 2, argv, &result);
      if (st == napi_pending_exception) {
        napi_value err;
        if (napi_get_and_clear_last_exception(env, &err) == napi_ok) napi_fatal_exception(env, err);
      }
    } catch (const Napi::Error& e) {
      napi_fatal_exception(env, e.Value());
    }
  }

  // recv(buf: Uint8Array, fds: Int32Array, meta: Int32Array) -> 1 (a message),
  // 0 (none: EAGAIN), -1 (end of stream). meta = [bytes, fd count, flags]; bytes
  // is the message's full length, which exceeds buf when flags has kRecvTruncated.
  Napi::Value Recv(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 3 || !info[0].IsTypedArray() || !info[1].IsTypedArray() || !info[2].IsTypedArray())
      return ThrowArgument(env, "recv(buf: Uint8Array, fds: Int32Array, meta: Int32Array)");
    Napi::TypedArray tb = info[0].As<Napi::TypedArray>();
    Napi::TypedArray tf = info[1].As<Napi::TypedArray>();
    Napi::TypedArray tm = info[2].As<Napi::TypedArray>();
    if (tb.TypedArrayType() != napi_uint8_array || tf.TypedArrayType() != napi_int32_array ||
        tm.TypedArrayType() != napi_int32_array || tm.ElementLength() < 3 || tb.ElementLength() == 0)
      return ThrowArgument(env, "recv(buf: Uint8Array, fds: Int32Array, meta: Int32Array[3])");
    if (fd_ < 0) return ThrowSyscall(env, "recvmsg", EBADF);
    Napi::Uint8Array buf = tb.As<Napi::Uint8Array>();
    Napi::Int32Array fds_out = tf.As<Napi::Int32Array>();
    Napi::Int32Array meta = tm.As<Napi::Int32Array>();
    size_t fd_capacity = fds_out.ElementLength() < kMaxSocketFds ? fds_out.ElementLength() : kMaxSocketFds;

    iovec iov{buf.Data(), buf.ByteLength()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxSocketFds)];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * (fd_capacity == 0 ? 1 : fd_capacity));
    // As recvStream: nothing received is said first, so a stale count is never read.
    meta[0] = 0;
    meta[1] = 0;
    meta[2] = 0;
    ssize_t n;
    do {
      // MSG_TRUNC: return the message's real length, so an oversized one is reported, not cut silently.
      n = recvmsg(fd_, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return Napi::Number::New(env, 0);
      return ThrowSyscall(env, "recvmsg", errno);
    }

    int32_t flags = 0;
    const size_t nfds = TakeReceivedFds(&msg, fds_out.Data(), fd_capacity, &flags);
    if (msg.msg_flags & MSG_TRUNC) flags |= kRecvTruncated;
    meta[0] = static_cast<int32_t>(n > INT32_MAX ? INT32_MAX : n);
    meta[1] = static_cast<int32_t>(nfds);
    meta[2] = flags;
    // A zero-length read on SOCK_SEQPACKET is the end of the stream or an empty
    // message. Only at the end has the peer shut down (POLLRDHUP/POLLHUP); an
    // empty message is returned as one, so the receiver refuses it with an error
    // instead of hanging up on a peer that is still there (found by the live
    // fuzzer: hostile clients that sent an empty packet got no error).
    if (n == 0 && nfds == 0 && flags == 0) {
      pollfd p{fd_, POLLRDHUP, 0};
      int ready = poll(&p, 1, 0);
      if (ready < 0 || (ready == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0)) return Napi::Number::New(env, -1);
    }
    return Napi::Number::New(env, 1);
  }

  // send(data: Uint8Array, fds?: Int32Array) -> true (sent whole) or false (EAGAIN:
  // nothing was sent; wait for writable). SOCK_SEQPACKET sends all or nothing.
  Napi::Value Send(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsTypedArray() ||
        info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
      return ThrowArgument(env, "send(data: Uint8Array, fds?: Int32Array)");
    Napi::Uint8Array data = info[0].As<Napi::Uint8Array>();
    size_t nfds;
    int fds[kMaxSocketFds];
    if (!ReadFdsArg(info, fds, kMaxSocketFds, &nfds)) return env.Undefined();
    if (fd_ < 0) return ThrowSyscall(env, "sendmsg", EBADF);
    if (SendWithFds(fd_, data, fds, nfds) < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return Napi::Boolean::New(env, false);
      return ThrowSyscall(env, "sendmsg", errno);
    }
    return Napi::Boolean::New(env, true);
  }

  // recvStream(buf: Uint8Array, fds: Int32Array, meta: Int32Array) -> bytes read
  // (> 0), 0 (none now: EAGAIN) or -1 (end of stream). meta = [fd count, flags].
  // Up to 28 fds per read (libwayland's bound); a peer that sends more loses them
  // all (kRecvControlTruncated: every fd that did arrive is closed here).
  Napi::Value RecvStream(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 3 || !info[0].IsTypedArray() || !info[1].IsTypedArray() || !info[2].IsTypedArray())
      return ThrowArgument(env, "recvStream(buf: Uint8Array, fds: Int32Array, meta: Int32Array)");
    Napi::TypedArray tb = info[0].As<Napi::TypedArray>();
    Napi::TypedArray tf = info[1].As<Napi::TypedArray>();
    Napi::TypedArray tm = info[2].As<Napi::TypedArray>();
    if (tb.TypedArrayType() != napi_uint8_array || tf.TypedArrayType() != napi_int32_array ||
        tm.TypedArrayType() != napi_int32_array || tm.ElementLength() < 2 || tb.ElementLength() == 0 ||
        tf.ElementLength() < kMaxStreamFds)
      return ThrowArgument(env, "recvStream(buf: Uint8Array, fds: Int32Array[>= 28], meta: Int32Array[2])");
    if (fd_ < 0) return ThrowSyscall(env, "recvmsg", EBADF);
    Napi::Uint8Array buf = tb.As<Napi::Uint8Array>();
    Napi::Int32Array fds_out = tf.As<Napi::Int32Array>();
    Napi::Int32Array meta = tm.As<Napi::Int32Array>();
    iovec iov{buf.Data(), buf.ByteLength()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxStreamFds)];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    // Nothing received is said first: a caller closes meta[0] fds after any call,
    // and a stale count from its previous read made it close fds it had handed on
    // (the Wayland server's drain shares one array between all its connections).
    meta[0] = 0;
    meta[1] = 0;
    ssize_t n;
    do {
      n = recvmsg(fd_, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return Napi::Number::New(env, 0);
      if (errno == ECONNRESET) return Napi::Number::New(env, -1);
      return ThrowSyscall(env, "recvmsg", errno);
    }
    int32_t flags = 0;
    const size_t nfds = TakeReceivedFds(&msg, fds_out.Data(), kMaxStreamFds, &flags);
    meta[0] = static_cast<int32_t>(nfds);
    meta[1] = flags;
    if (n == 0 && nfds == 0 && flags == 0) return Napi::Number::New(env, -1);
    return Napi::Number::New(env, static_cast<double>(n));
  }

  // sendStream(data: Uint8Array, fds?: Int32Array) -> bytes sent (0 on EAGAIN:
  // nothing sent). A stream send may be partial: the fds go with its first byte,
  // so the caller drops them from its queue once the count is > 0.
  Napi::Value SendStream(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsTypedArray() ||
        info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
      return ThrowArgument(env, "sendStream(data: Uint8Array, fds?: Int32Array)");
    Napi::Uint8Array data = info[0].As<Napi::Uint8Array>();
    if (data.ByteLength() == 0) return ThrowArgument(env, "sendStream needs at least one byte to carry fds");
    size_t nfds;
    int fds[kMaxStreamFds];
    if (!ReadFdsArg(info, fds, kMaxStreamFds, &nfds)) return env.Undefined();
    if (fd_ < 0) return ThrowSyscall(env, "sendmsg", EBADF);
    ssize_t n = SendWithFds(fd_, data, fds, nfds);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return Napi::Number::New(env, 0);
      return ThrowSyscall(env, "sendmsg", errno);
    }
    return Napi::Number::New(env, static_cast<double>(n));
  }

  // accept() -> a new non-blocking, close-on-exec fd, or -1 when there is none
  // to accept now (EAGAIN, or a peer that gave up: ECONNABORTED).
  Napi::Value Accept(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (fd_ < 0) return ThrowSyscall(env, "accept4", EBADF);
    int c;
    do {
      c = accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    } while (c < 0 && errno == EINTR);
    if (c < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED) return Napi::Number::New(env, -1);
      return ThrowSyscall(env, "accept4", errno);
    }
    return Napi::Number::New(env, c);
  }

  // peerCred() -> { pid, uid, gid } of the peer at connect time (SO_PEERCRED).
  Napi::Value PeerCred(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (fd_ < 0) return ThrowSyscall(env, "getsockopt(SO_PEERCRED)", EBADF);
    ucred cred{};
    socklen_t len = sizeof cred;
    if (getsockopt(fd_, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
      return ThrowSyscall(env, "getsockopt(SO_PEERCRED)", errno);
    Napi::Object o = Napi::Object::New(env);
    o.Set("pid", Napi::Number::New(env, cred.pid));
    o.Set("uid", Napi::Number::New(env, cred.uid));
    o.Set("gid", Napi::Number::New(env, cred.gid));
    return o;
  }

  // shutdownRead(): shutdown(SHUT_RD). The peer's sends fail with EPIPE from now
  // on, so once what it already sent is drained, close() finds an empty receive
  // queue; closing with unread messages would make the kernel report ECONNRESET
  // to the peer ahead of our last message (unix_release_sock). Errors ignored:
  // the peer may be gone already.
  Napi::Value ShutdownRead(const Napi::CallbackInfo& info) {
    if (fd_ >= 0) shutdown(fd_, SHUT_RD);
    return info.Env().Undefined();
  }

  // close(): stops the watcher and closes the fd. Idempotent.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    StopAndClose();
    SetAlive(false);
    // The callback is a strong reference, a GC root: it holds the closure, which
    // holds the Connection, which holds this wrapper, so nothing of a closed
    // connection could ever be collected (measured by the soak: every
    // ServerClient stayed alive, about 3.4 KB per connection). No event comes
    // after close, so drop it.
    on_event_.Reset();
    return info.Env().Undefined();
  }

  Napi::Value GetFdValue(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), fd_); }

  void StopAndClose() {
    poll_.Close();  // first: libuv forbids closing an fd it still watches
    if (fd_ >= 0) {
      close(fd_);  // EINTR still closes on Linux: never retried.
      fd_ = -1;
    }
  }

  void SetAlive(bool alive) {
    if (alive && !alive_) {
      Ref();
      alive_ = true;
    } else if (!alive && alive_) {
      Unref();
      alive_ = false;
    }
  }

  int fd_ = -1;
  PollHandle poll_;
  bool alive_ = false;
  Napi::FunctionReference on_event_;
  napi_async_context async_context_ = nullptr;
};

void InitSocket(Napi::Env env, Napi::Object exports) {
  exports.Set("seqpacketListen", Napi::Function::New(env, Listen<SOCK_SEQPACKET>, "seqpacketListen"));
  exports.Set("seqpacketConnect", Napi::Function::New(env, Connect<SOCK_SEQPACKET>, "seqpacketConnect"));
  exports.Set("seqpacketPair", Napi::Function::New(env, Pair<SOCK_SEQPACKET>, "seqpacketPair"));
  exports.Set("SeqPacket", SeqPacket::Define(env));
  exports.Set("streamListen", Napi::Function::New(env, Listen<SOCK_STREAM>, "streamListen"));
  exports.Set("streamConnect", Napi::Function::New(env, Connect<SOCK_STREAM>, "streamConnect"));
  exports.Set("streamPair", Napi::Function::New(env, Pair<SOCK_STREAM>, "streamPair"));
  exports.Set("lockFile", Napi::Function::New(env, LockFile, "lockFile"));
  Napi::Object c = exports.Get("constants").As<Napi::Object>();
  c.Set("RECV_TRUNCATED", kRecvTruncated);
  c.Set("RECV_CONTROL_TRUNCATED", kRecvControlTruncated);
  c.Set("POLL_READABLE", kWantReadable);
  c.Set("POLL_WRITABLE", kWantWritable);
  c.Set("SOCKET_MAX_FDS", static_cast<double>(kMaxSocketFds));
  c.Set("MAX_FDS_PER_STREAM_SEND", static_cast<double>(kMaxStreamFds));
}

}  // namespace bufshare
