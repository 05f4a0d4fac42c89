#include "kms.h"

#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "errors.h"
#include "kms_abi.h"

namespace bufshare {

namespace abi = kms_abi;

namespace {

// Bounds on what a driver's answer may make us allocate: a misbehaving or
// hot-plugging driver must not make us allocate gigabytes.
constexpr uint32_t kMaxObjects = 4096;
constexpr uint32_t kMaxBlob = 16u << 20;

int Ioctl(int fd, unsigned long request, void* arg) {
  int r;
  do {
    r = ioctl(fd, request, arg);
  } while (r < 0 && (errno == EINTR || errno == EAGAIN));
  return r;
}

template <typename T>
uint64_t Ptr(std::vector<T>& v) {
  return v.empty() ? 0 : reinterpret_cast<uint64_t>(v.data());
}

Napi::Array Ids(Napi::Env env, const std::vector<uint32_t>& ids, size_t n) {
  Napi::Array a = Napi::Array::New(env, n);
  for (size_t i = 0; i < n; i++) a.Set(static_cast<uint32_t>(i), Napi::Number::New(env, ids[i]));
  return a;
}

std::string FixedString(const char* s, size_t max) {
  return std::string(s, strnlen(s, max));
}

Napi::Object Mode(Napi::Env env, const abi::drm_mode_modeinfo& m) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("name", FixedString(m.name, sizeof m.name));
  o.Set("clock", m.clock);
  o.Set("hdisplay", m.hdisplay);
  o.Set("hsyncStart", m.hsync_start);
  o.Set("hsyncEnd", m.hsync_end);
  o.Set("htotal", m.htotal);
  o.Set("vdisplay", m.vdisplay);
  o.Set("vsyncStart", m.vsync_start);
  o.Set("vsyncEnd", m.vsync_end);
  o.Set("vtotal", m.vtotal);
  o.Set("vrefresh", m.vrefresh);
  o.Set("flags", m.flags);
  o.Set("type", m.type);
  // The kernel's own bytes: what SETCRTC and the MODE_ID blob take back unchanged.
  Napi::Uint8Array raw = Napi::Uint8Array::New(env, sizeof m);
  memcpy(raw.Data(), &m, sizeof m);
  o.Set("raw", raw);
  return o;
}

bool GetTyped(const Napi::CallbackInfo& info, size_t i, napi_typedarray_type type, const char* what,
              Napi::TypedArray* out) {
  if (info.Length() <= i || !info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != type) {
    ThrowArgument(info.Env(), std::string(what));
    return false;
  }
  *out = info[i].As<Napi::TypedArray>();
  return true;
}

bool GetU64(const Napi::CallbackInfo& info, size_t i, const char* name, uint64_t* out) {
  if (info.Length() > i && info[i].IsBigInt()) {
    bool lossless;
    *out = info[i].As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless) {
      ThrowArgument(info.Env(), std::string(name) + " must fit in 64 bits");
      return false;
    }
    return true;
  }
  return GetSize(info, i, name, out);
}

// --- DRM master ---------------------------------------------------------------

// drmIsMaster(fd): AUTH_MAGIC needs master and checks that before the magic, so
// magic 0 fails with EACCES on a non-master and with another error on a master
// (libdrm's drmIsMaster uses the same test).
Napi::Value IsMaster(const Napi::CallbackInfo& info) {
  int fd;
  if (!GetFd(info, 0, &fd)) return Napi::Value();
  abi::drm_auth a = {};
  int r = Ioctl(fd, abi::IOCTL_AUTH_MAGIC, &a);
  return Napi::Boolean::New(info.Env(), !(r < 0 && errno == EACCES));
}

Napi::Value DropMaster(const Napi::CallbackInfo& info) {
  int fd;
  if (!GetFd(info, 0, &fd)) return Napi::Value();
  if (Ioctl(fd, abi::IOCTL_DROP_MASTER, nullptr) < 0) return ThrowSyscall(info.Env(), "ioctl(DRM_IOCTL_DROP_MASTER)", errno);
  return info.Env().Undefined();
}

Napi::Value SetMaster(const Napi::CallbackInfo& info) {
  int fd;
  if (!GetFd(info, 0, &fd)) return Napi::Value();
  if (Ioctl(fd, abi::IOCTL_SET_MASTER, nullptr) < 0) return ThrowSyscall(info.Env(), "ioctl(DRM_IOCTL_SET_MASTER)", errno);
  return info.Env().Undefined();
}

