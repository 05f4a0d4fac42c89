// Source-over blend: the rectangles of a premultiplied-alpha client buffer that a
// compositor shows over what lies below it (the output). Hot: a compositor
// blends every damaged pixel of every translucent surface, every frame, so the
// loop is SIMD (AVX-512 BW 16 pixels a step, AVX2 8, SSE2 4, picked at load) with
// whole-opaque and whole-transparent steps short-cut to a store and a skip.
#pragma once
#include <napi.h>

#include <cstdint>

namespace bufshare {
void InitBlend(Napi::Env env, Napi::Object exports);

// Rows [0, height) of `width` pixels: premultiplied src over `below` into dst
// (below may be dst itself: a blend in place). alphaOr is 0xff000000 for an XRGB
// destination, 0 for an ARGB one. The caller has checked that every row lies in
// its plane and that src and below do not overlap dst (other than below == dst).
void BlendRows(const uint8_t* src, int64_t srcStride, const uint8_t* below, int64_t belowStride, uint8_t* dst, int64_t dstStride,
               int64_t width, int64_t height, uint32_t alphaOr);
}  // namespace bufshare
