// DRM devices: open a node, DRM_IOCTL_VERSION, GET_CAP, dumb buffers
// (CREATE/MAP/DESTROY_DUMB), PRIME export and GEM_CLOSE. Handles are plain u32
// GEM handles; the TypeScript side owns them and closes each exactly once.
#pragma once
#include <napi.h>

namespace bufshare {
void InitDrm(Napi::Env env, Napi::Object exports);
}
