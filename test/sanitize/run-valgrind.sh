#!/usr/bin/env bash
# valgrind memcheck over a lean subset of the native-facing tests (node under
# memcheck runs ~40x slower; this subset takes about a minute here).
#
# - node --jitless: no JIT code for valgrind to retranslate (and no false
#   positives from it); the addon and V8's builtins still run.
# - Only errors with a frame in bufshare.node (or src-native/) count: node's own
#   conservative GC stack scan reads uninitialised stack words by design
#   ("Conditional jump or move depends on uninitialised value(s)" in
#   heap::base::Stack::IteratePointersImpl), which is not ours to fix.
# - --px-default=allregs-at-mem-access: the SIGBUS guard's handler returns to
#   retry the faulting access, which needs every guest register exact at memory
#   accesses. With valgrind's default (only SP/IP/FP exact) the truncation tests
#   crashed after the handler ran (measured: SIGSEGV reading address 0x12 in
#   Builtins_ArrayIteratorPrototypeNext).
# - Left out: the 10,000-cycle leak test, the 4,096-rectangle region test and the
#   million-rectangle copy (pure-JS loops that take minutes interpreted under
#   valgrind; ASan runs them).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
command -v valgrind >/dev/null || { echo "valgrind not installed (apt-get install valgrind)" >&2; exit 2; }
logdir=$(mktemp -d)
export BUFSHARE_TEST_SPEC=${BUFSHARE_VALGRIND_SPEC:-test/unit/copy.test.ts,test/unit/shm.test.ts,test/unit/descriptor.test.ts,test/unit/sigbus.test.ts,test/unit/hostile-geometry.test.ts,test/unit/ipc-transport.test.ts,test/unit/vm-virtqueue.test.ts}
set +e
valgrind --tool=memcheck --trace-children=no --smc-check=all-non-file --px-default=allregs-at-mem-access --leak-check=full \
  --show-leak-kinds=definite,indirect --error-exitcode=0 --num-callers=40 --log-file="$logdir/memcheck.%p.log" \
  node --jitless "$root/node_modules/mocha/bin/mocha.js" --grep '10,000|4,096|million' --invert "$@"
rc=$?
set -e
node --require tsx/cjs "$root/test/sanitize/valgrind-report.ts" "$logdir"/memcheck.*.log
report=$?
rm -rf "$logdir"
[ "$rc" -eq 0 ] && [ "$report" -eq 0 ]
