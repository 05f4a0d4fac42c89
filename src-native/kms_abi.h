// The KMS slice of the DRM ioctl ABI (modesetting, planes, properties, atomic,
// page flips, DRM master), declared in-tree like drm_abi.h so that building needs
// no libdrm-dev. Layouts and numbers follow include/uapi/drm/drm.h and
// drm_mode.h: kernel ABI, which never changes.
#pragma once
#include <linux/ioctl.h>
#include <linux/types.h>

namespace bufshare {
namespace kms_abi {

constexpr unsigned kBase = 'd';

struct drm_mode_modeinfo {
  __u32 clock;
  __u16 hdisplay, hsync_start, hsync_end, htotal, hskew;
  __u16 vdisplay, vsync_start, vsync_end, vtotal, vscan;
  __u32 vrefresh;
  __u32 flags;
  __u32 type;
  char name[32];
};
static_assert(sizeof(drm_mode_modeinfo) == 68, "drm_mode_modeinfo is 68 bytes");

struct drm_mode_card_res {
  __u64 fb_id_ptr;
  __u64 crtc_id_ptr;
  __u64 connector_id_ptr;
  __u64 encoder_id_ptr;
  __u32 count_fbs;
  __u32 count_crtcs;
  __u32 count_connectors;
  __u32 count_encoders;
  __u32 min_width;
  __u32 max_width;
  __u32 min_height;
  __u32 max_height;
};

struct drm_mode_crtc {
  __u64 set_connectors_ptr;
  __u32 count_connectors;
  __u32 crtc_id;
  __u32 fb_id;
  __u32 x;
  __u32 y;
  __u32 gamma_size;
  __u32 mode_valid;
  drm_mode_modeinfo mode;
};

struct drm_mode_get_encoder {
  __u32 encoder_id;
  __u32 encoder_type;
  __u32 crtc_id;
  __u32 possible_crtcs;
  __u32 possible_clones;
};

struct drm_mode_get_connector {
  __u64 encoders_ptr;
  __u64 modes_ptr;
  __u64 props_ptr;
  __u64 prop_values_ptr;
  __u32 count_modes;
  __u32 count_props;
  __u32 count_encoders;
  __u32 encoder_id;
  __u32 connector_id;
  __u32 connector_type;
  __u32 connector_type_id;
  __u32 connection;
  __u32 mm_width;
  __u32 mm_height;
  __u32 subpixel;
  __u32 pad;
};

struct drm_mode_get_plane_res {
  __u64 plane_id_ptr;
  __u32 count_planes;
};

struct drm_mode_get_plane {
  __u32 plane_id;
  __u32 crtc_id;
  __u32 fb_id;
  __u32 possible_crtcs;
  __u32 gamma_size;
  __u32 count_format_types;
  __u64 format_type_ptr;
};

struct drm_mode_property_enum {
  __u64 value;
  char name[32];
};

struct drm_mode_get_property {
  __u64 values_ptr;
  __u64 enum_blob_ptr;
  __u32 prop_id;
  __u32 flags;
  char name[32];
  __u32 count_values;
  __u32 count_enum_blobs;
};

struct drm_mode_obj_get_properties {
  __u64 props_ptr;
  __u64 prop_values_ptr;
  __u32 count_props;
  __u32 obj_id;
  __u32 obj_type;
};

struct drm_mode_get_blob {
  __u32 blob_id;
  __u32 length;
  __u64 data;
};

struct drm_mode_create_blob {
  __u64 data;
  __u32 length;
  __u32 blob_id;
};

struct drm_mode_destroy_blob {
  __u32 blob_id;
};

struct drm_mode_fb_cmd2 {
  __u32 fb_id;
  __u32 width;
  __u32 height;
  __u32 pixel_format;
  __u32 flags;
  __u32 handles[4];
  __u32 pitches[4];
  __u32 offsets[4];
  __u64 modifier[4];
};
static_assert(sizeof(drm_mode_fb_cmd2) == 104, "drm_mode_fb_cmd2 is 104 bytes");

struct drm_mode_atomic {
  __u32 flags;
  __u32 count_objs;
  __u64 objs_ptr;
  __u64 count_props_ptr;
  __u64 props_ptr;
  __u64 prop_values_ptr;
  __u64 reserved;
  __u64 user_data;
};

struct drm_mode_crtc_page_flip {
  __u32 crtc_id;
  __u32 fb_id;
  __u32 flags;
  __u32 reserved;
  __u64 user_data;
};

struct drm_set_client_cap {
  __u64 capability;
  __u64 value;
};

struct drm_auth {
  unsigned int magic;
};

struct drm_prime_handle {
  __u32 handle;
  __u32 flags;
  __s32 fd;
};

struct drm_event {
  __u32 type;
  __u32 length;
};

struct drm_event_vblank {
  drm_event base;
  __u64 user_data;
  __u32 tv_sec;
  __u32 tv_usec;
  __u32 sequence;
  __u32 crtc_id;  // 0 on kernels older than 4.12
};

constexpr unsigned long IOCTL_AUTH_MAGIC = _IOW(kBase, 0x11, drm_auth);
constexpr unsigned long IOCTL_SET_CLIENT_CAP = _IOW(kBase, 0x0d, drm_set_client_cap);
constexpr unsigned long IOCTL_SET_MASTER = _IO(kBase, 0x1e);
constexpr unsigned long IOCTL_DROP_MASTER = _IO(kBase, 0x1f);
constexpr unsigned long IOCTL_PRIME_FD_TO_HANDLE = _IOWR(kBase, 0x2e, drm_prime_handle);
constexpr unsigned long IOCTL_MODE_GETRESOURCES = _IOWR(kBase, 0xA0, drm_mode_card_res);
constexpr unsigned long IOCTL_MODE_GETCRTC = _IOWR(kBase, 0xA1, drm_mode_crtc);
constexpr unsigned long IOCTL_MODE_SETCRTC = _IOWR(kBase, 0xA2, drm_mode_crtc);
constexpr unsigned long IOCTL_MODE_GETENCODER = _IOWR(kBase, 0xA6, drm_mode_get_encoder);
constexpr unsigned long IOCTL_MODE_GETCONNECTOR = _IOWR(kBase, 0xA7, drm_mode_get_connector);
constexpr unsigned long IOCTL_MODE_GETPROPERTY = _IOWR(kBase, 0xAA, drm_mode_get_property);
constexpr unsigned long IOCTL_MODE_GETPROPBLOB = _IOWR(kBase, 0xAC, drm_mode_get_blob);
constexpr unsigned long IOCTL_MODE_RMFB = _IOWR(kBase, 0xAF, unsigned int);
constexpr unsigned long IOCTL_MODE_PAGE_FLIP = _IOWR(kBase, 0xB0, drm_mode_crtc_page_flip);
constexpr unsigned long IOCTL_MODE_GETPLANERESOURCES = _IOWR(kBase, 0xB5, drm_mode_get_plane_res);
constexpr unsigned long IOCTL_MODE_GETPLANE = _IOWR(kBase, 0xB6, drm_mode_get_plane);
constexpr unsigned long IOCTL_MODE_ADDFB2 = _IOWR(kBase, 0xB8, drm_mode_fb_cmd2);
constexpr unsigned long IOCTL_MODE_OBJ_GETPROPERTIES = _IOWR(kBase, 0xB9, drm_mode_obj_get_properties);
constexpr unsigned long IOCTL_MODE_ATOMIC = _IOWR(kBase, 0xBC, drm_mode_atomic);
constexpr unsigned long IOCTL_MODE_CREATEPROPBLOB = _IOWR(kBase, 0xBD, drm_mode_create_blob);
constexpr unsigned long IOCTL_MODE_DESTROYPROPBLOB = _IOWR(kBase, 0xBE, drm_mode_destroy_blob);

constexpr __u64 CLIENT_CAP_UNIVERSAL_PLANES = 2;
constexpr __u64 CLIENT_CAP_ATOMIC = 3;
constexpr __u64 CLIENT_CAP_WRITEBACK_CONNECTORS = 5;

constexpr __u32 MODE_PAGE_FLIP_EVENT = 0x01;
constexpr __u32 MODE_ATOMIC_TEST_ONLY = 0x0100;
constexpr __u32 MODE_ATOMIC_NONBLOCK = 0x0200;
constexpr __u32 MODE_ATOMIC_ALLOW_MODESET = 0x0400;
constexpr __u32 MODE_FB_MODIFIERS = 1u << 1;

constexpr __u32 EVENT_VBLANK = 0x01;
constexpr __u32 EVENT_FLIP_COMPLETE = 0x02;

constexpr __u32 MODE_OBJECT_CRTC = 0xcccccccc;
constexpr __u32 MODE_OBJECT_CONNECTOR = 0xc0c0c0c0;
constexpr __u32 MODE_OBJECT_PLANE = 0xeeeeeeee;

}  // namespace kms_abi
}  // namespace bufshare
