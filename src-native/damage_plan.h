// Damage planning: which rectangles to copy so that a damage set costs the least
// in memory time. Scattered short rows are slow (every row start waits on memory
// before the prefetcher catches on), long contiguous runs are fast; where the
// source holds the complete current image, copying a few unchanged bytes to join
// two rows, or whole rows into one block, is cheaper than starting another row.
// The cost model's constants come from lib/damage/calibrate.ts; the decision is
// here because it runs every frame over up to thousands of rectangles.
#pragma once
#include <napi.h>

namespace bufshare {
void InitDamagePlan(Napi::Env env, Napi::Object exports);
}
