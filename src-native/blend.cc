#include "blend.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#ifdef __SSE2__
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define BUFSHARE_BLEND_AVX2 1
#endif

#include "damage_plan.h"
#include "errors.h"

namespace bufshare {

namespace {

struct Plane {
  uint8_t* data;
  size_t bytes;
  int64_t stride;
  int64_t width;
  int64_t height;
};

bool ReadPlane(const Napi::CallbackInfo& info, size_t i, const char* name, Plane* p) {
  if (info.Length() <= i || !info[i].IsTypedArray() ||
      info[i].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    ThrowArgument(info.Env(), std::string(name) + " must be a Uint8Array");
    return false;
  }
  Napi::Uint8Array a = info[i].As<Napi::Uint8Array>();
  p->data = a.Data();
  p->bytes = a.ByteLength();
  uint32_t stride, width, height;
  const std::string n(name);
  if (!GetUint32(info, i + 1, (n + "Stride").c_str(), &stride) || !GetUint32(info, i + 2, (n + "Width").c_str(), &width) ||
      !GetUint32(info, i + 3, (n + "Height").c_str(), &height))
    return false;
  if (width > 65536 || height > 65536) {
    ThrowArgument(info.Env(), n + " width/height too large");
    return false;
  }
  p->stride = stride;
  p->width = width;
  p->height = height;
  return true;
}

// Would rows [0, height) of `width` 4-byte pixels fit in the plane's view?
bool Fits(const Plane& p) {
  if (p.width == 0 || p.height == 0) return true;
  if (p.stride < p.width * 4) return false;
  return (p.height - 1) * p.stride + p.width * 4 <= static_cast<int64_t>(p.bytes);
}

// One pixel, the compositor's exact formula: per channel src + round(dst * (255 - a) / 255),
// with t = dst * ia + 128, (t + (t >> 8)) >> 8 (exact rounding for 8-bit products), two
// channels per multiply. The 32-bit add carries as the JS reference's does when a client
// sends colour above its alpha (not premultiplied): wrong colours, never out of bounds.
// `alphaOr` is 0xff000000 for an XRGB destination (its X byte comes out opaque, as
// the JS blend wrote it) and 0 for an ARGB one (its alpha blends like a channel).
inline uint32_t BlendPixel(uint32_t s, uint32_t d, uint32_t alphaOr) {
  const uint32_t ia = 255 - (s >> 24);
  uint32_t rb = (d & 0xff00ff) * ia + 0x800080;
  rb = ((rb + ((rb >> 8) & 0xff00ff)) >> 8) & 0xff00ff;
  uint32_t ag = ((d >> 8) & 0xff00ff) * ia + 0x800080;
  ag = (ag + ((ag >> 8) & 0xff00ff)) & 0xff00ff00;
  return (s + (rb | ag)) | alphaOr;
}

inline uint32_t Load32(const uint8_t* p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

inline void Store32(uint8_t* p, uint32_t v) { memcpy(p, &v, 4); }

// Reads what lies below from `b` (the destination itself, or another region of its
// geometry: a compositor's background, blended over and written in one pass).
// Alpha 0 leaves what was below as it was (the JS reference's short cut, kept so
// the X byte and non-premultiplied "additive" pixels come out the same).
inline void BlendScalar(const uint8_t* s, const uint8_t* b, uint8_t* d, int64_t n, uint32_t alphaOr) {
  for (int64_t i = 0; i < n; i++, s += 4, b += 4, d += 4) {
    const uint32_t p = Load32(s);
    const uint32_t a = p >> 24;
    if (a == 255) Store32(d, p);
    else if (a != 0) Store32(d, BlendPixel(p, Load32(b), alphaOr));
    else if (b != d) Store32(d, Load32(b));
  }
}

#ifdef __SSE2__
// The same formula on 4 pixels at once, in 16-bit lanes: t = d * ia + 128 fits in
// 16 bits (at most 65153), and (t * 257) >> 16 (mulhi) equals (t + (t >> 8)) >> 8
// for every such t, so the result is bit-exact with BlendPixel.
inline void BlendRow(const uint8_t* s, const uint8_t* b, uint8_t* d, int64_t n, uint32_t alphaOr) {
  const __m128i zero = _mm_setzero_si128();
  const __m128i alphaMask = _mm_set1_epi32(static_cast<int>(0xff000000u));
  const __m128i orMask = _mm_set1_epi32(static_cast<int>(alphaOr));
  const __m128i c128 = _mm_set1_epi16(128);
  const __m128i c257 = _mm_set1_epi16(257);
  int64_t i = 0;
  for (; i + 4 <= n; i += 4, s += 16, b += 16, d += 16) {
    const __m128i sp = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s));
    const __m128i sa = _mm_and_si128(sp, alphaMask);
    const __m128i clear = _mm_cmpeq_epi32(sa, zero);
    const int opaqueBits = _mm_movemask_epi8(_mm_cmpeq_epi32(sa, alphaMask));
    if (opaqueBits == 0xffff) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(d), sp);
      continue;
    }
    if (_mm_movemask_epi8(clear) == 0xffff) {
      if (b != d) _mm_storeu_si128(reinterpret_cast<__m128i*>(d), _mm_loadu_si128(reinterpret_cast<const __m128i*>(b)));
      continue;
    }
    const __m128i dp = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b));
    // 255 - a in each pixel's two 16-bit halves, then spread over its 4 channels.
    const __m128i ia32 = _mm_srli_epi32(_mm_andnot_si128(sp, alphaMask), 24);
    const __m128i ia16 = _mm_or_si128(ia32, _mm_slli_epi32(ia32, 16));
    const __m128i iaLo = _mm_unpacklo_epi32(ia16, ia16);
    const __m128i iaHi = _mm_unpackhi_epi32(ia16, ia16);
    __m128i lo = _mm_unpacklo_epi8(dp, zero);
    __m128i hi = _mm_unpackhi_epi8(dp, zero);
    lo = _mm_mulhi_epu16(_mm_add_epi16(_mm_mullo_epi16(lo, iaLo), c128), c257);
    hi = _mm_mulhi_epu16(_mm_add_epi16(_mm_mullo_epi16(hi, iaHi), c128), c257);
    const __m128i blended = _mm_or_si128(_mm_add_epi32(sp, _mm_packus_epi16(lo, hi)), orMask);
    // Alpha-0 pixels keep the destination (see BlendScalar).
    const __m128i out = _mm_or_si128(_mm_and_si128(clear, dp), _mm_andnot_si128(clear, blended));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(d), out);
  }
  BlendScalar(s, b, d, n - i, alphaOr);
}
#else
inline void BlendRow(const uint8_t* s, const uint8_t* b, uint8_t* d, int64_t n, uint32_t alphaOr) { BlendScalar(s, b, d, n, alphaOr); }
#endif

