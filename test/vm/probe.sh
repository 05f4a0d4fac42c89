#!/bin/bash
# Smoke test of the harness, run INSIDE the guest:
#   test/vm/drivers.sh --work DIR -- test/vm/probe.sh [OUTFILE]
# Prints the DRM nodes and the driver behind each, udmabuf / dma-buf heaps, node's version;
# checks that a unix socket binds in $XDG_RUNTIME_DIR; writes OUTFILE (relative to the work
# dir, default vm-probe-<kernel>.txt) so the host can check that 9p writes come back.
set -u
echo "kernel: $(uname -r)   BUFSHARE_VM=${BUFSHARE_VM:-unset}"
ls -l /dev/dri
# The DRM driver's own name is in debugfs; the device's bus driver is the sysfs link
# (virtio-pci for virtio_gpu; none for the virtual vgem/vkms platform devices).
mountpoint -q /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
for dev in /sys/class/drm/card* /sys/class/drm/renderD*; do
  case $dev in *-*) continue ;; esac                 # connectors (card0-Virtual-1...)
  n=$(basename "$dev")
  drm=$(cut -d' ' -f1 "/sys/kernel/debug/dri/$(cut -d: -f2 "$dev/dev")/name" 2>/dev/null)
  bus=$(basename "$(readlink "$dev/device/driver" 2>/dev/null)" 2>/dev/null)
  echo "$n -> ${drm:-?} (device $(basename "$(readlink -f "$dev/device")"), driver link: ${bus:-none})"
done
ls -d /dev/udmabuf /dev/dma_heap /dev/dma_heap/* 2>&1
node --version
env | grep -E '^(BUFSHARE|CI|DEBUG)' | sort
out=${1:-vm-probe-$(uname -r).txt}
uname -r >"$out" && echo "wrote $PWD/$out"
# Unix sockets bind on tmpfs only: 9p refuses (EOPNOTSUPP), see README.
node -e '
  const net = require("net"), path = require("path");
  const dirs = [process.env.XDG_RUNTIME_DIR, process.cwd()];
  let n = dirs.length;
  for (const d of dirs) {
    const p = path.join(d, "probe.sock");
    const s = net.createServer().on("error", (e) => { console.log(`bind ${p}: ${e.code}`); if (!--n) process.exit(0); });
    s.listen(p, () => { console.log(`bind ${p}: ok`); s.close(); if (!--n) process.exit(0); });
  }'
