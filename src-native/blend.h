// Source-over blend: the rectangles of a premultiplied-alpha client buffer that a
// compositor shows over what lies below it (the output). Hot: a compositor
// blends every damaged pixel of every translucent surface, every frame, so the
// loop is SIMD (AVX-512 BW 16 pixels a step, AVX2 8, SSE2 4, picked at load) with
// whole-opaque and whole-transparent steps short-cut to a store and a skip.
#pragma once
#include <napi.h>

namespace bufshare {
void InitBlend(Napi::Env env, Napi::Object exports);
}
