// The DRM ioctl ABI bufshare uses, declared in-tree so that building needs no
// libdrm-dev (Debian's linux-libc-dev on this machine kind ships no <drm/drm.h>).
// Layouts and numbers are copied from include/uapi/drm/drm.h and drm_mode.h; they
// are kernel ABI and never change.
#pragma once
#include <linux/ioctl.h>
#include <linux/types.h>
#include <stddef.h>

namespace bufshare {
namespace drm_abi {

struct drm_version {
  int version_major;
  int version_minor;
  int version_patchlevel;
  size_t name_len;
  char* name;
  size_t date_len;
  char* date;
  size_t desc_len;
  char* desc;
};

struct drm_get_cap {
  __u64 capability;
  __u64 value;
};

struct drm_gem_close {
  __u32 handle;
  __u32 pad;
};

struct drm_prime_handle {
  __u32 handle;
  __u32 flags;  // DRM_CLOEXEC | DRM_RDWR
  __s32 fd;
};

struct drm_mode_create_dumb {
  __u32 height;
  __u32 width;
  __u32 bpp;
  __u32 flags;
  __u32 handle;  // out
  __u32 pitch;   // out
  __u64 size;    // out
};

struct drm_mode_map_dumb {
  __u32 handle;
  __u32 pad;
  __u64 offset;  // out: fake offset to mmap the card node at
};

struct drm_mode_destroy_dumb {
  __u32 handle;
};

constexpr unsigned kIoctlBase = 'd';
constexpr unsigned long IOCTL_VERSION = _IOWR(kIoctlBase, 0x00, struct drm_version);
constexpr unsigned long IOCTL_GEM_CLOSE = _IOW(kIoctlBase, 0x09, struct drm_gem_close);
constexpr unsigned long IOCTL_GET_CAP = _IOWR(kIoctlBase, 0x0c, struct drm_get_cap);
constexpr unsigned long IOCTL_PRIME_HANDLE_TO_FD = _IOWR(kIoctlBase, 0x2d, struct drm_prime_handle);
constexpr unsigned long IOCTL_MODE_CREATE_DUMB = _IOWR(kIoctlBase, 0xB2, struct drm_mode_create_dumb);
constexpr unsigned long IOCTL_MODE_MAP_DUMB = _IOWR(kIoctlBase, 0xB3, struct drm_mode_map_dumb);
constexpr unsigned long IOCTL_MODE_DESTROY_DUMB = _IOWR(kIoctlBase, 0xB4, struct drm_mode_destroy_dumb);

// drm.h: DRM_CLOEXEC is O_CLOEXEC and DRM_RDWR is O_RDWR.
constexpr __u32 CAP_DUMB_BUFFER = 0x1;
constexpr __u32 CAP_DUMB_PREFERRED_DEPTH = 0x3;
constexpr __u32 CAP_PRIME = 0x5;
constexpr __u32 CAP_ADDFB2_MODIFIERS = 0x10;
constexpr __u32 PRIME_CAP_IMPORT = 0x1;
constexpr __u32 PRIME_CAP_EXPORT = 0x2;

}  // namespace drm_abi
}  // namespace bufshare
