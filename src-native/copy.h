// Damage copy: the rectangles a client drew, from one pixel region to another of
// the same format (the shm shadow -> the hardware buffer's mapping, or a client
// buffer -> a compositor's output). Hot: one memcpy per row, one per rectangle
// when both regions share a stride and the rectangle spans whole rows.
#pragma once
#include <napi.h>

namespace bufshare {
void InitCopy(Napi::Env env, Napi::Object exports);
}
