// GBM (libgbm.so.1), loaded with dlopen at first use: building needs no
// libgbm-dev, and a machine without Mesa gets ERR_BUFSHARE_NOT_AVAILABLE
// ("libgbm not available: <dlerror>") instead of an addon that fails to load.
//
// Devices and buffer objects are handed to JS as small integer ids looked up in a
// registry, never as raw pointers: a wrong or stale id is an error, not a crash.
// Ownership: the caller keeps the DRM fd open while its gbm device lives; a device
// destroyed while buffer objects remain is destroyed when the last one is.
#pragma once
#include <napi.h>

namespace bufshare {
void InitGbm(Napi::Env env, Napi::Object exports);
}
