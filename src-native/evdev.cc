#include "evdev.h"

#include <fcntl.h>
#include <linux/input.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "errors.h"
#include "poll_handle.h"

namespace bufshare {

namespace {

// Events per read(): the kernel's evdev client buffer holds at least 64 and
// usually a few hundred; a 64-event read takes a frame or several at once.
constexpr size_t kEventsPerRead = 64;
// Reads per loop turn: a device flooding events (a broken tablet) cannot
// starve the loop; what is left is read on the next turn (the fd stays readable).
constexpr int kReadsPerTurn = 16;
// Numbers per event handed to JS: sec, usec, type, code, value.
constexpr uint32_t kFields = 5;

int Ioctl(int fd, unsigned long request, void* arg) {
  int r;
  do {
    r = ioctl(fd, request, arg);
  } while (r < 0 && errno == EINTR);
  return r;
}

// evdevOpen(path) -> fd: O_RDONLY | O_NONBLOCK | O_CLOEXEC (a session manager's
// fd is taken as is instead: everything below takes an fd).
Napi::Value Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) return ThrowArgument(env, "path must be a string");
  std::string path = info[0].As<Napi::String>();
  int fd;
  do {
    fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return ThrowSyscall(env, "open(" + path + ")", errno);
  return Napi::Number::New(env, fd);
}

// A capability bitmap as bytes (bit n at byte n/8, bit n%8: the kernel's
// unsigned long array read on a little- or big-endian machine is turned into
// that order here, so JS never sees the word size).
bool Bits(int fd, unsigned type_or_prop, bool prop, size_t max_bit, Napi::Env env, Napi::Buffer<uint8_t>* out) {
  constexpr size_t kBitsPerLong = sizeof(unsigned long) * 8;
  const size_t longs = max_bit / kBitsPerLong + 1;
  unsigned long words[(KEY_MAX / (sizeof(unsigned long) * 8)) + 1] = {};
  const unsigned long req = prop ? EVIOCGPROP(longs * sizeof(unsigned long))
                                 : EVIOCGBIT(type_or_prop, longs * sizeof(unsigned long));
  if (Ioctl(fd, req, words) < 0) return false;
  const size_t bytes = max_bit / 8 + 1;
  *out = Napi::Buffer<uint8_t>::New(env, bytes);
  uint8_t* b = out->Data();
  for (size_t i = 0; i < bytes; i++) b[i] = static_cast<uint8_t>(words[(i * 8) / kBitsPerLong] >> ((i * 8) % kBitsPerLong));
  return true;
}

bool HasBit(const Napi::Buffer<uint8_t>& bits, size_t n) {
  return n / 8 < bits.Length() && (bits.Data()[n / 8] >> (n % 8)) & 1;
}

// evdevInfo(fd) -> { name, bustype, vendor, product, version, props, ev, key,
// rel, abs, absInfo: { [code]: { value, minimum, maximum, fuzz, flat, resolution } } }
Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!GetFd(info, 0, &fd)) return env.Undefined();
  Napi::Object o = Napi::Object::New(env);
  char name[256] = {};
  if (Ioctl(fd, EVIOCGNAME(sizeof name - 1), name) < 0) return ThrowSyscall(env, "ioctl(EVIOCGNAME)", errno);
  o.Set("name", Napi::String::New(env, name));
  input_id id{};
  if (Ioctl(fd, EVIOCGID, &id) < 0) return ThrowSyscall(env, "ioctl(EVIOCGID)", errno);
  o.Set("bustype", id.bustype);
  o.Set("vendor", id.vendor);
  o.Set("product", id.product);
  o.Set("version", id.version);
  Napi::Buffer<uint8_t> props, ev, key, rel, abs;
  // EVIOCGPROP came with 2.6.38; an older kernel's EINVAL reads as "no properties".
  if (!Bits(fd, 0, true, INPUT_PROP_MAX, env, &props)) {
    if (errno != EINVAL) return ThrowSyscall(env, "ioctl(EVIOCGPROP)", errno);
    props = Napi::Buffer<uint8_t>::New(env, INPUT_PROP_MAX / 8 + 1);
    memset(props.Data(), 0, props.Length());
  }
  if (!Bits(fd, 0, false, EV_MAX, env, &ev)) return ThrowSyscall(env, "ioctl(EVIOCGBIT(0))", errno);
  if (!Bits(fd, EV_KEY, false, KEY_MAX, env, &key)) return ThrowSyscall(env, "ioctl(EVIOCGBIT(EV_KEY))", errno);
  if (!Bits(fd, EV_REL, false, REL_MAX, env, &rel)) return ThrowSyscall(env, "ioctl(EVIOCGBIT(EV_REL))", errno);
  if (!Bits(fd, EV_ABS, false, ABS_MAX, env, &abs)) return ThrowSyscall(env, "ioctl(EVIOCGBIT(EV_ABS))", errno);
  o.Set("props", props);
  o.Set("ev", ev);
  o.Set("key", key);
  o.Set("rel", rel);
  o.Set("abs", abs);
  Napi::Object absInfo = Napi::Object::New(env);
  for (unsigned code = 0; code <= ABS_MAX; code++) {
    if (!HasBit(abs, code)) continue;
    input_absinfo a{};
    if (Ioctl(fd, EVIOCGABS(code), &a) < 0) return ThrowSyscall(env, "ioctl(EVIOCGABS)", errno);
    Napi::Object e = Napi::Object::New(env);
    e.Set("value", a.value);
    e.Set("minimum", a.minimum);
    e.Set("maximum", a.maximum);
    e.Set("fuzz", a.fuzz);
    e.Set("flat", a.flat);
    e.Set("resolution", a.resolution);
    absInfo.Set(code, e);
  }
  o.Set("absInfo", absInfo);
  return o;
}

