#include "copy.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "damage_plan.h"
#include "errors.h"

#if defined(__x86_64__)
#include <emmintrin.h>  // SSE2: part of x86-64 itself, no CPU check needed
#define BUFSHARE_STREAMING_STORES 1
#endif

namespace bufshare {

namespace {

constexpr uint32_t kCopyFlagStream = 4;

struct Surface {
  uint8_t* data;
  size_t bytes;
  int64_t stride;
};

bool ReadSurface(const Napi::CallbackInfo& info, size_t i, const char* name, Surface* s) {
  if (info.Length() <= i || !info[i].IsTypedArray() ||
      info[i].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    ThrowArgument(info.Env(), std::string(name) + " must be a Uint8Array");
    return false;
  }
  Napi::Uint8Array a = info[i].As<Napi::Uint8Array>();
  s->data = a.Data();
  s->bytes = a.ByteLength();
  return true;
}

constexpr int64_t kPrefetchRowBytes = 512;
constexpr int64_t kPrefetchRows = 4;

// Streaming rows: rows of at least 4 cache lines, prefetched about 8 KiB of
// source ahead (2 to 16 rows). Measured here (out of cache, 1080p, about 10% of
// the frame, share of a memcpy of the same bytes contiguous, 5-9 runs, load
// 0.3): rows of 1 KiB 0.59-0.66 with memcpy and the row prefetch below ->
// 0.80-0.85 streamed; rows of 480 bytes 0.58-0.61 -> 0.76-0.81; rows of 256
// bytes 0.54-0.56 -> 0.67-0.71; rows of 64 bytes 0.30 either way (so they are
// left to memcpy). A distance in bytes rather than rows: 4 rows ahead (as for
// memcpy) gave 0.79 for 1 KiB rows but 0.50 for 480-byte rows; 32 rows of 1 KiB
// went further than the prefetcher keeps (0.66-0.70). SSE2, AVX2 and AVX-512
// stores all ran within the noise of each other (0.80 / 0.85 / 0.85 for 1 KiB
// rows, ranges overlapping): memory is the limit, so the kernel is SSE2, which
// every x86-64 CPU has, and no CPU dispatch. Again later, in copyRects itself
// (next-rectangle prefetch in, 9 runs each): AVX2 stores 0.59-0.67 of the floor
// against SSE2's 0.65-0.69 for 1 KiB rows; 4, 8, 12 or 16 KiB ahead (16 to 32
// rows at most) 0.65-0.70, all within the noise.
// kStreamRowBytes (256) is in damage_plan.h: the planner prices these rows apart.
constexpr int64_t kStreamAheadBytes = 8192;
constexpr int64_t kStreamMaxRowsAhead = 16;

// Would rows [0, height) of `width` pixels fit in the surface?
bool Fits(const Surface& s, int64_t width, int64_t height, int64_t bpp) {
  if (width == 0 || height == 0) return true;
  if (s.stride < width * bpp) return false;
  return (height - 1) * s.stride + width * bpp <= static_cast<int64_t>(s.bytes);
}

// The source rows the next rectangle starts with, for StreamRows to prefetch
// while it copies its own last rows (rows 0: none): without it, the prefetches
// stopped `ahead` rows before each rectangle's end and the next one started on
// an idle memory. Measured (A/B in one process, 9 runs each, out of cache):
// 10% of 1080p in rectangles 256 px wide 0.91x of the time, 64 px wide 0.91x.
struct NextRows {
  const uint8_t* src = nullptr;
  int64_t stride = 0, rowBytes = 0, rows = 0;
};

#ifdef BUFSHARE_STREAMING_STORES
// Copies `rows` rows of rowBytes (>= kStreamRowBytes) with non-temporal stores
// for every whole 64-byte line of the destination, cached stores for the partial
// lines at both ends (a partial streaming store costs a read-modify-write in
// memory). Why streaming: a cached store must first read the line it writes
// (the RFO), so a strided copy moves 3 bytes over the memory bus per byte,
// where glibc copies a contiguous block of this size with `rep movsb`, which
// skips that read; streaming stores skip it too. The caller issues the sfence.
// In its last rows, it prefetches the first rows of `after`.
// Every load and store stays inside the rows; prefetches stay inside the rectangle.
// Out of line, and CopyBox always inline: when GCC stopped inlining CopyBox
// (once StreamRows grew), 4,095 1-px rectangles took 15% longer (0.48x -> 0.55x
// of a full frame); this way 0.46x.
__attribute__((noinline)) void StreamRows(const uint8_t* s, int64_t srcStride, uint8_t* d, int64_t dstStride, int64_t rowBytes, int64_t rows, const NextRows& after) {
  const int64_t ahead = std::min(std::max<int64_t>((kStreamAheadBytes + rowBytes - 1) / rowBytes, 2), kStreamMaxRowsAhead);
  // The first rows, all at once, so their misses overlap instead of the first
  // `ahead` rows each waiting on memory: 0.71 -> 0.76 of the floor for rows of
  // 480 bytes, 0.69 -> 0.74 for 256 bytes, 0.82 -> 0.87 for 1 KiB (9 runs).
  for (int64_t y = 0; y < std::min(ahead, rows); y++) {
    for (int64_t p = 0; p < rowBytes; p += 64) __builtin_prefetch(s + y * srcStride + p, 0, 3);
    __builtin_prefetch(s + y * srcStride + rowBytes - 1, 0, 3);
  }
  for (int64_t y = 0; y < rows; y++, s += srcStride, d += dstStride) {
    const uint8_t* next = y + ahead < rows ? s + ahead * srcStride : nullptr;
    const int64_t head = std::min<int64_t>((64 - static_cast<int64_t>(reinterpret_cast<uintptr_t>(d) & 63)) & 63, rowBytes);
    if (head > 0) memcpy(d, s, static_cast<size_t>(head));
    int64_t o = head;
    for (; o + 64 <= rowBytes; o += 64) {
      if (next) __builtin_prefetch(next + o - head, 0, 3);
      const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + o));
      const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + o + 16));
      const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + o + 32));
      const __m128i e = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + o + 48));
      _mm_stream_si128(reinterpret_cast<__m128i*>(d + o), a);
      _mm_stream_si128(reinterpret_cast<__m128i*>(d + o + 16), b);
      _mm_stream_si128(reinterpret_cast<__m128i*>(d + o + 32), c);
      _mm_stream_si128(reinterpret_cast<__m128i*>(d + o + 48), e);
    }
    if (next) {
      // The source lines the loop's prefetches did not reach (at most 2: the row's head and tail).
      for (int64_t p = o - head; p < rowBytes; p += 64) __builtin_prefetch(next + p, 0, 3);
      __builtin_prefetch(next + rowBytes - 1, 0, 3);
    }
    if (o < rowBytes) memcpy(d + o, s + o, static_cast<size_t>(rowBytes - o));
    if (!next && y + ahead - rows < after.rows) {
      // This rectangle's last rows: the next one's first.
      const uint8_t* n = after.src + (y + ahead - rows) * after.stride;
      for (int64_t p = 0; p < after.rowBytes; p += 64) __builtin_prefetch(n + p, 0, 3);
      __builtin_prefetch(n + after.rowBytes - 1, 0, 3);
    }
  }
}
#endif

