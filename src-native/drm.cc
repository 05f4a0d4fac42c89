#include "drm.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "drm_abi.h"
#include "errors.h"

namespace bufshare {

namespace abi = drm_abi;

// ioctl retried on EINTR/EAGAIN, as libdrm's drmIoctl does.
static int DrmIoctl(int fd, unsigned long request, void* arg) {
  int r;
  do {
    r = ioctl(fd, request, arg);
  } while (r < 0 && (errno == EINTR || errno == EAGAIN));
  return r;
}

// drmOpen(path) -> fd, O_RDWR | O_CLOEXEC. O_NOCTTY because card nodes are ttys to nobody.
static Napi::Value Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) return ThrowArgument(env, "path must be a string");
  std::string path = info[0].As<Napi::String>().Utf8Value();
  int fd = open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return ThrowSyscall(env, "open(" + path + ")", errno);
  return Napi::Number::New(env, fd);
}

// drmVersion(fd) -> { major, minor, patchlevel, name, date, desc }. Two calls:
// the first asks for the lengths, the second fills buffers of that size.
static Napi::Value Version(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!GetFd(info, 0, &fd)) return Napi::Value();
  abi::drm_version v = {};
  if (DrmIoctl(fd, abi::IOCTL_VERSION, &v) < 0) return ThrowSyscall(env, "ioctl(DRM_IOCTL_VERSION)", errno);
  // Bound the lengths: a misbehaving driver must not make us allocate gigabytes.
  const size_t kMax = 4096;
  if (v.name_len > kMax || v.date_len > kMax || v.desc_len > kMax)
    return ThrowSyscall(env, "ioctl(DRM_IOCTL_VERSION)", EOVERFLOW);
  std::vector<char> name(v.name_len + 1), date(v.date_len + 1), desc(v.desc_len + 1);
  v.name = name.data();
  v.date = date.data();
  v.desc = desc.data();
  if (DrmIoctl(fd, abi::IOCTL_VERSION, &v) < 0) return ThrowSyscall(env, "ioctl(DRM_IOCTL_VERSION)", errno);
  Napi::Object o = Napi::Object::New(env);
  o.Set("major", v.version_major);
  o.Set("minor", v.version_minor);
  o.Set("patchlevel", v.version_patchlevel);
  o.Set("name", std::string(name.data(), std::min(v.name_len, name.size() - 1)));
  o.Set("date", std::string(date.data(), std::min(v.date_len, date.size() - 1)));
  o.Set("desc", std::string(desc.data(), std::min(v.desc_len, desc.size() - 1)));
  return o;
}

// drmGetCap(fd, cap) -> value (caps fit a double exactly: they are flags and small numbers).
static Napi::Value GetCap(const Napi::CallbackInfo& info) {
  int fd;
  uint32_t cap;
  if (!GetFd(info, 0, &fd) || !GetUint32(info, 1, "capability", &cap)) return Napi::Value();
  abi::drm_get_cap c = {};
  c.capability = cap;
  if (DrmIoctl(fd, abi::IOCTL_GET_CAP, &c) < 0) return ThrowSyscall(info.Env(), "ioctl(DRM_IOCTL_GET_CAP)", errno);
  return Napi::Number::New(info.Env(), static_cast<double>(c.value));
}

// drmCreateDumb(fd, width, height, bpp) -> { handle, pitch, size }.
static Napi::Value CreateDumb(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  uint32_t width, height, bpp;
  if (!GetFd(info, 0, &fd) || !GetUint32(info, 1, "width", &width) || !GetUint32(info, 2, "height", &height) ||
      !GetUint32(info, 3, "bpp", &bpp))
    return Napi::Value();
  abi::drm_mode_create_dumb c = {};
  c.width = width;
  c.height = height;
  c.bpp = bpp;
  if (DrmIoctl(fd, abi::IOCTL_MODE_CREATE_DUMB, &c) < 0)
    return ThrowSyscall(env, "ioctl(DRM_IOCTL_MODE_CREATE_DUMB)", errno);
  Napi::Object o = Napi::Object::New(env);
  o.Set("handle", Napi::Number::New(env, c.handle));
  o.Set("pitch", Napi::Number::New(env, c.pitch));
  o.Set("size", Napi::Number::New(env, static_cast<double>(c.size)));
  return o;
}

