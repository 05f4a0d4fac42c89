#include "gbm.h"

#include <dlfcn.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "errors.h"
#include "sigbus.h"

namespace bufshare {

namespace {

// The slice of <gbm.h> we use (ABI-stable since Mesa 17).
struct gbm_device;
struct gbm_bo;
union gbm_bo_handle {
  void* ptr;
  int32_t s32;
  uint32_t u32;
  int64_t s64;
  uint64_t u64;
};

struct GbmApi {
  gbm_device* (*create_device)(int fd);
  void (*device_destroy)(gbm_device*);
  const char* (*device_get_backend_name)(gbm_device*);
  int (*device_is_format_supported)(gbm_device*, uint32_t format, uint32_t usage);
  gbm_bo* (*bo_create)(gbm_device*, uint32_t w, uint32_t h, uint32_t format, uint32_t flags);
  gbm_bo* (*bo_create_with_modifiers)(gbm_device*, uint32_t w, uint32_t h, uint32_t format, const uint64_t* mods,
                                      unsigned count);  // optional
  void (*bo_destroy)(gbm_bo*);
  gbm_bo_handle (*bo_get_handle)(gbm_bo*);
  uint32_t (*bo_get_stride)(gbm_bo*);
  uint32_t (*bo_get_offset)(gbm_bo*, int plane);     // optional
  uint64_t (*bo_get_modifier)(gbm_bo*);              // optional
  int (*bo_get_plane_count)(gbm_bo*);                // optional
  uint32_t (*bo_get_stride_for_plane)(gbm_bo*, int plane);  // optional
  int (*bo_get_fd)(gbm_bo*);
  void* (*bo_map)(gbm_bo*, uint32_t x, uint32_t y, uint32_t w, uint32_t h, uint32_t flags, uint32_t* stride,
                  void** map_data);
  void (*bo_unmap)(gbm_bo*, void* map_data);
};

GbmApi g_api;
bool g_loaded = false;
std::string g_load_error;

bool Load() {
  if (g_loaded) return true;
  if (!g_load_error.empty()) return false;
  void* lib = dlopen("libgbm.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char* e = dlerror();
    g_load_error = e ? e : "dlopen(libgbm.so.1) failed";
    return false;
  }
  bool missing = false;
  std::string missingName;
  auto need = [&](auto& fn, const char* name) {
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(lib, name));
    if (!fn && !missing) {
      missing = true;
      missingName = name;
    }
  };
  auto want = [&](auto& fn, const char* name) {
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(lib, name));
  };
  need(g_api.create_device, "gbm_create_device");
  need(g_api.device_destroy, "gbm_device_destroy");
  need(g_api.device_get_backend_name, "gbm_device_get_backend_name");
  need(g_api.device_is_format_supported, "gbm_device_is_format_supported");
  need(g_api.bo_create, "gbm_bo_create");
  want(g_api.bo_create_with_modifiers, "gbm_bo_create_with_modifiers");
  need(g_api.bo_destroy, "gbm_bo_destroy");
  need(g_api.bo_get_handle, "gbm_bo_get_handle");
  need(g_api.bo_get_stride, "gbm_bo_get_stride");
  want(g_api.bo_get_offset, "gbm_bo_get_offset");
  want(g_api.bo_get_modifier, "gbm_bo_get_modifier");
  want(g_api.bo_get_plane_count, "gbm_bo_get_plane_count");
  want(g_api.bo_get_stride_for_plane, "gbm_bo_get_stride_for_plane");
  need(g_api.bo_get_fd, "gbm_bo_get_fd");
  need(g_api.bo_map, "gbm_bo_map");
  need(g_api.bo_unmap, "gbm_bo_unmap");
  if (missing) {
    g_load_error = "libgbm.so.1 lacks " + missingName;
    dlclose(lib);
    return false;
  }
  g_loaded = true;  // never dlclose'd: buffer objects may outlive any one caller
  return true;
}

