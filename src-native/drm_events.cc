#include "drm_events.h"

#include <poll.h>
#include <unistd.h>
#include <uv.h>

#include <cerrno>
#include <cstring>

#include "errors.h"
#include "poll_handle.h"
#include "kms_abi.h"

namespace bufshare {

namespace abi = kms_abi;

namespace {

// The kernel queues at most 4096 bytes of events per open file (drm_file's
// event_space); one read of that size takes everything queued.
constexpr size_t kReadSize = 4096;

// Reads every queued event. The kernel only returns whole events, and a read on
// a blocking fd with nothing queued would block: poll with timeout 0 first, so
// a borrowed fd's O_NONBLOCK flag (the owner's business) never matters.
// Returns false with errno set on a read error.
bool ReadEvents(Napi::Env env, int fd, Napi::Array* out) {
  uint32_t n = 0;
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    int r;
    do {
      r = poll(&p, 1, 0);
    } while (r < 0 && errno == EINTR);
    if (r < 0) return false;
    if (r == 0 || (p.revents & POLLIN) == 0) break;
    alignas(8) char buf[kReadSize];
    ssize_t len;
    do {
      len = read(fd, buf, sizeof buf);
    } while (len < 0 && errno == EINTR);
    if (len < 0) {
      if (errno == EAGAIN) break;
      return false;
    }
    if (len == 0) break;
    size_t off = 0;
    while (off + sizeof(abi::drm_event) <= static_cast<size_t>(len)) {
      abi::drm_event head;
      memcpy(&head, buf + off, sizeof head);
      if (head.length < sizeof head || off + head.length > static_cast<size_t>(len)) break;
      if ((head.type == abi::EVENT_FLIP_COMPLETE || head.type == abi::EVENT_VBLANK) &&
          head.length >= sizeof(abi::drm_event_vblank)) {
        abi::drm_event_vblank v;
        memcpy(&v, buf + off, sizeof v);
        Napi::Object e = Napi::Object::New(env);
        e.Set("type", head.type == abi::EVENT_FLIP_COMPLETE ? "flip" : "vblank");
        e.Set("userData", Napi::Number::New(env, static_cast<double>(v.user_data)));
        e.Set("sec", Napi::Number::New(env, v.tv_sec));
        e.Set("usec", Napi::Number::New(env, v.tv_usec));
        e.Set("sequence", Napi::Number::New(env, v.sequence));
        e.Set("crtcId", Napi::Number::New(env, v.crtc_id));
        out->Set(n++, e);
      }
      // Other event types (CRTC sequence, vendor events) are skipped by length.
      off += head.length;
    }
  }
  return true;
}

}  // namespace

// new DrmEventWatcher(fd, onEvents): calls onEvents(events[]) on the JS thread
// whenever the DRM fd has events; onEvents(null, errnoName) once on a read error
// (the watcher then stops). Keeps itself alive while started.
class DrmEventWatcher : public Napi::ObjectWrap<DrmEventWatcher> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "DrmEventWatcher",
                       {InstanceMethod("start", &DrmEventWatcher::Start), InstanceMethod("stop", &DrmEventWatcher::Stop),
                        InstanceMethod("readNow", &DrmEventWatcher::ReadNow)});
  }

  explicit DrmEventWatcher(const Napi::CallbackInfo& info) : Napi::ObjectWrap<DrmEventWatcher>(info) {
    Napi::Env env = info.Env();
    int fd;
    if (!GetFd(info, 0, &fd)) return;
    if (info.Length() < 2 || !info[1].IsFunction()) {
      ThrowArgument(env, "onEvents must be a function");
      return;
    }
    fd_ = fd;
    on_events_ = Napi::Persistent(info[1].As<Napi::Function>());
    napi_value name = Napi::String::New(env, "bufshare:DrmEventWatcher");
    if (napi_async_init(env, nullptr, name, &async_context_) != napi_ok) async_context_ = nullptr;
  }

  ~DrmEventWatcher() override {
    StopWatching();
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

  // Stops watching; the fd stays open (it is not ours). The watcher can be started again.
  Napi::Value Stop(const Napi::CallbackInfo& info) {
    StopWatching();
    return info.Env().Undefined();
  }

  // readNow() -> events[]: what is queued now, without waiting (for callers that
  // must drain events before the loop turns, e.g. before closing).
  Napi::Value ReadNow(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (fd_ < 0) return ThrowSyscall(env, "read", EBADF);
    Napi::Array events = Napi::Array::New(env);
    if (!ReadEvents(env, fd_, &events)) return ThrowSyscall(env, "read(DRM fd)", errno);
    return events;
  }

  void StopWatching() {
    poll_.Close();
    if (alive_) {
      alive_ = false;
      Unref();
    }
  }

  static void OnPoll(uv_poll_t* handle, int status, int events) {
    DrmEventWatcher* self = static_cast<DrmEventWatcher*>(handle->data);
    if (self == nullptr || self->fd_ < 0) return;
    napi_env env = self->Env();
    Napi::HandleScope scope(self->Env());
    napi_value argv[2];
    size_t argc = 1;
    Napi::Array list = Napi::Array::New(env);
    if (status < 0 || !ReadEvents(self->Env(), self->fd_, &list)) {
      int err = status < 0 ? -status : errno;
      argv[0] = Napi::Env(env).Null();
      argv[1] = Napi::String::New(env, ErrnoName(err));
      argc = 2;
      self->StopWatching();
    } else {
      if (list.Length() == 0) return;
      argv[0] = list;
    }
    napi_value result;
    napi_status st = napi_make_callback(env, self->async_context_, self->Value(), self->on_events_.Value(), argc, argv, &result);
    if (st == napi_pending_exception) {
      napi_value err;
      if (napi_get_and_clear_last_exception(env, &err) == napi_ok) napi_fatal_exception(env, err);
    }
  }

  int fd_ = -1;
  PollHandle poll_;
  bool alive_ = false;
  Napi::FunctionReference on_events_;
  napi_async_context async_context_ = nullptr;
};

void InitDrmEvents(Napi::Env env, Napi::Object exports) {
  exports.Set("DrmEventWatcher", DrmEventWatcher::Define(env));
}

}  // namespace bufshare
