// Memory mappings exposed to JS as external ArrayBuffers.
//
// Ownership: each mapping is owned by exactly one ArrayBuffer. unmap(ab) detaches
// that ArrayBuffer first (every view over it drops to length 0) and only then
// munmaps, so no JS code can reach the freed range. A mapping the program forgot
// is unmapped by the ArrayBuffer's finalizer, on the JS thread, after GC.
// Node-API copies (never moves) an external ArrayBuffer that is transferred to a
// worker, so a transferred view can never alias a range that was unmapped here.
#pragma once
#include <napi.h>

namespace bufshare {
void InitMap(Napi::Env env, Napi::Object exports);
}
