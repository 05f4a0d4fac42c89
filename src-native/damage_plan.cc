#include "damage_plan.h"

#include <algorithm>
#include <cstdint>
#include <climits>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "errors.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace bufshare {

namespace {

using Box = PlanBox;

struct Span {
  int64_t x0, x1;
};

// Nanoseconds, as measured by lib/damage/calibrate.ts.
struct CostModel {
  double rectNs;           // a rectangle started somewhere new: its first row waits on memory (and the TLB)
  double rowNs;            // each row of a rectangle: the next row's start, a stride further
  double rowByteNs;        // a byte inside a row that is a stride away from the last
  double contiguousByteNs; // a byte of a block of whole rows (one memcpy over many rows)
  double planRectNs;       // the band sweep's own time per rectangle: it must pay for itself
  double streamByteNs;     // a byte inside a row of kStreamRowBytes or more (streamed by copy.cc: no read before the write)
  // The cost of one row's bytes: rows of kStreamRowBytes or more are streamed
  // (where the copy streams: otherwise streamByteNs is rowByteNs).
  double RowBytesNs(int64_t bytes) const {
    return static_cast<double>(bytes) * (bytes >= kStreamRowBytes ? streamByteNs : rowByteNs);
  }
};

struct Geometry {
  int64_t width, height, bpp;
  bool contiguous;  // both strides are width * bpp: whole rows form one block
};

double RowsCost(const CostModel& m, int64_t rows, int64_t pixels, const Geometry& g) {
  return static_cast<double>(rows) * (m.rowNs + m.RowBytesNs(pixels * g.bpp));
}

// Whole rows of a contiguous plane, without the start of the block.
double BlockBytesCost(const CostModel& m, int64_t rows, const Geometry& g) {
  return static_cast<double>(rows * g.width * g.bpp) * m.contiguousByteNs;
}

// What copyRects would pay for a rectangle as given.
double BoxCost(const CostModel& m, const Box& b, const Geometry& g) {
  if (g.contiguous && b.x0 == 0 && b.x1 == g.width) return m.rectNs + BlockBytesCost(m, b.y1 - b.y0, g);
  return m.rectNs + RowsCost(m, b.y1 - b.y0, b.x1 - b.x0, g);
}

// One horizontal band of the damage: rows [y0, y1) with the same x spans.
struct Band {
  int64_t y0, y1;
  size_t first, count;  // into the span pool
};

// Working memory, kept from one plan to the next (planning runs on the JS
// thread only): allocating it per call cost more than the planning, because
// vectors past glibc's mmap threshold were mapped, faulted in and unmapped
// every frame (4,095 rectangles took 300 us to plan that way).
template <typename T>
std::vector<T>& Reset(std::vector<T>& v) {
  v.clear();
  return v;
}

struct Scratch {
  std::vector<uint32_t> firstAt, fill;
  std::vector<char> edge, from0, from1, state;
  std::vector<size_t> order, active, above, current;
  std::vector<int64_t> ys;
  std::vector<Span> row, joined, spans;
  std::vector<Band> bands;
  std::vector<Box> given, banded;
  std::vector<int64_t> rowPixels;
  std::vector<Box> bound;
};

// Out of line, called once per plan: inlined, GCC looked the thread-local up
// again (__tls_get_addr, in a shared library) at each of 95 uses in the
// planner: a tenth of a plan's time.
__attribute__((noinline)) Scratch& TheScratch() {
  static thread_local Scratch scratch;
  return scratch;
}

// Sweeps the rectangles top to bottom into bands of disjoint, sorted spans (the
// exact union, as pixman keeps regions). Returns false when the sweep would
// visit more than `budget` active rectangles: tall staggered rectangles can make
// it quadratic, and then the caller falls back to the cheap plans.
// Few rectangles are sorted by comparison; many by counting on y (rows are at
// most 65,536), where a comparison sort of a few thousand edges cost more than
// the copy it plans and a scan of every row costs more than sorting a few.
constexpr size_t kCountingSortFrom = 64;
constexpr size_t kPairwiseUpTo = 32;

bool Sweep(Scratch& w, const std::vector<Box>& boxes, int64_t height, size_t budget, std::vector<Band>* bands, std::vector<Span>* spans) {
  std::vector<size_t>& order = Reset(w.order);
  std::vector<int64_t>& ys = Reset(w.ys);
  order.resize(boxes.size());
  if (boxes.size() < kCountingSortFrom) {
    for (size_t i = 0; i < boxes.size(); i++) {
      order[i] = i;
      ys.push_back(boxes[i].y0);
      ys.push_back(boxes[i].y1);
    }
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return boxes[a].y0 < boxes[b].y0; });
    std::sort(ys.begin(), ys.end());
    ys.erase(std::unique(ys.begin(), ys.end()), ys.end());
  } else {
    std::vector<char>& edge = Reset(w.edge);
    edge.resize(static_cast<size_t>(height) + 1, 0);
    bool sorted = true;
    for (size_t i = 0; i < boxes.size(); i++) {
      const Box& b = boxes[i];
      sorted &= i == 0 || boxes[i - 1].y0 <= b.y0;
      edge[static_cast<size_t>(b.y0)] = 1;
      edge[static_cast<size_t>(b.y1)] = 1;
    }
    if (sorted) {
      // Damage in y order (a Region's, a grid's, a row of columns): the counting sort's passes over every row are not needed.
      for (size_t i = 0; i < boxes.size(); i++) order[i] = i;
    } else {
      std::vector<uint32_t>& firstAt = Reset(w.firstAt);
      firstAt.resize(static_cast<size_t>(height) + 2, 0);
      for (const Box& b : boxes) firstAt[static_cast<size_t>(b.y0) + 1]++;
      for (size_t y = 1; y < firstAt.size(); y++) firstAt[y] += firstAt[y - 1];
      std::vector<uint32_t>& fill = Reset(w.fill);
      fill.assign(firstAt.begin(), firstAt.end() - 1);
      for (size_t i = 0; i < boxes.size(); i++) order[fill[static_cast<size_t>(boxes[i].y0)]++] = i;
    }
    const char* e = edge.data();
    for (int64_t y = 0; y <= height; y++) if (e[y]) ys.push_back(y);
  }

  std::vector<size_t>& active = Reset(w.active);
  std::vector<Span>& row = Reset(w.row);
  size_t next = 0, visited = 0;
  for (size_t k = 0; k + 1 < ys.size(); k++) {
    const int64_t y0 = ys[k], y1 = ys[k + 1];
    active.erase(std::remove_if(active.begin(), active.end(), [&](size_t i) { return boxes[i].y1 <= y0; }), active.end());
    while (next < order.size() && boxes[order[next]].y0 <= y0) active.push_back(order[next++]);
    visited += active.size();
    if (visited > budget) return false;
    if (active.empty()) continue;
    row.clear();
    for (size_t i : active) row.push_back({boxes[i].x0, boxes[i].x1});
    // Damage usually comes in x order within a band (a Region's, a grid's): checking costs less than sorting.
    const auto byX0 = [](const Span& a, const Span& b) { return a.x0 < b.x0; };
    if (!std::is_sorted(row.begin(), row.end(), byX0)) std::sort(row.begin(), row.end(), byX0);
    const size_t first = spans->size();
    for (const Span& s : row) {
      if (spans->size() > first && s.x0 <= spans->back().x1) {
        spans->back().x1 = std::max(spans->back().x1, s.x1);
      } else {
        spans->push_back(s);
      }
    }
    bands->push_back({y0, y1, first, spans->size() - first});
  }
  return true;
}

