#include "fd.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "errors.h"

namespace bufshare {

// close(fd). EINTR on Linux still closes the fd, so it is never retried (retrying
// could close an fd another thread just got); EBADF is reported.
static Napi::Value Close(const Napi::CallbackInfo& info) {
  int fd;
  if (!GetFd(info, 0, &fd)) return Napi::Value();
  if (close(fd) < 0 && errno != EINTR) return ThrowSyscall(info.Env(), "close", errno);
  return info.Env().Undefined();
}

static Napi::Value Dup(const Napi::CallbackInfo& info) {
  int fd;
  if (!GetFd(info, 0, &fd)) return Napi::Value();
  int d = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (d < 0) return ThrowSyscall(info.Env(), "fcntl(F_DUPFD_CLOEXEC)", errno);
  return Napi::Number::New(info.Env(), d);
}

// dup2(from, to): points `to` at what `from` is (the CLI's stderr redirection).
static Napi::Value Dup2(const Napi::CallbackInfo& info) {
  int from, to;
  if (!GetFd(info, 0, &from) || !GetFd(info, 1, &to)) return Napi::Value();
  int r;
  do {
    r = dup2(from, to);
  } while (r < 0 && errno == EINTR);
  if (r < 0) return ThrowSyscall(info.Env(), "dup2", errno);
  return info.Env().Undefined();
}

static Napi::Value GetSeals(const Napi::CallbackInfo& info) {
  int fd;
  if (!GetFd(info, 0, &fd)) return Napi::Value();
  int seals = fcntl(fd, F_GET_SEALS);
  if (seals < 0) return ThrowSyscall(info.Env(), "fcntl(F_GET_SEALS)", errno);
  return Napi::Number::New(info.Env(), seals);
}

static Napi::Value AddSeals(const Napi::CallbackInfo& info) {
  int fd;
  uint32_t seals;
  if (!GetFd(info, 0, &fd) || !GetUint32(info, 1, "seals", &seals)) return Napi::Value();
  if (fcntl(fd, F_ADD_SEALS, static_cast<int>(seals)) < 0)
    return ThrowSyscall(info.Env(), "fcntl(F_ADD_SEALS)", errno);
  return info.Env().Undefined();
}

static Napi::Value Truncate(const Napi::CallbackInfo& info) {
  int fd;
  uint64_t size;
  if (!GetFd(info, 0, &fd) || !GetSize(info, 1, "size", &size)) return Napi::Value();
  if (ftruncate(fd, static_cast<off_t>(size)) < 0) return ThrowSyscall(info.Env(), "ftruncate", errno);
  return info.Env().Undefined();
}

// { size, mode, regular, uid }: fstat only. It never moves the file offset, which a
// client shares with us for every fd it passed (a wl_shm pool: the same open file).
static Napi::Value Stat(const Napi::CallbackInfo& info) {
  int fd;
  if (!GetFd(info, 0, &fd)) return Napi::Value();
  struct stat st;
  if (fstat(fd, &st) < 0) return ThrowSyscall(info.Env(), "fstat", errno);
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("size", Napi::Number::New(info.Env(), static_cast<double>(st.st_size)));
  o.Set("mode", Napi::Number::New(info.Env(), st.st_mode));
  o.Set("regular", Napi::Boolean::New(info.Env(), S_ISREG(st.st_mode)));
  o.Set("uid", Napi::Number::New(info.Env(), st.st_uid));
  return o;
}

// The size by lseek(SEEK_END), -1 if not seekable: how a dma-buf reports its size
// (its st_size is 0). The offset is put back where it was; a dma-buf refuses
// SEEK_CUR, and its offset means nothing (it has no read/write), so it goes to 0.
static Napi::Value SeekSize(const Napi::CallbackInfo& info) {
  int fd;
  if (!GetFd(info, 0, &fd)) return Napi::Value();
  off_t was = lseek(fd, 0, SEEK_CUR);
  off_t end = lseek(fd, 0, SEEK_END);
  if (end >= 0) lseek(fd, was >= 0 ? was : 0, SEEK_SET);
  return Napi::Number::New(info.Env(), end < 0 ? -1.0 : static_cast<double>(end));
}

// Status flags (O_ACCMODE etc.), to tell a read-only dma-buf from a writable one.
static Napi::Value GetFlags(const Napi::CallbackInfo& info) {
  int fd;
  if (!GetFd(info, 0, &fd)) return Napi::Value();
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0) return ThrowSyscall(info.Env(), "fcntl(F_GETFL)", errno);
  return Napi::Number::New(info.Env(), fl);
}

void InitFd(Napi::Env env, Napi::Object exports) {
  exports.Set("close", Napi::Function::New(env, Close, "close"));
  exports.Set("dup", Napi::Function::New(env, Dup, "dup"));
  exports.Set("dup2", Napi::Function::New(env, Dup2, "dup2"));
  exports.Set("getSeals", Napi::Function::New(env, GetSeals, "getSeals"));
  exports.Set("addSeals", Napi::Function::New(env, AddSeals, "addSeals"));
  exports.Set("truncate", Napi::Function::New(env, Truncate, "truncate"));
  exports.Set("stat", Napi::Function::New(env, Stat, "stat"));
  exports.Set("seekSize", Napi::Function::New(env, SeekSize, "seekSize"));
  exports.Set("getFlags", Napi::Function::New(env, GetFlags, "getFlags"));
  Napi::Object c = Napi::Object::New(env);
  c.Set("F_SEAL_SEAL", F_SEAL_SEAL);
  c.Set("F_SEAL_SHRINK", F_SEAL_SHRINK);
  c.Set("F_SEAL_GROW", F_SEAL_GROW);
  c.Set("F_SEAL_WRITE", F_SEAL_WRITE);
  c.Set("O_ACCMODE", O_ACCMODE);
  c.Set("O_RDONLY", O_RDONLY);
  c.Set("O_WRONLY", O_WRONLY);
  c.Set("O_RDWR", O_RDWR);
  exports.Set("constants", c);
}

}  // namespace bufshare
