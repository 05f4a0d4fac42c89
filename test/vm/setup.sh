#!/bin/bash
# Prepare the VM harness: host packages, Debian kernel trees, vkms, initramfs.
#
#   test/vm/setup.sh [612|61]...        (default: both kernels)
#
# Idempotent and non-interactive (CI=true, no stdin); run.sh calls it on every run and
# the fast path only checks a few stamps. Everything downloaded or built lives in
# ${BUFSHARE_VM_CACHE:-$HOME/.cache/bufshare-vm}, never in the repo:
#   <cache>/<612|61>/kver            kernel release used (e.g. 6.12.107+deb12-amd64)
#   <cache>/<612|61>/pkg             "package version" it came from
#   <cache>/<612|61>/root/           the linux-image .deb, dpkg -x'ed (never installed)
#   <cache>/<612|61>/vmlinux         the kernel, decompressed (faster boot)
#   <cache>/<612|61>/initramfs.cpio  busybox + decompressed modules + our init
#   <cache>/vkms/                    out-of-tree vkms build (6.12 only)
# To pick up a newer kernel: BUFSHARE_VM_REFRESH=1 test/vm/setup.sh, or delete its directory.
set -euo pipefail
HERE=$(dirname "$(readlink -f "$0")")
CACHE=${BUFSHARE_VM_CACHE:-$HOME/.cache/bufshare-vm}
mkdir -p "$CACHE"

export DEBIAN_FRONTEND=noninteractive
log() { echo "vm-setup: $*" >&2; }
SUDO=(); [ "$(id -u)" = 0 ] || SUDO=(sudo -n)
# apt-get download as root into a dir that _apt cannot read only warns; skip the sandbox.
# Wait for a dpkg lock held by another apt run (CI setup steps may overlap) instead of failing.
APT=("${SUDO[@]}" apt-get -qq -o APT::Sandbox::User=root -o DPkg::Lock::Timeout=600)

# "Once" across our own processes too (the vkms build is a child): a stamp younger than an hour.
apt_update_once() {
  [ -n "$(find "$CACHE/.apt-updated" -mmin -60 2>/dev/null)" ] && return 0
  log "apt-get update"
  "${APT[@]}" update </dev/null >&2
  touch "$CACHE/.apt-updated"
}
installed() { [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]; }
need() {
  local p missing=()
  for p; do installed "$p" || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  # Package lists may be missing or stale on a fresh machine: update only when needed.
  "${APT[@]}" install -y --no-install-recommends "${missing[@]}" </dev/null >&2 2>/dev/null || {
    apt_update_once
    "${APT[@]}" install -y --no-install-recommends "${missing[@]}" </dev/null >&2
  }
}
# apt-get download into the current dir; retry once after an update (stale lists -> 404).
download() {
  "${APT[@]}" download "$@" </dev/null >/dev/null 2>&1 && return 0
  apt_update_once
  "${APT[@]}" download "$@" </dev/null >&2
}

# Newest matching linux-image package on the mirror; the recipe's versions are the last resort.
newest_kernel_pkg() {
  local re fallback p
  case $1 in
    612) re='^linux-image-6\.12\.[0-9]+\+deb12-amd64-unsigned$'; fallback=linux-image-6.12.107+deb12-amd64-unsigned ;;
    61)  re='^linux-image-6\.1\.0-[0-9]+-amd64-unsigned$';       fallback=linux-image-6.1.0-56-amd64-unsigned ;;
  esac
  apt_update_once                     # stale lists would name an old kernel, or none (6.12)
  p=$(apt-cache search --names-only "$re" 2>/dev/null | cut -d' ' -f1 | sort -V | tail -n1)
  echo "${p:-$fallback}"
}

# Modules copied into the initramfs (with their dependencies), loaded in this order.
# Missing ones are skipped: vkms exists only if we built it, cirrus is cirrus-qemu on 6.12,
# udmabuf is built in on 6.12 and absent on 6.1.
# evdev and virtio_input: the guest reads what the host types and clicks into qemu's display, and the input tests' virtio keyboard, mouse and tablet (run.sh --input).
MODS="virtio_pci virtio_rng 9pnet_virtio 9p vgem vkms udmabuf virtio_gpu bochs qxl cirrus cirrus-qemu evdev virtio_input"

