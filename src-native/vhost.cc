#include "vhost.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <vector>

#include "errors.h"
#include "map.h"
#include "poll_handle.h"

namespace bufshare {

namespace {

// read() of an eventfd until it is empty: the counter it held (saturated).
uint64_t Drain(int fd) {
  uint64_t total = 0, v;
  for (;;) {
    ssize_t r = read(fd, &v, sizeof v);
    if (r == static_cast<ssize_t>(sizeof v)) {
      total = total + v < total ? UINT64_MAX : total + v;
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    return total;  // EAGAIN (empty), or not an eventfd at all: nothing more to read
  }
}

class EventFdWatch : public Napi::ObjectWrap<EventFdWatch> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "EventFdWatch",
                       {InstanceMethod("close", &EventFdWatch::Close), InstanceMethod("drain", &EventFdWatch::DrainNow)});
  }

  // new EventFdWatch(fd, onKick): takes ownership of fd, makes it non-blocking
  // and calls onKick(count) on the loop each time it becomes readable, after
  // draining it (the count is the eventfd counter read, 0 if it was not an eventfd).
  explicit EventFdWatch(const Napi::CallbackInfo& info) : Napi::ObjectWrap<EventFdWatch>(info) {
    Napi::Env env = info.Env();
    int fd;
    if (!GetFd(info, 0, &fd)) return;
    if (info.Length() < 2 || !info[1].IsFunction()) {
      ThrowArgument(env, "onKick must be a function");
      return;
    }
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
      ThrowSyscall(env, "fcntl(F_SETFL, O_NONBLOCK)", errno);
      return;
    }
    fd_ = fd;
    on_kick_ = Napi::Persistent(info[1].As<Napi::Function>());
    napi_value name = Napi::String::New(env, "bufshare:EventFdWatch");
    if (napi_async_init(env, nullptr, name, &async_context_) != napi_ok) async_context_ = nullptr;
    const char* failed = nullptr;
    if (int err = poll_.Start(env, fd_, UV_READABLE, OnPoll, this, &failed)) {
      fd_ = -1;  // the caller keeps the fd when construction fails
      ThrowSyscall(env, failed, err);
      return;
    }
    Ref();  // alive while watching: the loop holds it, not the program
    alive_ = true;
  }

  ~EventFdWatch() override {
    StopAndClose();
    if (async_context_ != nullptr) napi_async_destroy(Env(), async_context_);
  }

 private:
  static void OnPoll(uv_poll_t* handle, int status, int events) {
    EventFdWatch* self = static_cast<EventFdWatch*>(handle->data);
    if (self == nullptr || self->fd_ < 0) return;
    uint64_t count = Drain(self->fd_);
    napi_env env = self->Env();
    Napi::HandleScope scope(self->Env());
    napi_value argv[2] = {Napi::Number::New(env, static_cast<double>(count)), Napi::Number::New(env, status)};
    napi_value result;
    napi_status st = napi_make_callback(env, self->async_context_, self->Value(), self->on_kick_.Value(), 2, argv, &result);
    if (st == napi_pending_exception) {
      napi_value err;
      if (napi_get_and_clear_last_exception(env, &err) == napi_ok) napi_fatal_exception(env, err);
    }
  }

  // drain() -> the counter, read now (a ring started after kicks were sent).
  Napi::Value DrainNow(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), fd_ < 0 ? 0 : static_cast<double>(Drain(fd_)));
  }

  // close(): stops watching and closes the fd. Idempotent.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    StopAndClose();
    on_kick_.Reset();
    if (alive_) {
      alive_ = false;
      Unref();
    }
    return info.Env().Undefined();
  }

  void StopAndClose() {
    poll_.Close();  // first: libuv must not watch a closed fd
    if (fd_ >= 0) {
      close(fd_);
      fd_ = -1;
    }
  }

  int fd_ = -1;
  bool alive_ = false;
  PollHandle poll_;
  Napi::FunctionReference on_kick_;
  napi_async_context async_context_ = nullptr;
};

// eventfdSignal(fd): adds 1 to an eventfd (a virtqueue's call: the guest's
// interrupt). false when the counter is full (EAGAIN: the peer has not read it;
// it is signalled anyway) or the fd is not writable that way.
Napi::Value EventFdSignal(const Napi::CallbackInfo& info) {
  int fd;
  if (!GetFd(info, 0, &fd)) return Napi::Value();
  uint64_t one = 1;
  ssize_t r;
  do r = write(fd, &one, sizeof one);
  while (r < 0 && errno == EINTR);
  return Napi::Boolean::New(info.Env(), r == static_cast<ssize_t>(sizeof one));
}

