#!/bin/bash
# Run a command inside a qemu VM booted with a Debian kernel that has real DRM drivers
# (this host has no /dev/dri). The guest chroots into the host's / (9p, read-only), so the
# host's node, Mesa and the project's built addon run there unchanged, as root.
#
#   test/vm/run.sh [options] -- CMD [ARGS...]
#     --kernel 612|61     Debian 6.12.y (default) or 6.1.0-N kernel
#     --gpus LIST         comma list of bochs,std,virtio,qxl,cirrus,none
#                         (default bochs,virtio,qxl,cirrus); vgem, vkms (if built) and
#                         udmabuf (6.12) are always loaded
#     --work DIR          host dir shared read-write at the same path; CMD runs there
#                         (default: $PWD)
#     --timeout S         kill the VM after S seconds (default 600)
#     --mem MB            guest RAM (default 1024)     --smp N   vCPUs (default 1)
#     --heads N           outputs of each virtio-gpu (max_outputs; default 1, at most 16);
#                         screendump takes the head
#     --setup             only prepare the cache (see setup.sh), then exit
#     --display-dbus      qemu's D-Bus display (-display dbus,p2p=yes) instead of none, with a
#                         virtio tablet (absolute pointer; the PS/2 keyboard is q35's own)
#     --qmp PATH          a second QMP monitor at PATH for the host (lib/vm's VmDisplay.attach)
#     --vhost-gpu SOCK    add a vhost-user-gpu-pci whose back-end listens at SOCK (guest RAM
#                         then is a shared memfd: memory-backend-memfd,share=on). Runs under KVM:
#                         qemu 7.2's vhost-user devices refuse TCG ("requires kvm")
#     --input             add virtio keyboard, mouse and tablet (qdev ids kbd, mouse, tablet)
#                         and a free PCIe root port (hp0) to hotplug input devices into;
#                         the guest injects input through the screendump channel
#     --stall-after S     a VM whose CPU time has not moved for S seconds has stopped
#                         (stall-watch.js): what its vCPUs were doing goes to
#                         $BUFSHARE_VM_STALL_DIR (default WORK/test-results/vm-stalls), qemu
#                         is killed, and run.sh exits 254
#     --pin-cpu N         run qemu on host CPU N only (taskset): its vCPU thread and main loop
#                         then never run at the same instant. A nested KVM guest needs it: qemu
#                         7.2's TCG sets a vCPU's pending-interrupt bits from helper_vmrun without
#                         the lock the main loop holds when it posts a timer interrupt, so the two
#                         can lose one another's bit, and the VM sleeps with a timer interrupt
#                         pending for ever (docs/vm-vhost.md)
# Exit status: CMD's exit status; 255 when the VM died or timed out before CMD finished;
# 254 when --stall-after found it stopped.
#
# Environment:
#   BUFSHARE_VM_CACHE   cache dir (default ~/.cache/bufshare-vm)
#   BUFSHARE_VM_ENV     extra variable names to forward to the guest (space separated);
#                       always forwarded: PATH, CI, DEBUG, NODE_OPTIONS, NODE_DEBUG,
#                       NO_COLOR, FORCE_COLOR and BUFSHARE_*
#   BUFSHARE_VM_DMESG   copy the guest's dmesg to this file
#   BUFSHARE_VM_VERBOSE=1  boot progress and kernel warnings on the console
# The kernel's cache dir (vmlinux, initramfs.cpio, root/lib/modules) is shared read-only as
# 9p tag "kernel", not mounted: a test that boots a nested guest mounts it (vhost-gpu.test.ts).
# In the guest: BUFSHARE_VM=<kernel release>, XDG_RUNTIME_DIR=/run/user/0 (tmpfs, 0700;
# bind unix sockets there or in /tmp, never in the 9p work dir), HOME=/root (tmpfs).
# BUFSHARE_VM_SCREENDUMP: where to ask the host for qemu's screendump of a display device
# (test/drivers/support/screendump.ts; set when there is a display device and host node).
set -euo pipefail
HERE=$(dirname "$(readlink -f "$0")")
CACHE=${BUFSHARE_VM_CACHE:-$HOME/.cache/bufshare-vm}
KSEL=612 GPUS=bochs,virtio,qxl,cirrus WORK=$PWD TIMEOUT=600 MEM=1024 SMP=1 HEADS=1 SETUP_ONLY= VHOST_GPU= INPUT= STALL_AFTER= PIN_CPU=
DISPLAY_OPTS=(-display none) EXTRA_QMP=()
usage() { sed -n '6,38p' "$0" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case $1 in
    --kernel) KSEL=$2; shift 2 ;;
    --gpus) GPUS=$2; shift 2 ;;
    --work) WORK=$2; shift 2 ;;
    --timeout) TIMEOUT=$2; shift 2 ;;
    --mem) MEM=$2; shift 2 ;;
    --smp) SMP=$2; shift 2 ;;
    --heads) HEADS=$2; shift 2 ;;
    --setup) SETUP_ONLY=1; shift ;;
    --display-dbus) DISPLAY_OPTS=(-display dbus,p2p=yes -device virtio-tablet-pci); shift ;;
    --qmp) EXTRA_QMP=(-qmp "unix:$2,server=on,wait=off"); shift 2 ;;
    --vhost-gpu) VHOST_GPU=$2; shift 2 ;;
    --input) INPUT=1; shift ;;
    --stall-after) STALL_AFTER=$2; shift 2 ;;
    --pin-cpu) PIN_CPU=$2; shift 2 ;;
    --) shift; break ;;
    *) usage ;;
  esac