// evdevKeyState(fd) -> bytes: the keys and buttons down now (EVIOCGKEY), bit
// order as evdevInfo's maps. For resynchronising after SYN_DROPPED.
Napi::Value KeyState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!GetFd(info, 0, &fd)) return env.Undefined();
  constexpr size_t kBitsPerLong = sizeof(unsigned long) * 8;
  unsigned long words[KEY_MAX / kBitsPerLong + 1] = {};
  if (Ioctl(fd, EVIOCGKEY(sizeof words), words) < 0) return ThrowSyscall(env, "ioctl(EVIOCGKEY)", errno);
  const size_t bytes = KEY_MAX / 8 + 1;
  Napi::Buffer<uint8_t> out = Napi::Buffer<uint8_t>::New(env, bytes);
  for (size_t i = 0; i < bytes; i++) out.Data()[i] = static_cast<uint8_t>(words[(i * 8) / kBitsPerLong] >> ((i * 8) % kBitsPerLong));
  return out;
}

// evdevAbsValue(fd, code) -> the axis' current value (EVIOCGABS), for SYN_DROPPED.
Napi::Value AbsValue(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  uint32_t code;
  if (!GetFd(info, 0, &fd) || !GetUint32(info, 1, "code", &code)) return env.Undefined();
  if (code > ABS_MAX) return ThrowArgument(env, "code must be <= ABS_MAX");
  input_absinfo a{};
  if (Ioctl(fd, EVIOCGABS(code), &a) < 0) return ThrowSyscall(env, "ioctl(EVIOCGABS)", errno);
  return Napi::Number::New(env, a.value);
}

// evdevGrab(fd, grab): EVIOCGRAB. While grabbed, no other reader of the device
// (the console's keyboard handler, another program) gets its events.
Napi::Value Grab(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!GetFd(info, 0, &fd)) return env.Undefined();
  if (info.Length() < 2 || !info[1].IsBoolean()) return ThrowArgument(env, "grab must be a boolean");
  const bool grab = info[1].As<Napi::Boolean>();
  if (Ioctl(fd, EVIOCGRAB, reinterpret_cast<void*>(static_cast<uintptr_t>(grab ? 1 : 0))) < 0) {
    return ThrowSyscall(env, grab ? "ioctl(EVIOCGRAB, 1)" : "ioctl(EVIOCGRAB, 0)", errno);
  }
  return env.Undefined();
}

// evdevSetClock(fd, 'monotonic'|'realtime'|'boottime'): EVIOCSCLOCKID. Event times
// then compare with process.hrtime (CLOCK_MONOTONIC) instead of the wall clock.
Napi::Value SetClock(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!GetFd(info, 0, &fd)) return env.Undefined();
  if (info.Length() < 2 || !info[1].IsString()) return ThrowArgument(env, "clock must be a string");
  std::string name = info[1].As<Napi::String>();
  int clk;
  if (name == "monotonic") clk = CLOCK_MONOTONIC;
  else if (name == "realtime") clk = CLOCK_REALTIME;
  else if (name == "boottime") clk = CLOCK_BOOTTIME;
  else return ThrowArgument(env, "clock must be monotonic, realtime or boottime");
  if (Ioctl(fd, EVIOCSCLOCKID, &clk) < 0) return ThrowSyscall(env, "ioctl(EVIOCSCLOCKID)", errno);
  return env.Undefined();
}

// Reads whole events into `out` (kFields numbers each). Returns 0, or an errno
// (ENODEV: the device is gone). A blocking borrowed fd never blocks: poll first.
int ReadBatch(int fd, std::vector<double>* out) {
  for (int turn = 0; turn < kReadsPerTurn; turn++) {
    pollfd p{fd, POLLIN, 0};
    int r;
    do {
      r = poll(&p, 1, 0);
    } while (r < 0 && errno == EINTR);
    if (r < 0) return errno;
    if (r == 0) break;
    if (p.revents & (POLLERR | POLLHUP | POLLNVAL)) {
      if ((p.revents & POLLIN) == 0) return (p.revents & POLLNVAL) ? EBADF : ENODEV;
    }
    if ((p.revents & POLLIN) == 0) break;
    input_event ev[kEventsPerRead];
    ssize_t len;
    do {
      len = read(fd, ev, sizeof ev);
    } while (len < 0 && errno == EINTR);
    if (len < 0) {
      if (errno == EAGAIN) break;
      return errno;
    }
    if (len == 0) return ENODEV;
    const size_t n = static_cast<size_t>(len) / sizeof(input_event);  // evdev returns whole events only
    for (size_t i = 0; i < n; i++) {
      out->push_back(static_cast<double>(ev[i].input_event_sec));
      out->push_back(static_cast<double>(ev[i].input_event_usec));
      out->push_back(ev[i].type);
      out->push_back(ev[i].code);
      out->push_back(ev[i].value);
    }
    if (n < kEventsPerRead) break;
  }
  return 0;
}

}  // namespace