// Joins neighbouring spans of a band where copying the unchanged pixels between
// them costs less than starting another row and, spread over the band's rows,
// another rectangle (a joined row may reach kStreamRowBytes and its bytes then
// cost less: the comparison is of the rows' whole cost). Greedy, left to right.
// Only for a complete source.
void JoinSpans(Scratch& w, const CostModel& m, const Geometry& g, std::vector<Band>* bands, std::vector<Span>* spans) {
  std::vector<Span>& out = Reset(w.joined);
  for (Band& b : *bands) {
    const size_t first = out.size();
    for (size_t i = 0; i < b.count; i++) {
      const Span& s = (*spans)[b.first + i];
      const double startSaved = m.rowNs + m.rectNs / static_cast<double>(b.y1 - b.y0);
      if (out.size() > first && m.RowBytesNs((s.x1 - out.back().x0) * g.bpp) <
                                    m.RowBytesNs((out.back().x1 - out.back().x0) * g.bpp) + m.RowBytesNs((s.x1 - s.x0) * g.bpp) + startSaved) {
        out.back().x1 = s.x1;
      } else {
        out.push_back(s);
      }
    }
    b.first = first;
    b.count = out.size() - first;
  }
  spans->swap(out);
}

struct Plan {
  std::vector<Box>* boxes;
  double cost = 0;
};

// How many spans of band i continue an identical span of band i - 1 in the next
// row: those extend a rectangle instead of starting one.
size_t Continuing(const std::vector<Band>& bands, const std::vector<Span>& spans, size_t i) {
  if (i == 0 || bands[i - 1].y1 != bands[i].y0) return 0;
  const Band& a = bands[i - 1];
  const Band& b = bands[i];
  size_t n = 0;
  for (size_t p = 0, q = 0; p < a.count && q < b.count;) {
    const Span& u = spans[a.first + p];
    const Span& v = spans[b.first + q];
    if (u.x0 == v.x0 && u.x1 == v.x1) n++;
    if (u.x0 <= v.x0) p++; else q++;
  }
  return n;
}