struct Device {
  gbm_device* dev;
  int bos = 0;
  bool closing = false;
};

struct BoMap;

struct Bo {
  gbm_bo* bo;
  uint32_t device;
  uint32_t width, height, format;
  std::unordered_set<BoMap*> maps;
};

// One gbm_bo_map, owned by its ArrayBuffer's finalizer (which deletes it).
struct BoMap {
  uint32_t bo;
  void* mapData;
  void* addr;
  size_t length;
  bool live;
  int guard;  // SIGBUS guard slot over the map's pages
  Napi::Reference<Napi::ArrayBuffer> buffer;  // weak: to detach it if the bo goes first
};

std::mutex g_mutex;
uint32_t g_next_id = 1;
std::unordered_map<uint32_t, Device> g_devices;
std::unordered_map<uint32_t, Bo> g_bos;
// Live maps by address. A multimap: gbm_bo_map may return the same address for
// two live maps of one bo (Mesa's dumb-buffer and kms_swrast paths keep one
// mapping per bo), so an address alone does not say which map an ArrayBuffer is.
std::unordered_multimap<void*, BoMap*> g_maps;

// A fresh id for a device or bo. Caller holds g_mutex. The counter wraps after
// 2^32 allocations (days of a client creating and destroying hardware surfaces
// in a long-lived compositor): an id still in use is skipped, never reassigned,
// so a wrapped id cannot overwrite a live entry (leaking its bo and handing
// another client's handle the new one). 0 is never an id.
uint32_t FreshIdLocked() {
  while (g_next_id == 0 || g_devices.count(g_next_id) != 0 || g_bos.count(g_next_id) != 0) g_next_id++;
  return g_next_id++;
}

Napi::Value ThrowNotAvailable(Napi::Env env) {
  Napi::Error e = Napi::Error::New(env, "libgbm not available: " + g_load_error);
  e.Set("code", Napi::String::New(env, "ERR_BUFSHARE_NOT_AVAILABLE"));
  e.ThrowAsJavaScriptException();
  return Napi::Value();
}

// A failed gbm call: GBM reports nothing but errno (often unset), so errno is
// passed on when set, else EINVAL ("the driver refused").
Napi::Value ThrowGbm(Napi::Env env, const char* call, int err) {
  return ThrowSyscall(env, call, err != 0 ? err : EINVAL);
}

// Caller holds g_mutex.
void ReleaseMapLocked(BoMap* m) {
  if (!m->live) return;
  m->live = false;
  auto range = g_maps.equal_range(m->addr);
  for (auto it = range.first; it != range.second; ++it) {
    if (it->second == m) {
      g_maps.erase(it);
      break;
    }
  }
  UnguardMapping(m->guard);
  m->guard = kNoGuard;
  auto it = g_bos.find(m->bo);
  if (it != g_bos.end()) {
    g_api.bo_unmap(it->second.bo, m->mapData);
    it->second.maps.erase(m);
  }
}

void MaybeDestroyDeviceLocked(uint32_t id) {
  auto it = g_devices.find(id);
  if (it == g_devices.end() || !it->second.closing || it->second.bos > 0) return;
  g_api.device_destroy(it->second.dev);
  g_devices.erase(it);
}

void FinalizeMap(Napi::Env, void*, BoMap* m) {
  std::lock_guard<std::mutex> lock(g_mutex);
  ReleaseMapLocked(m);
  delete m;
}

bool GetId(const Napi::CallbackInfo& info, size_t i, const char* name, uint32_t* out) {
  return GetUint32(info, i, name, out);
}

}  // namespace

// gbmLoad() -> true, or throws ERR_BUFSHARE_NOT_AVAILABLE with dlerror().
static Napi::Value GbmLoad(const Napi::CallbackInfo& info) {
  if (!Load()) return ThrowNotAvailable(info.Env());
  return Napi::Boolean::New(info.Env(), true);
}

