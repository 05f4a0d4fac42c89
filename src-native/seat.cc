// A seat through libseat (seatd, or logind where libseat was built with it),
// loaded with dlopen like libgbm: bufshare neither links it nor needs its
// headers. The policy (when to pause, what to reopen) lives in lib/session.
//
// libseat calls its enable/disable callbacks from inside libseat_dispatch (and
// may do so from any call that reads its socket): the callbacks only record
// what happened; the JS side gets the list after the call returns, never while
// libseat is on the stack.
#include "seat.h"

#include <dlfcn.h>
#include <uv.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "errors.h"
#include "poll_handle.h"

namespace bufshare {

namespace {

// The slice of <libseat.h> we use (libseat 0.5+, ABI libseat.so.1).
struct libseat;
struct libseat_seat_listener {
  void (*enable_seat)(libseat* seat, void* userdata);
  void (*disable_seat)(libseat* seat, void* userdata);
};
using libseat_log_func = void (*)(int level, const char* format, va_list args);
constexpr int kLogLevelError = 1;

struct SeatApi {
  libseat* (*open_seat)(const libseat_seat_listener*, void*);
  int (*disable_seat)(libseat*);
  int (*close_seat)(libseat*);
  int (*open_device)(libseat*, const char*, int*);
  int (*close_device)(libseat*, int);
  const char* (*seat_name)(libseat*);
  int (*switch_session)(libseat*, int);
  int (*get_fd)(libseat*);
  int (*dispatch)(libseat*, int);
  void (*set_log_handler)(libseat_log_func);
  void (*set_log_level)(int);
};

SeatApi g_api;
bool g_loaded = false;
std::string g_load_error;
// libseat's error-level log lines since the last call that failed (why a seat
// could not be opened: "Could not connect to socket ...", "No backend was able to
// open a seat"). Bounded: a misbehaving backend cannot grow it.
std::string g_log;
constexpr size_t kMaxLog = 2048;

void LogHandler(int level, const char* format, va_list args) {
  char line[512];
  vsnprintf(line, sizeof line, format, args);
  if (g_log.size() + strlen(line) + 2 > kMaxLog) return;
  if (!g_log.empty()) g_log += "; ";
  g_log += line;
}

bool Load() {
  if (g_loaded) return true;
  if (!g_load_error.empty()) return false;
  void* lib = dlopen("libseat.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char* e = dlerror();
    g_load_error = e ? e : "dlopen(libseat.so.1) failed";
    return false;
  }
  std::string missing;
  auto need = [&](auto& fn, const char* name) {
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(lib, name));
    if (!fn && missing.empty()) missing = name;
  };
  need(g_api.open_seat, "libseat_open_seat");
  need(g_api.disable_seat, "libseat_disable_seat");
  need(g_api.close_seat, "libseat_close_seat");
  need(g_api.open_device, "libseat_open_device");
  need(g_api.close_device, "libseat_close_device");
  need(g_api.seat_name, "libseat_seat_name");
  need(g_api.switch_session, "libseat_switch_session");
  need(g_api.get_fd, "libseat_get_fd");
  need(g_api.dispatch, "libseat_dispatch");
  need(g_api.set_log_handler, "libseat_set_log_handler");
  need(g_api.set_log_level, "libseat_set_log_level");
  if (!missing.empty()) {
    g_load_error = "libseat.so.1 lacks " + missing;
    dlclose(lib);
    return false;
  }
  g_api.set_log_handler(LogHandler);
  g_api.set_log_level(kLogLevelError);
  g_loaded = true;
  return true;
}

std::string TakeLog() {
  std::string s;
  s.swap(g_log);
  return s;
}

}  // namespace

