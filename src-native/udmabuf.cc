#include "udmabuf.h"

#include <fcntl.h>
#include <linux/dma-heap.h>
#include <linux/udmabuf.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "errors.h"

namespace bufshare {

static int RetryIoctl(int fd, unsigned long request, void* arg) {
  int r;
  do {
    r = ioctl(fd, request, arg);
  } while (r < 0 && (errno == EINTR || errno == EAGAIN));
  return r;
}

// udmabufCreate(memfd, offset, size) -> dma-buf fd (O_CLOEXEC). The memfd must be
// sealed with F_SEAL_SHRINK and not F_SEAL_WRITE (the kernel checks both); the
// dma-buf keeps the pages alive, so the memfd may be closed afterwards.
static Napi::Value UdmabufCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int memfd;
  uint64_t offset, size;
  if (!GetFd(info, 0, &memfd) || !GetSize(info, 1, "offset", &offset) || !GetSize(info, 2, "size", &size))
    return Napi::Value();
  int dev = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
  if (dev < 0) return ThrowSyscall(env, "open(/dev/udmabuf)", errno);
  struct udmabuf_create c = {};
  c.memfd = static_cast<__u32>(memfd);
  c.flags = UDMABUF_FLAGS_CLOEXEC;
  c.offset = offset;
  c.size = size;
  int fd = RetryIoctl(dev, UDMABUF_CREATE, &c);
  int err = errno;
  close(dev);
  if (fd < 0) return ThrowSyscall(env, "ioctl(UDMABUF_CREATE)", err);
  return Napi::Number::New(env, fd);
}

// dmaHeapAlloc(heapPath, size) -> dma-buf fd (O_RDWR | O_CLOEXEC).
static Napi::Value DmaHeapAlloc(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) return ThrowArgument(env, "heap path must be a string");
  std::string path = info[0].As<Napi::String>().Utf8Value();
  uint64_t size;
  if (!GetSize(info, 1, "size", &size)) return Napi::Value();
  int heap = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (heap < 0) return ThrowSyscall(env, "open(" + path + ")", errno);
  struct dma_heap_allocation_data a = {};
  a.len = size;
  a.fd_flags = O_RDWR | O_CLOEXEC;
  int r = RetryIoctl(heap, DMA_HEAP_IOCTL_ALLOC, &a);
  int err = errno;
  close(heap);
  if (r < 0) return ThrowSyscall(env, "ioctl(DMA_HEAP_IOCTL_ALLOC)", err);
  return Napi::Number::New(env, static_cast<double>(a.fd));
}

void InitUdmabuf(Napi::Env env, Napi::Object exports) {
  exports.Set("udmabufCreate", Napi::Function::New(env, UdmabufCreate, "udmabufCreate"));
  exports.Set("dmaHeapAlloc", Napi::Function::New(env, DmaHeapAlloc, "dmaHeapAlloc"));
}

}  // namespace bufshare