// Makes the streaming stores of this call visible before any later store (the
// message that tells a client or the display that the copy is done).
void StreamFence() {
#ifdef BUFSHARE_STREAMING_STORES
  _mm_sfence();
#endif
}

// Copies [x0, x1) x [y0, y1) (inside both surfaces: the caller clipped it); returns its pixels.
// `stream`: the destination may be written past the cache (StreamRows); the
// caller then calls StreamFence() before returning to JS.
inline __attribute__((always_inline)) double CopyBox(const Surface& src, const Surface& dst, int64_t x0, int64_t y0, int64_t x1, int64_t y1, int64_t bpp, bool stream, const NextRows& after = NextRows()) {
  const bool sameStride = src.stride == dst.stride;
  const int64_t rowBytes = (x1 - x0) * bpp;
  const uint8_t* s = src.data + y0 * src.stride + x0 * bpp;
  uint8_t* d = dst.data + y0 * dst.stride + x0 * bpp;
  if (sameStride && rowBytes == src.stride) {
    // Whole rows, same layout: the block is contiguous in both.
    memcpy(d, s, static_cast<size_t>((y1 - y0) * rowBytes));
#ifdef BUFSHARE_STREAMING_STORES
  } else if (stream && rowBytes >= kStreamRowBytes) {
    StreamRows(s, src.stride, d, dst.stride, rowBytes, y1 - y0, after);
#endif
  } else {
    // Long strided rows: the hardware prefetcher starts each row late (it
    // learns a stream per row), so ask for the row kPrefetchRows below while
    // copying this one. Measured here (out of cache, 1080p, rows of 1 KiB):
    // 54-56% -> 68-71% of memcpy bandwidth; rows under 512 bytes gained
    // nothing measurable, so they are left alone. A prefetch never faults;
    // it stays inside the rectangle anyway.
    // One loop for both, on purpose: a separate loop for rows under 512 bytes
    // let GCC inline their memcpy as `rep movsq`, which made the compositor's
    // short rows 60% slower on this CPU.
    const bool prefetch = rowBytes >= kPrefetchRowBytes;
    for (int64_t y = y0; y < y1; y++, s += src.stride, d += dst.stride) {
      if (prefetch && y + kPrefetchRows < y1) {
        const uint8_t* ps = s + kPrefetchRows * src.stride;
        const uint8_t* pd = d + kPrefetchRows * dst.stride;
        for (int64_t o = 0; o < rowBytes; o += 64) {
          __builtin_prefetch(ps + o, 0, 3);
          __builtin_prefetch(pd + o, 0, 3);
        }
      }
      memcpy(d, s, static_cast<size_t>(rowBytes));
    }
  }
  return static_cast<double>((x1 - x0) * (y1 - y0));
}

}  // namespace