// new Seat(onEvents): opens the seat (libseat_open_seat), or throws
// ERR_BUFSHARE_NOT_AVAILABLE with libseat's own words. onEvents(['enable' |
// 'disable', ...]) on the JS thread after a dispatch that saw them;
// onEvents(null, errnoName) once when the seat's connection fails (the seat then
// stops watching).
class Seat : public Napi::ObjectWrap<Seat> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Seat",
                       {InstanceMethod("name", &Seat::Name), InstanceMethod("start", &Seat::Start),
                        InstanceMethod("dispatch", &Seat::Dispatch), InstanceMethod("openDevice", &Seat::OpenDevice),
                        InstanceMethod("closeDevice", &Seat::CloseDevice), InstanceMethod("disable", &Seat::Disable),
                        InstanceMethod("switchSession", &Seat::SwitchSession), InstanceMethod("close", &Seat::Close)});
  }

  explicit Seat(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Seat>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsFunction()) {
      ThrowArgument(env, "onEvents must be a function");
      return;
    }
    if (!Load()) {
      Napi::Error e = Napi::Error::New(env, "libseat is not available: " + g_load_error);
      e.Set("code", Napi::String::New(env, "ERR_BUFSHARE_NOT_AVAILABLE"));
      e.ThrowAsJavaScriptException();
      return;
    }
    static const libseat_seat_listener listener = {
        [](libseat*, void* self) { static_cast<Seat*>(self)->pending_.push_back("enable"); },
        [](libseat*, void* self) { static_cast<Seat*>(self)->pending_.push_back("disable"); },
    };
    TakeLog();
    seat_ = g_api.open_seat(&listener, this);
    if (seat_ == nullptr) {
      const int err = errno;
      std::string why = TakeLog();
      Napi::Error e = Napi::Error::New(env, "libseat could not open a seat (no seatd or logind session answered): " +
                                                (why.empty() ? std::string(ErrnoName(err)) : why));
      e.Set("code", Napi::String::New(env, "ERR_BUFSHARE_NOT_AVAILABLE"));
      e.Set("errno", Napi::String::New(env, ErrnoName(err)));
      e.ThrowAsJavaScriptException();
      return;
    }
    on_events_ = Napi::Persistent(info[0].As<Napi::Function>());
    napi_value name = Napi::String::New(env, "bufshare:Seat");
    if (napi_async_init(env, nullptr, name, &async_context_) != napi_ok) async_context_ = nullptr;
  }

  ~Seat() override {
    CloseSeat();
    if (async_context_ != nullptr) napi_async_destroy(Env(), async_context_);
  }

 private:
  bool CheckOpen(Napi::Env env) {
    if (seat_ != nullptr) return true;
    ThrowSyscall(env, "libseat (seat closed)", EBADF);
    return false;
  }

  Napi::Value Name(const Napi::CallbackInfo& info) {
    if (!CheckOpen(info.Env())) return info.Env().Undefined();
    const char* n = g_api.seat_name(seat_);
    return Napi::String::New(info.Env(), n ? n : "");
  }

  // Watches libseat's fd on the loop; keeps the process alive while the seat is open.
  Napi::Value Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    const int fd = g_api.get_fd(seat_);
    if (fd < 0) return ThrowSyscall(env, "libseat_get_fd", errno ? errno : EBADF);
    const char* failed = nullptr;
    // UV_DISCONNECT: libseat_dispatch(seat, 0) reads EOF as "nothing to do" (seatd's
    // backend returns 0 events), so a seatd that died would leave the fd readable
    // forever and the loop spinning; the hang-up is how we learn of it.
    if (int err = poll_.Start(env, fd, UV_READABLE | UV_DISCONNECT, OnPoll, this, &failed)) return ThrowSyscall(env, failed, err);
    if (!alive_) {
      Ref();
      alive_ = true;
    }
    return env.Undefined();
  }

  // dispatch() -> events: runs libseat_dispatch without waiting and returns
  // what its callbacks reported (and anything reported during earlier calls).
  Napi::Value Dispatch(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    if (g_api.dispatch(seat_, 0) < 0) return ThrowSyscall(env, "libseat_dispatch", errno ? errno : EIO);
    return TakeEvents(env);
  }

  Napi::Array TakeEvents(Napi::Env env) {
    Napi::Array list = Napi::Array::New(env, pending_.size());
    for (size_t i = 0; i < pending_.size(); i++) list.Set(static_cast<uint32_t>(i), pending_[i]);
    pending_.clear();
    return list;
  }

  // openDevice(path) -> { fd, id }: the fd is the caller's to use until
  // closeDevice(id), which closes it (libseat_close_device does not).
  Napi::Value OpenDevice(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    if (info.Length() < 1 || !info[0].IsString()) return ThrowArgument(env, "path must be a string");
    const std::string path = info[0].As<Napi::String>();
    int fd = -1;
    errno = 0;
    const int id = g_api.open_device(seat_, path.c_str(), &fd);
    if (id < 0) return ThrowSyscall(env, "libseat_open_device(" + path + ")", errno ? errno : EIO);
    Napi::Object out = Napi::Object::New(env);
    out.Set("fd", fd);
    out.Set("id", id);
    return out;
  }

  Napi::Value CloseDevice(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    int32_t id;
    if (!GetInt32(info, 0, "id", &id)) return env.Undefined();
    if (g_api.close_device(seat_, id) < 0) return ThrowSyscall(env, "libseat_close_device", errno ? errno : EIO);
    return env.Undefined();
  }

  // The acknowledgement a 'disable' needs (libseat_disable_seat).
  Napi::Value Disable(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    if (g_api.disable_seat(seat_) < 0) return ThrowSyscall(env, "libseat_disable_seat", errno ? errno : EIO);
    return env.Undefined();
  }

  Napi::Value SwitchSession(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    int32_t session;
    if (!GetInt32(info, 0, "session", &session)) return env.Undefined();
    if (g_api.switch_session(seat_, session) < 0) return ThrowSyscall(env, "libseat_switch_session", errno ? errno : EIO);
    return env.Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    CloseSeat();
    return info.Env().Undefined();
  }

  void CloseSeat() {
    poll_.Close();
    if (alive_) {
      alive_ = false;
      Unref();
    }
    if (seat_ != nullptr) {
      g_api.close_seat(seat_);
      seat_ = nullptr;
    }
    pending_.clear();
  }

  static void OnPoll(uv_poll_t* handle, int status, int events) {
    Seat* self = static_cast<Seat*>(handle->data);
    if (self == nullptr || self->seat_ == nullptr) return;
    Napi::HandleScope scope(self->Env());
    int err = 0;
    if (status < 0) {
      err = -status;
    } else if (self->DispatchOnce() < 0) {
      err = errno ? errno : EIO;
    }
    // What libseat reported before the connection failed still goes out first.
    if (!self->pending_.empty()) {
      napi_value list = self->TakeEvents(self->Env());
      if (!self->Call(1, &list)) return;
    }
    if (err == 0 && (events & UV_DISCONNECT) != 0) err = EPIPE;
    if (err == 0) return;
    self->poll_.Close();  // a dead connection stays readable: stop; the JS side closes the seat
    napi_value argv[2] = {self->Env().Null(), Napi::String::New(self->Env(), ErrnoName(err))};
    self->Call(2, argv);
  }

  // Calls onEvents; false when the seat was closed meanwhile (by the callback).
  bool Call(size_t argc, napi_value* argv) {
    napi_env env = Env();
    napi_value result;
    napi_status st = napi_make_callback(env, async_context_, Value(), on_events_.Value(), argc, argv, &result);
    if (st == napi_pending_exception) {
      napi_value e;
      if (napi_get_and_clear_last_exception(env, &e) == napi_ok) napi_fatal_exception(env, e);
    }
    return seat_ != nullptr;
  }

  int DispatchOnce() {
    errno = 0;
    return g_api.dispatch(seat_, 0);
  }

  libseat* seat_ = nullptr;
  std::vector<std::string> pending_;
  PollHandle poll_;
  bool alive_ = false;
  Napi::FunctionReference on_events_;
  napi_async_context async_context_ = nullptr;
};

// libseatAvailable() -> '' when libseat.so.1 loads, else why not.
static Napi::Value LibseatAvailable(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), Load() ? "" : g_load_error);
}

void InitSeat(Napi::Env env, Napi::Object exports) {
  exports.Set("Seat", Seat::Define(env));
  exports.Set("libseatAvailable", Napi::Function::New(env, LibseatAvailable));
  InitUevent(env, exports);
}

}  // namespace bufshare