done
case $KSEL in 612|61) ;; *) usage ;; esac
[[ $HEADS =~ ^([1-9]|1[0-6])$ ]] || usage
[ -z "$STALL_AFTER" ] || [[ $STALL_AFTER =~ ^[1-9][0-9]*$ ]] || usage
[ -z "$PIN_CPU" ] || [[ $PIN_CPU =~ ^[0-9]+$ ]] || usage
PIN=()
[ -z "$PIN_CPU" ] || PIN=(taskset -c "$PIN_CPU")
[ -n "$SETUP_ONLY" ] || [ $# -gt 0 ] || usage

"$HERE/setup.sh" "$KSEL"
[ -n "$SETUP_ONLY" ] && exit 0
KDIR=$CACHE/$KSEL
KV=$(cat "$KDIR/kver")
KIMG=$KDIR/vmlinux; [ -f "$KIMG" ] || KIMG=$KDIR/root/boot/vmlinuz-$KV
[ -d "$WORK" ] || { echo "run.sh: --work $WORK is not a directory" >&2; exit 2; }
WORK=$(readlink -f "$WORK")
# Paths travel in qemu's comma-separated options and on the kernel command line.
[[ $WORK$CACHE =~ [[:space:],] ]] && { echo "run.sh: no spaces or commas in --work / cache paths" >&2; exit 2; }

DEV=()
declare -A SEEN=()
IFS=, read -ra G <<<"$GPUS"
for g in "${G[@]}"; do
  [ "$g" = none ] || [ -z "$g" ] && continue
  # Each display device gets a qdev id (its gpu name; bochs2... when repeated): what the
  # guest names in a screendump request (screendump-host.js).
  n=$((${SEEN[$g]:-0} + 1)); SEEN[$g]=$n
  id=$g; [ "$n" = 1 ] || id=$g$n
  case $g in
    bochs) DEV+=(-device "bochs-display,id=$id") ;;   # bochs-drm, no VGA legacy
    std) DEV+=(-device "VGA,id=$id") ;;               # bochs-drm too, as -vga std
    virtio) DEV+=(-device "virtio-gpu-pci,id=$id,max_outputs=$HEADS") ;; # virtio_gpu, 2D (no virgl under TCG)
    qxl) DEV+=(-device "qxl,id=$id") ;;               # qxl
    cirrus) DEV+=(-device "cirrus-vga,id=$id") ;;     # cirrus (6.1) / cirrus-qemu (6.12)
    *) echo "run.sh: unknown gpu '$g'" >&2; exit 2 ;;
  esac
done

