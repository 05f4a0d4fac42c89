// Damage planning: which rectangles to copy so that a damage set costs the least
// in memory time. Scattered short rows are slow (every row start waits on memory
// before the prefetcher catches on), long contiguous runs are fast; where the
// source holds the complete current image, copying a few unchanged bytes to join
// two rows, or whole rows into one block, is cheaper than starting another row.
// The cost model's constants come from lib/damage/calibrate.ts; the decision is
// here because it runs every frame over up to thousands of rectangles.
#pragma once
#include <napi.h>

#include <cstddef>
#include <cstdint>

namespace bufshare {

// A planned rectangle, [x0, x1) x [y0, y1), inside the plane.
struct PlanBox {
  int64_t x0, y0, x1, y1;
};

struct PlanOutcome {
  // The rectangles to copy, owned by the planner's per-thread working memory:
  // valid until the next plan on this thread.
  const PlanBox* boxes;
  size_t count;
  double cost;     // the model's estimate of the plan, ns
  double given;    // and of the damage as given
  bool asGiven;    // the plan is the input rectangles exactly (none clipped)
  const char* strategy;
  const char* note;
};

// copyRects streams rows of at least this many bytes (copy.cc: where the copy
// may write past the cache); the cost model's streamByteNs prices their bytes.
constexpr int64_t kStreamRowBytes = 256;

// The cost model's numbers (lib/damage/cost-model.ts modelArray): rectNs, rowNs,
// rowByteNs, contiguousByteNs, planRectNs, streamByteNs.
constexpr size_t kCostModelSize = 6;

// Plans `n` x, y, w, h quadruples (clipped here) on a width x height plane of
// bpp-byte pixels; `model` is the kCostModelSize costs of lib/damage/cost-model.ts.
PlanOutcome PlanDamageRects(const int32_t* rects, size_t n, int64_t width, int64_t height, int64_t bpp, int64_t srcStride,
                            int64_t dstStride, const double* model, bool sourceComplete, bool eachPixelOnce);

// Reads info[i] as a cost model (a Float64Array of 5 or 6 finite, non-negative
// numbers: without the 6th, streamByteNs is rowByteNs) into out[kCostModelSize];
// throws ERR_BUFSHARE_INVALID_ARGUMENT and returns false otherwise.
bool ReadCostModel(const Napi::CallbackInfo& info, size_t i, double* out);

void InitDamagePlan(Napi::Env env, Napi::Object exports);

}  // namespace bufshare
