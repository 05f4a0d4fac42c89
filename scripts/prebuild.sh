#!/usr/bin/env bash
# Builds the addon for every platform the package ships and puts each in
# prebuilds/<platform>-<arch>/, where node-gyp-build finds it at run time
# (lib/native.ts). Node-API is ABI-stable, so one binary per platform serves
# every Node version (NAPI_VERSION=8 in binding.gyp).
#
#   linux-x64    the host compiler (g++)
#   linux-arm64  cross-compiled with Debian's g++-aarch64-linux-gnu
#
# Each target builds in its own scratch copy of the sources, so the developer's
# build/Release (which node-gyp-build prefers) is never touched. `npm pack` runs
# this through `prepack`; prebuilds/ is build output and is not committed.
# BUFSHARE_PREBUILD_ARCHS="x64" limits the targets (default: "x64 arm64").
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
node_gyp=$(node -p "require.resolve('node-gyp/bin/node-gyp.js')")
archs=${BUFSHARE_PREBUILD_ARCHS:-x64 arm64}
# Node's own headers (Debian's nodejs and the official tarballs install them), so
# node-gyp downloads nothing; they are the same for every arch.
nodedir=()
for prefix_dir in "$(dirname "$(dirname "$(node -p process.execPath)")")" "$(node -p "process.config.variables.node_prefix || ''")"; do
  if [ -n "$prefix_dir" ] && [ -f "$prefix_dir/include/node/node_api.h" ]; then nodedir=(--nodedir="$prefix_dir"); break; fi
done

scratch=$(mktemp -d "${TMPDIR:-/tmp}/bufshare-prebuild-XXXXXX")
trap 'rm -rf "$scratch"' EXIT

for arch in $archs; do
  case "$arch" in
    x64)   prefix= ;;
    arm64) prefix=aarch64-linux-gnu- ;;
    *) echo "prebuild: unknown arch $arch" >&2; exit 2 ;;
  esac
  if ! command -v "${prefix}g++" >/dev/null; then
    echo "prebuild: ${prefix}g++ not found (apt-get install g++${prefix:+-${prefix%-}})" >&2
    exit 1
  fi
  work="$scratch/$arch"
  mkdir -p "$work"
  cp -r binding.gyp src-native "$work/"
  # binding.gyp resolves node-addon-api's include dir from its own directory.
  ln -s "$root/node_modules" "$work/node_modules"
  echo "prebuild: linux-$arch"
  (cd "$work" && CC="${prefix}gcc" CXX="${prefix}g++" LINK="${prefix}g++" AR="${prefix}ar" \
    node "$node_gyp" rebuild --arch="$arch" "${nodedir[@]}" --loglevel=warn >"$work/build.log" 2>&1) \
    || { cat "$work/build.log" >&2; echo "prebuild: linux-$arch failed" >&2; exit 1; }
  out="prebuilds/linux-$arch"
  rm -rf "$out"
  mkdir -p "$out"
  # Tags node-gyp-build matches on: any Node-API runtime, glibc (not musl).
  "${prefix}strip" --strip-unneeded -o "$out/bufshare.napi.glibc.node" "$work/build/Release/bufshare.node"
  file "$out/bufshare.napi.glibc.node" 2>/dev/null || ls -l "$out/bufshare.napi.glibc.node"
done
