// File descriptors: closing, duplicating, seals, sizes.
// Every fd the addon creates is O_CLOEXEC so a compositor's children never
// inherit buffers by accident.
#pragma once
#include <napi.h>

namespace bufshare {
void InitFd(Napi::Env env, Napi::Object exports);
}
