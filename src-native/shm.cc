#include "shm.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <random>
#include <string>

#include "errors.h"

namespace bufshare {

// memfdCreate(name, size, seals) -> fd. Sized before sealing: F_SEAL_GROW and
// F_SEAL_SHRINK forbid every later ftruncate, which is the point (a client can
// then never shrink the file under the compositor's mapping: no SIGBUS).
static Napi::Value MemfdCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) return ThrowArgument(env, "name must be a string");
  std::string name = info[0].As<Napi::String>().Utf8Value();
  uint64_t size;
  uint32_t seals;
  if (!GetSize(info, 1, "size", &size) || !GetUint32(info, 2, "seals", &seals)) return Napi::Value();
  int fd = memfd_create(name.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return ThrowSyscall(env, "memfd_create", errno);
  if (ftruncate(fd, static_cast<off_t>(size)) < 0) {
    int err = errno;
    close(fd);
    return ThrowSyscall(env, "ftruncate", err);
  }
  if (seals != 0 && fcntl(fd, F_ADD_SEALS, static_cast<int>(seals)) < 0) {
    int err = errno;
    close(fd);
    return ThrowSyscall(env, "fcntl(F_ADD_SEALS)", err);
  }
  return Napi::Number::New(env, fd);
}

// punchHole(fd, size): frees every page of a shm file, keeping its size. Works
// on a memfd sealed against shrinking (only F_SEAL_WRITE forbids it) and frees
// the pages even while another process holds the fd: what the server does to a
// buffer it destroys, so that a client that kept the fd pins no memory. The
// client then reads zeros, and pays for (its RSS) any page it writes again.
static Napi::Value PunchHole(const Napi::CallbackInfo& info) {
  int fd;
  uint64_t size;
  if (!GetFd(info, 0, &fd) || !GetSize(info, 1, "size", &size)) return Napi::Value();
  if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, static_cast<off_t>(size)) < 0)
    return ThrowSyscall(info.Env(), "fallocate(FALLOC_FL_PUNCH_HOLE)", errno);
  return info.Env().Undefined();
}

// shmFileCreate(dir, size) -> fd: an anonymous file in a tmpfs directory, for
// where memfd_create is unavailable. O_TMPFILE never gives the file a name; where
// that is refused too, a random name is created exclusively and unlinked at once.
static Napi::Value ShmFileCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) return ThrowArgument(env, "dir must be a string");
  std::string dir = info[0].As<Napi::String>().Utf8Value();
  uint64_t size;
  if (!GetSize(info, 1, "size", &size)) return Napi::Value();
  int fd = open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) {
    std::random_device rd;
    for (int attempt = 0; attempt < 16 && fd < 0; attempt++) {
      char path[4096];
      snprintf(path, sizeof path, "%s/bufshare-%08x%08x", dir.c_str(), rd(), rd());
      fd = open(path, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC | O_NOFOLLOW, 0600);
      if (fd >= 0) unlink(path);
      else if (errno != EEXIST) break;
    }
    if (fd < 0) return ThrowSyscall(env, "open(" + dir + ")", errno);
  }
  if (ftruncate(fd, static_cast<off_t>(size)) < 0) {
    int err = errno;
    close(fd);
    return ThrowSyscall(env, "ftruncate", err);
  }
  return Napi::Number::New(env, fd);
}

void InitShm(Napi::Env env, Napi::Object exports) {
  exports.Set("memfdCreate", Napi::Function::New(env, MemfdCreate, "memfdCreate"));
  exports.Set("punchHole", Napi::Function::New(env, PunchHole, "punchHole"));
  exports.Set("shmFileCreate", Napi::Function::New(env, ShmFileCreate, "shmFileCreate"));
}

}  // namespace bufshare