// The band plan. Each band is copied as its spans (rows of rectangles, vertically
// joined where a span continues the one above) or, on a plane whose strides are
// its width, as whole rows; whole rows next to each other (across undamaged gaps
// too, with a complete source) are one block. A two-state dynamic programme over
// the bands and the gaps between them picks the cheapest mix: a checkerboard
// becomes one block, scattered rectangles stay rectangles. Without a complete
// source, only bands that already are whole rows may be whole.
Plan BandPlan(Scratch& w, const CostModel& m, const Geometry& g, bool sourceComplete, const std::vector<Band>& bands, const std::vector<Span>& spans) {
  Plan plan{&Reset(w.banded), 0};
  std::vector<Box>& boxes = *plan.boxes;
  const size_t n = bands.size();
  if (n == 0) return plan;
  const double inf = 1e300;
  // Items: band 0, gap 0-1, band 1, ...; state 0: copied as spans (or, for a
  // gap, not copied); state 1: copied as whole rows.
  const size_t items = 2 * n - 1;
  std::vector<char>& from0 = Reset(w.from0);
  std::vector<char>& from1 = Reset(w.from1);
  from0.resize(items);
  from1.resize(items);
  double c0 = 0, c1 = inf;
  for (size_t k = 0; k < items; k++) {
    const bool isGap = k % 2 == 1;
    const size_t bi = (k + 1) / 2;
    const Band& b = bands[bi];
    const int64_t rows = isGap ? b.y0 - bands[bi - 1].y1 : b.y1 - b.y0;
    const bool fullBand = !isGap && b.count == 1 && spans[b.first].x0 == 0 && spans[b.first].x1 == g.width;
    const bool mayBeWhole = g.contiguous && (sourceComplete || fullBand || (isGap && rows == 0));
    double n0, n1;
    if (isGap && rows == 0) {
      n0 = c0; from0[k] = 0;
      n1 = c1; from1[k] = 1;
    } else {
      double asSpans = 0, newSpans = static_cast<double>(isGap ? 0 : b.count), continuing = 0;
      if (!isGap) {
        for (size_t i = 0; i < b.count; i++) asSpans += RowsCost(m, rows, spans[b.first + i].x1 - spans[b.first + i].x0, g);
        continuing = static_cast<double>(Continuing(bands, spans, bi));
      }
      // From spans, continuing spans extend the rectangles above (only when the
      // band above was copied as spans: its gap item has 0 rows, so state 0 there is band bi - 1's).
      const double s0 = c0 + asSpans + m.rectNs * (newSpans - continuing);
      const double s1 = c1 + asSpans + m.rectNs * newSpans;
      n0 = std::min(s0, s1);
      from0[k] = s0 <= s1 ? 0 : 1;
      if (mayBeWhole) {
        const double w1 = c1 + BlockBytesCost(m, rows, g);
        const double w0 = c0 + m.rectNs + BlockBytesCost(m, rows, g);
        n1 = std::min(w0, w1);
        from1[k] = w1 <= w0 ? 1 : 0;
      } else {
        n1 = inf;
        from1[k] = 0;
      }
    }
    c0 = n0;
    c1 = n1;
  }
  plan.cost = std::min(c0, c1);
  std::vector<char>& state = Reset(w.state);
  state.resize(items);
  char st = c0 <= c1 ? 0 : 1;
  for (size_t k = items; k-- > 0;) {
    state[k] = st;
    st = st == 0 ? from0[k] : from1[k];
  }
  // Emit, joining each span to the identical one right above it.
  int64_t blockStart = -1, blockEnd = -1;
  std::vector<size_t>& above = Reset(w.above);  // indices in boxes of the last band's spans
  std::vector<size_t>& current = Reset(w.current);
  int64_t aboveEnds = -1;
  for (size_t k = 0; k < items; k++) {
    const bool isGap = k % 2 == 1;
    const size_t bi = (k + 1) / 2;
    const int64_t y0 = isGap ? bands[bi - 1].y1 : bands[bi].y0;
    const int64_t y1 = isGap ? bands[bi].y0 : bands[bi].y1;
    if (y1 == y0) continue;
    if (state[k] == 1) {
      if (blockStart < 0) blockStart = y0;
      blockEnd = y1;
      aboveEnds = -1;
      continue;
    }
    if (blockStart >= 0) boxes.push_back({0, blockStart, g.width, blockEnd});
    blockStart = -1;
    if (isGap) {
      aboveEnds = -1;
      continue;
    }
    const Band& b = bands[bi];
    current.clear();
    size_t p = 0;
    for (size_t i = 0; i < b.count; i++) {
      const Span& sp = spans[b.first + i];
      if (aboveEnds == b.y0) {
        while (p < above.size() && boxes[above[p]].x0 < sp.x0) p++;
        if (p < above.size() && boxes[above[p]].x0 == sp.x0 && boxes[above[p]].x1 == sp.x1) {
          boxes[above[p]].y1 = b.y1;
          current.push_back(above[p]);
          continue;
        }
      }
      boxes.push_back({sp.x0, b.y0, sp.x1, b.y1});
      current.push_back(boxes.size() - 1);
    }
    above.swap(current);
    aboveEnds = b.y1;
  }
  if (blockStart >= 0) boxes.push_back({0, blockStart, g.width, blockEnd});
  return plan;
}

// The survey: what every plan needs from the input, in passes over the
// rectangles before any plan (the bound, whether any was clipped, the given
// plan's cost, the damaged bytes per row). A checkerboard's whole plan is this
// (the bounding box wins, and the sweep is not worth its time), so it is built
// for speed: integer sums (BoxCost, term by term) rather than a floating-point
// chain; rectangles that start (or end) on the row of the one before add up in
// a register before the row's difference; and where every rectangle lies inside
// the plane (a client's damage, or a Region's), the extremes and sums come from
// an AVX2 pass, two rectangles at a time. The 4,080 rectangles of a 1080p checkerboard took 25 us to
// plan from JS (6% of the full-frame copy it decides on: the bench read 1.04-1.11x
// of that copy), 21 us of them this survey; now 10 us (the survey 8 us: the
// AVX2 pass 5, the row differences 3).
struct Survey {
  size_t kept = 0;       // rectangles not empty after clipping
  bool clipped = false;  // some rectangle was cut or dropped: the given plan is not the input
  Box bound;
  int64_t stridedRows = 0, stridedBytes = 0, blockBytes = 0;
  int64_t streamedBytes = 0;  // of stridedBytes, in rows of kStreamRowBytes or more
};

