#include "damage_plan.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "errors.h"

namespace bufshare {

namespace {

struct Box {
  int64_t x0, y0, x1, y1;
};

struct Span {
  int64_t x0, x1;
};

// Nanoseconds, as measured by lib/damage/calibrate.ts.
struct CostModel {
  double rowNs;            // one row copy started: call, clip, the row start's memory latency
  double rowByteNs;        // a byte inside a row that is a stride away from the last
  double contiguousByteNs; // a byte of a block of whole rows (one memcpy over many rows)
};

struct Geometry {
  int64_t width, height, bpp;
  bool contiguous;  // both strides are width * bpp: whole rows form one block
};

double RowsCost(const CostModel& m, int64_t rows, int64_t pixels, const Geometry& g) {
  return static_cast<double>(rows) * (m.rowNs + static_cast<double>(pixels * g.bpp) * m.rowByteNs);
}

double BlockCost(const CostModel& m, int64_t rows, const Geometry& g) {
  return m.rowNs + static_cast<double>(rows * g.width * g.bpp) * m.contiguousByteNs;
}

// What copyRects would pay for a rectangle as given.
double BoxCost(const CostModel& m, const Box& b, const Geometry& g) {
  if (g.contiguous && b.x0 == 0 && b.x1 == g.width) return BlockCost(m, b.y1 - b.y0, g);
  return RowsCost(m, b.y1 - b.y0, b.x1 - b.x0, g);
}

// One horizontal band of the damage: rows [y0, y1) with the same x spans.
struct Band {
  int64_t y0, y1;
  size_t first, count;  // into the span pool
};

// Sweeps the rectangles top to bottom into bands of disjoint, sorted spans (the
// exact union, as pixman keeps regions). Returns false when the sweep would
// visit more than `budget` active rectangles: tall staggered rectangles can make
// it quadratic, and then the caller falls back to the cheap plans.
bool Sweep(const std::vector<Box>& boxes, size_t budget, std::vector<Band>* bands, std::vector<Span>* spans) {
  std::vector<int64_t> ys;
  ys.reserve(boxes.size() * 2);
  for (const Box& b : boxes) {
    ys.push_back(b.y0);
    ys.push_back(b.y1);
  }
  std::sort(ys.begin(), ys.end());
  ys.erase(std::unique(ys.begin(), ys.end()), ys.end());
  std::vector<size_t> order(boxes.size());
  for (size_t i = 0; i < order.size(); i++) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return boxes[a].y0 < boxes[b].y0; });