Napi::Value SetClientCap(const Napi::CallbackInfo& info) {
  int fd;
  uint32_t cap, value;
  if (!GetFd(info, 0, &fd) || !GetUint32(info, 1, "capability", &cap) || !GetUint32(info, 2, "value", &value))
    return Napi::Value();
  abi::drm_set_client_cap c = {cap, value};
  if (Ioctl(fd, abi::IOCTL_SET_CLIENT_CAP, &c) < 0)
    return ThrowSyscall(info.Env(), "ioctl(DRM_IOCTL_SET_CLIENT_CAP)", errno);
  return info.Env().Undefined();
}

// --- discovery ------------------------------------------------------------------

// Counts can grow between the two calls (hotplug): retry until one pass fits.
Napi::Value GetResources(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!GetFd(info, 0, &fd)) return Napi::Value();
  std::vector<uint32_t> crtcs, connectors, encoders;
  abi::drm_mode_card_res r;
  for (int attempt = 0;; attempt++) {
    r = {};
    if (Ioctl(fd, abi::IOCTL_MODE_GETRESOURCES, &r) < 0) return ThrowSyscall(env, "ioctl(DRM_IOCTL_MODE_GETRESOURCES)", errno);
    if (r.count_crtcs > kMaxObjects || r.count_connectors > kMaxObjects || r.count_encoders > kMaxObjects)
      return ThrowSyscall(env, "ioctl(DRM_IOCTL_MODE_GETRESOURCES)", EOVERFLOW);
    uint32_t nc = r.count_crtcs, nn = r.count_connectors, ne = r.count_encoders;
    crtcs.assign(nc, 0);
    connectors.assign(nn, 0);
    encoders.assign(ne, 0);
    r.count_fbs = 0;
    r.crtc_id_ptr = Ptr(crtcs);
    r.connector_id_ptr = Ptr(connectors);
    r.encoder_id_ptr = Ptr(encoders);
    if (Ioctl(fd, abi::IOCTL_MODE_GETRESOURCES, &r) < 0) return ThrowSyscall(env, "ioctl(DRM_IOCTL_MODE_GETRESOURCES)", errno);
    if (r.count_crtcs <= nc && r.count_connectors <= nn && r.count_encoders <= ne) break;
    if (attempt == 8) return ThrowSyscall(env, "ioctl(DRM_IOCTL_MODE_GETRESOURCES)", EAGAIN);
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("crtcs", Ids(env, crtcs, r.count_crtcs));
  o.Set("connectors", Ids(env, connectors, r.count_connectors));
  o.Set("encoders", Ids(env, encoders, r.count_encoders));
  o.Set("minWidth", r.min_width);
  o.Set("maxWidth", r.max_width);
  o.Set("minHeight", r.min_height);
  o.Set("maxHeight", r.max_height);
  return o;
}