// gbmCreateDevice(drmFd) -> device id. The fd must stay open while the device lives.
static Napi::Value CreateDevice(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Load()) return ThrowNotAvailable(env);
  int fd;
  if (!GetFd(info, 0, &fd)) return Napi::Value();
  errno = 0;
  gbm_device* dev = g_api.create_device(fd);
  if (!dev) return ThrowGbm(env, "gbm_create_device", errno);
  std::lock_guard<std::mutex> lock(g_mutex);
  uint32_t id = FreshIdLocked();
  g_devices[id] = Device{dev};
  return Napi::Number::New(env, id);
}

static Napi::Value DeviceBackend(const Napi::CallbackInfo& info) {
  uint32_t id;
  if (!GetId(info, 0, "device", &id)) return Napi::Value();
  std::lock_guard<std::mutex> lock(g_mutex);
  auto it = g_devices.find(id);
  if (it == g_devices.end() || it->second.closing) return ThrowArgument(info.Env(), "no such gbm device");
  const char* name = g_api.device_get_backend_name(it->second.dev);
  return Napi::String::New(info.Env(), name ? name : "");
}

static Napi::Value IsFormatSupported(const Napi::CallbackInfo& info) {
  uint32_t id, format, usage;
  if (!GetId(info, 0, "device", &id) || !GetUint32(info, 1, "format", &format) || !GetUint32(info, 2, "usage", &usage))
    return Napi::Value();
  std::lock_guard<std::mutex> lock(g_mutex);
  auto it = g_devices.find(id);
  if (it == g_devices.end() || it->second.closing) return ThrowArgument(info.Env(), "no such gbm device");
  return Napi::Boolean::New(info.Env(), g_api.device_is_format_supported(it->second.dev, format, usage) != 0);
}

// gbmDeviceDestroy(id): now, or when its last buffer object is destroyed.
static Napi::Value DeviceDestroy(const Napi::CallbackInfo& info) {
  uint32_t id;
  if (!GetId(info, 0, "device", &id)) return Napi::Value();
  std::lock_guard<std::mutex> lock(g_mutex);
  auto it = g_devices.find(id);
  if (it == g_devices.end() || it->second.closing) return ThrowArgument(info.Env(), "no such gbm device");
  it->second.closing = true;
  MaybeDestroyDeviceLocked(id);
  return info.Env().Undefined();
}

// gbmBoCreate(device, width, height, format, flags, modifiers?: bigint[]) -> bo id.
// With a non-empty modifier list, gbm_bo_create_with_modifiers (flags ignored, as GBM does).
static Napi::Value BoCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t id, width, height, format, flags;
  if (!GetId(info, 0, "device", &id) || !GetUint32(info, 1, "width", &width) || !GetUint32(info, 2, "height", &height) ||
      !GetUint32(info, 3, "format", &format) || !GetUint32(info, 4, "flags", &flags))
    return Napi::Value();
  std::vector<uint64_t> mods;
  if (info.Length() > 5 && !info[5].IsUndefined()) {
    if (!info[5].IsArray()) return ThrowArgument(env, "modifiers must be an array of bigints");
    Napi::Array a = info[5].As<Napi::Array>();
    if (a.Length() > 64) return ThrowArgument(env, "at most 64 modifiers");
    for (uint32_t i = 0; i < a.Length(); i++) {
      Napi::Value v = a.Get(i);
      if (!v.IsBigInt()) return ThrowArgument(env, "modifiers must be an array of bigints");
      bool lossless;
      mods.push_back(v.As<Napi::BigInt>().Uint64Value(&lossless));
      if (!lossless) return ThrowArgument(env, "modifier out of range");
    }
  }
  std::lock_guard<std::mutex> lock(g_mutex);
  auto it = g_devices.find(id);
  if (it == g_devices.end() || it->second.closing) return ThrowArgument(env, "no such gbm device");
  errno = 0;
  gbm_bo* bo;
  if (!mods.empty()) {
    if (!g_api.bo_create_with_modifiers) return ThrowSyscall(env, "gbm_bo_create_with_modifiers", ENOSYS);
    bo = g_api.bo_create_with_modifiers(it->second.dev, width, height, format, mods.data(),
                                        static_cast<unsigned>(mods.size()));
    if (!bo) return ThrowGbm(env, "gbm_bo_create_with_modifiers", errno);
  } else {
    bo = g_api.bo_create(it->second.dev, width, height, format, flags);
    if (!bo) return ThrowGbm(env, "gbm_bo_create", errno);
  }
  uint32_t boId = FreshIdLocked();
  g_bos[boId] = Bo{bo, id, width, height, format, {}};
  it->second.bos++;
  return Napi::Number::New(env, boId);
}