mkinitramfs() { # KROOT KV OUT
  local kroot=$1 kv=$2 out=$3 stage m deps kind path rel dst
  stage=$(mktemp -d "$CACHE/.initramfs.XXXXXX")
  mkdir -p "$stage"/{bin,dev,proc,sys,tmp,mnt/root,lib/modules/"$kv"}
  cp /bin/busybox "$stage/bin/busybox"
  install -m 755 "$HERE/init" "$stage/init"
  : > "$stage/modules.load"
  for m in $MODS; do
    deps=$(modprobe -d "$kroot" -S "$kv" --show-depends "$m" 2>/dev/null) || continue
    while read -r kind path _; do
      [ "$kind" = insmod ] || continue                      # "builtin X": nothing to load
      rel=${path#"$kroot/lib/modules/$kv/"}; rel=${rel%.xz}; rel=${rel%.zst}
      dst=$stage/lib/modules/$kv/$rel
      [ -f "$dst" ] && continue
      mkdir -p "$(dirname "$dst")"
      # busybox insmod cannot decompress; do it here.
      case $path in
        *.xz) xz -dc "$path" >"$dst" ;;
        *.zst) zstd -qdc "$path" >"$dst" ;;
        *) cp "$path" "$dst" ;;
      esac
      echo "$rel" >>"$stage/modules.load"                   # --show-depends lists deps first
    done <<<"$deps"
  done
  (cd "$stage" && find . | cpio -o -H newc --quiet) >"$out.tmp"
  mv "$out.tmp" "$out"
  log "initramfs $out: $(du -h "$out" | cut -f1), $(wc -l <"$stage/modules.load") modules"
  rm -rf "$stage"
}

# qemu can boot the uncompressed ELF vmlinux directly (PVH entry, CONFIG_PVH=y in Debian):
# this skips the bzImage's self-decompression, slow under TCG (6.1 is xz: 3.3 s -> 0).
# No result (other compression, no ELF found) is fine: run.sh then boots vmlinuz.
extract_vmlinux() { # VMLINUZ OUT
  local magic off cmd
  for magic in $'\xfd7zXZ' $'\x28\xb5\x2f\xfd'; do
    case $magic in *7zXZ) cmd="xz -dcq" ;; *) cmd="zstd -dcq" ;; esac
    for off in $(LC_ALL=C grep -abo "$magic" "$1" | cut -d: -f1); do
      tail -c +$((off + 1)) "$1" | $cmd >"$2.tmp" 2>/dev/null   # trailing data: an error, ignored
      [ "$(head -c 4 "$2.tmp")" = $'\x7fELF' ] && { mv "$2.tmp" "$2"; return 0; }
    done
  done
  rm -f "$2.tmp"; return 1
}

# vkms is not enabled in Debian's kernels. Build it out of tree against the matching
# headers, with sources from linux-source-6.12 (apt-get download + dpkg -x only).
build_vkms() { # KV DESTDIR
  local kv=$1 dest=$2 kbase=${1%-amd64} b=$CACHE/vkms src h ver
  rm -rf "$b"; mkdir -p "$b/debs" "$b/root" "$b/src"
  need gcc-12 make libelf1
  ver=$(cut -d' ' -f2 "$CACHE/612/pkg")
  (cd "$b/debs"
   download "linux-headers-$kv" "linux-headers-$kbase-common" "linux-kbuild-$kbase"
   # same source version as the kernel when still on the mirror; any 6.12.y otherwise
   download "linux-source-6.12=$ver" 2>/dev/null || download linux-source-6.12)
  for d in "$b"/debs/linux-headers-*.deb "$b"/debs/linux-kbuild-*.deb; do dpkg -x "$d" "$b/root"; done
  h=$b/root/usr/src/linux-headers-$kv
  # Debian's wrapper Makefile includes the -common tree by absolute /usr/src path.
  sed -i "s|^include /usr/src/|include $b/root/usr/src/|" "$h/Makefile"
  dpkg --fsys-tarfile "$b"/debs/linux-source-6.12_*.deb | tar -xO ./usr/src/linux-source-6.12.tar.xz |
    tar -xJ -C "$b/src" --wildcards 'linux-source-6.12/drivers/gpu/drm/vkms/*'
  src=$b/src/linux-source-6.12/drivers/gpu/drm/vkms
  # The headers ship vmlinux, so kbuild would run pahole for module BTF: not needed to
  # load the module, and it would cost another package (dwarves). Turn it off.
  make -s -C "$h" M="$src" CONFIG_DRM_VKMS=m CONFIG_DEBUG_INFO_BTF_MODULES= modules -j"$(nproc)" >&2
  mkdir -p "$dest" && cp "$src/vkms.ko" "$dest/"
  strip --strip-debug "$dest/vkms.ko" 2>/dev/null || true    # 2.2 MB -> ~0.2 MB initramfs
  rm -rf "$b"                                              # ~1 GB of sources; keep only vkms.ko
  log "vkms built for $kv"
}