// getConnector(fd, id): the first call with no room for modes makes the kernel
// probe the output (as libdrm's drmModeGetConnector does).
Napi::Value GetConnector(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  uint32_t id;
  if (!GetFd(info, 0, &fd) || !GetUint32(info, 1, "connectorId", &id)) return Napi::Value();
  std::vector<abi::drm_mode_modeinfo> modes;
  std::vector<uint32_t> encoders;
  abi::drm_mode_get_connector c;
  for (int attempt = 0;; attempt++) {
    c = {};
    c.connector_id = id;
    if (Ioctl(fd, abi::IOCTL_MODE_GETCONNECTOR, &c) < 0) return ThrowSyscall(env, "ioctl(DRM_IOCTL_MODE_GETCONNECTOR)", errno);
    if (c.count_modes > kMaxObjects || c.count_encoders > kMaxObjects)
      return ThrowSyscall(env, "ioctl(DRM_IOCTL_MODE_GETCONNECTOR)", EOVERFLOW);
    uint32_t nm = c.count_modes, ne = c.count_encoders;
    modes.assign(nm, abi::drm_mode_modeinfo{});
    encoders.assign(ne, 0);
    c.count_props = 0;
    c.props_ptr = 0;
    c.prop_values_ptr = 0;
    c.modes_ptr = Ptr(modes);
    c.encoders_ptr = Ptr(encoders);
    if (Ioctl(fd, abi::IOCTL_MODE_GETCONNECTOR, &c) < 0) return ThrowSyscall(env, "ioctl(DRM_IOCTL_MODE_GETCONNECTOR)", errno);
    if (c.count_modes <= nm && c.count_encoders <= ne) break;
    if (attempt == 8) return ThrowSyscall(env, "ioctl(DRM_IOCTL_MODE_GETCONNECTOR)", EAGAIN);
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("id", c.connector_id);
  o.Set("type", c.connector_type);
  o.Set("typeId", c.connector_type_id);
  o.Set("connection", c.connection);
  o.Set("mmWidth", c.mm_width);
  o.Set("mmHeight", c.mm_height);
  o.Set("subpixel", c.subpixel);
  o.Set("encoderId", c.encoder_id);
  o.Set("encoders", Ids(env, encoders, c.count_encoders));
  Napi::Array ms = Napi::Array::New(env, c.count_modes);
  for (uint32_t i = 0; i < c.count_modes; i++) ms.Set(i, Mode(env, modes[i]));
  o.Set("modes", ms);
  return o;
}

Napi::Value GetEncoder(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  uint32_t id;
  if (!GetFd(info, 0, &fd) || !GetUint32(info, 1, "encoderId", &id)) return Napi::Value();
  abi::drm_mode_get_encoder e = {};
  e.encoder_id = id;
  if (Ioctl(fd, abi::IOCTL_MODE_GETENCODER, &e) < 0) return ThrowSyscall(env, "ioctl(DRM_IOCTL_MODE_GETENCODER)", errno);
  Napi::Object o = Napi::Object::New(env);
  o.Set("id", e.encoder_id);
  o.Set("type", e.encoder_type);
  o.Set("crtcId", e.crtc_id);
  o.Set("possibleCrtcs", e.possible_crtcs);
  return o;
}

Napi::Value GetCrtc(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  uint32_t id;
  if (!GetFd(info, 0, &fd) || !GetUint32(info, 1, "crtcId", &id)) return Napi::Value();
  abi::drm_mode_crtc c = {};
  c.crtc_id = id;
  if (Ioctl(fd, abi::IOCTL_MODE_GETCRTC, &c) < 0) return ThrowSyscall(env, "ioctl(DRM_IOCTL_MODE_GETCRTC)", errno);
  Napi::Object o = Napi::Object::New(env);
  o.Set("id", c.crtc_id);
  o.Set("fbId", c.fb_id);
  o.Set("x", c.x);
  o.Set("y", c.y);
  o.Set("gammaSize", c.gamma_size);
  o.Set("mode", c.mode_valid ? Napi::Value(Mode(env, c.mode)) : env.Null());
  return o;
}

Napi::Value GetPlaneIds(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!GetFd(info, 0, &fd)) return Napi::Value();
  std::vector<uint32_t> ids;
  abi::drm_mode_get_plane_res r;
  for (int attempt = 0;; attempt++) {
    r = {};
    if (Ioctl(fd, abi::IOCTL_MODE_GETPLANERESOURCES, &r) < 0)
      return ThrowSyscall(env, "ioctl(DRM_IOCTL_MODE_GETPLANERESOURCES)", errno);
    if (r.count_planes > kMaxObjects) return ThrowSyscall(env, "ioctl(DRM_IOCTL_MODE_GETPLANERESOURCES)", EOVERFLOW);
    uint32_t n = r.count_planes;
    ids.assign(n, 0);
    r.plane_id_ptr = Ptr(ids);
    if (Ioctl(fd, abi::IOCTL_MODE_GETPLANERESOURCES, &r) < 0)
      return ThrowSyscall(env, "ioctl(DRM_IOCTL_MODE_GETPLANERESOURCES)", errno);
    if (r.count_planes <= n) break;
    if (attempt == 8) return ThrowSyscall(env, "ioctl(DRM_IOCTL_MODE_GETPLANERESOURCES)", EAGAIN);
  }
  return Ids(env, ids, r.count_planes);
}

