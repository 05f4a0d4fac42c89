#include "compose.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif
#include <string>
#include <vector>

#include "blend.h"
#include "damage_plan.h"
#include "errors.h"

namespace bufshare {

namespace {

// A plane: rows [0, height) of width pixels at stride bytes (4-byte pixels,
// 2-byte for an RGB565 source: FitsView is told which).
struct Plane {
  uint8_t* data = nullptr;
  size_t bytes = 0;
  int64_t stride = 0;
  int64_t width = 0;
  int64_t height = 0;
};

bool FitsView(const Plane& p, int64_t bpp = 4) {
  if (p.width == 0 || p.height == 0) return true;
  if (p.stride < p.width * bpp) return false;
  return (p.height - 1) * p.stride + p.width * bpp <= static_cast<int64_t>(p.bytes);
}

bool Overlap(const Plane& a, const Plane& b) { return a.data < b.data + b.bytes && b.data < a.data + a.bytes; }

// One napi_get_typedarray_info call per argument: the node-addon-api wrappers
// took several each, and at 14 arguments the call cost 0.8 us before any pixel
// moved (a tenth of a composition's budget).
template <typename T>
bool TypedArg(napi_env env, napi_value v, napi_typedarray_type type, T** data, size_t* length) {
  napi_typedarray_type got;
  void* raw = nullptr;
  if (napi_get_typedarray_info(env, v, &got, length, &raw, nullptr, nullptr) != napi_ok || got != type) return false;
  *data = static_cast<T*>(raw);
  return true;
}

bool BytesArg(napi_env env, napi_value v, Plane* p) {
  uint8_t* data;
  size_t length;
  if (!TypedArg(env, v, napi_uint8_array, &data, &length)) return false;
  // A zero-length view may have no data pointer; nothing can fit in it anyway.
  p->data = data ? data : reinterpret_cast<uint8_t*>(p);
  p->bytes = data ? length : 0;
  return true;
}

// A plane's geometry from the ops header: stride, width, height.
bool SetGeometry(Plane* p, const int32_t* g) {
  if (g[0] < 0 || g[1] < 0 || g[2] < 0 || g[1] > 65536 || g[2] > 65536) return false;
  p->stride = g[0];
  p->width = g[1];
  p->height = g[2];
  return FitsView(*p);
}

// Row copies of one box. Rows of a damaged rectangle are an output's stride apart:
// the hardware prefetcher starts over at each, so every row's start waits on
// memory. The start of the row three ahead is fetched while this one copies
// (measured on the benchmark's 16 rectangles over the scene: 10.1 -> 7.4 us for
// the copies alone two rows ahead; the composition 10.7 -> 10.5 us three ahead,
// no better four ahead).
constexpr int64_t kRowsAhead = 3;

#if defined(__x86_64__) && defined(__GNUC__)
// A row of 64 to 512 bytes in 64-byte moves, the last one overlapping the one
// before where the row is not a multiple of 64: a memcpy call costs about as
// much again for rows this short (measured on the benchmark's rows of 160 and
// 320 bytes: 7.3 -> 7.0 us for the copies alone). Every byte moved lies in the row.
__attribute__((target("avx512f"))) void CopyShortRowAvx512(uint8_t* d, const uint8_t* s, int64_t bytes) {
  int64_t o = 0;
  for (; o + 64 <= bytes; o += 64) _mm512_storeu_si512(d + o, _mm512_loadu_si512(s + o));
  if (o < bytes) _mm512_storeu_si512(d + bytes - 64, _mm512_loadu_si512(s + bytes - 64));
}

bool ChooseShortRowCopy() {
  // This runs from a static initializer, possibly before libgcc's own: init first.
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f");
}

const bool kShortRowsAvx512 = ChooseShortRowCopy();

inline void CopyRow(uint8_t* d, const uint8_t* s, int64_t bytes) {
  if (kShortRowsAvx512 && bytes >= 64 && bytes <= 512) return CopyShortRowAvx512(d, s, bytes);
  memcpy(d, s, bytes);
}
#else
inline void CopyRow(uint8_t* d, const uint8_t* s, int64_t bytes) { memcpy(d, s, bytes); }
#endif

void CopyRows(const uint8_t* s, int64_t srcStride, uint8_t* d, int64_t dstStride, int64_t bytes, int64_t rows) {
  const int64_t ahead = std::min<int64_t>(bytes, 512);
  for (int64_t y = 0; y < rows; y++, s += srcStride, d += dstStride) {
    if (y + kRowsAhead < rows) {
      for (int64_t o = 0; o < ahead; o += 64) {
        __builtin_prefetch(s + kRowsAhead * srcStride + o, 0);
        __builtin_prefetch(d + kRowsAhead * dstStride + o, 1);
      }
    }
    CopyRow(d, s, bytes);
  }
}

// Converting copies and blends: sources in the other formats the servers offer,
// converted pixel by pixel as they are painted (the output is XRGB8888; a
// conversion pass of its own would write and read every pixel once more). The
// pointers never overlap (sources are checked against the output), so the
// loops are plain and the compiler vectorizes them. Loads and stores go through
// memcpy: a source's stride need not be a multiple of its pixel size.
//
// binding.gyp builds with -O2, where GCC 12's "very cheap" vectorizer cost model
// leaves both copy loops scalar (-fopt-info-vec reports nothing); with the
// dynamic cost model they are vectorized (16-byte vectors, SSE2), as at -O3.
#if defined(__GNUC__) && !defined(__clang__)
#define BUFSHARE_VECTORIZE __attribute__((optimize("tree-loop-vectorize", "vect-cost-model=dynamic")))
#else
#define BUFSHARE_VECTORIZE
#endif

// XBGR8888/ABGR8888 word 0xXXBBGGRR to XRGB8888/ARGB8888 0xXXRRGGBB: red and
// blue swap; the top byte stays as it is (the XRGB8888 copy copies its X byte as
// it is, so an XBGR8888 copy equals converting first, then copying).
inline uint32_t SwapRedBlue(uint32_t v) { return (v & 0xff00ff00u) | ((v >> 16) & 0xffu) | ((v & 0xffu) << 16); }

// RGB565 rrrrrggggggbbbbb to XRGB8888, each channel widened by bit replication
// (r8 = r5 << 3 | r5 >> 2: 0 -> 0, 31 -> 255, exact at both ends); X is 0xff,
// as the blends write it (there is no X byte to copy).
inline uint32_t Rgb565ToXrgb(uint32_t v) {
  const uint32_t r = (v >> 11) & 0x1f, g = (v >> 5) & 0x3f, b = v & 0x1f;
  return 0xff000000u | (((r << 3) | (r >> 2)) << 16) | (((g << 2) | (g >> 4)) << 8) | ((b << 3) | (b >> 2));
}

BUFSHARE_VECTORIZE void CopyRowsXbgr(const uint8_t* __restrict s, int64_t srcStride, uint8_t* __restrict d, int64_t dstStride, int64_t width, int64_t rows) {
  for (int64_t y = 0; y < rows; y++, s += srcStride, d += dstStride) {
    for (int64_t i = 0; i < width; i++) {
      uint32_t v;
      memcpy(&v, s + 4 * i, 4);
      v = SwapRedBlue(v);
      memcpy(d + 4 * i, &v, 4);
    }
  }
}

BUFSHARE_VECTORIZE void CopyRowsRgb565(const uint8_t* __restrict s, int64_t srcStride, uint8_t* __restrict d, int64_t dstStride, int64_t width, int64_t rows) {
  for (int64_t y = 0; y < rows; y++, s += srcStride, d += dstStride) {
    for (int64_t i = 0; i < width; i++) {
      uint16_t v;
      memcpy(&v, s + 2 * i, 2);
      const uint32_t p = Rgb565ToXrgb(v);
      memcpy(d + 4 * i, &p, 4);
    }
  }
}

// Premultiplied ABGR8888 over `below` into dst: each run of up to kSwapRun
// source pixels swapped into ARGB8888 on the stack, then the ARGB blend's own
// loop (BlendRows) over it, so the result is bit for bit converting first, then
// blending, on every blend kernel.
constexpr int64_t kSwapRun = 256;

void BlendRowsAbgr(const uint8_t* s, int64_t srcStride, const uint8_t* b, int64_t belowStride, uint8_t* d, int64_t dstStride, int64_t width,
                   int64_t rows) {
  alignas(64) uint8_t run[kSwapRun * 4];
  for (int64_t y = 0; y < rows; y++, s += srcStride, b += belowStride, d += dstStride) {
    for (int64_t x = 0; x < width; x += kSwapRun) {
      const int64_t n = std::min(kSwapRun, width - x);
      CopyRowsXbgr(s + 4 * x, 0, run, 0, n, 1);
      BlendRows(run, 0, b + 4 * x, belowStride, d + 4 * x, dstStride, n, 1, 0xff000000u);
    }
  }
}

// Whether no two of a few clipped rectangles (x, y, w, h, all inside the output)
// overlap: a compositor's claims never do, and then a blend needs no plan.
// Past 32 rectangles the planner decides.
bool Disjoint(const int32_t* q, size_t n) {
  if (n > 32) return false;
  for (size_t i = 0; i < n; i++) {
    for (size_t j = i + 1; j < n; j++) {
      const int32_t* a = q + 4 * i;
      const int32_t* b = q + 4 * j;
      if (a[0] < b[0] + b[2] && b[0] < a[0] + a[2] && a[1] < b[1] + b[3] && b[1] < a[1] + a[3]) return false;
    }
  }
  return true;
}

enum OpKind : int32_t {
  kCopyBackground = 0,
  kCopy = 1,
  kCopyAlone = 2,
  kBlend = 3,
  kBlendOverBackground = 4,
  kCopyXbgr = 5,
  kCopyRgb565 = 6,
  kBlendAbgr = 7,
  kBlendAbgrOverBackground = 8,
  // Scaled layers (wp_viewporter): a crop of the source scaled to a destination
  // size, nearest-neighbour. Each takes a second ops row (see ComposeLayers).
  kCopyScaled = 9,
  kCopyScaledXbgr = 10,
  kCopyScaledRgb565 = 11,
  kBlendScaled = 12,
  kBlendScaledAbgr = 13,
};
constexpr int32_t kLastKind = kBlendScaledAbgr;

bool IsScaled(int32_t kind) { return kind >= kCopyScaled && kind <= kBlendScaledAbgr; }
bool IsBlend(int32_t kind) {
  return kind == kBlend || kind == kBlendOverBackground || kind == kBlendAbgr || kind == kBlendAbgrOverBackground || kind == kBlendScaled ||
         kind == kBlendScaledAbgr;
}
bool IsOverBackground(int32_t kind) { return kind == kBlendOverBackground || kind == kBlendAbgrOverBackground; }
// Bytes per source pixel.
int64_t SourceBpp(int32_t kind) { return kind == kCopyRgb565 || kind == kCopyScaledRgb565 ? 2 : 4; }

constexpr size_t kOpInts = 8;
// A scaled layer's destination may be larger than any plane (a small buffer
// stretched); bounded like the scene's coordinates, so dx * srcW stays far
// inside 64 bits (2^24 * 2^16).
constexpr int32_t kMaxScaledSize = 1 << 24;

// A scaled layer's second row: the source rectangle (crop) in source pixels,
// then the destination size on the output.
struct Scale {
  int64_t srcX = 0, srcY = 0, srcW = 0, srcH = 0, dstW = 0, dstH = 0;
};

// Output box [x0, x1) x [y0, y1) of a scaled layer whose destination's
// top-left is output (ox, oy), nearest-neighbour: destination pixel (dx, dy)
// takes source (srcX + floor(dx * srcW / dstW), srcY + floor(dy * srcH / dstH)),
// exact integer math in 64 bits. dx < dstW makes the quotient < srcW: every
// pixel read lies in the crop, which was checked to lie in the source. Each run
// of up to kSwapRun pixels is gathered (and converted to XRGB/ARGB8888) on the
// stack, then copied or blended (BlendRows, as the unscaled blends) into place.
thread_local std::vector<int64_t> scaledColumns;

void PaintScaled(int32_t kind, const Plane& src, const Scale& sc, int64_t ox, int64_t oy, const Plane& out, int64_t x0, int64_t y0, int64_t x1, int64_t y1) {
  const int64_t bpp = SourceBpp(kind);
  const int64_t width = x1 - x0;
  scaledColumns.resize(static_cast<size_t>(width));
  for (int64_t i = 0; i < width; i++) scaledColumns[i] = (sc.srcX + ((x0 - ox + i) * sc.srcW) / sc.dstW) * bpp;
  alignas(64) uint8_t run[kSwapRun * 4];
  for (int64_t y = y0; y < y1; y++) {
    const uint8_t* row = src.data + (sc.srcY + ((y - oy) * sc.srcH) / sc.dstH) * src.stride;
    uint8_t* d = out.data + y * out.stride + x0 * 4;
    for (int64_t x = 0; x < width; x += kSwapRun) {
      const int64_t n = std::min(kSwapRun, width - x);
      const int64_t* col = scaledColumns.data() + x;
      for (int64_t i = 0; i < n; i++) {
        uint32_t v;
        if (bpp == 2) {
          uint16_t h;
          memcpy(&h, row + col[i], 2);
          v = Rgb565ToXrgb(h);
        } else {
          memcpy(&v, row + col[i], 4);
          if (kind == kCopyScaledXbgr || kind == kBlendScaledAbgr) v = SwapRedBlue(v);
        }
        memcpy(run + 4 * i, &v, 4);
      }
      if (IsBlend(kind)) {
        BlendRows(run, 0, d + 4 * x, out.stride, d + 4 * x, out.stride, n, 1, 0xff000000u);
      } else {
        memcpy(d + 4 * x, run, n * 4);
      }
    }
  }
}
// A bound on a composition's distinct sources (one per client buffer shown).
constexpr uint32_t kMaxSources = 65536;

// Scratch for a planned layer's rectangles, per thread like the planner's.
thread_local std::vector<int32_t> planInput;

}  // namespace

// composeLayers(output, background, sources, ops, rects, numbers) -> undefined
//   Paints the layers of one composition into the output, in the order given
//   (back to front), in one call: a compositor's scattered damage is dozens of
//   short rectangles over a few surfaces, and a call per surface cost more than
//   copying its pixels.
//   output, background: Uint8Arrays of XRGB8888 planes, not overlapping.
//   sources: an Array of Uint8Array, the layers' pixels.
//   ops: Int32Array. A header of 8 ints: the output's stride, width and height,
//     the background's, the number of layers and of sources; then 8
//     ints per layer: kind (0 copy from the background, 1 copy, 2 copy where the
//     source holds the layer's complete image and nothing covers it (the plan
//     may join rows), 3 blend premultiplied ARGB8888 over the output, 4 blend
//     over the background into the output; a blend's rectangles are planned
//     into their union, each pixel blended once; 5 copy XBGR8888, red and blue
//     swapped; 6 copy RGB565, widened by bit replication, X 0xff; 7 and 8 as 3
//     and 4 from premultiplied ABGR8888), source index (into sources;
//     unused by kind 0), source stride, width, height, x and y of the source's
//     pixel (0, 0) on the output, and the number of rectangles the layer takes
//     from rects, in order. Kinds 9 to 13 are scaled layers (wp_viewporter):
//     9 copy XRGB8888, 10 copy XBGR8888, 11 copy RGB565, 12 blend premultiplied
//     ARGB8888 over the output, 13 the same from ABGR8888, each converting as
//     its unscaled kind; x and y are then where the destination's top-left
//     lies, and the layer takes a second row of 8 ints (counted in the
//     header's number of layers, which counts rows): the source rectangle
//     (x, y, w, h, in source pixels, non-empty, inside the source's width x
//     height) and the destination's width and height (1 to 2^24), then 2
//     unused; nearest-neighbour sampling (PaintScaled). ops may be longer
//     than that (reused).
//   rects: Int32Array of x, y, w, h quadruples in output pixels.
//   numbers: Float64Array of kCostModelSize + 3: the in-cache copy cost model
//     (lib/damage/cost-model.ts modelArray, for the plans), then 3 set here to the pixels copied from sources, blended, and copied
//     from the background. (Six arguments, not seven: node-addon-api reads up
//     to six without a heap allocation.)
// Every rectangle is clipped in 64-bit arithmetic to the output and to where the
// layer's source lies on it (and to the background, for kinds 0 and 4); every
// plane's geometry is checked against its view's length, and sources against
// overlapping the output, before any pixel moves.
static Napi::Value ComposeLayers(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  napi_env e = env;
  if (info.Length() < 6) return ThrowArgument(env, "composeLayers takes 6 arguments");
  Plane out, bg;
  const int32_t* ops;
  const int32_t* rects;
  double* numbers;
  size_t opInts, rectInts, numbersLength;
  if (!BytesArg(e, info[0], &out)) return ThrowArgument(env, "output must be a Uint8Array");
  if (!BytesArg(e, info[1], &bg)) return ThrowArgument(env, "background must be a Uint8Array");
  if (!TypedArg(e, info[3], napi_int32_array, &ops, &opInts) || opInts < kOpInts) return ThrowArgument(env, "ops must be an Int32Array with its header");
  if (!TypedArg(e, info[4], napi_int32_array, &rects, &rectInts)) return ThrowArgument(env, "rects must be an Int32Array");
  if (!TypedArg(e, info[5], napi_float64_array, &numbers, &numbersLength) || numbersLength != kCostModelSize + 3)
    return ThrowArgument(env, "numbers must be a Float64Array of 9 (the cost model's 6, then 3 counts)");
  if (!SetGeometry(&out, ops)) return ThrowArgument(env, "output geometry out of range or too large for its view");
  if (!SetGeometry(&bg, ops + 3)) return ThrowArgument(env, "background geometry out of range or too large for its view");
  if (Overlap(out, bg)) return ThrowArgument(env, "background and output overlap");
  // All kCostModelSize: the planner reads every one (5 here once read past the array).
  double model[kCostModelSize];
  for (size_t k = 0; k < kCostModelSize; k++) {
    if (!(numbers[k] >= 0 && numbers[k] < 1e9)) return ThrowArgument(env, "model costs must be finite and non-negative");
    model[k] = numbers[k];
  }
  if (ops[6] < 0 || static_cast<size_t>(ops[6]) > opInts / kOpInts - 1) return ThrowArgument(env, "ops holds fewer layers than its header says");
  const size_t layers = static_cast<size_t>(ops[6]);
  const int32_t* header = ops;
  ops += kOpInts;
  bool isArray = false;
  if (napi_is_array(e, info[2], &isArray) != napi_ok || !isArray) return ThrowArgument(env, "sources must be an Array of Uint8Array");
  uint32_t arrayLength = 0;
  napi_get_array_length(e, info[2], &arrayLength);
  if (header[7] < 0 || static_cast<uint32_t>(header[7]) > std::min(arrayLength, kMaxSources))
    return ThrowArgument(env, "sources holds fewer sources than the header says");
  const uint32_t sourceCount = static_cast<uint32_t>(header[7]);
  thread_local std::vector<Plane> sources;
  sources.assign(sourceCount, Plane());
  for (uint32_t i = 0; i < sourceCount; i++) {
    napi_value v;
    if (napi_get_element(e, info[2], i, &v) != napi_ok || !BytesArg(e, v, &sources[i]))
      return ThrowArgument(env, "sources must be an Array of Uint8Array");
    if (Overlap(sources[i], out)) return ThrowArgument(env, "a source overlaps the output");
  }

  // Checked whole before anything is painted: a bad layer leaves the output as it was.
  thread_local std::vector<Plane> layerPlanes;
  layerPlanes.assign(layers, Plane());
  size_t rectsNeeded = 0;
  thread_local std::vector<Scale> layerScales;
  layerScales.assign(layers, Scale());
  for (size_t k = 0; k < layers; k++) {
    const int32_t* op = ops + k * kOpInts;
    const int32_t kind = op[0];
    if (kind < kCopyBackground || kind > kLastKind) return ThrowArgument(env, "unknown layer kind " + std::to_string(kind));
    if (IsScaled(kind)) {
      if (k + 1 >= layers) return ThrowArgument(env, "a scaled layer without its second row");
      const int32_t* e2 = op + kOpInts;
      Scale& sc = layerScales[k];
      sc = Scale{e2[0], e2[1], e2[2], e2[3], e2[4], e2[5]};
      if (sc.srcX < 0 || sc.srcY < 0 || sc.srcW < 1 || sc.srcH < 1 || sc.srcX + sc.srcW > op[3] || sc.srcY + sc.srcH > op[4])
        return ThrowArgument(env, "a scaled layer's source rectangle is empty or outside its source");
      if (sc.dstW < 1 || sc.dstH < 1 || sc.dstW > kMaxScaledSize || sc.dstH > kMaxScaledSize)
        return ThrowArgument(env, "a scaled layer's destination size is out of range");
    }
    if (op[7] < 0) return ThrowArgument(env, "negative rectangle count");
    rectsNeeded += static_cast<size_t>(op[7]);
    if (kind == kCopyBackground) continue;
    if (op[1] < 0 || static_cast<uint32_t>(op[1]) >= sourceCount) return ThrowArgument(env, "layer source index out of range");
    if (op[2] < 0 || op[3] < 0 || op[4] < 0 || op[3] > 65536 || op[4] > 65536) return ThrowArgument(env, "layer geometry out of range");
    Plane p = sources[op[1]];
    p.stride = op[2];
    p.width = op[3];
    p.height = op[4];
    if (!FitsView(p, SourceBpp(kind))) return ThrowArgument(env, "a layer's source is too small for its width x height at its stride");
    layerPlanes[k] = p;
    if (IsScaled(kind)) k++;  // its second row
  }
  if (rectsNeeded * 4 > rectInts) return ThrowArgument(env, "rects holds fewer rectangles than the layers take");

  double copied = 0, blended = 0, fromBackground = 0;
  size_t taken = 0;
  for (size_t k = 0; k < layers; k++) {
    const int32_t* op = ops + k * kOpInts;
    const int32_t kind = op[0];
    const bool scaled = IsScaled(kind);
    const Scale& sc = layerScales[k];
    const Plane& layerPlane = layerPlanes[k];
    if (scaled) k++;  // its second row, read above
    const size_t n = static_cast<size_t>(op[7]);
    const int32_t* r = rects + 4 * taken;
    taken += n;
    const bool fromBg = kind == kCopyBackground;
    const Plane& src = fromBg ? bg : layerPlane;
    const int64_t ox = fromBg ? 0 : op[5];
    const int64_t oy = fromBg ? 0 : op[6];
    const int64_t bpp = SourceBpp(kind);
    // Where this layer may write: the output, the source's place on it, and for
    // anything read from the background, the background.
    int64_t cx0 = std::max<int64_t>(0, ox), cy0 = std::max<int64_t>(0, oy);
    // A scaled layer covers its destination size, not its source's.
    const int64_t lw = scaled ? sc.dstW : src.width, lh = scaled ? sc.dstH : src.height;
    int64_t cx1 = std::min<int64_t>(out.width, ox + lw), cy1 = std::min<int64_t>(out.height, oy + lh);
    if (IsOverBackground(kind)) {
      cx1 = std::min<int64_t>(cx1, bg.width);
      cy1 = std::min<int64_t>(cy1, bg.height);
    }
    if (cx1 <= cx0 || cy1 <= cy0) continue;
    auto paint = [&](int64_t x0, int64_t y0, int64_t x1, int64_t y1) {
      x0 = std::max(x0, cx0);
      y0 = std::max(y0, cy0);
      x1 = std::min(x1, cx1);
      y1 = std::min(y1, cy1);
      if (x1 <= x0 || y1 <= y0) return;
      if (scaled) {
        PaintScaled(kind, src, sc, ox, oy, out, x0, y0, x1, y1);
        (IsBlend(kind) ? blended : copied) += static_cast<double>((x1 - x0) * (y1 - y0));
        return;
      }
      const uint8_t* s = src.data + (y0 - oy) * src.stride + (x0 - ox) * bpp;
      uint8_t* d = out.data + y0 * out.stride + x0 * 4;
      const double pixels = static_cast<double>((x1 - x0) * (y1 - y0));
      switch (kind) {
        case kCopyBackground:
          CopyRows(s, src.stride, d, out.stride, (x1 - x0) * 4, y1 - y0);
          fromBackground += pixels;
          break;
        case kCopy:
        case kCopyAlone:
          CopyRows(s, src.stride, d, out.stride, (x1 - x0) * 4, y1 - y0);
          copied += pixels;
          break;
        case kBlend:
          BlendRows(s, src.stride, d, out.stride, d, out.stride, x1 - x0, y1 - y0, 0xff000000u);
          blended += pixels;
          break;
        case kBlendOverBackground:
          BlendRows(s, src.stride, bg.data + y0 * bg.stride + x0 * 4, bg.stride, d, out.stride, x1 - x0, y1 - y0, 0xff000000u);
          blended += pixels;
          break;
        case kCopyXbgr:
          CopyRowsXbgr(s, src.stride, d, out.stride, x1 - x0, y1 - y0);
          copied += pixels;
          break;
        case kCopyRgb565:
          CopyRowsRgb565(s, src.stride, d, out.stride, x1 - x0, y1 - y0);
          copied += pixels;
          break;
        case kBlendAbgr:
          BlendRowsAbgr(s, src.stride, d, out.stride, d, out.stride, x1 - x0, y1 - y0);
          blended += pixels;
          break;
        case kBlendAbgrOverBackground:
          BlendRowsAbgr(s, src.stride, bg.data + y0 * bg.stride + x0 * 4, bg.stride, d, out.stride, x1 - x0, y1 - y0);
          blended += pixels;
          break;
      }
    };
    auto clipped = [&](size_t i, int64_t* x0, int64_t* y0, int64_t* x1, int64_t* y1) {
      *x0 = std::max<int64_t>(r[4 * i], cx0);
      *y0 = std::max<int64_t>(r[4 * i + 1], cy0);
      *x1 = std::min<int64_t>(static_cast<int64_t>(r[4 * i]) + r[4 * i + 2], cx1);
      *y1 = std::min<int64_t>(static_cast<int64_t>(r[4 * i + 1]) + r[4 * i + 3], cy1);
      return *x1 > *x0 && *y1 > *y0;
    };
    if (IsBlend(kind)) {
      // A blend is not idempotent: rectangles that overlap are planned into
      // their union, each pixel once (a no-op for the disjoint lists a
      // compositor's claims are).
      planInput.clear();
      for (size_t i = 0; i < n; i++) {
        int64_t x0, y0, x1, y1;
        if (!clipped(i, &x0, &y0, &x1, &y1)) continue;
        planInput.insert(planInput.end(), {static_cast<int32_t>(x0), static_cast<int32_t>(y0), static_cast<int32_t>(x1 - x0), static_cast<int32_t>(y1 - y0)});
      }
      const size_t m = planInput.size() / 4;
      const int32_t* q = planInput.data();
      if (Disjoint(q, m)) {
        for (size_t i = 0; i < m; i++) paint(q[4 * i], q[4 * i + 1], q[4 * i] + q[4 * i + 2], q[4 * i + 1] + q[4 * i + 3]);
        continue;
      }
      const PlanOutcome p = PlanDamageRects(q, m, cx1, cy1, 4, out.stride, out.stride, model, false, true);
      for (size_t i = 0; i < p.count; i++) paint(p.boxes[i].x0, p.boxes[i].y0, p.boxes[i].x1, p.boxes[i].y1);
      continue;
    }
    if (kind == kCopyAlone) {
      // The planner works on the source's plane: the rectangles, clipped, in its
      // coordinates; what it returns is clipped again to where the layer may write.
      planInput.clear();
      for (size_t i = 0; i < n; i++) {
        int64_t x0, y0, x1, y1;
        if (!clipped(i, &x0, &y0, &x1, &y1)) continue;
        planInput.insert(planInput.end(), {static_cast<int32_t>(x0 - ox), static_cast<int32_t>(y0 - oy), static_cast<int32_t>(x1 - x0),
                                           static_cast<int32_t>(y1 - y0)});
      }
      const PlanOutcome p = PlanDamageRects(planInput.data(), planInput.size() / 4, cx1 - ox, cy1 - oy, 4, src.stride, out.stride, model, true, false);
      for (size_t i = 0; i < p.count; i++) paint(p.boxes[i].x0 + ox, p.boxes[i].y0 + oy, p.boxes[i].x1 + ox, p.boxes[i].y1 + oy);
      continue;
    }
    for (size_t i = 0; i < n; i++) {
      int64_t x0, y0, x1, y1;
      if (clipped(i, &x0, &y0, &x1, &y1)) paint(x0, y0, x1, y1);
    }
  }
  numbers[kCostModelSize] = copied;
  numbers[kCostModelSize + 1] = blended;
  numbers[kCostModelSize + 2] = fromBackground;
  return env.Undefined();
}

void InitCompose(Napi::Env env, Napi::Object exports) {
  exports.Set("composeLayers", Napi::Function::New(env, ComposeLayers, "composeLayers"));
}

}  // namespace bufshare
