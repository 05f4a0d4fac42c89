// Memory mappings exposed to JS as external ArrayBuffers.
//
// Ownership: each mapping is owned by exactly one ArrayBuffer. unmap(ab) detaches
// that ArrayBuffer first (every view over it drops to length 0) and only then
// munmaps, so no JS code can reach the freed range. A mapping the program forgot
// is unmapped by the ArrayBuffer's finalizer, on the JS thread, after GC.
// Node-API copies (never moves) an external ArrayBuffer that is transferred to a
// worker, so a transferred view can never alias a range that was unmapped here.
//
// A mapping of a file that can shrink (a regular file without F_SEAL_SHRINK) is
// registered with the SIGBUS guard (sigbus.h) for its whole life: if the file is
// truncated under it, its pages turn into zeros and mappingState() reports it
// faulted, instead of the process dying on the next read.
#pragma once
#include <napi.h>

namespace bufshare {
void InitMap(Napi::Env env, Napi::Object exports);
// Registers a range mapped elsewhere in the addon (vhost.cc's guest views) as one
// of ours, owned by the returned ArrayBuffer: unmap(), mappingState() and the
// finalizer treat it like mmap()'s. `guard`: put it under the SIGBUS guard (a read
// of it can fault: its file could shrink). On failure the range is unmapped and a JS error thrown.
Napi::Value AdoptMapping(Napi::Env env, void* addr, size_t length, int prot, bool guard);
}
