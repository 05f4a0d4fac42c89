// A session's native pieces: libseat (dlopen, src-native/seat.cc) and the
// kernel's uevent socket (src-native/seat_uevent.cc). Policy is in lib/session.
#pragma once
#include <napi.h>

namespace bufshare {
void InitSeat(Napi::Env env, Napi::Object exports);
void InitUevent(Napi::Env env, Napi::Object exports);
}