  std::vector<size_t> active;
  std::vector<Span> row;
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
    std::sort(row.begin(), row.end(), [](const Span& a, const Span& b) { return a.x0 < b.x0; });
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
// them costs less than starting another row (the costs are linear per row, so
// this greedy choice is the cheapest per band). Only for a complete source.
void JoinSpans(const CostModel& m, const Geometry& g, std::vector<Band>* bands, std::vector<Span>* spans) {
  std::vector<Span> out;
  out.reserve(spans->size());
  for (Band& b : *bands) {
    const size_t first = out.size();
    for (size_t i = 0; i < b.count; i++) {
      const Span& s = (*spans)[b.first + i];
      if (out.size() > first && static_cast<double>((s.x0 - out.back().x1) * g.bpp) * m.rowByteNs < m.rowNs) {
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
  std::vector<Box> boxes;
  double cost = 0;
};

// The band plan. With a complete source and contiguous rows, each band (and each
// gap of undamaged rows between bands) is either copied as its spans or as whole
// rows, and whole rows next to each other are one block: a two-state dynamic
// programme over the bands picks the cheapest mix (a checkerboard becomes one
// block, a few scattered rectangles stay rectangles).
Plan BandPlan(const CostModel& m, const Geometry& g, bool sourceComplete, const std::vector<Band>& bands, const std::vector<Span>& spans) {
  Plan plan;
  const size_t n = bands.size();
  auto spansCost = [&](const Band& b) {
    double c = 0;
    for (size_t i = 0; i < b.count; i++) c += RowsCost(m, b.y1 - b.y0, spans[b.first + i].x1 - spans[b.first + i].x0, g);
    // A band that is one whole-width span is already a block.
    if (g.contiguous && b.count == 1 && spans[b.first].x0 == 0 && spans[b.first].x1 == g.width) c = BlockCost(m, b.y1 - b.y0, g);
    return c;
  };
  if (sourceComplete && g.contiguous && n > 0) {
    // Items: band 0, gap 0-1, band 1, ... ; state: the last item was whole rows (1) or not (0).
    // cost[s] after each item; choice recorded per item to walk back.
    const double inf = 1e300;
    std::vector<double> cost0, cost1;
    std::vector<char> from0, from1;  // the previous state each state came from
    double c0 = 0, c1 = inf;
    auto step = [&](double asSpans, int64_t rows, bool isGap) {
      const double block = static_cast<double>(rows * g.width * g.bpp) * m.contiguousByteNs;
      // staying in spans: from either state; a gap as "spans" costs nothing
      double n0 = std::min(c0, c1) + asSpans;
      char f0 = c0 <= c1 ? 0 : 1;
      // whole rows: continuing a block adds only bytes; starting one adds a row start
      double s1 = c1 + block, s0 = c0 + block + m.rowNs;
      double n1 = std::min(s0, s1);
      char f1 = s1 <= s0 ? 1 : 0;
      if (isGap && rows == 0) {
        n0 = c0; f0 = 0; n1 = c1; f1 = 1;
      }
      cost0.push_back(n0); cost1.push_back(n1); from0.push_back(f0); from1.push_back(f1);
      c0 = n0; c1 = n1;
    };
    for (size_t i = 0; i < n; i++) {
      if (i > 0) step(0, bands[i].y0 - bands[i - 1].y1, true);
      step(spansCost(bands[i]), bands[i].y1 - bands[i].y0, false);
    }
    // Walk back: items are 2n - 1.
    const size_t items = cost0.size();
    std::vector<char> state(items);
    char s = c0 <= c1 ? 0 : 1;
    for (size_t k = items; k-- > 0;) {
      state[k] = s;
      s = s == 0 ? from0[k] : from1[k];
    }
    // Emit: runs of whole-row items become one block.
    int64_t blockStart = -1, blockEnd = -1;
    auto flush = [&]() {
      if (blockStart >= 0) plan.boxes.push_back({0, blockStart, g.width, blockEnd});
      blockStart = -1;
    };
    for (size_t k = 0; k < items; k++) {
      const bool isGap = k % 2 == 1;
      const size_t bi = k / 2 + (isGap ? 1 : 0);
      const int64_t y0 = isGap ? bands[bi - 1].y1 : bands[bi].y0;
      const int64_t y1 = isGap ? bands[bi].y0 : bands[bi].y1;
      if (state[k] == 1) {
        if (y1 > y0) {
          if (blockStart < 0) blockStart = y0;
          blockEnd = y1;
        }
        continue;
      }
      if (y1 > y0) flush();
      if (!isGap) {
        const Band& b = bands[bi];
        for (size_t i = 0; i < b.count; i++) plan.boxes.push_back({spans[b.first + i].x0, b.y0, spans[b.first + i].x1, b.y1});
      }
    }
    flush();
    plan.cost = std::min(c0, c1);
    return plan;
  }
  for (const Band& b : bands) {
    for (size_t i = 0; i < b.count; i++) plan.boxes.push_back({spans[b.first + i].x0, b.y0, spans[b.first + i].x1, b.y1});
    plan.cost += spansCost(b);
  }
  return plan;
}

// Joins vertically adjacent boxes with the same x extent into one (the order of
// the sweep puts them next to each other's band): fewer rectangles, same bytes.
std::vector<Box> JoinVertically(const std::vector<Box>& boxes) {
  std::vector<Box> out;
  for (const Box& b : boxes) {
    bool joined = false;
    for (size_t i = out.size(); i-- > 0;) {
      Box& o = out[i];
      if (o.y1 < b.y0) break;  // sorted by y0: nothing earlier can touch b
      if (o.y1 == b.y0 && o.x0 == b.x0 && o.x1 == b.x1) {
        o.y1 = b.y1;
        joined = true;
        break;
      }
      if (out.size() - i > 64) break;  // bounded look-back
    }
    if (!joined) out.push_back(b);
  }
  return out;
}

}  // namespace

// planDamage(rects, width, height, bpp, srcStride, dstStride, sourceComplete, model) -> plan
//   rects: Int32Array of x, y, w, h quadruples (clipped here to width x height)
//   model: Float64Array [rowNs, rowByteNs, contiguousByteNs]
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
  if (!info[7].IsTypedArray() || info[7].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
      info[7].As<Napi::Float64Array>().ElementLength() != 3)
    return ThrowArgument(env, "model must be a Float64Array of 3 numbers");
  const bool sourceComplete = info[6].As<Napi::Boolean>().Value();
  Napi::Float64Array mv = info[7].As<Napi::Float64Array>();
  const CostModel m{mv[0], mv[1], mv[2]};
  if (!(m.rowNs >= 0 && m.rowByteNs >= 0 && m.contiguousByteNs >= 0) || !(m.rowNs < 1e9 && m.rowByteNs < 1e9 && m.contiguousByteNs < 1e9))
    return ThrowArgument(env, "model costs must be finite and non-negative");
  const Geometry g{width, height, bpp, srcStride == static_cast<uint64_t>(width) * bpp && dstStride == static_cast<uint64_t>(width) * bpp};

  Napi::Int32Array in = info[0].As<Napi::Int32Array>();
  const size_t n = in.ElementLength() / 4;
  const int32_t* r = in.Data();
  std::vector<Box> given;
  given.reserve(n);
  double givenCost = 0;
  Box bound{g.width, g.height, 0, 0};
  for (size_t i = 0; i < n; i++) {
    Box b{std::max<int64_t>(r[4 * i], 0), std::max<int64_t>(r[4 * i + 1], 0),
          std::min<int64_t>(static_cast<int64_t>(r[4 * i]) + r[4 * i + 2], g.width),
          std::min<int64_t>(static_cast<int64_t>(r[4 * i + 1]) + r[4 * i + 3], g.height)};
    if (b.x1 <= b.x0 || b.y1 <= b.y0) continue;
    given.push_back(b);
    givenCost += BoxCost(m, b, g);
    bound = {std::min(bound.x0, b.x0), std::min(bound.y0, b.y0), std::max(bound.x1, b.x1), std::max(bound.y1, b.y1)};
  }

  Plan best{given, givenCost};
  std::string strategy = "given";
  if (given.size() > 1) {
    if (sourceComplete) {
      // The bounding box, as whole rows when that is one block.
      Box box = g.contiguous ? Box{0, bound.y0, g.width, bound.y1} : bound;
      const double c = BoxCost(m, box, g);
      if (c < best.cost) {
        best = {{box}, c};
        strategy = "bound";
      }
    }
    // The sweep visits each rectangle once per band it spans; past this it is
    // not worth its time next to the copy (an estimate: ~2 ns a visit against a
    // frame's copy of hundreds of microseconds).
    const size_t budget = 16384 + 8 * given.size();
    std::vector<Band> bands;
    std::vector<Span> spans;
    if (Sweep(given, budget, &bands, &spans)) {
      if (sourceComplete) JoinSpans(m, g, &bands, &spans);
      Plan banded = BandPlan(m, g, sourceComplete, bands, spans);
      if (banded.cost < best.cost) {
        best = {JoinVertically(banded.boxes), banded.cost};
        strategy = "bands";
      }
    } else {
      strategy += " (sweep over budget)";
    }
  }

  Napi::Int32Array out = Napi::Int32Array::New(env, best.boxes.size() * 4);
  for (size_t i = 0; i < best.boxes.size(); i++) {
    const Box& b = best.boxes[i];
    out[4 * i] = static_cast<int32_t>(b.x0);
    out[4 * i + 1] = static_cast<int32_t>(b.y0);
    out[4 * i + 2] = static_cast<int32_t>(b.x1 - b.x0);
    out[4 * i + 3] = static_cast<int32_t>(b.y1 - b.y0);
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("rects", out);
  result.Set("cost", Napi::Number::New(env, best.cost));
  result.Set("given", Napi::Number::New(env, givenCost));
  result.Set("strategy", Napi::String::New(env, strategy));
  return result;
}

void InitDamagePlan(Napi::Env env, Napi::Object exports) {
  exports.Set("planDamage", Napi::Function::New(env, PlanDamage, "planDamage"));
}

}  // namespace bufshare