// gbmBoInfo(bo) -> { handle, stride, offset, modifier: bigint, planeCount, planes: [{offset, stride}] }.
// planes lists every plane (at most 4, DRM's limit); a modifier's aux planes
// live in the same dma-buf at their own offsets on the drivers Mesa supports.
static Napi::Value BoInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t id;
  if (!GetId(info, 0, "bo", &id)) return Napi::Value();
  std::lock_guard<std::mutex> lock(g_mutex);
  auto it = g_bos.find(id);
  if (it == g_bos.end()) return ThrowArgument(env, "no such gbm bo");
  gbm_bo* bo = it->second.bo;
  Napi::Object o = Napi::Object::New(env);
  o.Set("handle", Napi::Number::New(env, g_api.bo_get_handle(bo).u32));
  o.Set("stride", Napi::Number::New(env, g_api.bo_get_stride(bo)));
  o.Set("offset", Napi::Number::New(env, g_api.bo_get_offset ? g_api.bo_get_offset(bo, 0) : 0));
  // DRM_FORMAT_MOD_INVALID where the library cannot tell.
  uint64_t mod = g_api.bo_get_modifier ? g_api.bo_get_modifier(bo) : 0x00ffffffffffffffULL;
  o.Set("modifier", Napi::BigInt::New(env, mod));
  int planeCount = g_api.bo_get_plane_count ? g_api.bo_get_plane_count(bo) : 1;
  o.Set("planeCount", Napi::Number::New(env, planeCount));
  Napi::Array planes = Napi::Array::New(env);
  for (int i = 0; i < planeCount && i < 4; i++) {
    Napi::Object p = Napi::Object::New(env);
    p.Set("offset", Napi::Number::New(env, g_api.bo_get_offset ? g_api.bo_get_offset(bo, i) : 0));
    uint32_t stride = g_api.bo_get_stride_for_plane ? g_api.bo_get_stride_for_plane(bo, i)
                      : (i == 0 ? g_api.bo_get_stride(bo) : 0);
    p.Set("stride", Napi::Number::New(env, stride));
    planes.Set(static_cast<uint32_t>(i), p);
  }
  o.Set("planes", planes);
  return o;
}

// gbmBoGetFd(bo) -> dma-buf fd. Mesa exports it read-only (O_CLOEXEC without
// O_RDWR): export writable fds through PRIME first (see docs/design.md).
static Napi::Value BoGetFd(const Napi::CallbackInfo& info) {
  uint32_t id;
  if (!GetId(info, 0, "bo", &id)) return Napi::Value();
  std::lock_guard<std::mutex> lock(g_mutex);
  auto it = g_bos.find(id);
  if (it == g_bos.end()) return ThrowArgument(info.Env(), "no such gbm bo");
  errno = 0;
  int fd = g_api.bo_get_fd(it->second.bo);
  if (fd < 0) return ThrowGbm(info.Env(), "gbm_bo_get_fd", errno);
  return Napi::Number::New(info.Env(), fd);
}

