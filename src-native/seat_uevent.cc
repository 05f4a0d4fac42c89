// The kernel's uevents (NETLINK_KOBJECT_UEVENT, multicast group 1: what the
// kernel itself sends, not udev's rebroadcast), read on the libuv loop and
// handed to JS as raw messages ("ACTION@DEVPATH\0KEY=VALUE\0..."), parsed in
// lib/session/uevent.ts. Only messages whose sender is the kernel (nl_pid 0)
// pass: a process may send to the group too.
#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <cerrno>
#include <cstring>

#include "errors.h"
#include "poll_handle.h"
#include "seat.h"

namespace bufshare {

namespace {
// The kernel builds a uevent in a 2048-byte buffer (UEVENT_BUFFER_SIZE) plus
// "ACTION@DEVPATH": 8 KiB holds any; a longer one would be cut (MSG_TRUNC) and is dropped.
constexpr size_t kMessageSize = 8192;
// Messages read per poll callback: a burst (a card with many connectors) is
// delivered in few callbacks, a flood cannot hold the loop.
constexpr int kMaxPerPoll = 64;
}  // namespace

// new UeventSocket(onMessages): onMessages(Buffer[]) with each kernel message;
// onMessages(null, 'ENOBUFS') when the socket's queue overflowed (messages were
// lost: rescan everything), onMessages(null, errno) once on another error (the
// socket then stops).
class UeventSocket : public Napi::ObjectWrap<UeventSocket> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "UeventSocket",
                       {InstanceMethod("start", &UeventSocket::Start), InstanceMethod("close", &UeventSocket::Close)});
  }

  explicit UeventSocket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<UeventSocket>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsFunction()) {
      ThrowArgument(env, "onMessages must be a function");
      return;
    }
    const int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT);
    if (fd < 0) {
      ThrowSyscall(env, "socket(NETLINK_KOBJECT_UEVENT)", errno);
      return;
    }
    sockaddr_nl addr{};
    addr.nl_family = AF_NETLINK;
    addr.nl_groups = 1;  // the kernel's own group
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
      const int err = errno;
      close(fd);
      ThrowSyscall(env, "bind(NETLINK_KOBJECT_UEVENT)", err);
      return;
    }
    // Room for a burst (the default is the system's rmem_default, often 208 KiB already).
    const int size = 1 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    fd_ = fd;
    on_messages_ = Napi::Persistent(info[0].As<Napi::Function>());
    napi_value name = Napi::String::New(env, "bufshare:UeventSocket");
    if (napi_async_init(env, nullptr, name, &async_context_) != napi_ok) async_context_ = nullptr;
  }

  ~UeventSocket() override {
    CloseSocket();
    if (async_context_ != nullptr) napi_async_destroy(Env(), async_context_);
  }

 private:
  Napi::Value Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (fd_ < 0) return ThrowSyscall(env, "uv_poll_start", EBADF);
    const char* failed = nullptr;
    if (int err = poll_.Start(env, fd_, UV_READABLE, OnPoll, this, &failed)) return ThrowSyscall(env, failed, err);
    if (!alive_) {
      Ref();
      alive_ = true;
    }
    return env.Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    CloseSocket();
    return info.Env().Undefined();
  }

  void CloseSocket() {
    poll_.Close();  // before the fd: libuv must not watch a closed fd
    if (alive_) {
      alive_ = false;
      Unref();
    }
    if (fd_ >= 0) {
      close(fd_);
      fd_ = -1;
    }
  }

  // Reads what is queued (at most kMaxPerPoll); returns 0, or an errno.
  int Read(Napi::Env env, Napi::Array* out) {
    uint32_t n = 0;
    for (int i = 0; i < kMaxPerPoll; i++) {
      char buf[kMessageSize];
      sockaddr_nl from{};
      iovec iov{buf, sizeof buf};
      msghdr msg{};
      msg.msg_name = &from;
      msg.msg_namelen = sizeof from;
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      ssize_t len;
      do {
        len = recvmsg(fd_, &msg, 0);
      } while (len < 0 && errno == EINTR);
      if (len < 0) return errno == EAGAIN ? 0 : errno;
      if ((msg.msg_flags & MSG_TRUNC) != 0 || from.nl_family != AF_NETLINK || from.nl_pid != 0) continue;
      out->Set(n++, Napi::Buffer<char>::Copy(env, buf, static_cast<size_t>(len)));
    }
    return 0;
  }

  static void OnPoll(uv_poll_t* handle, int status, int) {
    UeventSocket* self = static_cast<UeventSocket*>(handle->data);
    if (self == nullptr || self->fd_ < 0) return;
    napi_env env = self->Env();
    Napi::HandleScope scope(self->Env());
    Napi::Array list = Napi::Array::New(env);
    const int err = status < 0 ? -status : self->Read(self->Env(), &list);
    napi_value argv[2];
    size_t argc = 1;
    if (err != 0) {
      argv[0] = Napi::Env(env).Null();
      argv[1] = Napi::String::New(env, ErrnoName(err));
      argc = 2;
      // An overflow loses messages but the socket goes on; anything else stops it.
      if (err != ENOBUFS) self->poll_.Close();
    } else {
      if (list.Length() == 0) return;
      argv[0] = list;
    }
    napi_value result;
    napi_status st = napi_make_callback(env, self->async_context_, self->Value(), self->on_messages_.Value(), argc, argv, &result);
    if (st == napi_pending_exception) {
      napi_value e;
      if (napi_get_and_clear_last_exception(env, &e) == napi_ok) napi_fatal_exception(env, e);
    }
  }

  int fd_ = -1;
  PollHandle poll_;
  bool alive_ = false;
  Napi::FunctionReference on_messages_;
  napi_async_context async_context_ = nullptr;
};

void InitUevent(Napi::Env env, Napi::Object exports) {
  exports.Set("UeventSocket", UeventSocket::Define(env));
}

}  // namespace bufshare
