// DRM events (page flip complete, vblank) read from a DRM fd on the libuv loop.
// The fd is borrowed: the watcher never closes it.
#pragma once
#include <napi.h>

namespace bufshare {
void InitDrmEvents(Napi::Env env, Napi::Object exports);
}