// gbmBoMap(bo, write) -> { buffer: ArrayBuffer, stride } over the whole buffer.
// The stride is gbm_bo_map's own: a staging copy may use another than the bo's.
static Napi::Value BoMapFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t id;
  if (!GetId(info, 0, "bo", &id)) return Napi::Value();
  bool write = info.Length() > 1 && info[1].ToBoolean().Value();
  std::unique_lock<std::mutex> lock(g_mutex);
  auto it = g_bos.find(id);
  if (it == g_bos.end()) return ThrowArgument(env, "no such gbm bo");
  Bo& b = it->second;
  uint32_t stride = 0;
  void* mapData = nullptr;
  const uint32_t kRead = 1 << 0, kWrite = 1 << 1;  // GBM_BO_TRANSFER_*
  errno = 0;
  void* addr = g_api.bo_map(b.bo, 0, 0, b.width, b.height, write ? (kRead | kWrite) : kRead, &stride, &mapData);
  if (!addr || addr == reinterpret_cast<void*>(-1)) return ThrowGbm(env, "gbm_bo_map", errno);
  size_t length = static_cast<size_t>(stride) * b.height;
  // Guarded like every mapping of client-drawn memory: a client holding the bo's
  // dma-buf can import it on its own DRM fd and mark it purgeable (panfrost,
  // lima, msm), and an unplug faults any map. The guard covers the whole pages
  // the map's bytes lie in: those belong to the map's own mapping (a staging
  // copy in the heap cannot fault at all), and the handler needs page bounds.
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t first = reinterpret_cast<uintptr_t>(addr) & ~(page - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(addr) + length + page - 1) & ~(page - 1);
  const int guard = GuardMapping(reinterpret_cast<void*>(first), end - first, PROT_READ | (write ? PROT_WRITE : 0));
  if (guard == kNoGuard) {
    const int err = errno;
    g_api.bo_unmap(b.bo, mapData);
    // Never hand out an unguarded map of memory that can fault.
    return ThrowSyscall(env, err == ENOSPC ? "gbm_bo_map (SIGBUS guard table full)" : "sigaction(SIGBUS)", err);
  }
  BoMap* m = new BoMap{id, mapData, addr, length, true, guard, {}};
  b.maps.insert(m);
  g_maps.emplace(addr, m);
  lock.unlock();
  Napi::ArrayBuffer ab;
  try {
    ab = Napi::ArrayBuffer::New(env, addr, length, FinalizeMap, m);
  } catch (...) {
    // No ArrayBuffer owns the map (external buffers refused, out of memory): undo it here.
    std::lock_guard<std::mutex> relock(g_mutex);
    ReleaseMapLocked(m);
    delete m;
    throw;
  }
  m->buffer = Napi::Weak(ab);
  Napi::Object o = Napi::Object::New(env);
  o.Set("buffer", ab);
  o.Set("stride", Napi::Number::New(env, stride));
  return o;
}

// gbmBoUnmap(ab) -> true if it was live (now detached and unmapped), false if already unmapped.
static Napi::Value BoUnmap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArrayBuffer()) return ThrowArgument(env, "expected an ArrayBuffer");
  Napi::ArrayBuffer ab = info[0].As<Napi::ArrayBuffer>();
  if (ab.IsDetached()) return Napi::Boolean::New(env, false);
  std::lock_guard<std::mutex> lock(g_mutex);
  BoMap* found = nullptr;
  auto range = g_maps.equal_range(ab.Data());
  for (auto it = range.first; it != range.second && !found; ++it) {
    BoMap* m = it->second;
    if (m->length == ab.ByteLength() && !m->buffer.IsEmpty() && m->buffer.Value().StrictEquals(ab)) found = m;
  }
  if (!found) return ThrowArgument(env, "not an ArrayBuffer mapped by gbmBoMap");
  ab.Detach();
  ReleaseMapLocked(found);
  return Napi::Boolean::New(env, true);
}