// eventfdCreate() -> a non-blocking, close-on-exec eventfd (tests stand in for qemu with it).
Napi::Value EventFdCreate(const Napi::CallbackInfo& info) {
  int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) return ThrowSyscall(info.Env(), "eventfd", errno);
  return Napi::Number::New(info.Env(), fd);
}

bool CanShrink(int fd) {
  struct stat st;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) return false;
  int seals = fcntl(fd, F_GET_SEALS);
  return seals < 0 || !(seals & F_SEAL_SHRINK);
}

}  // namespace

// mapGuestPages(list: Float64Array [fd, fileOffset, length]...) -> ArrayBuffer:
// the pieces, in order, as one contiguous MAP_SHARED read-write range. A
// PROT_NONE reservation of the total is made first and each piece mapped over
// its part with MAP_FIXED, so no other mapping can land between the pieces and
// a failure leaves nothing behind. Offsets and lengths must be page multiples
// (the kernel maps whole pages); the pieces' files must cover them, which the
// caller checked against the memory table (a piece past a file's end would
// SIGBUS: a shrinkable file puts the whole range under the SIGBUS guard).
static Napi::Value MapGuestPages(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
    return ThrowArgument(env, "mapGuestPages(list: Float64Array of [fd, offset, length] triples)");
  Napi::Float64Array list = info[0].As<Napi::Float64Array>();
  const size_t n = list.ElementLength();
  if (n == 0 || n % 3 != 0) return ThrowArgument(env, "the list needs whole [fd, offset, length] triples");
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  uint64_t total = 0;
  bool shrinkable = false;
  for (size_t i = 0; i < n; i += 3) {
    const double fd = list[i], off = list[i + 1], len = list[i + 2];
    if (!(fd >= 0 && fd <= INT32_MAX && fd == static_cast<int>(fd)) || !(off >= 0 && off < 9007199254740992.0) ||
        !(len > 0 && len < 9007199254740992.0))
      return ThrowArgument(env, "each piece needs an fd, an offset >= 0 and a length > 0");
    const uint64_t o = static_cast<uint64_t>(off), l = static_cast<uint64_t>(len);
    if (o % page != 0 || l % page != 0 || o != off || l != len)
      return ThrowArgument(env, "piece offsets and lengths must be multiples of the page size");
    total += l;
    if (total > (1ull << 40)) return ThrowArgument(env, "the pieces add up to over 1 TiB");
    if (CanShrink(static_cast<int>(fd))) shrinkable = true;
  }
  void* base = mmap(nullptr, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED) return ThrowSyscall(env, "mmap(PROT_NONE reservation)", errno);
  uint64_t at = 0;
  for (size_t i = 0; i < n; i += 3) {
    const uint64_t l = static_cast<uint64_t>(list[i + 2]);
    void* want = static_cast<char*>(base) + at;
    void* got = mmap(want, l, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, static_cast<int>(list[i]),
                     static_cast<off_t>(list[i + 1]));
    if (got == MAP_FAILED) {
      int err = errno;
      munmap(base, total);
      return ThrowSyscall(env, "mmap(MAP_FIXED guest pages)", err);
    }
    at += l;
  }
  return AdoptMapping(env, base, total, PROT_READ | PROT_WRITE, shrinkable);
}

// memoryFence(): a full barrier (MFENCE on x86). A split virtqueue with
// EVENT_IDX has two store-then-load steps across shared guest memory: publish
// avail_event, then look at the available index again; publish the used index,
// then read used_event. x86 keeps stores in order but may let a later load pass
// an earlier store, and then the device and the driver each miss the other's
// update: a kick or an interrupt is lost and the ring stalls (Linux's
// virtio_mb(), qemu's smp_mb() at the same two places). JS has no fence over a
// non-shared ArrayBuffer, hence this call.
static Napi::Value MemoryFence(const Napi::CallbackInfo& info) {
  std::atomic_thread_fence(std::memory_order_seq_cst);
  return info.Env().Undefined();
}

void InitVhost(Napi::Env env, Napi::Object exports) {
  exports.Set("memoryFence", Napi::Function::New(env, MemoryFence, "memoryFence"));
  exports.Set("EventFdWatch", EventFdWatch::Define(env));
  exports.Set("eventfdSignal", Napi::Function::New(env, EventFdSignal, "eventfdSignal"));
  exports.Set("eventfdCreate", Napi::Function::New(env, EventFdCreate, "eventfdCreate"));
  exports.Set("mapGuestPages", Napi::Function::New(env, MapGuestPages, "mapGuestPages"));
}

}  // namespace bufshare