// The damaged pixels per row as a difference array (over-counting overlaps):
// rectangles that start (or end) on the row of the one before add up in a
// register before the row's element, which a store and reload per rectangle
// made the critical path (a checkerboard has 30 rectangles a row).
struct RowRuns {
  int64_t y0 = 0, add = 0, y1 = 0, sub = 0;
  void Add(int64_t top, int64_t bottom, int64_t pixels, int64_t* __restrict rowDiff) {
    if (top != y0) {
      rowDiff[y0] += add;
      y0 = top;
      add = 0;
    }
    add += pixels;
    if (bottom != y1) {
      rowDiff[y1] -= sub;
      y1 = bottom;
      sub = 0;
    }
    sub += pixels;
  }
  void Flush(int64_t* __restrict rowDiff) {
    rowDiff[y0] += add;
    rowDiff[y1] -= sub;
  }
};

#if defined(__x86_64__)
#define BUFSHARE_SURVEY_AVX2 1

// The survey's first pass (all but the row differences), two rectangles per
// register (lanes x, y, w, h, x, y, w, h), clipped in 32-bit lanes. Returns
// false, having surveyed nothing, if some value lies outside [-2^30, 2^30), where
// x + w could wrap: the scalar survey then runs (hostile input only).
// rowDiff (height + 1 zeros, or null): receives the damaged pixels per row.
__attribute__((target("avx2"))) bool SurveyAvx2(const int32_t* __restrict r, size_t n, const Geometry& g, Survey* out, int64_t* __restrict rowDiff) {
  RowRuns runs;
  const __m256i zero = _mm256_setzero_si256();
  const __m256i limit = _mm256_setr_epi32(static_cast<int32_t>(g.width), static_cast<int32_t>(g.height), 0, 0,
                                          static_cast<int32_t>(g.width), static_cast<int32_t>(g.height), 0, 0);
  const __m256i blockWidth = _mm256_set1_epi32(g.contiguous ? static_cast<int32_t>(g.width) : -1);
  const __m256i oneAt2 = _mm256_setr_epi32(0, 0, 1, 0, 0, 0, 1, 0);
  const __m256i maxValue = _mm256_set1_epi32(INT32_MAX), minValue = _mm256_set1_epi32(INT32_MIN);
  __m256i rawLo = maxValue, rawHi = minValue, lo = maxValue, hi = minValue, cut = zero, kept = zero;
  __m256i sums = zero, blockSums = zero, streamSums = zero;
  // Rows at least this wide are streamed (kStreamRowBytes).
  const __m256i streamFrom = _mm256_set1_epi32(static_cast<int32_t>((kStreamRowBytes + g.bpp - 1) / g.bpp - 1));
  for (size_t i = 0; i + 2 <= n; i += 2) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r + 4 * i));
    rawLo = _mm256_min_epi32(rawLo, v);
    rawHi = _mm256_max_epi32(rawHi, v);
    // Lanes 0, 1 of each half: x0, y0 and x1, y1 clipped; w, h of the clipped rectangle.
    const __m256i start = _mm256_max_epi32(v, zero);
    const __m256i end = _mm256_min_epi32(_mm256_add_epi32(v, _mm256_shuffle_epi32(v, _MM_SHUFFLE(3, 2, 3, 2))), limit);
    const __m256i size = _mm256_sub_epi32(end, start);
    const __m256i positive = _mm256_cmpgt_epi32(size, zero);
    const __m256i nonEmpty = _mm256_and_si256(_mm256_shuffle_epi32(positive, _MM_SHUFFLE(0, 0, 0, 0)), _mm256_shuffle_epi32(positive, _MM_SHUFFLE(1, 1, 1, 1)));
    // Cut: the clipped x0, y0, w, h differ from the given, or the rectangle is empty.
    const __m256i clippedQuad = _mm256_blend_epi32(start, _mm256_shuffle_epi32(size, _MM_SHUFFLE(1, 0, 1, 0)), 0xcc);
    cut = _mm256_or_si256(cut, _mm256_or_si256(_mm256_xor_si256(clippedQuad, v), _mm256_cmpeq_epi32(nonEmpty, zero)));
    if (rowDiff) {
      // The row differences, from the two clipped rectangles (0, 0, 0, 0 where empty) through
      // the L1: one pass over the input (a second pass over a clipped copy cost 3 us more, cold).
      alignas(32) int32_t q[8];
      _mm256_store_si256(reinterpret_cast<__m256i*>(q), _mm256_and_si256(clippedQuad, nonEmpty));
      runs.Add(q[1], q[1] + q[3], q[2], rowDiff);
      runs.Add(q[5], q[5] + q[7], q[6], rowDiff);
    }
    kept = _mm256_sub_epi32(kept, nonEmpty);
    lo = _mm256_min_epi32(lo, _mm256_blendv_epi8(maxValue, start, nonEmpty));
    hi = _mm256_max_epi32(hi, _mm256_blendv_epi8(minValue, end, nonEmpty));
    // 64-bit lanes: w * h and h * 1 of the clipped rectangle (0 if empty).
    const __m256i wAndH = _mm256_and_si256(_mm256_shuffle_epi32(size, _MM_SHUFFLE(1, 1, 0, 0)), nonEmpty);
    const __m256i hAndOne = _mm256_blend_epi32(_mm256_shuffle_epi32(size, _MM_SHUFFLE(1, 1, 1, 1)), oneAt2, 0x44);
    const __m256i product = _mm256_mul_epu32(wAndH, hAndOne);
    sums = _mm256_add_epi64(sums, product);
    const __m256i startsAt0 = _mm256_cmpeq_epi32(start, zero);
    const __m256i endsAtBlock = _mm256_cmpeq_epi32(end, blockWidth);
    const __m256i isBlock = _mm256_and_si256(_mm256_shuffle_epi32(startsAt0, _MM_SHUFFLE(0, 0, 0, 0)), _mm256_shuffle_epi32(endsAtBlock, _MM_SHUFFLE(0, 0, 0, 0)));
    blockSums = _mm256_add_epi64(blockSums, _mm256_and_si256(product, isBlock));
    const __m256i longRow = _mm256_shuffle_epi32(_mm256_cmpgt_epi32(size, streamFrom), _MM_SHUFFLE(0, 0, 0, 0));
    streamSums = _mm256_add_epi64(streamSums, _mm256_and_si256(product, _mm256_andnot_si256(isBlock, longRow)));
  }
  alignas(32) int32_t rl[8], rh[8], l[8], h[8], c[8], k[8];
  alignas(32) int64_t su[4], bs[4], ss[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(rl), rawLo);
  _mm256_store_si256(reinterpret_cast<__m256i*>(rh), rawHi);
  for (int j = 0; j < 8; j++) {
    // Then x + w, y + h lie in [-2^31, 2^31 - 2]. Otherwise rowDiff holds garbage: the caller clears it.
    if (rl[j] < -(1 << 30) || rh[j] >= (1 << 30)) return false;
  }
  _mm256_store_si256(reinterpret_cast<__m256i*>(l), lo);
  _mm256_store_si256(reinterpret_cast<__m256i*>(h), hi);
  _mm256_store_si256(reinterpret_cast<__m256i*>(c), cut);
  _mm256_store_si256(reinterpret_cast<__m256i*>(k), kept);
  _mm256_store_si256(reinterpret_cast<__m256i*>(su), sums);
  _mm256_store_si256(reinterpret_cast<__m256i*>(bs), blockSums);
  _mm256_store_si256(reinterpret_cast<__m256i*>(ss), streamSums);
  Survey s;
  s.kept = static_cast<size_t>(k[0]) + static_cast<size_t>(k[4]);
  s.clipped = (c[0] | c[1] | c[2] | c[3] | c[4] | c[5] | c[6] | c[7]) != 0;
  // Lanes that saw no rectangle hold INT32_MAX / INT32_MIN: the bound of nothing is {width, height, 0, 0}.
  s.bound = {std::min<int64_t>({l[0], l[4], g.width}), std::min<int64_t>({l[1], l[5], g.height}), std::max<int64_t>({h[0], h[4], 0}),
             std::max<int64_t>({h[1], h[5], 0})};
  const int64_t rows = su[1] + su[3], pixels = su[0] + su[2], blockRows = bs[1] + bs[3], blockPixels = bs[0] + bs[2];
  // The last rectangle of an odd count.
  int64_t lastRows = 0, lastPixels = 0, lastBlockRows = 0, lastBlockPixels = 0, lastStreamPixels = 0;
  if (n % 2 == 1) {
    const int32_t* q = r + 4 * (n - 1);
    const int64_t x0 = std::max<int64_t>(q[0], 0), y0 = std::max<int64_t>(q[1], 0);
    const int64_t x1 = std::min<int64_t>(static_cast<int64_t>(q[0]) + q[2], g.width), y1 = std::min<int64_t>(static_cast<int64_t>(q[1]) + q[3], g.height);
    const bool empty = x1 <= x0 || y1 <= y0;
    s.clipped |= empty || x0 != q[0] || y0 != q[1] || x1 - x0 != q[2] || y1 - y0 != q[3];
    if (rowDiff && !empty) runs.Add(y0, y1, x1 - x0, rowDiff);
    if (!empty) {
      s.kept++;
      s.bound = {std::min(s.bound.x0, x0), std::min(s.bound.y0, y0), std::max(s.bound.x1, x1), std::max(s.bound.y1, y1)};
      lastRows = y1 - y0;
      lastPixels = lastRows * (x1 - x0);
      if (x0 == 0 && g.contiguous && x1 == g.width) {
        lastBlockRows = lastRows;
        lastBlockPixels = lastPixels;
      } else if ((x1 - x0) * g.bpp >= kStreamRowBytes) {
        lastStreamPixels = lastPixels;
      }
    }
  }
  if (rowDiff) runs.Flush(rowDiff);
  s.stridedRows = rows + lastRows - blockRows - lastBlockRows;
  s.stridedBytes = (pixels + lastPixels - blockPixels - lastBlockPixels) * g.bpp;
  s.streamedBytes = (ss[0] + ss[2] + lastStreamPixels) * g.bpp;
  s.blockBytes = (blockPixels + lastBlockPixels) * g.bpp;
  *out = s;
  return true;
}
#endif