#ifdef BUFSHARE_BLEND_AVX2
// BlendRow on 8 pixels a step, for CPUs with AVX2 (checked once at load: the
// addon is built for baseline x86-64). Measured on the benchmark's 92,000
// half-transparent pixels: about half the SSE2 loop's time. The 256-bit unpacks
// and pack work within 128-bit lanes, consistently, so pixel order is kept.
__attribute__((target("avx2"))) void BlendRowAvx2(const uint8_t* s, const uint8_t* b, uint8_t* d, int64_t n, uint32_t alphaOr) {
  const __m256i zero = _mm256_setzero_si256();
  const __m256i alphaMask = _mm256_set1_epi32(static_cast<int>(0xff000000u));
  const __m256i orMask = _mm256_set1_epi32(static_cast<int>(alphaOr));
  const __m256i c128 = _mm256_set1_epi16(128);
  const __m256i c257 = _mm256_set1_epi16(257);
  const __m256i ones = _mm256_set1_epi32(-1);
  // Per 128-bit lane: the alpha bytes of pixels 0, 1 (lo) and 2, 3 (hi), each to
  // the low byte of four 16-bit lanes; -1 (top bit set) zeroes the high byte.
  const __m256i alphaLo = _mm256_setr_epi8(3, -1, 3, -1, 3, -1, 3, -1, 7, -1, 7, -1, 7, -1, 7, -1,
                                           3, -1, 3, -1, 3, -1, 3, -1, 7, -1, 7, -1, 7, -1, 7, -1);
  const __m256i alphaHi = _mm256_setr_epi8(11, -1, 11, -1, 11, -1, 11, -1, 15, -1, 15, -1, 15, -1, 15, -1,
                                           11, -1, 11, -1, 11, -1, 11, -1, 15, -1, 15, -1, 15, -1, 15, -1);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8, s += 32, b += 32, d += 32) {
    const __m256i sp = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s));
    if (_mm256_testz_si256(sp, alphaMask)) {
      if (b != d) _mm256_storeu_si256(reinterpret_cast<__m256i*>(d), _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b)));
      continue;
    }
    const __m256i sa = _mm256_and_si256(sp, alphaMask);
    if (_mm256_movemask_epi8(_mm256_cmpeq_epi32(sa, alphaMask)) == -1) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(d), sp);
      continue;
    }
    const __m256i dp = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b));
    // 255 - a is ~a; one byte shuffle spreads it over the 16-bit lanes of its pixel's channels.
    const __m256i inverse = _mm256_xor_si256(sp, ones);
    __m256i lo = _mm256_unpacklo_epi8(dp, zero);
    __m256i hi = _mm256_unpackhi_epi8(dp, zero);
    lo = _mm256_mulhi_epu16(_mm256_add_epi16(_mm256_mullo_epi16(lo, _mm256_shuffle_epi8(inverse, alphaLo)), c128), c257);
    hi = _mm256_mulhi_epu16(_mm256_add_epi16(_mm256_mullo_epi16(hi, _mm256_shuffle_epi8(inverse, alphaHi)), c128), c257);
    __m256i out = _mm256_or_si256(_mm256_add_epi32(sp, _mm256_packus_epi16(lo, hi)), orMask);
    const __m256i clear = _mm256_cmpeq_epi32(sa, zero);
    out = _mm256_blendv_epi8(out, dp, clear);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(d), out);
  }
  BlendRow(s, b, d, n - i, alphaOr);
}