// new EvdevReader(fd, onEvents): calls onEvents(Float64Array) with 5 numbers per
// event (sec, usec, type, code, value) whenever the device has events, and
// onEvents(null, errnoName) once when reading fails (ENODEV: unplugged); it then
// stops. The fd is borrowed: the reader never closes it. Keeps itself alive while started.
class EvdevReader : public Napi::ObjectWrap<EvdevReader> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "EvdevReader", {InstanceMethod("start", &EvdevReader::Start), InstanceMethod("stop", &EvdevReader::Stop)});
  }

  explicit EvdevReader(const Napi::CallbackInfo& info) : Napi::ObjectWrap<EvdevReader>(info) {
    Napi::Env env = info.Env();
    int fd;
    if (!GetFd(info, 0, &fd)) return;
    if (info.Length() < 2 || !info[1].IsFunction()) {
      ThrowArgument(env, "onEvents must be a function");
      return;
    }
    fd_ = fd;
    on_events_ = Napi::Persistent(info[1].As<Napi::Function>());
    napi_value name = Napi::String::New(env, "bufshare:EvdevReader");
    if (napi_async_init(env, nullptr, name, &async_context_) != napi_ok) async_context_ = nullptr;
  }

  ~EvdevReader() override {
    StopWatching();
    if (async_context_ != nullptr) napi_async_destroy(Env(), async_context_);
  }

 private:
  Napi::Value Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (fd_ < 0) return ThrowSyscall(env, "uv_poll_start", EBADF);
    const char* failed = nullptr;
    if (int err = poll_.Start(env, fd_, UV_READABLE | UV_DISCONNECT, OnPoll, this, &failed)) return ThrowSyscall(env, failed, err);
    if (!alive_) {
      Ref();
      alive_ = true;
    }
    return env.Undefined();
  }

  Napi::Value Stop(const Napi::CallbackInfo& info) {
    StopWatching();
    return info.Env().Undefined();
  }

  void StopWatching() {
    poll_.Close();
    if (alive_) {
      alive_ = false;
      Unref();
    }
  }

  static void OnPoll(uv_poll_t* handle, int status, int events) {
    EvdevReader* self = static_cast<EvdevReader*>(handle->data);
    if (self == nullptr || self->fd_ < 0) return;
    napi_env env = self->Env();
    Napi::HandleScope scope(self->Env());
    std::vector<double> batch;
    // libuv reports POLLERR as UV_EBADF and stops the handle: an unplugged evdev
    // device polls POLLHUP | POLLERR. Read to learn the real error (ENODEV).
    int err = ReadBatch(self->fd_, &batch);
    if (status < 0 && err == 0) err = -status;
    napi_value argv[2];
    size_t argc = 1;
    if (!batch.empty()) {
      Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, batch.size() * sizeof(double));
      memcpy(ab.Data(), batch.data(), batch.size() * sizeof(double));
      argv[0] = Napi::Float64Array::New(env, batch.size(), ab, 0);
      if (!self->Call(argc, argv)) return;
    }
    if (err != 0) {
      self->StopWatching();
      argv[0] = Napi::Env(env).Null();
      argv[1] = Napi::String::New(env, ErrnoName(err));
      self->Call(2, argv);
    }
  }

  // Returns false when the reader was stopped from inside the callback.
  bool Call(size_t argc, napi_value* argv) {
    napi_env env = Env();
    napi_value result;
    napi_status st = napi_make_callback(env, async_context_, Value(), on_events_.Value(), argc, argv, &result);
    if (st == napi_pending_exception) {
      napi_value err;
      if (napi_get_and_clear_last_exception(env, &err) == napi_ok) napi_fatal_exception(env, err);
    }
    return alive_;
  }

  int fd_ = -1;
  PollHandle poll_;
  bool alive_ = false;
  Napi::FunctionReference on_events_;
  napi_async_context async_context_ = nullptr;
};

void InitEvdev(Napi::Env env, Napi::Object exports) {
  exports.Set("evdevOpen", Napi::Function::New(env, Open, "evdevOpen"));
  exports.Set("evdevInfo", Napi::Function::New(env, Info, "evdevInfo"));
  exports.Set("evdevKeyState", Napi::Function::New(env, KeyState, "evdevKeyState"));
  exports.Set("evdevAbsValue", Napi::Function::New(env, AbsValue, "evdevAbsValue"));
  exports.Set("evdevGrab", Napi::Function::New(env, Grab, "evdevGrab"));
  exports.Set("evdevSetClock", Napi::Function::New(env, SetClock, "evdevSetClock"));
  exports.Set("EvdevReader", EvdevReader::Define(env));
}

}  // namespace bufshare
