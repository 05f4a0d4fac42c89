// The bufshare addon: one Init per kernel/library concept. lib/native.ts is the
// only module that loads it.
#include <napi.h>

#include "blend.h"
#include "compose.h"
#include "aligned_memory.h"
#include "copy.h"
#include "damage_plan.h"
#include "drm.h"
#include "fence.h"
#include "syncobj.h"
#include "drm_events.h"
#include "evdev.h"
#include "fd.h"
#include "gbm.h"
#include "kms.h"
#include "map.h"
#include "seat.h"
#include "shm.h"
#include "udmabuf.h"
#include "socket.h"
#include "vhost.h"

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) {
  bufshare::InitFd(env, exports);  // first: creates exports.constants
  bufshare::InitShm(env, exports);
  bufshare::InitMap(env, exports);
  bufshare::InitCopy(env, exports);
  bufshare::InitBlend(env, exports);
  bufshare::InitCompose(env, exports);
  bufshare::InitAlignedMemory(env, exports);
  bufshare::InitDrm(env, exports);
  bufshare::InitGbm(env, exports);
  bufshare::InitUdmabuf(env, exports);
  bufshare::InitSocket(env, exports);
  bufshare::InitFence(env, exports);
  bufshare::InitSyncobj(env, exports);
  bufshare::InitDamagePlan(env, exports);
  bufshare::InitKms(env, exports);
  bufshare::InitDrmEvents(env, exports);
  bufshare::InitVhost(env, exports);
  bufshare::InitEvdev(env, exports);
  bufshare::InitSeat(env, exports);  // and the uevent socket
  return exports;
}

NODE_API_MODULE(bufshare, InitAddon)
