#include "map.h"

#include <fcntl.h>
#include <linux/dma-buf.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include "errors.h"
#include "sigbus.h"

namespace bufshare {

namespace {

struct Mapping {
  void* addr;
  size_t length;
  bool live;
  int guard;  // SIGBUS guard slot, or kNoGuard for memory that cannot shrink
};

// Every live mapping by address: unmap() only ever munmaps a range it finds here,
// so an arbitrary ArrayBuffer passed from JS can never make us munmap foreign memory.
std::mutex g_mutex;
std::unordered_map<void*, Mapping*> g_live;
size_t g_total_mappings = 0;  // created since load, for leak tests

void ReleaseMapping(Mapping* m) {
  // Caller holds g_mutex.
  if (!m->live) return;
  UnguardMapping(m->guard);
  munmap(m->addr, m->length);
  m->live = false;
  g_live.erase(m->addr);
}

void FinalizeMapping(Napi::Env, void*, Mapping* m) {
  std::lock_guard<std::mutex> lock(g_mutex);
  ReleaseMapping(m);
  delete m;
}

// Can a read of a mapping of fd fault? A regular file sealed with F_SEAL_SHRINK
// cannot (its pages exist as long as the mapping). Everything else can: an
// unsealed file shrinks under us; a dma-buf faults when its exporter cannot
// provide the page (a GEM-shmem object the client marked purgeable and the
// driver purged, TTM failing to populate, any device unplugged); a device node's
// fault handler may answer VM_FAULT_SIGBUS. Only the sealed file goes unguarded.
bool NeedsGuard(int fd) {
  struct stat st;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) return true;
  int seals = fcntl(fd, F_GET_SEALS);
  return seals < 0 || !(seals & F_SEAL_SHRINK);
}

}  // namespace

// mmap(fd, length, offset, prot) -> ArrayBuffer. prot: 1 read, 2 write, 3 both.
// MAP_SHARED always: the point is to see the other process's pixels.
static Napi::Value Mmap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  uint64_t length, offset;
  uint32_t protBits;
  if (!GetFd(info, 0, &fd) || !GetSize(info, 1, "length", &length) || !GetSize(info, 2, "offset", &offset) ||
      !GetUint32(info, 3, "prot", &protBits))
    return Napi::Value();
  if (length == 0) return ThrowArgument(env, "length must be > 0");
  if (offset % static_cast<uint64_t>(sysconf(_SC_PAGESIZE)) != 0)
    return ThrowArgument(env, "offset must be a multiple of the page size");
  if (protBits == 0 || protBits > 3) return ThrowArgument(env, "prot must be 1 (read), 2 (write) or 3");
  // Write-only mappings do not exist on x86 and a write-only view is useless to
  // JS anyway; PROT_WRITE alone is still asked for so that a read-only fd fails
  // with EACCES here rather than being silently mapped readable.
  int prot = ((protBits & 1) ? PROT_READ : 0) | ((protBits & 2) ? PROT_WRITE : 0);
  void* addr = mmap(nullptr, length, prot, MAP_SHARED, fd, static_cast<off_t>(offset));
  if (addr == MAP_FAILED) return ThrowSyscall(env, "mmap", errno);
  return AdoptMapping(env, addr, static_cast<size_t>(length), prot, NeedsGuard(fd));
}

Napi::Value AdoptMapping(Napi::Env env, void* addr, size_t length, int prot, bool guard_it) {
  int guard = kNoGuard;
  if (guard_it) {
    guard = GuardMapping(addr, length, prot);
    if (guard == kNoGuard) {
      int err = errno;
      munmap(addr, length);
      // Never hand out an unguarded mapping of memory that can fault.
      return ThrowSyscall(env, err == ENOSPC ? "mmap (SIGBUS guard table full)" : "sigaction(SIGBUS)", err);
    }
  }
  Mapping* m = new Mapping{addr, length, true, guard};
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    g_live[addr] = m;
    g_total_mappings++;
  }
  return Napi::ArrayBuffer::New(env, addr, length, FinalizeMapping, m);
}

// unmap(ab) -> true if ab was a live mapping of ours (now detached and unmapped),
// false if it was already unmapped. Throws for a foreign ArrayBuffer.
static Napi::Value Unmap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArrayBuffer()) return ThrowArgument(env, "expected an ArrayBuffer");
  Napi::ArrayBuffer ab = info[0].As<Napi::ArrayBuffer>();
  if (ab.IsDetached()) return Napi::Boolean::New(env, false);
  void* addr = ab.Data();
  std::lock_guard<std::mutex> lock(g_mutex);
  auto it = g_live.find(addr);
  if (it == g_live.end() || it->second->length != ab.ByteLength())
    return ThrowArgument(env, "not an ArrayBuffer mapped by bufshare");
  // Detach before munmap: from here on no view can index the range.
  ab.Detach();
  ReleaseMapping(it->second);
  return Napi::Boolean::New(env, true);
}

