#include "udmabuf.h"

#include <fcntl.h>
#include <linux/dma-heap.h>
#include <linux/udmabuf.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

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

// udmabufCreateList(list: Float64Array [memfd, offset, size]...) -> dma-buf fd
// (O_CLOEXEC): the pieces, in order, as one dma-buf (UDMABUF_CREATE_LIST). The
// same rules as udmabufCreate for each memfd; the kernel caps the count
// (module parameter list_limit, 1024 by default) and checks page alignment.
static Napi::Value UdmabufCreateList(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
    return ThrowArgument(env, "udmabufCreateList(list: Float64Array of [memfd, offset, size] triples)");
  Napi::Float64Array list = info[0].As<Napi::Float64Array>();
  const size_t n = list.ElementLength();
  if (n == 0 || n % 3 != 0 || n / 3 > 65536) return ThrowArgument(env, "the list needs 1 to 65536 whole triples");
  const size_t count = n / 3;
  std::vector<char> buf(sizeof(struct udmabuf_create_list) + count * sizeof(struct udmabuf_create_item));
  auto* head = reinterpret_cast<struct udmabuf_create_list*>(buf.data());
  head->flags = UDMABUF_FLAGS_CLOEXEC;
  head->count = static_cast<__u32>(count);
  for (size_t i = 0; i < count; i++) {
    const double fd = list[3 * i], off = list[3 * i + 1], size = list[3 * i + 2];
    if (!(fd >= 0 && fd <= 2147483647.0 && fd == static_cast<int>(fd)) || !(off >= 0 && off < 9007199254740992.0) ||
        !(size > 0 && size < 9007199254740992.0))
      return ThrowArgument(env, "each piece needs a memfd, an offset >= 0 and a size > 0");
    head->list[i].memfd = static_cast<__u32>(fd);
    head->list[i].offset = static_cast<__u64>(off);
    head->list[i].size = static_cast<__u64>(size);
  }
  int dev = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
  if (dev < 0) return ThrowSyscall(env, "open(/dev/udmabuf)", errno);
  int fd = RetryIoctl(dev, UDMABUF_CREATE_LIST, head);
  int err = errno;
  close(dev);
  if (fd < 0) return ThrowSyscall(env, "ioctl(UDMABUF_CREATE_LIST)", err);
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
  exports.Set("udmabufCreateList", Napi::Function::New(env, UdmabufCreateList, "udmabufCreateList"));
  exports.Set("dmaHeapAlloc", Napi::Function::New(env, DmaHeapAlloc, "dmaHeapAlloc"));
}

}  // namespace bufshare
