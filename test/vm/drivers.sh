#!/bin/bash
# Run a command on both kernels (6.12 and 6.1) with every emulated GPU, the two VMs in
# parallel. The kernels differ in what the drivers support (and 6.1 has no udmabuf nor
# dma-buf heaps), so the driver tests must pass on both.
#
#   test/vm/drivers.sh [--work DIR] [--timeout S] [--mem MB] [--pin] [--stall-after S [--retry-stalled N]] -- CMD [ARGS...]
#
# Each output line is prefixed with its kernel ([6.12] / [6.1]); the exit status is
# non-zero if either run failed. BUFSHARE_VM_KERNELS="612" or "61" restricts to one.
# Both VMs share the work dir read-write: CMD must not write the same files in both.
# virtio-gpu has two heads here (run.sh --heads 2): the tests of several outputs on one
# card need them; qemu enables only head 0, so the second connector reads disconnected.
# --input: virtio keyboard, mouse and tablet for the input tests (test/drivers/input.test.ts).
# --pin: each kernel's VM on a host CPU of its own (run.sh --pin-cpu), as a nested KVM
# guest needs (run.sh says why).
# --stall-after S: run.sh's stall watchdog (a VM whose CPU time stopped for S seconds is
# killed, its vCPUs' state kept, exit 254); --retry-stalled N runs a kernel whose VM stopped
# so again, at most N more times. Only a stopped VM is run again, never a failed test: the
# nested KVM guest (npm run test:drivers:nested) can stop the harness VM (docs/vm-vhost.md).
set -euo pipefail
HERE=$(dirname "$(readlink -f "$0")")
# 30 minutes a kernel: the suite took over run.sh's default 10 (session, input and explicit-sync
# tests added ~6 minutes under TCG); the two kernels run side by side.
OPTS=(--heads 2 --input --timeout 1800)
RETRIES=0 PIN=
while [ $# -gt 0 ]; do
  case $1 in
    --work | --timeout | --mem | --stall-after) OPTS+=("$1" "$2"); shift 2 ;;
    --retry-stalled) RETRIES=$2; shift 2 ;;
    --pin) PIN=1; shift ;;
    --) shift; break ;;
    *) sed -n '6p' "$0" >&2; exit 2 ;;
  esac
done
[ $# -gt 0 ] || { sed -n '6p' "$0" >&2; exit 2; }
[[ $RETRIES =~ ^[0-9]$ ]] || { echo "drivers.sh: --retry-stalled takes 0..9" >&2; exit 2; }
read -ra KERNELS <<<"${BUFSHARE_VM_KERNELS:-612 61}"

# Setup one kernel at a time (apt/dpkg lock), before any VM starts.
for k in "${KERNELS[@]}"; do "$HERE/run.sh" --kernel "$k" --setup; done

# One vCPU each: the hosts have 2 cores and TCG needs one host thread per vCPU.
smp=1; [ ${#KERNELS[@]} -gt 1 ] || smp=$(($(nproc) > 1 ? 2 : 1))
# The CPUs this process may use (a cpuset need not start at 0): "0-1", "4,6-7".
CPUS=()
IFS=, read -ra ranges <<<"$(awk '/^Cpus_allowed_list:/ { print $2 }' /proc/self/status)"
for r in "${ranges[@]}"; do CPUS+=($(seq "${r%-*}" "${r#*-}")); done
[ ${#CPUS[@]} -gt 0 ] || CPUS=(0)
pids=() cpu=0
for k in "${KERNELS[@]}"; do
  tag=6.${k#6}                              # 612 -> 6.12, 61 -> 6.1
  pin=(); [ -z "$PIN" ] || pin=(--pin-cpu "${CPUS[$((cpu++ % ${#CPUS[@]}))]}")
  (set -o pipefail
   for attempt in $(seq 0 "$RETRIES"); do
     r=0
     "$HERE/run.sh" --kernel "$k" --smp "$smp" "${pin[@]}" "${OPTS[@]}" -- "$@" 2>&1 | sed -u "s/^/[$tag] /" || r=$?
     [ "$r" = 254 ] && [ "$attempt" -lt "$RETRIES" ] || exit "$r"
     echo "[$tag] drivers.sh: the VM stopped (run $((attempt + 1)) of at most $((RETRIES + 1))): running kernel $k again"
   done) &
  pids+=($!)
done
rc=0
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || { r=$?; echo "drivers.sh: kernel ${KERNELS[$i]} failed (rc=$r)" >&2; rc=1; }
done
exit $rc
