// Implicit fences of dma-bufs: waiting for a buffer's GPU work on the event loop,
// and vgem's fence ioctls (the one driver that lets a test hold a fence).
#pragma once
#include <napi.h>

namespace bufshare {
void InitFence(Napi::Env env, Napi::Object exports);
}