// Which survey runs: the AVX2 pass where the CPU has it, unless
// BUFSHARE_PLAN_SURVEY=scalar (so that tests reach the portable one too).
bool ChooseAvx2Survey() {
#ifdef BUFSHARE_SURVEY_AVX2
  const char* forced = getenv("BUFSHARE_PLAN_SURVEY");
  if (forced && strcmp(forced, "scalar") == 0) return false;
  // This runs from a static initializer, possibly before libgcc's own: init first.
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2");
#else
  return false;
#endif
}

const bool kAvx2Survey = ChooseAvx2Survey();

// The portable survey (and the one for hostile input): one loop, integer sums.
// The checkerboard's plan takes 18 us from JS with it, where a double sum and a
// store and reload of a row's element per rectangle took 25 us (three lighter
// loops, 27 us: GCC spilled their accumulators all the same).
Survey SurveyScalar(const int32_t* __restrict r, size_t n, const Geometry g, int64_t* __restrict rowDiff) {
  const int64_t width = g.width, height = g.height;
  const int64_t blockWidth = g.contiguous ? width : -1;  // a rectangle [0, blockWidth) is a block of whole rows
  int64_t bx0 = width, by0 = height, bx1 = 0, by1 = 0;
  int64_t stridedRows = 0, stridedPixels = 0, blockPixels = 0, streamPixels = 0;
  RowRuns runs;
  size_t kept = 0;
  bool cut = false;
  for (size_t i = 0; i < n; i++) {
    const int64_t x = r[4 * i], y = r[4 * i + 1], w = r[4 * i + 2], h = r[4 * i + 3];
    const int64_t x0 = std::max<int64_t>(x, 0), y0 = std::max<int64_t>(y, 0);
    const int64_t x1 = std::min<int64_t>(x + w, width), y1 = std::min<int64_t>(y + h, height);
    const bool empty = x1 <= x0 || y1 <= y0;
    cut |= empty | (x0 != x) | (y0 != y) | (x1 - x0 != w) | (y1 - y0 != h);
    if (empty) continue;
    kept++;
    const int64_t pixels = (x1 - x0) * (y1 - y0);
    if (x0 == 0 && x1 == blockWidth) {
      blockPixels += pixels;
    } else {
      stridedRows += y1 - y0;
      stridedPixels += pixels;
      if ((x1 - x0) * g.bpp >= kStreamRowBytes) streamPixels += pixels;
    }
    if (rowDiff) runs.Add(y0, y1, x1 - x0, rowDiff);
    bx0 = std::min(bx0, x0);
    by0 = std::min(by0, y0);
    bx1 = std::max(bx1, x1);
    by1 = std::max(by1, y1);
  }
  if (rowDiff) runs.Flush(rowDiff);
  Survey s;
  s.kept = kept;
  s.clipped = cut;
  s.bound = {bx0, by0, bx1, by1};
  s.stridedRows = stridedRows;
  s.stridedBytes = stridedPixels * g.bpp;
  s.streamedBytes = streamPixels * g.bpp;
  s.blockBytes = blockPixels * g.bpp;
  return s;
}