// gbmMapFaulted(ab) -> true once the SIGBUS guard replaced the map's pages with
// zeros (the bo's memory went away under it); false for a live map that did not
// fault or one already unmapped.
static Napi::Value MapFaulted(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArrayBuffer()) return ThrowArgument(env, "expected an ArrayBuffer");
  Napi::ArrayBuffer ab = info[0].As<Napi::ArrayBuffer>();
  if (ab.IsDetached()) return Napi::Boolean::New(env, false);
  std::lock_guard<std::mutex> lock(g_mutex);
  auto range = g_maps.equal_range(ab.Data());
  for (auto it = range.first; it != range.second; ++it) {
    BoMap* m = it->second;
    if (m->length == ab.ByteLength() && !m->buffer.IsEmpty() && m->buffer.Value().StrictEquals(ab)) return Napi::Boolean::New(env, MappingFaulted(m->guard));
  }
  return ThrowArgument(env, "not an ArrayBuffer mapped by gbmBoMap");
}

// gbmBoDestroy(bo): detaches and unmaps any map still live, then destroys.
static Napi::Value BoDestroy(const Napi::CallbackInfo& info) {
  uint32_t id;
  if (!GetId(info, 0, "bo", &id)) return Napi::Value();
  std::lock_guard<std::mutex> lock(g_mutex);
  auto it = g_bos.find(id);
  if (it == g_bos.end()) return ThrowArgument(info.Env(), "no such gbm bo");
  for (BoMap* m : std::vector<BoMap*>(it->second.maps.begin(), it->second.maps.end())) {
    if (!m->buffer.IsEmpty()) {
      Napi::ArrayBuffer ab = m->buffer.Value();
      if (!ab.IsEmpty() && !ab.IsDetached()) ab.Detach();
    }
    ReleaseMapLocked(m);
  }
  uint32_t device = it->second.device;
  g_api.bo_destroy(it->second.bo);
  g_bos.erase(it);
  auto d = g_devices.find(device);
  if (d != g_devices.end()) d->second.bos--;
  MaybeDestroyDeviceLocked(device);
  return info.Env().Undefined();
}

void InitGbm(Napi::Env env, Napi::Object exports) {
  exports.Set("gbmLoad", Napi::Function::New(env, GbmLoad, "gbmLoad"));
  exports.Set("gbmCreateDevice", Napi::Function::New(env, CreateDevice, "gbmCreateDevice"));
  exports.Set("gbmDeviceBackend", Napi::Function::New(env, DeviceBackend, "gbmDeviceBackend"));
  exports.Set("gbmIsFormatSupported", Napi::Function::New(env, IsFormatSupported, "gbmIsFormatSupported"));
  exports.Set("gbmDeviceDestroy", Napi::Function::New(env, DeviceDestroy, "gbmDeviceDestroy"));
  exports.Set("gbmBoCreate", Napi::Function::New(env, BoCreate, "gbmBoCreate"));
  exports.Set("gbmBoInfo", Napi::Function::New(env, BoInfo, "gbmBoInfo"));
  exports.Set("gbmBoGetFd", Napi::Function::New(env, BoGetFd, "gbmBoGetFd"));
  exports.Set("gbmBoMap", Napi::Function::New(env, BoMapFn, "gbmBoMap"));
  exports.Set("gbmBoUnmap", Napi::Function::New(env, BoUnmap, "gbmBoUnmap"));
  exports.Set("gbmMapFaulted", Napi::Function::New(env, MapFaulted, "gbmMapFaulted"));
  exports.Set("gbmBoDestroy", Napi::Function::New(env, BoDestroy, "gbmBoDestroy"));
  Napi::Object c = exports.Get("constants").As<Napi::Object>();
  c.Set("GBM_BO_USE_SCANOUT", 1 << 0);
  c.Set("GBM_BO_USE_RENDERING", 1 << 2);
  c.Set("GBM_BO_USE_WRITE", 1 << 3);
  c.Set("GBM_BO_USE_LINEAR", 1 << 4);
}

}  // namespace bufshare
