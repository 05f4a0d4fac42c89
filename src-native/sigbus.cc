#include "sigbus.h"

#include <signal.h>
#include <sys/mman.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>

namespace bufshare {

namespace {

struct GuardSlot {
  // A sequence lock over the range: odd while the JS side (re)writes the slot, bumped
  // twice per change. The handler reads start, length and prot between two equal even
  // values, so it never pairs one mapping's start with another's length (a slot freed
  // and claimed again for the same address, by another thread, while it read).
  std::atomic<uint32_t> seq{0};
  // 0 when free.
  std::atomic<uintptr_t> start{0};
  std::atomic<size_t> length{0};
  std::atomic<int> prot{0};
  std::atomic<bool> faulted{false};
};

GuardSlot g_slots[kMaxGuardedMappings];
// The handler scans [0, g_used): slots are never given back past this mark.
std::atomic<size_t> g_used{0};
std::atomic<size_t> g_live{0};
std::atomic<uint64_t> g_faults{0};

// Claiming and freeing slots, (re)installing the handler: JS thread(s) only.
std::mutex g_mutex;
struct sigaction g_previous;  // what SIGBUS did before us; read by the handler
bool g_have_previous = false;

// Set while a previous handler runs: if it hands the signal back to us (a handler
// installed after ours that chains, which we then displaced), we go to the
// default action instead of looping.
std::atomic<bool> g_chaining{false};

void DefaultAction() {
  // Restore the default and deliver again (SA_NODEFER lets it through now).
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(SIGBUS, &dfl, nullptr);
  raise(SIGBUS);
}

// Hands the signal to whatever was installed before us.
void Chain(int sig, siginfo_t* info, void* context) {
  const struct sigaction& prev = g_previous;
  if (g_chaining.exchange(true)) return DefaultAction();
  if (g_have_previous && (prev.sa_flags & SA_SIGINFO) && prev.sa_sigaction != nullptr) {
    prev.sa_sigaction(sig, info, context);
    g_chaining.store(false);
    return;
  }
  if (g_have_previous && !(prev.sa_flags & SA_SIGINFO) && prev.sa_handler != SIG_DFL) {
    if (prev.sa_handler == SIG_IGN) {
      // A SIGBUS from kill() may be ignored; a fault cannot (the access would retry forever).
      if (info == nullptr || info->si_code <= 0) {
        g_chaining.store(false);
        return;
      }
    } else {
      prev.sa_handler(sig);
      g_chaining.store(false);
      return;
    }
  }
  DefaultAction();
}

void OnSigbus(int sig, siginfo_t* info, void* context) {
  const int savedErrno = errno;
  // si_code > 0: raised by the kernel for a fault, with si_addr set.
  if (info != nullptr && info->si_code > 0) {
    const uintptr_t addr = reinterpret_cast<uintptr_t>(info->si_addr);
    const size_t used = g_used.load(std::memory_order_acquire);
    for (size_t i = 0; i < used; i++) {
      GuardSlot& s = g_slots[i];
      uintptr_t start = 0;
      size_t length = 0;
      int prot = 0;
      bool stable = false;
      for (int attempt = 0; attempt < 64 && !stable; attempt++) {
        const uint32_t before = s.seq.load(std::memory_order_acquire);
        if (before & 1) continue;  // being written right now: read again
        start = s.start.load(std::memory_order_acquire);
        length = s.length.load(std::memory_order_acquire);
        prot = s.prot.load(std::memory_order_acquire);
        std::atomic_thread_fence(std::memory_order_acquire);
        stable = s.seq.load(std::memory_order_relaxed) == before;
      }
      if (!stable || start == 0 || addr < start) continue;
      if (addr - start >= length) continue;
      // mmap is a plain system call (async-signal-safe in practice; wl_shm relies on it too).
      void* r = mmap(reinterpret_cast<void*>(start), length, prot,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
      if (r == MAP_FAILED) break;
      s.faulted.store(true, std::memory_order_release);
      g_faults.fetch_add(1, std::memory_order_relaxed);
      errno = savedErrno;
      return;  // the faulting access is retried and reads zeros
    }
  }
  Chain(sig, info, context);
  errno = savedErrno;
}

bool HandlerInstalled() {
  struct sigaction cur;
  if (sigaction(SIGBUS, nullptr, &cur) < 0) return false;
  return (cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == OnSigbus;
}

// Caller holds g_mutex. Installs the handler unless it is already the current one;
// whatever it displaces (the default, or a handler installed after ours) is chained to.
bool EnsureHandler() {
  if (HandlerInstalled()) return true;
  struct sigaction ours;
  memset(&ours, 0, sizeof ours);
  ours.sa_sigaction = OnSigbus;
  // SA_NODEFER: Chain() may re-raise from inside the handler. SA_ONSTACK: use the
  // alternate stack where the runtime set one up.
  ours.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
  sigemptyset(&ours.sa_mask);
  // Record what we displace before installing, so the handler never chains to a
  // stale disposition.
  struct sigaction prev;
  if (sigaction(SIGBUS, nullptr, &prev) < 0) return false;
  g_previous = prev;
  g_have_previous = true;
  return sigaction(SIGBUS, &ours, nullptr) == 0;
}

}  // namespace

int GuardMapping(void* addr, size_t length, int prot) {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (!EnsureHandler()) return kNoGuard;
  const size_t used = g_used.load(std::memory_order_relaxed);
  size_t i = 0;
  while (i < used && g_slots[i].start.load(std::memory_order_relaxed) != 0) i++;
  if (i == kMaxGuardedMappings) {
    errno = ENOSPC;
    return kNoGuard;
  }
  GuardSlot& s = g_slots[i];
  s.seq.fetch_add(1, std::memory_order_acq_rel);
  s.length.store(length, std::memory_order_release);
  s.prot.store(prot, std::memory_order_release);
  s.faulted.store(false, std::memory_order_release);
  s.start.store(reinterpret_cast<uintptr_t>(addr), std::memory_order_release);
  s.seq.fetch_add(1, std::memory_order_release);
  if (i == used) g_used.store(used + 1, std::memory_order_release);
  g_live.fetch_add(1, std::memory_order_relaxed);
  return static_cast<int>(i);
}

void UnguardMapping(int slot) {
  if (slot < 0 || static_cast<size_t>(slot) >= kMaxGuardedMappings) return;
  std::lock_guard<std::mutex> lock(g_mutex);
  GuardSlot& s = g_slots[slot];
  s.seq.fetch_add(1, std::memory_order_acq_rel);
  if (s.start.exchange(0, std::memory_order_acq_rel) != 0) g_live.fetch_sub(1, std::memory_order_relaxed);
  s.seq.fetch_add(1, std::memory_order_release);
}

bool AddressGuarded(const void* addr) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(addr);
  std::lock_guard<std::mutex> lock(g_mutex);
  const size_t used = g_used.load(std::memory_order_relaxed);
  for (size_t i = 0; i < used; i++) {
    const uintptr_t start = g_slots[i].start.load(std::memory_order_relaxed);
    if (start != 0 && a >= start && a - start < g_slots[i].length.load(std::memory_order_relaxed)) return true;
  }
  return false;
}

bool MappingFaulted(int slot) {
  if (slot < 0 || static_cast<size_t>(slot) >= kMaxGuardedMappings) return false;
  return g_slots[slot].faulted.load(std::memory_order_acquire);
}

GuardStats GetGuardStats() {
  std::lock_guard<std::mutex> lock(g_mutex);
  return GuardStats{g_live.load(), g_faults.load(), HandlerInstalled()};
}

}  // namespace bufshare
