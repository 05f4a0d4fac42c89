{
  # One addon, no -dev packages at build time: libdrm and libgbm are dlopen'ed at
  # run time (see src-native/gbm.cc), and the DRM/dma-buf ABI comes from
  # linux-libc-dev or is declared in-tree.
  # bufshare_sanitize=1 (test/sanitize/build-asan.sh passes it with -D) builds the
  # addon with AddressSanitizer + UndefinedBehaviorSanitizer into its own build
  # directory; the default 0 leaves the normal build exactly as it was.
  "variables": { "bufshare_sanitize%": 0 },
  "targets": [
    {
      "target_name": "bufshare",
      "sources": [
        "src-native/addon.cc",
        "src-native/errors.cc",
        "src-native/fd.cc",
        "src-native/shm.cc",
        "src-native/map.cc",
        "src-native/sigbus.cc",
        "src-native/copy.cc",
        "src-native/blend.cc",
        "src-native/compose.cc",
        "src-native/aligned_memory.cc",
        "src-native/damage_plan.cc",
        "src-native/drm.cc",
        "src-native/gbm.cc",
        "src-native/udmabuf.cc",
        "src-native/socket.cc",
        "src-native/fence.cc",
        "src-native/syncobj.cc",
        "src-native/kms.cc",
        "src-native/drm_events.cc",
        "src-native/vhost.cc",
        "src-native/evdev.cc",
        "src-native/seat.cc",
        "src-native/seat_uevent.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "libraries": ["-ldl"],
      "conditions": [
        ["OS!='linux'", { "type": "none" }],
        ["bufshare_sanitize==1", {
          # -O1 and frame pointers: readable ASan stacks at a tolerable cost.
          # -fno-sanitize-recover: a UBSan finding aborts the run, so tests fail on it.
          "cflags_cc!": ["-O2"],
          "cflags": ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer", "-g"],
          "cflags_cc": ["-O1"],
          "ldflags": ["-fsanitize=address,undefined"]
        }]
      ]
    }
  ]
}
