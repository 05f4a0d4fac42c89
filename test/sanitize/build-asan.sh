#!/usr/bin/env bash
# Builds the addon with AddressSanitizer + UndefinedBehaviorSanitizer into
# build-asan/build/Release/bufshare.node, leaving build/ (the normal addon) alone:
# node-gyp always builds into <cwd>/build, so it runs in a staging directory whose
# binding.gyp and src-native are links to the real ones.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
stage="$root/build-asan"
mkdir -p "$stage"
ln -sfn "$root/binding.gyp" "$stage/binding.gyp"
ln -sfn "$root/src-native" "$stage/src-native"
cd "$stage"
npx --prefix "$root" node-gyp rebuild -- -Dbufshare_sanitize=1
echo "sanitized addon: $stage/build/Release/bufshare.node"