#define BUFSHARE_AVX512 __attribute__((target("avx512f,avx512bw"), always_inline)) inline

// 16 pixels of source over 16 below, the same exact arithmetic as BlendPixel in
// fewer steps than the AVX2 loop: no unpack and pack; the blue/red and
// green/alpha bytes of each pixel are masked into the low bytes of its two
// 16-bit lanes, both multiplied by 255 - a (spread over the lanes with one byte
// shuffle), and the green/alpha products shifted back up. An opaque pixel comes
// out as the source (255 - a = 0), a clear one as what was below.
BUFSHARE_AVX512 __m512i Blend16(__m512i sp, __m512i dp, __m512i orMask) {
  const __m512i alphaMask = _mm512_set1_epi32(static_cast<int>(0xff000000u));
  const __m512i lowBytes = _mm512_set1_epi16(0x00ff);
  const __m512i c128 = _mm512_set1_epi16(128);
  const __m512i c257 = _mm512_set1_epi16(257);
  // Per pixel, its alpha byte (3 within the pixel) to the low byte of both its
  // 16-bit lanes; -1 zeroes the high byte. The shuffle works within 128-bit lanes.
  const __m512i spread = _mm512_set4_epi32(static_cast<int>(0xff0fff0fu), static_cast<int>(0xff0bff0bu), static_cast<int>(0xff07ff07u),
                                           static_cast<int>(0xff03ff03u));
  const __m512i ia = _mm512_shuffle_epi8(_mm512_ternarylogic_epi32(sp, sp, sp, 0x55), spread);
  const __m512i br = _mm512_and_si512(dp, lowBytes);
  const __m512i ga = _mm512_srli_epi16(dp, 8);
  const __m512i brOut = _mm512_mulhi_epu16(_mm512_add_epi16(_mm512_mullo_epi16(br, ia), c128), c257);
  const __m512i gaOut = _mm512_mulhi_epu16(_mm512_add_epi16(_mm512_mullo_epi16(ga, ia), c128), c257);
  const __m512i out = _mm512_or_si512(_mm512_add_epi32(sp, _mm512_or_si512(brOut, _mm512_slli_epi16(gaOut, 8))), orMask);
  // Alpha-0 pixels keep what was below (see BlendScalar).
  return _mm512_mask_mov_epi32(out, _mm512_testn_epi32_mask(sp, alphaMask), dp);
}