# vhost-user-gpu: qemu connects to the back-end's socket and shares guest RAM with it.
MEMDEV=()
ACCEL=tcg,thread=multi,tb-size=256 CPU=max
if [ -n "$VHOST_GPU" ]; then
  # backends/vhost-user.c (qemu 7.2): vhost-user-backend devices need KVM's ioeventfds.
  [ -r /dev/kvm ] && [ -w /dev/kvm ] || { echo "run.sh: --vhost-gpu needs /dev/kvm (qemu 7.2's vhost-user devices require KVM)" >&2; exit 2; }
  ACCEL=kvm CPU=host
  [[ $VHOST_GPU =~ [[:space:],] ]] && { echo "run.sh: no spaces or commas in --vhost-gpu" >&2; exit 2; }
  MEMDEV=(-object "memory-backend-memfd,id=mem,size=${MEM}M,share=on" -machine memory-backend=mem)
  DEV+=(-chardev "socket,id=vhostgpu,path=$VHOST_GPU" -device "vhost-user-gpu-pci,chardev=vhostgpu,id=vhostgpu,max_outputs=$HEADS")
fi

# Input devices (--input): what a kiosk's user types and points with, fed by QMP
# input-send-event (screendump-host.js). hp0 stays empty: device_add puts a hotplugged
# device there (q35's root bus takes no hotplug).
if [ -n "$INPUT" ]; then
  DEV+=(-device virtio-keyboard-pci,id=kbd -device virtio-mouse-pci,id=mouse -device virtio-tablet-pci,id=tablet)
  DEV+=(-device pcie-root-port,id=hp0,chassis=16,slot=16)
fi

