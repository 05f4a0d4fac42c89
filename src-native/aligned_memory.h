// Page-aligned memory for JS: an ArrayBuffer whose first byte starts a page (and
// so a cache line), freed when the ArrayBuffer is collected.
#pragma once
#include <napi.h>

namespace bufshare {
void InitAlignedMemory(Napi::Env env, Napi::Object exports);
}