// The first k pixels (k < 16) of a step: masked loads and store, which touch no
// byte of a masked-off pixel (nor fault on one).
BUFSHARE_AVX512 void BlendPartial(const uint8_t* s, const uint8_t* b, uint8_t* d, int64_t k, __m512i orMask) {
  const __mmask16 m = static_cast<__mmask16>((1u << k) - 1);
  _mm512_mask_storeu_epi32(d, m, Blend16(_mm512_maskz_loadu_epi32(m, s), _mm512_maskz_loadu_epi32(m, b), orMask));
}

// One whole step: the all-clear and all-opaque steps are a copy and a store, as
// in the AVX2 loop.
BUFSHARE_AVX512 void BlendStep(__m512i sp, const uint8_t* b, uint8_t* d, __m512i orMask) {
  const __m512i alphaMask = _mm512_set1_epi32(static_cast<int>(0xff000000u));
  if (_mm512_testn_epi32_mask(sp, alphaMask) == 0xffff) {
    if (b != d) _mm512_storeu_si512(d, _mm512_loadu_si512(b));
    return;
  }
  if (_mm512_cmpge_epu32_mask(sp, alphaMask) == 0xffff) {
    _mm512_storeu_si512(d, sp);
    return;
  }
  _mm512_storeu_si512(d, Blend16(sp, _mm512_loadu_si512(b), orMask));
}

// BlendRow on 16 pixels a step, for CPUs with AVX-512 BW (checked once at load).
// A 64-byte store across two cache lines costs about two (measured: 230 rows of
// 400 pixels over a background, 9.4 us aligned, 11.3 us 32 bytes off): the
// pixels up to the destination's next cache line are one masked step, and so is
// the tail.
__attribute__((target("avx512f,avx512bw"))) void BlendRowAvx512(const uint8_t* s, const uint8_t* b, uint8_t* d, int64_t n, uint32_t alphaOr) {
  const __m512i alphaMask = _mm512_set1_epi32(static_cast<int>(0xff000000u));
  const __m512i orMask = _mm512_set1_epi32(static_cast<int>(alphaOr));
  const int64_t head = std::min<int64_t>(n, ((64 - (reinterpret_cast<uintptr_t>(d) & 63)) & 63) / 4);
  if (head > 0) {
    BlendPartial(s, b, d, head, orMask);
    s += 4 * head;
    b += 4 * head;
    d += 4 * head;
  }
  int64_t i = head;
  // Two steps at a time, with one test for the common case of a translucent
  // stretch (no pixel clear or opaque in either): 11.2 -> 10.8 us on 230 rows
  // of 400 half-transparent pixels over a background.
  for (; i + 32 <= n; i += 32, s += 128, b += 128, d += 128) {
    const __m512i s0 = _mm512_loadu_si512(s);
    const __m512i s1 = _mm512_loadu_si512(s + 64);
    const __mmask16 special = _mm512_testn_epi32_mask(s0, alphaMask) | _mm512_testn_epi32_mask(s1, alphaMask) |
                              _mm512_cmpge_epu32_mask(s0, alphaMask) | _mm512_cmpge_epu32_mask(s1, alphaMask);
    if (special == 0) {
      _mm512_storeu_si512(d, Blend16(s0, _mm512_loadu_si512(b), orMask));
      _mm512_storeu_si512(d + 64, Blend16(s1, _mm512_loadu_si512(b + 64), orMask));
    } else {
      BlendStep(s0, b, d, orMask);
      BlendStep(s1, b + 64, d + 64, orMask);
    }
  }
  if (i + 16 <= n) {
    BlendStep(_mm512_loadu_si512(s), b, d, orMask);
    i += 16;
    s += 64;
    b += 64;
    d += 64;
  }
  if (i < n) BlendPartial(s, b, d, n - i, orMask);
}

#endif

// The loop each span runs, chosen once at load: the widest this CPU has, or the
// one BUFSHARE_BLEND_KERNEL names ("scalar", "sse2", "avx2"), so tests reach every loop
// on any machine.
enum class Kernel { kScalar, kSse2, kAvx2, kAvx512 };

