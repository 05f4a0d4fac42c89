// udmabuf (/dev/udmabuf: a memfd's pages as a dma-buf) and dma-buf heaps
// (/dev/dma_heap/*: dma-bufs from a kernel allocator). Both UAPIs come with
// linux-libc-dev (<linux/udmabuf.h>, <linux/dma-heap.h>); nothing is loaded at run time.
#pragma once
#include <napi.h>

namespace bufshare {
void InitUdmabuf(Napi::Env env, Napi::Object exports);
}
