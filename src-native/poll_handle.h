#pragma once

#include <node_api.h>
#include <uv.h>

#include <cerrno>

namespace bufshare {

// A libuv poll handle on an fd its owner (a socket, a DRM fd's event watcher, a
// fence watch) holds. Created on the first Start; freed by libuv's close
// callback, not here, because the loop may still reference the handle when its
// owner, a JS wrapper the GC collected, is already gone. The owner closes the
// handle before its fd: libuv must not watch an fd that was closed (and maybe
// reused).
class PollHandle {
 public:
  PollHandle() = default;
  PollHandle(const PollHandle&) = delete;
  PollHandle& operator=(const PollHandle&) = delete;
  ~PollHandle() { Close(); }

  // Watches `events` (UV_READABLE | UV_WRITABLE) on fd, calling cb with
  // handle->data == owner; called again, it changes the events. Returns 0, or
  // an errno with *failed naming the call that failed.
  int Start(napi_env env, int fd, int events, uv_poll_cb cb, void* owner, const char** failed) {
    if (handle_ == nullptr) {
      uv_loop_t* loop = nullptr;
      if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
        *failed = "napi_get_uv_event_loop";
        return EINVAL;
      }
      handle_ = new uv_poll_t;
      const int r = uv_poll_init(loop, handle_, fd);
      if (r < 0) {
        delete handle_;  // never registered with the loop: freed at once
        handle_ = nullptr;
        *failed = "uv_poll_init";
        return -r;
      }
      handle_->data = owner;
    }
    const int r = uv_poll_start(handle_, events, cb);
    if (r < 0) {
      *failed = "uv_poll_start";
      return -r;
    }
    return 0;
  }

  // Stops watching until the next Start.
  void Stop() {
    if (handle_ != nullptr) uv_poll_stop(handle_);
  }

  // Stops watching for good: no callback reaches the owner after this (a
  // callback already queued finds data null). Idempotent.
  void Close() {
    if (handle_ == nullptr) return;
    uv_poll_stop(handle_);
    handle_->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(handle_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
    handle_ = nullptr;
  }

 private:
  uv_poll_t* handle_ = nullptr;
};

}  // namespace bufshare