// rowDiff (height + 1 zeros, or null when no plan needs it) receives the damaged pixels per row.
Survey SurveyRects(const int32_t* __restrict r, size_t n, const Geometry g, int64_t* __restrict rowDiff) {
#ifdef BUFSHARE_SURVEY_AVX2
  Survey fast;
  if (kAvx2Survey && SurveyAvx2(r, n, g, &fast, rowDiff)) return fast;
  if (rowDiff) std::fill(rowDiff, rowDiff + g.height + 1, 0);
#endif
  return SurveyScalar(r, n, g, rowDiff);
}

}  // namespace

PlanOutcome PlanDamageRects(const int32_t* r, size_t n, int64_t width, int64_t height, int64_t bpp, int64_t srcStride,
                            int64_t dstStride, const double* model, bool sourceComplete, bool eachPixelOnce) {
  const CostModel m{model[0], model[1], model[2], model[3], model[4], model[5]};
  const Geometry g{width, height, bpp, srcStride == width * bpp && dstStride == width * bpp};
  Scratch& w = TheScratch();
  std::vector<Box>& given = Reset(w.given);
  // Damaged bytes per row (over-counting overlaps), as a difference array: for
  // the sweep's floor, which only many rectangles need (see below).
  const bool many = n >= kCountingSortFrom;
  std::vector<int64_t>& rowPixels = Reset(w.rowPixels);
  if (many) rowPixels.resize(static_cast<size_t>(g.height) + 1, 0);

  // Many rectangles are stored only if a plan needs them: where the bounding box
  // wins (a checkerboard), writing thousands of boxes cost more than deciding.
  bool stored = false;
  const Survey sv = SurveyRects(r, n, g, many ? rowPixels.data() : nullptr);
  const size_t kept = sv.kept;
  const bool clipped = sv.clipped;
  const Box bound = sv.bound;
  const double givenCost = static_cast<double>(kept) * m.rectNs + static_cast<double>(sv.stridedRows) * m.rowNs +
                           static_cast<double>(sv.stridedBytes - sv.streamedBytes) * m.rowByteNs +
                           static_cast<double>(sv.streamedBytes) * m.streamByteNs + static_cast<double>(sv.blockBytes) * m.contiguousByteNs;
  // Into a sized array through a pointer, with the plane's size in locals: with
  // push_back and the size read through the lambda's references, storing the
  // 480 rectangles of 1-px columns took a third of their plan.
  auto store = [&]() {
    if (stored) return;
    stored = true;
    given.resize(kept);
    Box* out = given.data();
    const int64_t width = g.width, height = g.height;
    size_t k = 0;
    for (size_t i = 0; i < n && k < kept; i++) {
      const int64_t x0 = std::max<int64_t>(r[4 * i], 0), y0 = std::max<int64_t>(r[4 * i + 1], 0);
      const int64_t x1 = std::min<int64_t>(static_cast<int64_t>(r[4 * i]) + r[4 * i + 2], width);
      const int64_t y1 = std::min<int64_t>(static_cast<int64_t>(r[4 * i + 1]) + r[4 * i + 3], height);
      if (x1 > x0 && y1 > y0) out[k++] = Box{x0, y0, x1, y1};
    }
    given.resize(k);
  };
  if (!many) store();

  Plan best{&given, givenCost};
  std::vector<Box>& boundPlan = w.bound;
  const char* strategy = "given";
  const char* note = "";
  // Without a complete source, disjoint rectangles as given are already the
  // cheapest plan (splitting them into bands only adds rectangle starts): for
  // a few, a pairwise test is cheaper than the sweep (a compositor calls this
  // several times a frame with a handful of disjoint rectangles).
  bool knownDisjoint = false;
  if (!sourceComplete && kept <= kPairwiseUpTo) {
    store();
    knownDisjoint = true;
    for (size_t i = 0; i < given.size() && knownDisjoint; i++) {
      for (size_t j = i + 1; j < given.size(); j++) {
        const Box& a = given[i];
        const Box& b = given[j];
        if (a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1) {
          knownDisjoint = false;
          break;
        }
      }
    }
  }
  if (kept > 1 && !knownDisjoint) {
    if (sourceComplete) {
      // The bounding box, as whole rows when that is one block.
      Box box = g.contiguous ? Box{0, bound.y0, g.width, bound.y1} : bound;
      const double c = BoxCost(m, box, g);
      if (c < best.cost) {
        boundPlan.assign(1, box);
        best = {&boundPlan, c};
        strategy = "bound";
      }
    }
    // The sweep costs time of its own (planRectNs a rectangle). No plan costs
    // less than, per damaged row, the cheaper of the row whole (in a block) or
    // its damaged bytes in at least one row start: when the best plan so far is
    // closer to that floor than the sweep's cost, the sweep cannot pay off.
    // With few rectangles the sweep costs less than this floor's scan of every
    // row: it just runs.
    bool worthSweeping = true;
    if (many && !eachPixelOnce) {
      double floorNs = 0;
      const double wholeRow = g.contiguous && sourceComplete ? static_cast<double>(g.width * g.bpp) * m.contiguousByteNs : 1e300;
      // In the model, spans are never at the block rate; at most at the cheaper of the row rates.
      const double byteNs = std::min(m.rowByteNs, m.streamByteNs) * static_cast<double>(g.bpp);
      // Rows between two edges of the damage cost the same: one term per run of
      // rows (a floating-point sum per row was a chain of 1,080 additions).
      const int64_t* rb = rowPixels.data();
      int64_t inRowPixels = 0, runStart = 0;
      for (int64_t y = 0; y <= g.height; y++) {
        if (rb[y] == 0 && y < g.height) continue;
        if (inRowPixels > 0) floorNs += static_cast<double>(y - runStart) * std::min(wholeRow, m.rowNs + static_cast<double>(inRowPixels) * byteNs);
        inRowPixels += rb[y];
        runStart = y;
      }
      worthSweeping = best.cost - floorNs > m.planRectNs * static_cast<double>(kept);
    }
    // The sweep visits each rectangle once per band it spans: tall staggered
    // rectangles make that quadratic, so it gives up past a budget.
    const size_t budget = eachPixelOnce ? SIZE_MAX : 16384 + 8 * kept;
    std::vector<Band>& bands = Reset(w.bands);
    std::vector<Span>& spans = Reset(w.spans);
    if (!worthSweeping) {
      note = " (sweep not worth its time)";
    } else if (store(), Sweep(w, given, g.height, budget, &bands, &spans)) {
      if (sourceComplete) JoinSpans(w, m, g, &bands, &spans);
      Plan banded = BandPlan(w, m, g, sourceComplete, bands, spans);
      if (banded.cost < best.cost || (eachPixelOnce && best.boxes == &given)) {
        best = banded;
        strategy = "bands";
      }
    } else {
      note = " (sweep over budget)";
    }
  }

  if (best.boxes == &given) store();
  const bool asGiven = best.boxes == &given && !clipped;
  return {best.boxes->data(), best.boxes->size(), best.cost, givenCost, asGiven, strategy, note};
}