# The job dir carries the command in and its exit code and dmesg out.
mkdir -p "$CACHE/jobs"
JOB=$(mktemp -d "$CACHE/jobs/job.XXXXXX")
# The QMP socket stays on the host (not in the shared job dir); sun_path holds 107 bytes.
QMPDIR=$(mktemp -d "$CACHE/jobs/qmp.XXXXXX")
[ ${#QMPDIR} -lt 96 ] || { rmdir "$QMPDIR"; QMPDIR=$(mktemp -d /tmp/bufshare-qmp.XXXXXX); }
WATCHER= STALL_WATCHER=
cleanup() {
  set +e   # the watchers have usually exited with qemu already
  if [ -n "$WATCHER" ]; then kill "$WATCHER" 2>/dev/null; wait "$WATCHER" 2>/dev/null; fi
  if [ -n "$STALL_WATCHER" ]; then kill "$STALL_WATCHER" 2>/dev/null; wait "$STALL_WATCHER" 2>/dev/null; fi
  rm -rf "$JOB" "$QMPDIR"
}
trap cleanup EXIT
# Independent readback (screendump-host.js): the guest asks for qemu's screendump of a
# display device through this dir; a host process answers over QMP. It starts while qemu
# boots (~0.15 s of CPU) and exits with qemu.
mkdir "$JOB/screendump"
if [ ${#DEV[@]} -gt 0 ] && command -v node >/dev/null; then
  node "$HERE/screendump-host.js" "$QMPDIR/qmp.sock" "$JOB/screendump" </dev/null &
  WATCHER=$!
fi
# The stall watchdog has its own monitor (screendump-host.js keeps the first one).
STALL_OPTS=()
if [ -n "$STALL_AFTER" ]; then
  STALL_DIR=${BUFSHARE_VM_STALL_DIR:-$WORK/test-results/vm-stalls}
  mkdir -p "$STALL_DIR"
  STALL_OPTS=(-pidfile "$QMPDIR/qemu.pid" -qmp "unix:$QMPDIR/watch.sock,server=on,wait=off")
  node "$HERE/stall-watch.js" "$QMPDIR/qemu.pid" "$QMPDIR/watch.sock" "$STALL_AFTER" \
    "$STALL_DIR/stall-$KSEL-$(date +%Y%m%d-%H%M%S)-$$.txt" "$QMPDIR/stalled" </dev/null &
  STALL_WATCHER=$!
fi
{
  echo "# generated by test/vm/run.sh"
  # init starts the guest with `env -i`: forward a small allow-list of host variables.
  for v in $(compgen -e); do
    [ "$v" = BUFSHARE_VM ] && continue   # set by init to the guest's kernel release
    case " ${BUFSHARE_VM_ENV:-} " in *" $v "*) ;; *)
      [[ $v =~ ^(PATH|CI|DEBUG|NODE_OPTIONS|NODE_DEBUG|NO_COLOR|FORCE_COLOR|BUFSHARE_[A-Za-z0-9_]+)$ ]] || continue ;;
    esac
    printf 'export %s=%q\n' "$v" "${!v}"
  done
  [ -z "$WATCHER" ] || printf 'export BUFSHARE_VM_SCREENDUMP=%q\n' "$JOB/screendump"
  printf 'cd %q || exit 99\n' "$WORK"
  printf '%q ' "$@"; echo
} >"$JOB/cmd.sh"

# The guest sees the host's / read-only with fresh tmpfs on /tmp, /var/tmp, /run and /root
# (init): a checkout under one of those (a CI clone in /tmp) is shared on its own, or a job
# run from another work dir (the host's VM tests) would not find the project's files.
PROJECT=$(readlink -f "$HERE/../..") PROJECT_SHARE=()
if [[ $PROJECT =~ ^/(tmp|var/tmp|run|root)(/|$) ]] && [[ $PROJECT/ != "$WORK"/* ]] && [[ ! $PROJECT =~ [[:space:],] ]]; then
  PROJECT_SHARE=(-fsdev "local,id=project,path=$PROJECT,security_model=none,multidevs=remap" -device virtio-9p-pci,fsdev=project,mount_tag=project)
else
  PROJECT=
fi
APPEND="console=ttyS0 panic=-1 mitigations=off bufshare.job=$JOB bufshare.work=$WORK${PROJECT:+ bufshare.project=$PROJECT}"
if [ -n "${BUFSHARE_VM_VERBOSE:-}" ]; then APPEND+=" loglevel=4 bufshare.verbose=1"; else APPEND+=" quiet loglevel=1"; fi
fs() { # TAG DIR [OPTS]: a virtio-9p share
  echo "-fsdev local,id=$1,path=$2,security_model=none$3 -device virtio-9p-pci,fsdev=$1,mount_tag=$1"
}
t0=$EPOCHREALTIME
set +e
# TCG (no KVM on these hosts; --vhost-gpu needs it); thread=multi lets --smp 2 use two host cores.
# shellcheck disable=SC2046  # fs() output is meant to be split
timeout -k 5 "$TIMEOUT" "${PIN[@]}" qemu-system-x86_64 -nodefaults -no-user-config -machine q35 \
  -accel "$ACCEL" -cpu "$CPU" -smp "$SMP" -m "$MEM" \
  "${DISPLAY_OPTS[@]}" "${EXTRA_QMP[@]}" -serial stdio -no-reboot \
  -kernel "$KIMG" -initrd "$KDIR/initramfs.cpio" -append "$APPEND" \
  "${MEMDEV[@]}" -device virtio-rng-pci -qmp "unix:$QMPDIR/qmp.sock,server=on,wait=off" "${STALL_OPTS[@]}" \
  $(fs hostroot / ,readonly=on,multidevs=remap) $(fs work "$WORK" ,multidevs=remap) $(fs job "$JOB" "") \
  "${PROJECT_SHARE[@]}" "${DEV[@]}" $(fs kernel "$KDIR" ,readonly=on) </dev/null | sed -u -e 's/\r$//' -e '/^\[ *[0-9.]*\] reboot: Power down$/d'
qrc=${PIPESTATUS[0]}
set -e
wall=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
[ ! -e "$QMPDIR/stalled" ] && { [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; } && echo "run.sh: VM killed after ${TIMEOUT}s" >&2
rc=$(cat "$JOB/rc" 2>/dev/null || echo 255)
if [ -e "$QMPDIR/stalled" ]; then
  echo "run.sh: kernel $KV: the VM stopped (no CPU time for ${STALL_AFTER}s) after ${wall}s: killed" >&2
  exit 254
fi
[ -n "${BUFSHARE_VM_DMESG:-}" ] && cp "$JOB/dmesg.txt" "$BUFSHARE_VM_DMESG" 2>/dev/null
echo "run.sh: kernel $KV, gpus $GPUS: rc=$rc in ${wall}s" >&2
exit "$rc"