// copyRects(src, srcStride, dst, dstStride, width, height, bpp, rects) -> pixels copied
//   src, dst: Uint8Array views whose byte 0 is pixel (0, 0)
//   width, height: the area both regions share (the caller passes the smaller)
//   rects: Int32Array of x, y, w, h quadruples, in pixels
//   model (optional, or undefined): plan the copy (Float64Array cost model) and
//   copy the plan's rectangles
//   flags (optional): bit 0 sourceComplete, bit 1 eachPixelOnce (for the plan),
//   bit 2 stream: the destination may be written past the cache (streaming
//   stores for long strided rows: out of cache, they run 1.3x faster; a copy
//   whose destination the CPU reads next, in cache, should not set it)
// Every rectangle is clipped to [0, width) x [0, height) in 64-bit arithmetic, so
// negative, huge or overflowing rectangles copy only what lies inside, and the
// geometry is checked against both views' lengths before any byte moves.
static Napi::Value CopyRects(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Surface src, dst;
  uint32_t srcStride, dstStride, width, height, bpp;
  if (!ReadSurface(info, 0, "src", &src) || !GetUint32(info, 1, "srcStride", &srcStride) ||
      !ReadSurface(info, 2, "dst", &dst) || !GetUint32(info, 3, "dstStride", &dstStride) ||
      !GetUint32(info, 4, "width", &width) || !GetUint32(info, 5, "height", &height) ||
      !GetUint32(info, 6, "bpp", &bpp))
    return Napi::Value();
  if (bpp == 0 || bpp > 16) return ThrowArgument(env, "bpp must be 1..16");
  if (width > 65536 || height > 65536) return ThrowArgument(env, "width/height too large");
  src.stride = srcStride;
  dst.stride = dstStride;
  if (!Fits(src, width, height, bpp)) return ThrowArgument(env, "source too small for width x height at its stride");
  if (!Fits(dst, width, height, bpp)) return ThrowArgument(env, "destination too small for width x height at its stride");
  if (info.Length() <= 7 || !info[7].IsTypedArray() ||
      info[7].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    return ThrowArgument(env, "rects must be an Int32Array");
  Napi::Int32Array rects = info[7].As<Napi::Int32Array>();
  size_t n = rects.ElementLength() / 4;
  const int32_t* r = rects.Data();
  // Overlap would make memcpy undefined; two views of one mapping are the only way to get it.
  if (src.data < dst.data + dst.bytes && dst.data < src.data + src.bytes)
    return ThrowArgument(env, "source and destination overlap");

  // With a cost model (arguments 8 and 9), the damage planner (damage_plan.cc)
  // decides what to copy, in this same call: no plan object crosses to JS.
  const bool planned = info.Length() > 8 && !info[8].IsUndefined();
  double model[kCostModelSize];
  if (planned && !ReadCostModel(info, 8, model)) return Napi::Value();
  uint32_t flags = 0;
  if (info.Length() > 9 && !GetUint32(info, 9, "flags", &flags)) return Napi::Value();
  const bool stream = (flags & kCopyFlagStream) != 0;
  double copied = 0;
  if (planned) {
    const PlanOutcome p = PlanDamageRects(r, n, width, height, bpp, src.stride, dst.stride, model, (flags & 1) != 0, (flags & 2) != 0);
    for (size_t i = 0; i < p.count; i++) {
      const PlanBox& b = p.boxes[i];
      NextRows after;
      if (stream && (b.x1 - b.x0) * bpp >= kStreamRowBytes && i + 1 < p.count) {
        const PlanBox& c = p.boxes[i + 1];
        after = {src.data + c.y0 * src.stride + c.x0 * bpp, src.stride, (c.x1 - c.x0) * bpp, c.y1 - c.y0};
      }
      copied += CopyBox(src, dst, b.x0, b.y0, b.x1, b.y1, bpp, stream, after);
    }
  } else {
    auto clip = [&](size_t i) {
      return PlanBox{std::max<int64_t>(r[4 * i], 0), std::max<int64_t>(r[4 * i + 1], 0),
                     std::min<int64_t>(static_cast<int64_t>(r[4 * i]) + r[4 * i + 2], width),
                     std::min<int64_t>(static_cast<int64_t>(r[4 * i + 1]) + r[4 * i + 3], height)};
    };
    for (size_t i = 0; i < n; i++) {
      const PlanBox b = clip(i);
      if (b.x1 <= b.x0 || b.y1 <= b.y0) continue;
      NextRows after;
      if (stream && (b.x1 - b.x0) * bpp >= kStreamRowBytes && i + 1 < n) {
        const PlanBox c = clip(i + 1);
        if (c.x1 > c.x0 && c.y1 > c.y0) after = {src.data + c.y0 * src.stride + c.x0 * bpp, src.stride, (c.x1 - c.x0) * bpp, c.y1 - c.y0};
      }
      copied += CopyBox(src, dst, b.x0, b.y0, b.x1, b.y1, bpp, stream, after);
    }
  }
  if (stream) StreamFence();
  return Napi::Number::New(env, copied);
}

void InitCopy(Napi::Env env, Napi::Object exports) {
  exports.Set("copyRects", Napi::Function::New(env, CopyRects, "copyRects"));
}

}  // namespace bufshare