bool ReadCostModel(const Napi::CallbackInfo& info, size_t i, double* out) {
  const size_t n = info.Length() > i && info[i].IsTypedArray() && info[i].As<Napi::TypedArray>().TypedArrayType() == napi_float64_array
                       ? info[i].As<Napi::Float64Array>().ElementLength() : 0;
  if (n != kCostModelSize && n != kCostModelSize - 1) {
    ThrowArgument(info.Env(), "model must be a Float64Array of 5 or 6 numbers");
    return false;
  }
  Napi::Float64Array mv = info[i].As<Napi::Float64Array>();
  for (size_t k = 0; k < n; k++) {
    if (!(mv[k] >= 0 && mv[k] < 1e9)) {
      ThrowArgument(info.Env(), "model costs must be finite and non-negative");
      return false;
    }
    out[k] = mv[k];
  }
  if (n == kCostModelSize - 1) out[kCostModelSize - 1] = out[2];  // no streamByteNs: rows cost rowByteNs whatever their width
  return true;
}

static Napi::Value PlanDamageOut(const Napi::CallbackInfo& info, const PlanOutcome& p, Napi::Int32Array in) {
  Napi::Env env = info.Env();
  Napi::Object result = Napi::Object::New(env);
  result.Set("cost", Napi::Number::New(env, p.cost));
  result.Set("given", Napi::Number::New(env, p.given));
  result.Set("strategy", Napi::String::New(env, std::string(p.strategy) + p.note));
  // The input as it is, when that is the plan: no copy of thousands of rectangles.
  if (p.asGiven && in.ElementLength() % 4 == 0) {
    result.Set("rects", in);
    return result;
  }
  Napi::Int32Array out = Napi::Int32Array::New(env, p.count * 4);
  int32_t* o = out.Data();
  for (size_t i = 0; i < p.count; i++) {
    const Box& b = p.boxes[i];
    o[4 * i] = static_cast<int32_t>(b.x0);
    o[4 * i + 1] = static_cast<int32_t>(b.y0);
    o[4 * i + 2] = static_cast<int32_t>(b.x1 - b.x0);
    o[4 * i + 3] = static_cast<int32_t>(b.y1 - b.y0);
  }
  result.Set("rects", out);
  return result;
}