Napi::Value GetPlane(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  uint32_t id;
  if (!GetFd(info, 0, &fd) || !GetUint32(info, 1, "planeId", &id)) return Napi::Value();
  std::vector<uint32_t> formats;
  abi::drm_mode_get_plane p;
  for (int attempt = 0;; attempt++) {
    p = {};
    p.plane_id = id;
    if (Ioctl(fd, abi::IOCTL_MODE_GETPLANE, &p) < 0) return ThrowSyscall(env, "ioctl(DRM_IOCTL_MODE_GETPLANE)", errno);
    if (p.count_format_types > kMaxObjects) return ThrowSyscall(env, "ioctl(DRM_IOCTL_MODE_GETPLANE)", EOVERFLOW);
    uint32_t n = p.count_format_types;
    formats.assign(n, 0);
    p.format_type_ptr = Ptr(formats);
    if (Ioctl(fd, abi::IOCTL_MODE_GETPLANE, &p) < 0) return ThrowSyscall(env, "ioctl(DRM_IOCTL_MODE_GETPLANE)", errno);
    if (p.count_format_types <= n) break;
    if (attempt == 8) return ThrowSyscall(env, "ioctl(DRM_IOCTL_MODE_GETPLANE)", EAGAIN);
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("id", p.plane_id);
  o.Set("crtcId", p.crtc_id);
  o.Set("fbId", p.fb_id);
  o.Set("possibleCrtcs", p.possible_crtcs);
  o.Set("formats", Ids(env, formats, p.count_format_types));
  return o;
}

// getProperties(fd, objectId, objectType) -> { ids: number[], values: bigint[] }.
Napi::Value GetProperties(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  uint32_t id, type;
  if (!GetFd(info, 0, &fd) || !GetUint32(info, 1, "objectId", &id) || !GetUint32(info, 2, "objectType", &type))
    return Napi::Value();
  std::vector<uint32_t> ids;
  std::vector<uint64_t> values;
  abi::drm_mode_obj_get_properties g;
  for (int attempt = 0;; attempt++) {
    g = {};
    g.obj_id = id;
    g.obj_type = type;
    if (Ioctl(fd, abi::IOCTL_MODE_OBJ_GETPROPERTIES, &g) < 0)
      return ThrowSyscall(env, "ioctl(DRM_IOCTL_MODE_OBJ_GETPROPERTIES)", errno);
    if (g.count_props > kMaxObjects) return ThrowSyscall(env, "ioctl(DRM_IOCTL_MODE_OBJ_GETPROPERTIES)", EOVERFLOW);
    uint32_t n = g.count_props;
    ids.assign(n, 0);
    values.assign(n, 0);
    g.props_ptr = Ptr(ids);
    g.prop_values_ptr = Ptr(values);
    if (Ioctl(fd, abi::IOCTL_MODE_OBJ_GETPROPERTIES, &g) < 0)
      return ThrowSyscall(env, "ioctl(DRM_IOCTL_MODE_OBJ_GETPROPERTIES)", errno);
    if (g.count_props <= n) break;
    if (attempt == 8) return ThrowSyscall(env, "ioctl(DRM_IOCTL_MODE_OBJ_GETPROPERTIES)", EAGAIN);
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("ids", Ids(env, ids, g.count_props));
  Napi::Array vs = Napi::Array::New(env, g.count_props);
  for (uint32_t i = 0; i < g.count_props; i++) vs.Set(i, Napi::BigInt::New(env, static_cast<uint64_t>(values[i])));
  o.Set("values", vs);
  return o;
}

// getProperty(fd, id) -> { id, name, flags, values: bigint[], enums: {name, value}[] }.
Napi::Value GetProperty(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  uint32_t id;
  if (!GetFd(info, 0, &fd) || !GetUint32(info, 1, "propertyId", &id)) return Napi::Value();
  std::vector<uint64_t> values;
  std::vector<abi::drm_mode_property_enum> enums;
  abi::drm_mode_get_property p;
  for (int attempt = 0;; attempt++) {
    p = {};
    p.prop_id = id;
    if (Ioctl(fd, abi::IOCTL_MODE_GETPROPERTY, &p) < 0) return ThrowSyscall(env, "ioctl(DRM_IOCTL_MODE_GETPROPERTY)", errno);
    if (p.count_values > kMaxObjects || p.count_enum_blobs > kMaxObjects)
      return ThrowSyscall(env, "ioctl(DRM_IOCTL_MODE_GETPROPERTY)", EOVERFLOW);
    uint32_t nv = p.count_values, ne = p.count_enum_blobs;
    values.assign(nv, 0);
    enums.assign(ne, abi::drm_mode_property_enum{});
    p.values_ptr = Ptr(values);
    p.enum_blob_ptr = Ptr(enums);
    if (Ioctl(fd, abi::IOCTL_MODE_GETPROPERTY, &p) < 0) return ThrowSyscall(env, "ioctl(DRM_IOCTL_MODE_GETPROPERTY)", errno);
    if (p.count_values <= nv && p.count_enum_blobs <= ne) break;
    if (attempt == 8) return ThrowSyscall(env, "ioctl(DRM_IOCTL_MODE_GETPROPERTY)", EAGAIN);
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("id", p.prop_id);
  o.Set("name", FixedString(p.name, sizeof p.name));
  o.Set("flags", p.flags);
  Napi::Array vs = Napi::Array::New(env, p.count_values);
  for (uint32_t i = 0; i < p.count_values; i++) vs.Set(i, Napi::BigInt::New(env, static_cast<uint64_t>(values[i])));
  o.Set("values", vs);
  // Blob properties report blob ids in count_enum_blobs without filling enums: only
  // enum and bitmask properties have names.
  constexpr uint32_t kEnum = 8, kBitmask = 32;
  uint32_t ne = (p.flags & (kEnum | kBitmask)) ? p.count_enum_blobs : 0;
  Napi::Array es = Napi::Array::New(env, ne);
  for (uint32_t i = 0; i < ne; i++) {
    Napi::Object e = Napi::Object::New(env);
    e.Set("name", FixedString(enums[i].name, sizeof enums[i].name));
    e.Set("value", Napi::BigInt::New(env, static_cast<uint64_t>(enums[i].value)));
    es.Set(i, e);
  }
  o.Set("enums", es);
  return o;
}

// getBlob(fd, id) -> Uint8Array (a copy).
Napi::Value GetBlob(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  uint32_t id;
  if (!GetFd(info, 0, &fd) || !GetUint32(info, 1, "blobId", &id)) return Napi::Value();
  abi::drm_mode_get_blob b = {};
  b.blob_id = id;
  if (Ioctl(fd, abi::IOCTL_MODE_GETPROPBLOB, &b) < 0) return ThrowSyscall(env, "ioctl(DRM_IOCTL_MODE_GETPROPBLOB)", errno);
  if (b.length > kMaxBlob) return ThrowSyscall(env, "ioctl(DRM_IOCTL_MODE_GETPROPBLOB)", EOVERFLOW);
  // Blobs are immutable: the length cannot change between the two calls.
  std::vector<uint8_t> data(b.length);
  b.data = Ptr(data);
  if (b.length > 0 && Ioctl(fd, abi::IOCTL_MODE_GETPROPBLOB, &b) < 0)
    return ThrowSyscall(env, "ioctl(DRM_IOCTL_MODE_GETPROPBLOB)", errno);
  Napi::Uint8Array out = Napi::Uint8Array::New(env, data.size());
  if (!data.empty()) memcpy(out.Data(), data.data(), data.size());
  return out;
}

Napi::Value CreateBlob(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  Napi::TypedArray t;
  if (!GetFd(info, 0, &fd) || !GetTyped(info, 1, napi_uint8_array, "data must be a Uint8Array", &t)) return Napi::Value();
  Napi::Uint8Array data = t.As<Napi::Uint8Array>();
  abi::drm_mode_create_blob b = {};
  b.data = reinterpret_cast<uint64_t>(data.Data());
  b.length = static_cast<uint32_t>(data.ByteLength());
  if (Ioctl(fd, abi::IOCTL_MODE_CREATEPROPBLOB, &b) < 0) return ThrowSyscall(env, "ioctl(DRM_IOCTL_MODE_CREATEPROPBLOB)", errno);
  return Napi::Number::New(env, b.blob_id);
}

Napi::Value DestroyBlob(const Napi::CallbackInfo& info) {
  int fd;
  uint32_t id;
  if (!GetFd(info, 0, &fd) || !GetUint32(info, 1, "blobId", &id)) return Napi::Value();
  abi::drm_mode_destroy_blob b = {id};
  if (Ioctl(fd, abi::IOCTL_MODE_DESTROYPROPBLOB, &b) < 0)
    return ThrowSyscall(info.Env(), "ioctl(DRM_IOCTL_MODE_DESTROYPROPBLOB)", errno);
  return info.Env().Undefined();
}

// --- framebuffers and commits ---------------------------------------------------

// addFb2(fd, width, height, fourcc, handles, pitches, offsets, modifiers?) -> fb id.
// Arrays have one entry per plane (1..4); modifiers (BigUint64Array) sets DRM_MODE_FB_MODIFIERS.
Napi::Value AddFb2(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  uint32_t width, height, fourcc;
  Napi::TypedArray th, tp, to;
  if (!GetFd(info, 0, &fd) || !GetUint32(info, 1, "width", &width) || !GetUint32(info, 2, "height", &height) ||
      !GetUint32(info, 3, "fourcc", &fourcc) ||
      !GetTyped(info, 4, napi_uint32_array, "handles must be a Uint32Array", &th) ||
      !GetTyped(info, 5, napi_uint32_array, "pitches must be a Uint32Array", &tp) ||
      !GetTyped(info, 6, napi_uint32_array, "offsets must be a Uint32Array", &to))
    return Napi::Value();
  size_t planes = th.ElementLength();
  if (planes < 1 || planes > 4 || tp.ElementLength() != planes || to.ElementLength() != planes)
    return ThrowArgument(env, "handles, pitches and offsets need 1 to 4 entries each, as many of each");
  abi::drm_mode_fb_cmd2 f = {};
  f.width = width;
  f.height = height;
  f.pixel_format = fourcc;
  Napi::Uint32Array h = th.As<Napi::Uint32Array>(), p = tp.As<Napi::Uint32Array>(), o = to.As<Napi::Uint32Array>();
  for (size_t i = 0; i < planes; i++) {
    f.handles[i] = h[i];
    f.pitches[i] = p[i];
    f.offsets[i] = o[i];
  }
  if (info.Length() > 7 && !info[7].IsUndefined() && !info[7].IsNull()) {
    Napi::TypedArray tm;
    if (!GetTyped(info, 7, napi_biguint64_array, "modifiers must be a BigUint64Array", &tm)) return Napi::Value();
    if (tm.ElementLength() != planes) return ThrowArgument(env, "modifiers needs one entry per plane");
    const uint64_t* m = reinterpret_cast<const uint64_t*>(static_cast<uint8_t*>(tm.ArrayBuffer().Data()) + tm.ByteOffset());
    for (size_t i = 0; i < planes; i++) f.modifier[i] = m[i];
    f.flags |= abi::MODE_FB_MODIFIERS;
  }
  if (Ioctl(fd, abi::IOCTL_MODE_ADDFB2, &f) < 0) return ThrowSyscall(env, "ioctl(DRM_IOCTL_MODE_ADDFB2)", errno);
  return Napi::Number::New(env, f.fb_id);
}

Napi::Value RmFb(const Napi::CallbackInfo& info) {
  int fd;
  uint32_t id;
  if (!GetFd(info, 0, &fd) || !GetUint32(info, 1, "fbId", &id)) return Napi::Value();
  unsigned int fb = id;
  if (Ioctl(fd, abi::IOCTL_MODE_RMFB, &fb) < 0) return ThrowSyscall(info.Env(), "ioctl(DRM_IOCTL_MODE_RMFB)", errno);
  return info.Env().Undefined();
}

// setCrtc(fd, crtcId, fbId, x, y, connectors: Uint32Array, mode?: Uint8Array[68]).
// fbId 0 with no mode turns the CRTC off.
Napi::Value SetCrtc(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  uint32_t crtc, fb, x, y;
  Napi::TypedArray tc;
  if (!GetFd(info, 0, &fd) || !GetUint32(info, 1, "crtcId", &crtc) || !GetUint32(info, 2, "fbId", &fb) ||
      !GetUint32(info, 3, "x", &x) || !GetUint32(info, 4, "y", &y) ||
      !GetTyped(info, 5, napi_uint32_array, "connectors must be a Uint32Array", &tc))
    return Napi::Value();
  Napi::Uint32Array conns = tc.As<Napi::Uint32Array>();
  std::vector<uint32_t> ids(conns.ElementLength());
  for (size_t i = 0; i < ids.size(); i++) ids[i] = conns[i];
  abi::drm_mode_crtc c = {};
  c.crtc_id = crtc;
  c.fb_id = fb;
  c.x = x;
  c.y = y;
  c.set_connectors_ptr = Ptr(ids);
  c.count_connectors = static_cast<uint32_t>(ids.size());
  if (info.Length() > 6 && !info[6].IsUndefined() && !info[6].IsNull()) {
    Napi::TypedArray tm;
    if (!GetTyped(info, 6, napi_uint8_array, "mode must be a Uint8Array", &tm)) return Napi::Value();
    if (tm.ByteLength() != sizeof c.mode) return ThrowArgument(env, "mode must be the 68 bytes of a drm_mode_modeinfo");
    memcpy(&c.mode, tm.As<Napi::Uint8Array>().Data(), sizeof c.mode);
    c.mode_valid = 1;
  }
  if (Ioctl(fd, abi::IOCTL_MODE_SETCRTC, &c) < 0) return ThrowSyscall(env, "ioctl(DRM_IOCTL_MODE_SETCRTC)", errno);
  return env.Undefined();
}

// pageFlip(fd, crtcId, fbId, userData): legacy flip with DRM_MODE_PAGE_FLIP_EVENT.
Napi::Value PageFlip(const Napi::CallbackInfo& info) {
  int fd;
  uint32_t crtc, fb;
  uint64_t user;
  if (!GetFd(info, 0, &fd) || !GetUint32(info, 1, "crtcId", &crtc) || !GetUint32(info, 2, "fbId", &fb) ||
      !GetU64(info, 3, "userData", &user))
    return Napi::Value();
  abi::drm_mode_crtc_page_flip f = {};
  f.crtc_id = crtc;
  f.fb_id = fb;
  f.flags = abi::MODE_PAGE_FLIP_EVENT;
  f.user_data = user;
  if (Ioctl(fd, abi::IOCTL_MODE_PAGE_FLIP, &f) < 0)
    return ThrowSyscall(info.Env(), "ioctl(DRM_IOCTL_MODE_PAGE_FLIP)", errno);
  return info.Env().Undefined();
}

// atomic(fd, flags, objects: Uint32Array, counts: Uint32Array, props: Uint32Array,
//        values: BigUint64Array, userData, outFences?: Uint32Array) -> Int32Array | undefined.
// outFences lists indexes into values whose property is an out-fence pointer
// (WRITEBACK_OUT_FENCE_PTR, OUT_FENCE_PTR): their value is replaced by a pointer
// to an int the kernel fills with a sync_file fd, returned in the same order (-1: none).
Napi::Value Atomic(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  uint32_t flags;
  uint64_t user;
  Napi::TypedArray to, tc, tp, tv;
  if (!GetFd(info, 0, &fd) || !GetUint32(info, 1, "flags", &flags) ||
      !GetTyped(info, 2, napi_uint32_array, "objects must be a Uint32Array", &to) ||
      !GetTyped(info, 3, napi_uint32_array, "counts must be a Uint32Array", &tc) ||
      !GetTyped(info, 4, napi_uint32_array, "props must be a Uint32Array", &tp) ||
      !GetTyped(info, 5, napi_biguint64_array, "values must be a BigUint64Array", &tv) ||
      !GetU64(info, 6, "userData", &user))
    return Napi::Value();
  size_t nobj = to.ElementLength();
  if (tc.ElementLength() != nobj) return ThrowArgument(env, "counts needs one entry per object");
  size_t nprops = tp.ElementLength();
  if (tv.ElementLength() != nprops) return ThrowArgument(env, "values needs one entry per property");
  Napi::Uint32Array counts = tc.As<Napi::Uint32Array>();
  uint64_t total = 0;
  for (size_t i = 0; i < nobj; i++) total += counts[i];
  if (total != nprops) return ThrowArgument(env, "counts must add up to the number of properties");
  std::vector<uint32_t> objs(nobj), cnts(nobj), props(nprops);
  std::vector<uint64_t> values(nprops);
  Napi::Uint32Array o = to.As<Napi::Uint32Array>(), p = tp.As<Napi::Uint32Array>();
  for (size_t i = 0; i < nobj; i++) {
    objs[i] = o[i];
    cnts[i] = counts[i];
  }
  for (size_t i = 0; i < nprops; i++) props[i] = p[i];
  memcpy(values.data(), static_cast<uint8_t*>(tv.ArrayBuffer().Data()) + tv.ByteOffset(), nprops * sizeof(uint64_t));
  std::vector<int32_t> fences;
  if (info.Length() > 7 && !info[7].IsUndefined() && !info[7].IsNull()) {
    Napi::TypedArray tf;
    if (!GetTyped(info, 7, napi_uint32_array, "outFences must be a Uint32Array", &tf)) return Napi::Value();
    Napi::Uint32Array f = tf.As<Napi::Uint32Array>();
    fences.assign(f.ElementLength(), -1);
    for (size_t i = 0; i < fences.size(); i++) {
      if (f[i] >= nprops) return ThrowArgument(env, "outFences index out of range");
      values[f[i]] = reinterpret_cast<uint64_t>(&fences[i]);
    }
  }
  abi::drm_mode_atomic a = {};
  a.flags = flags;
  a.count_objs = static_cast<uint32_t>(nobj);
  a.objs_ptr = Ptr(objs);
  a.count_props_ptr = Ptr(cnts);
  a.props_ptr = Ptr(props);
  a.prop_values_ptr = Ptr(values);
  a.user_data = user;
  if (Ioctl(fd, abi::IOCTL_MODE_ATOMIC, &a) < 0) {
    int err = errno;
    for (int32_t f : fences)
      if (f >= 0) close(f);
    return ThrowSyscall(env, (flags & abi::MODE_ATOMIC_TEST_ONLY) ? "ioctl(DRM_IOCTL_MODE_ATOMIC, TEST_ONLY)" : "ioctl(DRM_IOCTL_MODE_ATOMIC)", err);
  }
  if (fences.empty()) return env.Undefined();
  Napi::Int32Array out = Napi::Int32Array::New(env, fences.size());
  for (size_t i = 0; i < fences.size(); i++) out[i] = fences[i];
  return out;
}

// primeFdToHandle(fd, dmabufFd) -> GEM handle on fd (close it with drmGemClose).
Napi::Value PrimeFdToHandle(const Napi::CallbackInfo& info) {
  int fd, dmabuf;
  if (!GetFd(info, 0, &fd)) return Napi::Value();
  int32_t d;
  if (!GetInt32(info, 1, "dmabufFd", &d)) return Napi::Value();
  if (d < 0) return ThrowArgument(info.Env(), "dmabufFd must be >= 0");
  dmabuf = d;
  abi::drm_prime_handle p = {};
  p.fd = dmabuf;
  if (Ioctl(fd, abi::IOCTL_PRIME_FD_TO_HANDLE, &p) < 0)
    return ThrowSyscall(info.Env(), "ioctl(DRM_IOCTL_PRIME_FD_TO_HANDLE)", errno);
  return Napi::Number::New(info.Env(), p.handle);
}

// waitReadable(fd, timeoutMs) -> true when fd polls readable in time (a sync_file:
// signalled), false on timeout. Blocks the thread: for fences that are known to
// signal soon (a writeback job), never for the compositor's loop.
Napi::Value WaitReadable(const Napi::CallbackInfo& info) {
  int fd;
  uint32_t timeout;
  if (!GetFd(info, 0, &fd) || !GetUint32(info, 1, "timeoutMs", &timeout)) return Napi::Value();
  pollfd p{fd, POLLIN, 0};
  int r;
  do {
    r = poll(&p, 1, static_cast<int>(timeout > INT32_MAX ? INT32_MAX : timeout));
  } while (r < 0 && errno == EINTR);
  if (r < 0) return ThrowSyscall(info.Env(), "poll", errno);
  return Napi::Boolean::New(info.Env(), r == 1 && (p.revents & POLLIN) != 0);
}

}  // namespace

void InitKms(Napi::Env env, Napi::Object exports) {
  exports.Set("drmIsMaster", Napi::Function::New(env, IsMaster, "drmIsMaster"));
  exports.Set("drmDropMaster", Napi::Function::New(env, DropMaster, "drmDropMaster"));
  exports.Set("drmSetMaster", Napi::Function::New(env, SetMaster, "drmSetMaster"));
  exports.Set("drmSetClientCap", Napi::Function::New(env, SetClientCap, "drmSetClientCap"));
  exports.Set("kmsGetResources", Napi::Function::New(env, GetResources, "kmsGetResources"));
  exports.Set("kmsGetConnector", Napi::Function::New(env, GetConnector, "kmsGetConnector"));
  exports.Set("kmsGetEncoder", Napi::Function::New(env, GetEncoder, "kmsGetEncoder"));
  exports.Set("kmsGetCrtc", Napi::Function::New(env, GetCrtc, "kmsGetCrtc"));
  exports.Set("kmsGetPlaneIds", Napi::Function::New(env, GetPlaneIds, "kmsGetPlaneIds"));
  exports.Set("kmsGetPlane", Napi::Function::New(env, GetPlane, "kmsGetPlane"));
  exports.Set("kmsGetProperties", Napi::Function::New(env, GetProperties, "kmsGetProperties"));
  exports.Set("kmsGetProperty", Napi::Function::New(env, GetProperty, "kmsGetProperty"));
  exports.Set("kmsGetBlob", Napi::Function::New(env, GetBlob, "kmsGetBlob"));
  exports.Set("kmsCreateBlob", Napi::Function::New(env, CreateBlob, "kmsCreateBlob"));
  exports.Set("kmsDestroyBlob", Napi::Function::New(env, DestroyBlob, "kmsDestroyBlob"));
  exports.Set("kmsAddFb2", Napi::Function::New(env, AddFb2, "kmsAddFb2"));
  exports.Set("kmsRmFb", Napi::Function::New(env, RmFb, "kmsRmFb"));
  exports.Set("kmsSetCrtc", Napi::Function::New(env, SetCrtc, "kmsSetCrtc"));
  exports.Set("kmsPageFlip", Napi::Function::New(env, PageFlip, "kmsPageFlip"));
  exports.Set("kmsAtomic", Napi::Function::New(env, Atomic, "kmsAtomic"));
  exports.Set("drmPrimeFdToHandle", Napi::Function::New(env, PrimeFdToHandle, "drmPrimeFdToHandle"));
  exports.Set("waitReadable", Napi::Function::New(env, WaitReadable, "waitReadable"));
  Napi::Object c = exports.Get("constants").As<Napi::Object>();
  c.Set("DRM_CLIENT_CAP_UNIVERSAL_PLANES", static_cast<double>(abi::CLIENT_CAP_UNIVERSAL_PLANES));
  c.Set("DRM_CLIENT_CAP_ATOMIC", static_cast<double>(abi::CLIENT_CAP_ATOMIC));
  c.Set("DRM_CLIENT_CAP_WRITEBACK_CONNECTORS", static_cast<double>(abi::CLIENT_CAP_WRITEBACK_CONNECTORS));
  c.Set("DRM_MODE_PAGE_FLIP_EVENT", abi::MODE_PAGE_FLIP_EVENT);
  c.Set("DRM_MODE_ATOMIC_TEST_ONLY", abi::MODE_ATOMIC_TEST_ONLY);
  c.Set("DRM_MODE_ATOMIC_NONBLOCK", abi::MODE_ATOMIC_NONBLOCK);
  c.Set("DRM_MODE_ATOMIC_ALLOW_MODESET", abi::MODE_ATOMIC_ALLOW_MODESET);
  c.Set("DRM_MODE_OBJECT_CRTC", abi::MODE_OBJECT_CRTC);
  c.Set("DRM_MODE_OBJECT_CONNECTOR", abi::MODE_OBJECT_CONNECTOR);
  c.Set("DRM_MODE_OBJECT_PLANE", abi::MODE_OBJECT_PLANE);
}

}  // namespace bufshare
