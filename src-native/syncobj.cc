#include "syncobj.h"

#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "errors.h"

namespace bufshare {

namespace {

// DRM UAPI (include/uapi/drm/drm.h), declared here: no -dev package at build time.
struct drm_syncobj_create {
  uint32_t handle;
  uint32_t flags;
};
struct drm_syncobj_destroy {
  uint32_t handle;
  uint32_t pad;
};
struct drm_syncobj_handle {
  uint32_t handle;
  uint32_t flags;
  int32_t fd;
  uint32_t pad;
};
struct drm_syncobj_timeline_array {
  uint64_t handles;
  uint64_t points;
  uint32_t count_handles;
  uint32_t flags;
};
struct drm_syncobj_eventfd {
  uint32_t handle;
  uint32_t flags;
  uint64_t point;
  int32_t fd;
  uint32_t pad;
};
constexpr unsigned long kCreate = _IOWR('d', 0xBF, struct drm_syncobj_create);
constexpr unsigned long kDestroy = _IOWR('d', 0xC0, struct drm_syncobj_destroy);
constexpr unsigned long kHandleToFd = _IOWR('d', 0xC1, struct drm_syncobj_handle);
constexpr unsigned long kFdToHandle = _IOWR('d', 0xC2, struct drm_syncobj_handle);
constexpr unsigned long kQuery = _IOWR('d', 0xCB, struct drm_syncobj_timeline_array);
constexpr unsigned long kTimelineSignal = _IOWR('d', 0xCD, struct drm_syncobj_timeline_array);
constexpr unsigned long kEventfd = _IOWR('d', 0xCF, struct drm_syncobj_eventfd);

int Ioctl(int fd, unsigned long request, void* arg) {
  int r;
  do r = ioctl(fd, request, arg);
  while (r < 0 && (errno == EINTR || errno == EAGAIN));
  return r;
}

bool GetPoint(const Napi::CallbackInfo& info, size_t i, uint64_t* out) {
  if (info.Length() <= i || !info[i].IsBigInt()) {
    ThrowArgument(info.Env(), "point must be a bigint");
    return false;
  }
  bool lossless = false;
  *out = info[i].As<Napi::BigInt>().Uint64Value(&lossless);
  if (!lossless) {
    ThrowArgument(info.Env(), "point must be a bigint in 0..2^64-1");
    return false;
  }
  return true;
}

}  // namespace

// syncobjCreate(drmFd) -> handle (a timeline where the driver supports them).
static Napi::Value Create(const Napi::CallbackInfo& info) {
  int fd;
  if (!GetFd(info, 0, &fd)) return Napi::Value();
  drm_syncobj_create arg = {};
  if (Ioctl(fd, kCreate, &arg) < 0) return ThrowSyscall(info.Env(), "ioctl(DRM_IOCTL_SYNCOBJ_CREATE)", errno);
  return Napi::Number::New(info.Env(), arg.handle);
}

// syncobjDestroy(drmFd, handle)
static Napi::Value Destroy(const Napi::CallbackInfo& info) {
  int fd;
  uint32_t handle;
  if (!GetFd(info, 0, &fd) || !GetUint32(info, 1, "handle", &handle)) return Napi::Value();
  drm_syncobj_destroy arg = {handle, 0};
  if (Ioctl(fd, kDestroy, &arg) < 0) return ThrowSyscall(info.Env(), "ioctl(DRM_IOCTL_SYNCOBJ_DESTROY)", errno);
  return info.Env().Undefined();
}

// syncobjHandleToFd(drmFd, handle) -> fd (O_CLOEXEC), the syncobj's own fd (not a sync_file).
static Napi::Value HandleToFd(const Napi::CallbackInfo& info) {
  int fd;
  uint32_t handle;
  if (!GetFd(info, 0, &fd) || !GetUint32(info, 1, "handle", &handle)) return Napi::Value();
  drm_syncobj_handle arg = {handle, 0, -1, 0};
  if (Ioctl(fd, kHandleToFd, &arg) < 0) return ThrowSyscall(info.Env(), "ioctl(DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD)", errno);
  return Napi::Number::New(info.Env(), arg.fd);
}

// syncobjFdToHandle(drmFd, syncobjFd) -> handle on drmFd. The fd stays the caller's.
static Napi::Value FdToHandle(const Napi::CallbackInfo& info) {
  int fd, syncobjFd;
  if (!GetFd(info, 0, &fd) || !GetFd(info, 1, &syncobjFd)) return Napi::Value();
  drm_syncobj_handle arg = {0, 0, syncobjFd, 0};
  if (Ioctl(fd, kFdToHandle, &arg) < 0) return ThrowSyscall(info.Env(), "ioctl(DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE)", errno);
  return Napi::Number::New(info.Env(), arg.handle);
}

// syncobjQuery(drmFd, handle) -> bigint: the timeline's last signalled point.
static Napi::Value Query(const Napi::CallbackInfo& info) {
  int fd;
  uint32_t handle;
  if (!GetFd(info, 0, &fd) || !GetUint32(info, 1, "handle", &handle)) return Napi::Value();
  uint64_t point = 0;
  drm_syncobj_timeline_array arg = {reinterpret_cast<uintptr_t>(&handle), reinterpret_cast<uintptr_t>(&point), 1, 0};
  if (Ioctl(fd, kQuery, &arg) < 0) return ThrowSyscall(info.Env(), "ioctl(DRM_IOCTL_SYNCOBJ_QUERY)", errno);
  return Napi::BigInt::New(info.Env(), point);
}

// syncobjTimelineSignal(drmFd, handle, point): signals `point` now, from the CPU.
static Napi::Value TimelineSignal(const Napi::CallbackInfo& info) {
  int fd;
  uint32_t handle;
  uint64_t point;
  if (!GetFd(info, 0, &fd) || !GetUint32(info, 1, "handle", &handle) || !GetPoint(info, 2, &point)) return Napi::Value();
  drm_syncobj_timeline_array arg = {reinterpret_cast<uintptr_t>(&handle), reinterpret_cast<uintptr_t>(&point), 1, 0};
  if (Ioctl(fd, kTimelineSignal, &arg) < 0) return ThrowSyscall(info.Env(), "ioctl(DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL)", errno);
  return info.Env().Undefined();
}

// syncobjEventfd(drmFd, handle, point) -> a non-blocking eventfd (O_CLOEXEC) that
// becomes readable once `point` signalled (DRM_IOCTL_SYNCOBJ_EVENTFD, Linux 6.6+:
// ENOTTY/EINVAL before). The caller polls it on the loop and closes it.
static Napi::Value Eventfd(const Napi::CallbackInfo& info) {
  int fd;
  uint32_t handle;
  uint64_t point;
  if (!GetFd(info, 0, &fd) || !GetUint32(info, 1, "handle", &handle) || !GetPoint(info, 2, &point)) return Napi::Value();
  int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (efd < 0) return ThrowSyscall(info.Env(), "eventfd", errno);
  drm_syncobj_eventfd arg = {handle, 0, point, efd, 0};
  if (Ioctl(fd, kEventfd, &arg) < 0) {
    int err = errno;
    close(efd);
    return ThrowSyscall(info.Env(), "ioctl(DRM_IOCTL_SYNCOBJ_EVENTFD)", err);
  }
  return Napi::Number::New(info.Env(), efd);
}

void InitSyncobj(Napi::Env env, Napi::Object exports) {
  exports.Set("syncobjCreate", Napi::Function::New(env, Create, "syncobjCreate"));
  exports.Set("syncobjDestroy", Napi::Function::New(env, Destroy, "syncobjDestroy"));
  exports.Set("syncobjHandleToFd", Napi::Function::New(env, HandleToFd, "syncobjHandleToFd"));
  exports.Set("syncobjFdToHandle", Napi::Function::New(env, FdToHandle, "syncobjFdToHandle"));
  exports.Set("syncobjQuery", Napi::Function::New(env, Query, "syncobjQuery"));
  exports.Set("syncobjTimelineSignal", Napi::Function::New(env, TimelineSignal, "syncobjTimelineSignal"));
  exports.Set("syncobjEventfd", Napi::Function::New(env, Eventfd, "syncobjEventfd"));
}

}  // namespace bufshare
