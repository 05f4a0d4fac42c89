// Errors thrown by the native layer.
//
// A failed system call becomes a JS Error with a stable shape that lib/errors.ts
// turns into a BufshareError: code 'ERR_BUFSHARE_SYSCALL', `syscall` (the call that
// failed, e.g. "ioctl(DRM_IOCTL_MODE_CREATE_DUMB)"), `errno` (its name, "EACCES")
// and `errnum` (the number). Argument errors use 'ERR_BUFSHARE_INVALID_ARGUMENT'.
#pragma once
#include <napi.h>
#include <string>

namespace bufshare {

// errno's symbolic name ("EPERM"), or "E<number>" for one we do not list.
const char* ErrnoName(int err);

Napi::Error SyscallError(Napi::Env env, const std::string& syscall, int err);
Napi::Error ArgumentError(Napi::Env env, const std::string& message);

// Throw helpers return an empty value so a function can `return ThrowX(...)`.
Napi::Value ThrowSyscall(Napi::Env env, const std::string& syscall, int err);
Napi::Value ThrowArgument(Napi::Env env, const std::string& message);

// Checked argument readers: they throw ERR_BUFSHARE_INVALID_ARGUMENT and return
// false when the argument is missing or of the wrong type.
bool GetInt32(const Napi::CallbackInfo& info, size_t i, const char* name, int32_t* out);
bool GetUint32(const Napi::CallbackInfo& info, size_t i, const char* name, uint32_t* out);
// A non-negative integral number that fits in int64 (sizes, offsets).
bool GetSize(const Napi::CallbackInfo& info, size_t i, const char* name, uint64_t* out);
bool GetFd(const Napi::CallbackInfo& info, size_t i, int* out);

}  // namespace bufshare
