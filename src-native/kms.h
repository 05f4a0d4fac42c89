// KMS: DRM master, client caps, discovery (resources, connectors, encoders,
// CRTCs, planes, properties, blobs), framebuffers (ADDFB2 with modifiers), legacy
// SETCRTC/PAGE_FLIP and atomic commits, PRIME import, sync_file waits, and
// reading DRM events. Every function takes a DRM fd it does not own.
#pragma once
#include <napi.h>

namespace bufshare {
void InitKms(Napi::Env env, Napi::Object exports);
}