Kernel ChooseKernel() {
  const char* forced = getenv("BUFSHARE_BLEND_KERNEL");
  if (forced && strcmp(forced, "scalar") == 0) return Kernel::kScalar;
#ifdef __SSE2__
  if (forced && strcmp(forced, "sse2") == 0) return Kernel::kSse2;
#endif
#ifdef BUFSHARE_BLEND_AVX2
  // This runs from a static initializer, possibly before libgcc's own: init first.
  // libgcc reports AVX-512 only where the OS saves the zmm registers (XCR0).
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2");
  if (forced && strcmp(forced, "avx2") == 0 && avx2) return Kernel::kAvx2;
  if (avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")) return Kernel::kAvx512;
  if (avx2) return Kernel::kAvx2;
#endif
#ifdef __SSE2__
  return Kernel::kSse2;
#else
  return Kernel::kScalar;
#endif
}

const Kernel kKernel = ChooseKernel();

void BlendSpan(const uint8_t* s, const uint8_t* b, uint8_t* d, int64_t n, uint32_t alphaOr) {
  switch (kKernel) {
#ifdef BUFSHARE_BLEND_AVX2
    case Kernel::kAvx512:
      return BlendRowAvx512(s, b, d, n, alphaOr);
    case Kernel::kAvx2:
      return BlendRowAvx2(s, b, d, n, alphaOr);
#endif
    case Kernel::kSse2:
      return BlendRow(s, b, d, n, alphaOr);
    default:
      return BlendScalar(s, b, d, n, alphaOr);
  }
}

const char* KernelName() {
  switch (kKernel) {
    case Kernel::kAvx512: return "avx512";
    case Kernel::kAvx2: return "avx2";
    case Kernel::kSse2: return "sse2";
    default: return "scalar";
  }
}

}  // namespace

void BlendRows(const uint8_t* s, int64_t srcStride, const uint8_t* b, int64_t belowStride, uint8_t* d, int64_t dstStride,
               int64_t width, int64_t height, uint32_t alphaOr) {
  // Rows of a damaged rectangle are far apart (an output's stride): the hardware
  // prefetcher starts over at each, so each row's start waits on memory. The
  // start of the row after next is fetched while this one blends.
  const int64_t ahead = std::min<int64_t>(width * 4, 512);
  for (int64_t y = 0; y < height; y++, s += srcStride, b += belowStride, d += dstStride) {
    if (y + 2 < height) {
      for (int64_t o = 0; o < ahead; o += 64) {
        __builtin_prefetch(s + 2 * srcStride + o, 0);
        __builtin_prefetch(b + 2 * belowStride + o, 0);
        __builtin_prefetch(d + 2 * dstStride + o, 1);
      }
    }
    BlendSpan(s, b, d, width, alphaOr);
  }
}