setup_kernel() { # 612|61
  local k=$1 d=$CACHE/$1 pkg kv t0 sum
  if [ -n "${BUFSHARE_VM_REFRESH:-}" ] || [ ! -f "$d/kver" ]; then
    t0=$SECONDS
    pkg=$(newest_kernel_pkg "$k")
    log "kernel $k: $pkg"
    rm -rf "$d.new"; mkdir -p "$d.new"
    (cd "$d.new" && download "$pkg") || { log "cannot download $pkg"; exit 1; }
    mv "$d.new"/*.deb "$d.new/image.deb"
    dpkg -x "$d.new/image.deb" "$d.new/root"
    kv=$(basename "$(ls -d "$d.new"/root/lib/modules/*)")
    depmod -b "$d.new/root" "$kv"
    echo "$kv" >"$d.new/kver"
    echo "$pkg $(dpkg-deb -f "$d.new/image.deb" Version)" >"$d.new/pkg"
    rm -rf "$d"; mv "$d.new" "$d"                           # atomic: a half-done tree is never used
    log "kernel $k ready in $((SECONDS - t0))s: $(cat "$d/pkg")"
  fi
  kv=$(cat "$d/kver")
  if [ ! -f "$d/vmlinux" ] && [ ! -f "$d/vmlinux.none" ]; then
    extract_vmlinux "$d/root/boot/vmlinuz-$kv" "$d/vmlinux" ||
      { touch "$d/vmlinux.none"; log "no ELF vmlinux in vmlinuz-$kv: booting it compressed"; }
  fi
  if [ "$k" = 612 ] && [ ! -f "$d/root/lib/modules/$kv/updates/vkms.ko" ] && [ ! -f "$d/vkms.failed" ]; then
    t0=$SECONDS
    # A separate process: errexit would be ignored inside an `if` condition.
    if bash "$HERE/setup.sh" --vkms "$kv" "$d/root/lib/modules/$kv/updates"; then
      depmod -b "$d/root" "$kv"; rm -f "$d/initramfs.cpio"
      log "vkms took $((SECONDS - t0))s"
    else
      # Optional: tests skip what needs vkms. Not retried until vkms.failed is removed.
      touch "$d/vkms.failed"; log "WARNING: vkms build failed; continuing without vkms"
    fi
  fi
  rm -f "$d/image.deb"                                      # the unpacked tree is the cache
  # Rebuilt when init or this script change (by content: a fresh clone's mtimes mean nothing).
  sum=$(cat "$HERE/init" "$HERE/setup.sh" | md5sum | cut -d' ' -f1)
  if [ ! -f "$d/initramfs.cpio" ] || [ "$(cat "$d/initramfs.sum" 2>/dev/null)" != "$sum" ]; then
    mkinitramfs "$d/root" "$kv" "$d/initramfs.cpio"
    echo "$sum" >"$d/initramfs.sum"
  fi
}

if [ "${1:-}" = --vkms ]; then build_vkms "$2" "$3"; exit; fi
# drivers.sh and parallel CI jobs may call us at once: apt/dpkg and the cache must not race.
exec 9>"$CACHE/.lock"
flock 9
# busybox-static: the guest's PID 1 userland; kmod: modprobe -d resolves module deps on
# the host; xz/zstd/cpio: kernel, modules, initramfs; libgbm1 + libgl1-mesa-dri: Mesa's
# GBM and kms_swrast, used by the tests through the host root the guest chroots into.
need qemu-system-x86 busybox-static kmod xz-utils zstd cpio libgbm1 libgl1-mesa-dri
[ $# -gt 0 ] || set -- 612 61
for k; do
  case $k in 612|61) setup_kernel "$k" ;; *) log "unknown kernel '$k' (612|61)"; exit 2 ;; esac
done
