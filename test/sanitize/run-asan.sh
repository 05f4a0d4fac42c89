#!/usr/bin/env bash
# Runs the native-facing tests against the sanitized addon (build it first with
# `npm run build:asan`). Any ASan or UBSan finding aborts the process, and a leak
# in our code makes it exit non-zero, so mocha or the test that spawned the child
# reports a failure.
#
# Why LD_PRELOAD: node is not linked with libasan, and the ASan runtime must be
# the first library in the process ("ASan runtime does not come first in initial
# library list" otherwise, measured). Every child process the tests spawn inherits
# LD_PRELOAD and BUFSHARE_ADDON, so children run sanitized too.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
addon="$root/build-asan/build/Release/bufshare.node"
[ -f "$addon" ] || { echo "no sanitized addon at $addon: run npm run build:asan" >&2; exit 2; }
libasan=$(g++ -print-file-name=libasan.so)
[ -f "$libasan" ] || { echo "libasan not found (apt-get install g++ brings libasan8)" >&2; exit 2; }

# The suites that reach the native layer. Pure-TS suites (format, region) add nothing here,
# and the demo suites start Chromium, whose launcher scripts (expr, tr) would run under
# the preloaded ASan runtime and report their own leaks.
if [ -z "${BUFSHARE_ASAN_SPEC:-}" ]; then
  # vm-dbus-display boots a VM through run.sh, whose shell tools (mktemp, ...) would run
  # under the preloaded runtime and report their own leaks; its native side is the D-Bus
  # socket code, which the dbus unit tests and the fuzzers cover here.
  integration=$(ls test/integration/*.test.ts | grep -v '/demo-' | grep -v '/vm-dbus-display' | paste -sd, -)
  spec="test/unit/shm.test.ts,test/unit/copy.test.ts,test/unit/copy-streaming.test.ts,test/unit/damage-plan.test.ts,test/unit/damage-plan-survey.test.ts,test/unit/blend.test.ts,test/unit/compose-pass.test.ts,test/unit/compose-formats.test.ts,test/unit/scene-render.test.ts,test/unit/scene-damage.test.ts,test/unit/descriptor.test.ts,test/unit/sigbus.test.ts,test/unit/hostile-geometry.test.ts,test/unit/ipc-transport.test.ts,test/unit/ipc-protocol.test.ts,test/unit/input.test.ts,test/unit/vm-virtqueue.test.ts,$integration"
else
  spec=$BUFSHARE_ASAN_SPEC
fi
export BUFSHARE_ADDON="$addon"
# Programs that are not ours (xkbcomp for the Wayland keymap, the Wayland clients,
# qemu for the screendump channel, chromium's launcher script and its tr) would
# inherit LD_PRELOAD and report their own leaks (xkbcomp leaks by design; qemu's
# coroutines make ASan warn). Shims first on PATH run them without the runtime.
shims=$(mktemp -d)
for prog in xkbcomp tr chromium weston weston-simple-shm weston-simple-damage weston-presentation-shm weston-scaler weston-subsurfaces weston-editor weston-simple-touch foot gtk3-widget-factory wl-copy wl-paste pkill qemu-system-x86_64; do
  real=$(command -v "$prog" 2>/dev/null) || continue
  printf '#!/bin/sh\nunset LD_PRELOAD\nexec %q "$@"\n' "$real" > "$shims/$prog"
  chmod +x "$shims/$prog"
done
export PATH="$shims:$PATH"
export BUFSHARE_TEST_SPEC="$spec"
# malloc_context_size=2: see lsan.supp. To debug a finding, rerun with
# malloc_context_size=30 for full allocation stacks.
# log_path: every process (children included, whose stderr the tests may not
# show) writes its report to $reports/asan.PID; any report fails the run.
reports=$(mktemp -d)
trap 'rm -rf "$reports" "$shims"' EXIT
export ASAN_OPTIONS="log_path=$reports/asan:detect_leaks=1:malloc_context_size=2:abort_on_error=0:exitcode=23:strict_string_checks=1:detect_stack_use_after_return=0"
export LSAN_OPTIONS="suppressions=$root/test/sanitize/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="log_path=$reports/ubsan:print_stacktrace=1:halt_on_error=1"
set +e
LD_PRELOAD="$libasan" node "$root/node_modules/mocha/bin/mocha.js" "$@"
rc=$?
set -e
found=$(find "$reports" -type f | wc -l)
for f in "$reports"/*; do [ -f "$f" ] && { echo "=== sanitizer report $(basename "$f")"; cat "$f"; }; done
echo "sanitizer reports: $found (processes that reported an ASan/UBSan/LSan finding)"
[ "$rc" -eq 0 ] && [ "$found" -eq 0 ]
