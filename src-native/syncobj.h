// DRM synchronization objects (timelines) for explicit sync (linux-drm-syncobj-v1):
// import a client's timeline, wait for a point on the event loop (an eventfd the
// kernel signals: DRM_IOCTL_SYNCOBJ_EVENTFD, Linux 6.6+), signal a point from the
// CPU. Thin wrappers; the protocol logic is lib/wayland/globals/linux-drm-syncobj.ts.
#pragma once
#include <napi.h>

namespace bufshare {
void InitSyncobj(Napi::Env env, Napi::Object exports);
}
