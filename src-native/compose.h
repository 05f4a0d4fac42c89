// Composition in one call: the layers a compositor paints for one frame's
// damage (background copies, opaque surfaces copied, translucent ones blended),
// back to front, each clipped to the output and to its source. Hot: a
// compositor's scattered damage is dozens of short rectangles over a few
// surfaces, every frame.
#pragma once
#include <napi.h>

namespace bufshare {
void InitCompose(Napi::Env env, Napi::Object exports);
}