// planDamage(rects, width, height, bpp, srcStride, dstStride, sourceComplete, model, eachPixelOnce?) -> plan
//   eachPixelOnce: the plan's rectangles must not overlap (a blend in place), so
//   the sweep always runs, without its budget
//   rects: Int32Array of x, y, w, h quadruples (clipped here to width x height)
//   model: Float64Array [rectNs, rowNs, rowByteNs, contiguousByteNs, planRectNs, streamByteNs?]
//   (streamByteNs: the byte cost of rows copyRects streams; default rowByteNs)
// Returns { rects: Int32Array, cost: number, given: number, strategy: string }:
// the rectangles to copy (inside width x height; covering every damaged pixel;
// with sourceComplete false, exactly the damaged pixels), the model's estimate
// for them and for the rectangles as given.
static Napi::Value PlanDamage(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 8 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    return ThrowArgument(env, "rects must be an Int32Array");
  uint32_t width, height, bpp, srcStride, dstStride;
  if (!GetUint32(info, 1, "width", &width) || !GetUint32(info, 2, "height", &height) || !GetUint32(info, 3, "bpp", &bpp) ||
      !GetUint32(info, 4, "srcStride", &srcStride) || !GetUint32(info, 5, "dstStride", &dstStride))
    return Napi::Value();
  if (bpp == 0 || bpp > 16) return ThrowArgument(env, "bpp must be 1..16");
  if (width > 65536 || height > 65536) return ThrowArgument(env, "width/height too large");
  if (!info[6].IsBoolean()) return ThrowArgument(env, "sourceComplete must be a boolean");
  const bool eachPixelOnce = info.Length() > 8 && info[8].IsBoolean() && info[8].As<Napi::Boolean>().Value();
  double model[kCostModelSize];
  if (!ReadCostModel(info, 7, model)) return Napi::Value();
  const bool sourceComplete = info[6].As<Napi::Boolean>().Value();
  Napi::Int32Array in = info[0].As<Napi::Int32Array>();
  const PlanOutcome p = PlanDamageRects(in.Data(), in.ElementLength() / 4, width, height, bpp, srcStride, dstStride, model, sourceComplete, eachPixelOnce);
  return PlanDamageOut(info, p, in);
}


// planSurvey() -> "avx2" | "scalar": the survey the planner runs (tests).
static Napi::Value PlanSurvey(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), kAvx2Survey ? "avx2" : "scalar");
}

void InitDamagePlan(Napi::Env env, Napi::Object exports) {
  exports.Set("planDamage", Napi::Function::New(env, PlanDamage, "planDamage"));
  exports.Set("planSurvey", Napi::Function::New(env, PlanSurvey, "planSurvey"));
}

}  // namespace bufshare