// drmMapDumb(fd, handle) -> the offset to mmap the card node at.
static Napi::Value MapDumb(const Napi::CallbackInfo& info) {
  int fd;
  uint32_t handle;
  if (!GetFd(info, 0, &fd) || !GetUint32(info, 1, "handle", &handle)) return Napi::Value();
  abi::drm_mode_map_dumb m = {};
  m.handle = handle;
  if (DrmIoctl(fd, abi::IOCTL_MODE_MAP_DUMB, &m) < 0)
    return ThrowSyscall(info.Env(), "ioctl(DRM_IOCTL_MODE_MAP_DUMB)", errno);
  return Napi::Number::New(info.Env(), static_cast<double>(m.offset));
}

static Napi::Value DestroyDumb(const Napi::CallbackInfo& info) {
  int fd;
  uint32_t handle;
  if (!GetFd(info, 0, &fd) || !GetUint32(info, 1, "handle", &handle)) return Napi::Value();
  abi::drm_mode_destroy_dumb d = {};
  d.handle = handle;
  if (DrmIoctl(fd, abi::IOCTL_MODE_DESTROY_DUMB, &d) < 0)
    return ThrowSyscall(info.Env(), "ioctl(DRM_IOCTL_MODE_DESTROY_DUMB)", errno);
  return info.Env().Undefined();
}

static Napi::Value GemClose(const Napi::CallbackInfo& info) {
  int fd;
  uint32_t handle;
  if (!GetFd(info, 0, &fd) || !GetUint32(info, 1, "handle", &handle)) return Napi::Value();
  abi::drm_gem_close c = {};
  c.handle = handle;
  if (DrmIoctl(fd, abi::IOCTL_GEM_CLOSE, &c) < 0) return ThrowSyscall(info.Env(), "ioctl(DRM_IOCTL_GEM_CLOSE)", errno);
  return info.Env().Undefined();
}

// drmPrimeHandleToFd(fd, handle, readWrite) -> dma-buf fd, always O_CLOEXEC.
// The read-only fallback is the caller's decision (it must tell clients).
static Napi::Value PrimeHandleToFd(const Napi::CallbackInfo& info) {
  int fd;
  uint32_t handle;
  if (!GetFd(info, 0, &fd) || !GetUint32(info, 1, "handle", &handle)) return Napi::Value();
  bool rdwr = info.Length() > 2 && info[2].ToBoolean().Value();
  abi::drm_prime_handle p = {};
  p.handle = handle;
  p.flags = O_CLOEXEC | (rdwr ? O_RDWR : 0);
  p.fd = -1;
  if (DrmIoctl(fd, abi::IOCTL_PRIME_HANDLE_TO_FD, &p) < 0)
    return ThrowSyscall(info.Env(), rdwr ? "ioctl(DRM_IOCTL_PRIME_HANDLE_TO_FD, DRM_RDWR)" : "ioctl(DRM_IOCTL_PRIME_HANDLE_TO_FD)", errno);
  return Napi::Number::New(info.Env(), p.fd);
}

void InitDrm(Napi::Env env, Napi::Object exports) {
  exports.Set("drmOpen", Napi::Function::New(env, Open, "drmOpen"));
  exports.Set("drmVersion", Napi::Function::New(env, Version, "drmVersion"));
  exports.Set("drmGetCap", Napi::Function::New(env, GetCap, "drmGetCap"));
  exports.Set("drmCreateDumb", Napi::Function::New(env, CreateDumb, "drmCreateDumb"));
  exports.Set("drmMapDumb", Napi::Function::New(env, MapDumb, "drmMapDumb"));
  exports.Set("drmDestroyDumb", Napi::Function::New(env, DestroyDumb, "drmDestroyDumb"));
  exports.Set("drmGemClose", Napi::Function::New(env, GemClose, "drmGemClose"));
  exports.Set("drmPrimeHandleToFd", Napi::Function::New(env, PrimeHandleToFd, "drmPrimeHandleToFd"));
  Napi::Object c = exports.Get("constants").As<Napi::Object>();
  c.Set("DRM_CAP_DUMB_BUFFER", abi::CAP_DUMB_BUFFER);
  c.Set("DRM_CAP_DUMB_PREFERRED_DEPTH", abi::CAP_DUMB_PREFERRED_DEPTH);
  c.Set("DRM_CAP_PRIME", abi::CAP_PRIME);
  c.Set("DRM_CAP_ADDFB2_MODIFIERS", abi::CAP_ADDFB2_MODIFIERS);
  c.Set("DRM_PRIME_CAP_IMPORT", abi::PRIME_CAP_IMPORT);
  c.Set("DRM_PRIME_CAP_EXPORT", abi::PRIME_CAP_EXPORT);
}

}  // namespace bufshare
