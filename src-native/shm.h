// Shared memory files: memfd (sealable), and the fallback for kernels or
// sandboxes without memfd_create (an unlinked O_TMPFILE/shm_open file in
// /dev/shm, which cannot be sealed).
#pragma once
#include <napi.h>

namespace bufshare {
void InitShm(Napi::Env env, Napi::Object exports);
}
