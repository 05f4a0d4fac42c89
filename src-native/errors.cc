#include "errors.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace bufshare {

const char* ErrnoName(int err) {
  switch (err) {
#define E(x) case x: return #x;
    E(EPERM) E(ENOENT) E(ESRCH) E(EINTR) E(EIO) E(ENXIO) E(E2BIG) E(ENOEXEC) E(EBADF)
    E(ECHILD) E(EAGAIN) E(ENOMEM) E(EACCES) E(EFAULT) E(EBUSY) E(EEXIST) E(EXDEV)
    E(ENODEV) E(ENOTDIR) E(EISDIR) E(EINVAL) E(ENFILE) E(EMFILE) E(ENOTTY) E(ETXTBSY)
    E(EFBIG) E(ENOSPC) E(ESPIPE) E(EROFS) E(EMLINK) E(EPIPE) E(ERANGE) E(ENAMETOOLONG)
    E(ENOSYS) E(ENOTEMPTY) E(ELOOP) E(ENOTSUP) E(EOVERFLOW) E(ENOTSOCK) E(EMSGSIZE)
    E(EPROTOTYPE) E(ENOPROTOOPT) E(EPROTONOSUPPORT) E(EADDRINUSE) E(EADDRNOTAVAIL)
    E(ENETDOWN) E(ECONNABORTED) E(ECONNRESET) E(ENOBUFS) E(EISCONN) E(ENOTCONN)
    E(ETIMEDOUT) E(ECONNREFUSED) E(EALREADY) E(EINPROGRESS) E(ECANCELED) E(ENOKEY)
    E(EDEADLK) E(ENOLCK) E(ENODATA) E(ENOMSG) E(EBADMSG) E(EOWNERDEAD)
#undef E
    default: {
      static thread_local char buf[16];
      snprintf(buf, sizeof buf, "E%d", err);
      return buf;
    }
  }
}

Napi::Error SyscallError(Napi::Env env, const std::string& syscall, int err) {
  Napi::Error e = Napi::Error::New(env, syscall + " failed: " + ErrnoName(err) + " (" + strerror(err) + ")");
  e.Set("code", Napi::String::New(env, "ERR_BUFSHARE_SYSCALL"));
  e.Set("syscall", Napi::String::New(env, syscall));
  e.Set("errno", Napi::String::New(env, ErrnoName(err)));
  e.Set("errnum", Napi::Number::New(env, err));
  return e;
}

Napi::Error ArgumentError(Napi::Env env, const std::string& message) {
  Napi::Error e = Napi::TypeError::New(env, message);
  e.Set("code", Napi::String::New(env, "ERR_BUFSHARE_INVALID_ARGUMENT"));
  return e;
}

Napi::Value ThrowSyscall(Napi::Env env, const std::string& syscall, int err) {
  SyscallError(env, syscall, err).ThrowAsJavaScriptException();
  return Napi::Value();
}

Napi::Value ThrowArgument(Napi::Env env, const std::string& message) {
  ArgumentError(env, message).ThrowAsJavaScriptException();
  return Napi::Value();
}

static bool GetIntegral(const Napi::CallbackInfo& info, size_t i, const char* name, double lo, double hi,
                        double* out) {
  if (info.Length() <= i || !info[i].IsNumber()) {
    ThrowArgument(info.Env(), std::string(name) + " must be a number");
    return false;
  }
  double v = info[i].As<Napi::Number>().DoubleValue();
  if (!std::isfinite(v) || std::floor(v) != v || v < lo || v > hi) {
    ThrowArgument(info.Env(), std::string(name) + " must be an integer in range");
    return false;
  }
  *out = v;
  return true;
}

bool GetInt32(const Napi::CallbackInfo& info, size_t i, const char* name, int32_t* out) {
  double v;
  if (!GetIntegral(info, i, name, -2147483648.0, 2147483647.0, &v)) return false;
  *out = static_cast<int32_t>(v);
  return true;
}

bool GetUint32(const Napi::CallbackInfo& info, size_t i, const char* name, uint32_t* out) {
  double v;
  if (!GetIntegral(info, i, name, 0, 4294967295.0, &v)) return false;
  *out = static_cast<uint32_t>(v);
  return true;
}

bool GetSize(const Napi::CallbackInfo& info, size_t i, const char* name, uint64_t* out) {
  double v;
  // 2^53: every integer below is exact in a double.
  if (!GetIntegral(info, i, name, 0, 9007199254740991.0, &v)) return false;
  *out = static_cast<uint64_t>(v);
  return true;
}

bool GetFd(const Napi::CallbackInfo& info, size_t i, int* out) {
  int32_t fd;
  if (!GetInt32(info, i, "fd", &fd)) return false;
  if (fd < 0) {
    ThrowArgument(info.Env(), "fd must be >= 0");
    return false;
  }
  *out = fd;
  return true;
}

}  // namespace bufshare
