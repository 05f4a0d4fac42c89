#include "fence.h"

#include <fcntl.h>
#include <linux/dma-buf.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <uv.h>

#include <cerrno>
#include <cstdint>

#include "errors.h"
#include "poll_handle.h"

namespace bufshare {

namespace {

// poll(2) on a dma-buf (drivers/dma-buf/dma-buf.c, dma_buf_poll): POLLIN once
// every write fence has signalled (the CPU may read), POLLOUT once every fence
// has (the CPU may write). A buffer with no fences is ready at once.
constexpr uint32_t kWantRead = 1;
constexpr uint32_t kWantWrite = 2;

short PollEventsFor(uint32_t want) { return want == kWantWrite ? POLLOUT : POLLIN; }

// vgem UAPI (include/uapi/drm/vgem_drm.h), declared here: no -dev package at build time.
struct drm_vgem_fence_attach {
  uint32_t handle;
  uint32_t flags;  // VGEM_FENCE_WRITE
  uint32_t out_fence;
  uint32_t pad;
};
struct drm_vgem_fence_signal {
  uint32_t fence;
  uint32_t flags;
};
constexpr uint32_t kVgemFenceWrite = 1;
constexpr unsigned long kIoctlVgemFenceAttach = _IOWR('d', 0x40 + 0x1, struct drm_vgem_fence_attach);
constexpr unsigned long kIoctlVgemFenceSignal = _IOW('d', 0x40 + 0x2, struct drm_vgem_fence_signal);

}  // namespace

// dmabufReady(fd, access) -> bool, without waiting. access: 1 read, 2 write.
static Napi::Value DmabufReady(const Napi::CallbackInfo& info) {
  int fd;
  uint32_t want;
  if (!GetFd(info, 0, &fd) || !GetUint32(info, 1, "access", &want)) return Napi::Value();
  struct pollfd p = {fd, PollEventsFor(want), 0};
  int r;
  do r = poll(&p, 1, 0);
  while (r < 0 && errno == EINTR);
  if (r < 0) return ThrowSyscall(info.Env(), "poll", errno);
  if (p.revents & POLLNVAL) return ThrowSyscall(info.Env(), "poll", EBADF);
  return Napi::Boolean::New(info.Env(), r > 0 && (p.revents & (PollEventsFor(want) | POLLERR)) != 0);
}

// new FenceWatch(fd, access, onReady): waits on the loop until the dma-buf is
// ready for `access`, then calls onReady(status) once (status 0, or a negative
// libuv error). Watches a dup of fd (the caller keeps its own; libuv cannot
// watch one fd twice). cancel() stops it without a call. While waiting, the
// object keeps itself alive and keeps the loop alive.
class FenceWatch : public Napi::ObjectWrap<FenceWatch> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "FenceWatch", {InstanceMethod("cancel", &FenceWatch::Cancel)});
  }

  explicit FenceWatch(const Napi::CallbackInfo& info) : Napi::ObjectWrap<FenceWatch>(info) {
    Napi::Env env = info.Env();
    int fd;
    uint32_t want;
    if (!GetFd(info, 0, &fd) || !GetUint32(info, 1, "access", &want)) return;
    if (info.Length() < 3 || !info[2].IsFunction()) {
      ThrowArgument(env, "onReady must be a function");
      return;
    }
    fd_ = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (fd_ < 0) {
      ThrowSyscall(env, "fcntl(F_DUPFD_CLOEXEC)", errno);
      return;
    }
    const char* failed = nullptr;
    if (int err = poll_.Start(env, fd_, want == kWantWrite ? UV_WRITABLE : UV_READABLE, OnPoll, this, &failed)) {
      Stop();
      ThrowSyscall(env, failed, err);
      return;
    }
    on_ready_ = Napi::Persistent(info[2].As<Napi::Function>());
    napi_value name = Napi::String::New(env, "bufshare:FenceWatch");
    if (napi_async_init(env, nullptr, name, &async_context_) != napi_ok) async_context_ = nullptr;
    Ref();
    alive_ = true;
  }

  ~FenceWatch() override {
    Stop();
    if (async_context_ != nullptr) napi_async_destroy(Env(), async_context_);
  }

 private:

  Napi::Value Cancel(const Napi::CallbackInfo& info) {
    Finish();
    return info.Env().Undefined();
  }

  static void OnPoll(uv_poll_t* handle, int status, int events) {
    FenceWatch* self = static_cast<FenceWatch*>(handle->data);
    if (self == nullptr) return;
    napi_env env = self->Env();
    Napi::HandleScope scope(self->Env());
    Napi::FunctionReference callback = std::move(self->on_ready_);
    napi_value recv = self->Value();
    self->Finish();  // once only: stop watching before JS runs
    if (callback.IsEmpty()) return;
    napi_value argv[1] = {Napi::Number::New(env, status)};
    napi_value result;
    napi_status st = napi_make_callback(env, self->async_context_, recv, callback.Value(), 1, argv, &result);
    if (st == napi_pending_exception) {
      napi_value err;
      napi_get_and_clear_last_exception(env, &err);
      napi_fatal_exception(env, err);
    }
  }

  void Stop() {
    poll_.Close();  // before the fd it watches
    if (fd_ >= 0) {
      close(fd_);
      fd_ = -1;
    }
  }

  void Finish() {
    Stop();
    on_ready_.Reset();
    if (alive_) {
      alive_ = false;
      Unref();
    }
  }

  int fd_ = -1;
  PollHandle poll_;
  bool alive_ = false;
  Napi::FunctionReference on_ready_;
  napi_async_context async_context_ = nullptr;
};