// blendRects(src, srcStride, srcWidth, srcHeight, dst, dstStride, dstWidth, dstHeight,
//            offsetX, offsetY, rects, dstHasAlpha[, below, belowStride, belowWidth, belowHeight[, model]])
//   -> pixels visited
//   src: premultiplied ARGB8888 (alpha in the top byte of each little-endian word)
//   dst: XRGB8888 (dstHasAlpha false) or ARGB8888 of the same channel order
//   rects: Int32Array of x, y, w, h quadruples in dst pixels; src pixel (0, 0) lies
//          at dst (offsetX, offsetY)
//   below: where given, what src is blended over (pixel (x, y) under dst's (x, y));
//          dst is only written. Saves a compositor copying its background into
//          the output before blending a client over it.
//   model: where given (a cost model, Float64Array), rects are planned natively
//          (damage_plan.cc) into their union, each pixel once; below may be undefined.
// Every rectangle is clipped in 64-bit arithmetic to the destination and to where
// the source lies on it, and both planes' geometry is checked against their views'
// lengths before any pixel is read.
static Napi::Value BlendRects(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Plane src, dst;
  int32_t offsetX, offsetY;
  if (!ReadPlane(info, 0, "src", &src) || !ReadPlane(info, 4, "dst", &dst) || !GetInt32(info, 8, "offsetX", &offsetX) ||
      !GetInt32(info, 9, "offsetY", &offsetY))
    return Napi::Value();
  if (!Fits(src)) return ThrowArgument(env, "source too small for its width x height at its stride");
  if (!Fits(dst)) return ThrowArgument(env, "destination too small for its width x height at its stride");
  if (info.Length() <= 10 || !info[10].IsTypedArray() ||
      info[10].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    return ThrowArgument(env, "rects must be an Int32Array");
  if (info.Length() <= 11 || !info[11].IsBoolean()) return ThrowArgument(env, "dstHasAlpha must be a boolean");
  const uint32_t alphaOr = info[11].As<Napi::Boolean>().Value() ? 0u : 0xff000000u;
  Napi::Int32Array rects = info[10].As<Napi::Int32Array>();
  const size_t n = rects.ElementLength() / 4;
  const int32_t* r = rects.Data();
  // The blend reads the destination it writes; a source inside it would be read
  // after being overwritten. Two views of one mapping are the only way to get it.
  if (src.data < dst.data + dst.bytes && dst.data < src.data + src.bytes)
    return ThrowArgument(env, "source and destination overlap");
  Plane below = dst;
  const bool separateBelow = info.Length() > 12 && !info[12].IsUndefined();
  if (separateBelow) {
    if (!ReadPlane(info, 12, "below", &below)) return Napi::Value();
    if (!Fits(below)) return ThrowArgument(env, "below too small for its width x height at its stride");
    // Read at each pixel while the destination is written: a shifted view of it would read written pixels.
    if (below.data < dst.data + dst.bytes && dst.data < below.data + below.bytes)
      return ThrowArgument(env, "below and destination overlap");
  }

  const int64_t ox = offsetX, oy = offsetY;
  const int64_t clipX0 = std::max<int64_t>(0, ox), clipY0 = std::max<int64_t>(0, oy);
  const int64_t clipX1 = std::min<int64_t>(std::min<int64_t>(dst.width, below.width), ox + src.width);
  const int64_t clipY1 = std::min<int64_t>(std::min<int64_t>(dst.height, below.height), oy + src.height);
  double visited = 0;
  auto blendBox = [&](int64_t x0, int64_t y0, int64_t x1, int64_t y1) {
    x0 = std::max(x0, clipX0);
    y0 = std::max(y0, clipY0);
    x1 = std::min(x1, clipX1);
    y1 = std::min(y1, clipY1);
    if (x1 <= x0 || y1 <= y0) return;
    const uint8_t* s = src.data + (y0 - oy) * src.stride + (x0 - ox) * 4;
    uint8_t* d = dst.data + y0 * dst.stride + x0 * 4;
    const uint8_t* b = below.data + y0 * below.stride + x0 * 4;
    BlendRows(s, src.stride, b, below.stride, d, dst.stride, x1 - x0, y1 - y0, alphaOr);
    visited += static_cast<double>((x1 - x0) * (y1 - y0));
  };
  // With a cost model: the rectangles' union, planned here, each pixel once (a
  // blend in place is not idempotent). Planning in JS cost about a microsecond a
  // call, a compositor makes one or two per translucent surface per frame.
  if (info.Length() > 16 && !info[16].IsUndefined()) {
    double model[kCostModelSize];  // ReadCostModel fills all of them, given 5 or 6
    if (!ReadCostModel(info, 16, model)) return Napi::Value();
    const PlanOutcome p = PlanDamageRects(r, n, dst.width, dst.height, 4, dst.stride, dst.stride, model, false, true);
    for (size_t i = 0; i < p.count; i++) blendBox(p.boxes[i].x0, p.boxes[i].y0, p.boxes[i].x1, p.boxes[i].y1);
  } else {
    for (size_t i = 0; i < n; i++)
      blendBox(r[4 * i], r[4 * i + 1], static_cast<int64_t>(r[4 * i]) + r[4 * i + 2], static_cast<int64_t>(r[4 * i + 1]) + r[4 * i + 3]);
  }
  return Napi::Number::New(env, visited);
}

// blendKernel() -> "avx2" | "sse2" | "scalar": the loop blendRects runs.
static Napi::Value BlendKernel(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), KernelName()); }

void InitBlend(Napi::Env env, Napi::Object exports) {
  exports.Set("blendRects", Napi::Function::New(env, BlendRects, "blendRects"));
  exports.Set("blendKernel", Napi::Function::New(env, BlendKernel, "blendKernel"));
}

}  // namespace bufshare
