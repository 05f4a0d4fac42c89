#!/bin/bash
# The guest's side of test/drivers/vhost-gpu.test.ts (runs in L2, the vhost-user-gpu guest).
# Sets the mode of virtio_gpu's fbdev and draws the known pattern into it
# (vhost-gpu-l2-draw.py), then reports the connector's
# preferred mode once the host asked for a new display size. What the guest believed
# (connector status, modes, interrupts, dmesg) goes to l2-state-*.txt and l2-dmesg-*.txt.
# Every program start costs seconds here (9p over 9p, nested under TCG): builtins only
# where it can.
WORK=$1
HERE=${0%/*}
up() { local u _; read -r u _ < /proc/uptime; echo "$u"; }
echo "l2: job started at $(up)"
# A heartbeat on the console: load, and the virtio interrupt counts (builtins only).
( while :; do
    line="hb $(up) $(< /proc/loadavg)"
    while read -r n c rest; do [[ $rest == *virtio* ]] && line+=" ${rest##* }=$c"; done < /proc/interrupts
    echo "$line"
    sleep 5
  done ) &
# The input test's reader: started first (a program start costs seconds here); it says when it is ready.
python3 "$HERE/vhost-gpu-l2-input.py" "$WORK" &
state() { # NAME: the guest's view of its display and interrupts
  {
    echo "uptime $(up)"
    local c s e m
    for c in /sys/class/drm/card*-*; do
      [ -e "$c/status" ] || continue
      read -r s < "$c/status"; read -r e < "$c/enabled"
      m=$(< "$c/modes")
      echo "${c##*/}: status=$s enabled=$e modes=${m//$'\n'/ }"
    done
    grep -i virtio /proc/interrupts
    for c in /sys/class/graphics/fb*/virtual_size; do echo "$c: $(< "$c")"; done
  } > "$WORK/l2-state-$1.tmp" 2>&1
  dmesg > "$WORK/l2-dmesg-$1.txt" 2>&1
  mv "$WORK/l2-state-$1.tmp" "$WORK/l2-state-$1.txt"   # whole, for the host that waits on it
}
# virtio_gpu's card, by PCI id (the card's parent is the PCI device, whose driver is virtio-pci;
# the harness initramfs loads vgem and vkms too, and fbcon takes vkms's fbdev).
card= fb= conn=
for i in {1..150}; do
  for c in /sys/class/drm/card[0-9]; do
    [ -e "$c/device/uevent" ] && [[ $(< "$c/device/uevent") == *PCI_ID=1AF4:1050* ]] && card=$c
  done
  for f in /sys/class/graphics/fb[0-9]*; do
    [ -e "$f/name" ] && [ "$(< "$f/name")" = virtio_gpudrmfb ] && fb=/dev/${f##*/}
  done
  [ -n "$card" ] && for c in "$card"-Virtual-*; do [ -e "$c" ] && conn=$c; done
  [ -n "$fb" ] && [ -n "$conn" ] && break
  sleep 0.2
done
echo "l2: $fb on $conn at $(up)"
[ -n "$fb" ] && [ -n "$conn" ] || { echo "l2: no virtio_gpu fbdev/connector"; ls /sys/class/drm /sys/class/graphics; exit 1; }
state start
echo "$fb" > "$WORK/l2-fb.tmp" && mv "$WORK/l2-fb.tmp" "$WORK/l2-fb"   # the latency test draws there
echo "${conn##*/}" > "$WORK/connector.tmp" && mv "$WORK/connector.tmp" "$WORK/l2-connector"
echo "l2: state at $(up)"
# fbcon draws nothing on it: unbound (on 6.1, with no vkms, virtio_gpu's fbdev is fbcon's).
for v in /sys/class/vtconsole/vtcon*; do [[ $(< "$v/name") == *"frame buffer"* ]] && echo 0 > "$v/bind"; done
{ read -r before; } < "$conn/modes"
python3 "$HERE/vhost-gpu-l2-draw.py" "$fb" > "$WORK/drawn.json.tmp" && mv "$WORK/drawn.json.tmp" "$WORK/drawn.json" || exit 1
echo "l2: drawn at $(up)"
(sleep 2; state drawn) &
for i in {1..600}; do [ -e "$WORK/resize-asked" ] && break; sleep 0.2; done
for i in {1..300}; do
  { read -r now; } < "$conn/modes"
  [ "$now" != "$before" ] && break
  sleep 0.2
done
echo "$now" > "$WORK/mode.tmp" && mv "$WORK/mode.tmp" "$WORK/mode.txt"
state resized
echo "l2: mode $before -> $now at $(up)"
