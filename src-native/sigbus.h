// The SIGBUS guard: survive a file that shrinks under a live mapping.
//
// A MAP_SHARED mapping of a regular file faults with SIGBUS on every page past
// the file's end. A client that holds the fd of an unsealed buffer (the /dev/shm
// fallback, or a file a peer sent us) can ftruncate it at any time and so kill
// whoever maps it. Sealed memfds (F_SEAL_SHRINK) cannot shrink and are not
// guarded; every other regular-file mapping is registered here.
//
// As wayland-server's wl_shm and Mir do, the handler checks that the faulting
// address lies in a registered mapping, maps anonymous zero pages over the whole
// mapping (MAP_FIXED, same protection), marks it faulted and returns: the access
// is retried and reads zeros. A fault anywhere else, or a SIGBUS sent with kill(),
// goes to the handler that was installed before ours (the default one kills).
//
// Guarded: every mapping whose reads can fault, i.e. all but regular files sealed
// with F_SEAL_SHRINK: unsealed files, dma-bufs (a purged GEM-shmem object, a TTM
// populate failure, an unplugged device), device nodes.
//
// Unlike wl_shm, which registers a pool only between begin_access and end_access
// on one thread, JS can read a mapping at any time on any thread, so mappings are
// registered for their whole life in a fixed table that the handler reads with
// atomic loads only: no lock, no allocation (async-signal-safe).
#pragma once
#include <cstddef>
#include <cstdint>

namespace bufshare {

constexpr int kNoGuard = -1;

// Registers [addr, addr + length) mapped with `prot`; installs the handler on
// first use (and again if someone replaced it). Returns the slot, or kNoGuard when
// all kMaxGuardedMappings slots are taken or sigaction failed (errno set).
int GuardMapping(void* addr, size_t length, int prot);
// Forgets a slot. Call before munmap, so the handler can never touch a range that
// someone else mapped at the same address afterwards.
void UnguardMapping(int slot);
// True once the handler replaced the slot's pages.
bool MappingFaulted(int slot);
// True when a registered slot covers addr (injectSigbus checks it: a fault there is handled).
bool AddressGuarded(const void* addr);

struct GuardStats {
  size_t guarded;     // slots in use
  uint64_t faults;    // mappings replaced since load
  bool installed;     // our handler is the current SIGBUS disposition
};
GuardStats GetGuardStats();

// Every mapping of client memory is guarded (dma-bufs too), and each server splits
// its half of the table among its clients (lib/mapping/guard-shares.ts): 32768
// leaves 256 slots to each of 64 clients per server, above the bufshare server's
// 192 buffers a client. 32 bytes a slot (1 MiB of bss, untouched pages cost
// nothing); the handler scans only up to the highest slot ever used.
constexpr size_t kMaxGuardedMappings = 32768;

}  // namespace bufshare
