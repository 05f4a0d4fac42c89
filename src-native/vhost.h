// Kernel pieces of the vhost-user GPU backend (lib/vm/vhost-*.ts): eventfds
// watched on the libuv loop (a virtqueue's kick) and signalled (its call), and
// one contiguous view of scattered guest pages (RESOURCE_ATTACH_BACKING).
//
// Ownership:
// - An EventFdWatch owns its fd from construction until close() (or its
//   finalizer): it stops its uv_poll watcher before closing the fd.
// - mapGuestPages returns an ArrayBuffer registered with map.cc like any
//   mapping of ours: native.unmap() detaches and unmaps it, its finalizer
//   unmaps a forgotten one. The pages stay mapped (the file referenced by the
//   mapping) whatever happens to the fds afterwards.
#pragma once
#include <napi.h>

namespace bufshare {
void InitVhost(Napi::Env env, Napi::Object exports);
}
