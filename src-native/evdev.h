// evdev input devices (/dev/input/eventN): open, capability queries, grab, and
// batches of struct input_event read on the libuv loop. Thin: classification,
// framing and SYN_DROPPED recovery are lib/input's.
#pragma once
#include <napi.h>

namespace bufshare {
void InitEvdev(Napi::Env env, Napi::Object exports);
}