// mappingState(ab) -> { guarded, faulted } for a live mapping of ours: guarded when
// the SIGBUS guard watches it, faulted once the file shrank under it and its pages
// were replaced with zeros. A detached ArrayBuffer reports both false.
static Napi::Value MappingState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArrayBuffer()) return ThrowArgument(env, "expected an ArrayBuffer");
  Napi::ArrayBuffer ab = info[0].As<Napi::ArrayBuffer>();
  bool guarded = false, faulted = false;
  if (!ab.IsDetached()) {
    std::lock_guard<std::mutex> lock(g_mutex);
    auto it = g_live.find(ab.Data());
    if (it == g_live.end() || it->second->length != ab.ByteLength())
      return ThrowArgument(env, "not an ArrayBuffer mapped by bufshare");
    guarded = it->second->guard != kNoGuard;
    faulted = MappingFaulted(it->second->guard);
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("guarded", Napi::Boolean::New(env, guarded));
  o.Set("faulted", Napi::Boolean::New(env, faulted));
  return o;
}

// injectSigbus(ab, offset): delivers to this thread what the kernel delivers when a
// read at ab[offset] faults (SIGBUS, BUS_ADRERR, si_addr), for tests of faults no
// test can make happen (a purged GEM object, an unplugged device). Only inside a
// live mapping of ours. The kernel lets a process queue a kernel-style si_code to
// itself only (rt_tgsigqueueinfo).
static Napi::Value InjectSigbus(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsArrayBuffer()) return ThrowArgument(env, "expected an ArrayBuffer and an offset");
  uint64_t offset;
  if (!GetSize(info, 1, "offset", &offset)) return Napi::Value();
  Napi::ArrayBuffer ab = info[0].As<Napi::ArrayBuffer>();
  if (ab.IsDetached()) return ThrowArgument(env, "the mapping is detached");
  void* addr = ab.Data();
  if (offset >= ab.ByteLength()) return ThrowArgument(env, "offset is outside the mapping");
  // Any mapping the guard watches (ours, or a gbm_bo_map): a SIGBUS anywhere else
  // would kill the process, which is not what a test of the guard wants.
  if (!AddressGuarded(static_cast<char*>(addr) + offset)) return ThrowArgument(env, "not a mapping the SIGBUS guard watches");
  siginfo_t si;
  memset(&si, 0, sizeof si);
  si.si_signo = SIGBUS;
  si.si_code = BUS_ADRERR;
  si.si_addr = static_cast<char*>(addr) + offset;
  if (syscall(SYS_rt_tgsigqueueinfo, getpid(), static_cast<pid_t>(syscall(SYS_gettid)), SIGBUS, &si) < 0)
    return ThrowSyscall(env, "rt_tgsigqueueinfo", errno);
  return env.Undefined();
}

static Napi::Value MappingStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GuardStats guard = GetGuardStats();
  std::lock_guard<std::mutex> lock(g_mutex);
  Napi::Object o = Napi::Object::New(env);
  o.Set("live", Napi::Number::New(env, static_cast<double>(g_live.size())));
  o.Set("created", Napi::Number::New(env, static_cast<double>(g_total_mappings)));
  o.Set("guarded", Napi::Number::New(env, static_cast<double>(guard.guarded)));
  o.Set("sigbusFaults", Napi::Number::New(env, static_cast<double>(guard.faults)));
  o.Set("sigbusHandler", Napi::Boolean::New(env, guard.installed));
  return o;
}

// dmabufSync(fd, flags): DMA_BUF_IOCTL_SYNC, retried on EINTR/EAGAIN as the
// kernel documentation asks. flags: DMA_BUF_SYNC_{START,END} | {READ,WRITE,RW}.
static Napi::Value DmabufSync(const Napi::CallbackInfo& info) {
  int fd;
  uint32_t flags;
  if (!GetFd(info, 0, &fd) || !GetUint32(info, 1, "flags", &flags)) return Napi::Value();
  struct dma_buf_sync sync = {};
  sync.flags = flags;
  int r;
  do {
    r = ioctl(fd, DMA_BUF_IOCTL_SYNC, &sync);
  } while (r < 0 && (errno == EINTR || errno == EAGAIN));
  if (r < 0) return ThrowSyscall(info.Env(), "ioctl(DMA_BUF_IOCTL_SYNC)", errno);
  return info.Env().Undefined();
}

static Napi::Value PageSize(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(sysconf(_SC_PAGESIZE)));
}

void InitMap(Napi::Env env, Napi::Object exports) {
  exports.Set("mmap", Napi::Function::New(env, Mmap, "mmap"));
  exports.Set("unmap", Napi::Function::New(env, Unmap, "unmap"));
  exports.Set("mappingState", Napi::Function::New(env, MappingState, "mappingState"));
  exports.Set("mappingStats", Napi::Function::New(env, MappingStats, "mappingStats"));
  exports.Set("injectSigbus", Napi::Function::New(env, InjectSigbus, "injectSigbus"));
  exports.Set("dmabufSync", Napi::Function::New(env, DmabufSync, "dmabufSync"));
  exports.Set("pageSize", Napi::Function::New(env, PageSize, "pageSize"));
  Napi::Object c = exports.Get("constants").As<Napi::Object>();
  c.Set("GUARD_SLOTS", static_cast<double>(kMaxGuardedMappings));
  c.Set("DMA_BUF_SYNC_READ", DMA_BUF_SYNC_READ);
  c.Set("DMA_BUF_SYNC_WRITE", DMA_BUF_SYNC_WRITE);
  c.Set("DMA_BUF_SYNC_RW", DMA_BUF_SYNC_RW);
  c.Set("DMA_BUF_SYNC_START", DMA_BUF_SYNC_START);
  c.Set("DMA_BUF_SYNC_END", DMA_BUF_SYNC_END);
}

}  // namespace bufshare