// vgemFenceAttach(drmFd, handle, write) -> fence id: a fence on the GEM object
// that signals on vgemFenceSignal (or by itself after 10 s).
static Napi::Value VgemFenceAttach(const Napi::CallbackInfo& info) {
  int fd;
  uint32_t handle;
  if (!GetFd(info, 0, &fd) || !GetUint32(info, 1, "handle", &handle)) return Napi::Value();
  bool write = info.Length() > 2 && info[2].ToBoolean().Value();
  drm_vgem_fence_attach arg = {handle, write ? kVgemFenceWrite : 0, 0, 0};
  if (ioctl(fd, kIoctlVgemFenceAttach, &arg) < 0) return ThrowSyscall(info.Env(), "ioctl(DRM_IOCTL_VGEM_FENCE_ATTACH)", errno);
  return Napi::Number::New(info.Env(), arg.out_fence);
}

static Napi::Value VgemFenceSignal(const Napi::CallbackInfo& info) {
  int fd;
  uint32_t fence;
  if (!GetFd(info, 0, &fd) || !GetUint32(info, 1, "fence", &fence)) return Napi::Value();
  drm_vgem_fence_signal arg = {fence, 0};
  if (ioctl(fd, kIoctlVgemFenceSignal, &arg) < 0) return ThrowSyscall(info.Env(), "ioctl(DRM_IOCTL_VGEM_FENCE_SIGNAL)", errno);
  return info.Env().Undefined();
}

// primeFdToHandle(drmFd, dmabufFd) -> GEM handle on drmFd (DRM_IOCTL_PRIME_FD_TO_HANDLE):
// how a test plays a client's GPU, importing a buffer to attach a vgem fence to it.
static Napi::Value PrimeFdToHandle(const Napi::CallbackInfo& info) {
  int fd, dmabuf;
  if (!GetFd(info, 0, &fd) || !GetFd(info, 1, &dmabuf)) return Napi::Value();
  struct {
    uint32_t handle;
    uint32_t flags;
    int32_t fd;
  } arg = {0, 0, dmabuf};
  if (ioctl(fd, _IOWR('d', 0x2e, arg), &arg) < 0) return ThrowSyscall(info.Env(), "ioctl(DRM_IOCTL_PRIME_FD_TO_HANDLE)", errno);
  return Napi::Number::New(info.Env(), arg.handle);
}

// exportSyncFile(dmabufFd, access) -> a sync_file fd holding the fences that
// `access` must wait for *now* (read: the write fences), or -1 where the kernel
// has no DMA_BUF_IOCTL_EXPORT_SYNC_FILE (before 6.0: ENOTTY) or the fd is not a
// dma-buf (ENOTTY). A snapshot: fences added to the buffer afterwards are not in
// it, so waiting on it is waiting on what the commit asked for, never on GPU work
// a client queued on its buffer later. poll(2) on it: POLLIN once all signalled.
static Napi::Value ExportSyncFile(const Napi::CallbackInfo& info) {
  int fd;
  uint32_t want;
  if (!GetFd(info, 0, &fd) || !GetUint32(info, 1, "access", &want)) return Napi::Value();
  struct dma_buf_export_sync_file arg = {};
  arg.flags = want == kWantWrite ? DMA_BUF_SYNC_RW : DMA_BUF_SYNC_READ;
  arg.fd = -1;
  int r;
  do r = ioctl(fd, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &arg);
  while (r < 0 && errno == EINTR);
  if (r < 0) {
    if (errno == ENOTTY || errno == EINVAL) return Napi::Number::New(info.Env(), -1);
    return ThrowSyscall(info.Env(), "ioctl(DMA_BUF_IOCTL_EXPORT_SYNC_FILE)", errno);
  }
  // The kernel gives it O_CLOEXEC already (sync_file's get_unused_fd_flags(O_CLOEXEC)).
  return Napi::Number::New(info.Env(), arg.fd);
}

void InitFence(Napi::Env env, Napi::Object exports) {
  exports.Set("exportSyncFile", Napi::Function::New(env, ExportSyncFile, "exportSyncFile"));
  exports.Set("primeFdToHandle", Napi::Function::New(env, PrimeFdToHandle, "primeFdToHandle"));
  exports.Set("dmabufReady", Napi::Function::New(env, DmabufReady, "dmabufReady"));
  exports.Set("FenceWatch", FenceWatch::Define(env));
  exports.Set("vgemFenceAttach", Napi::Function::New(env, VgemFenceAttach, "vgemFenceAttach"));
  exports.Set("vgemFenceSignal", Napi::Function::New(env, VgemFenceSignal, "vgemFenceSignal"));
}

}  // namespace bufshare
