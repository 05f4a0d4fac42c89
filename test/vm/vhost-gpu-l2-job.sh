#!/bin/bash
# The guest's side of test/vm/vhost-gpu-nested.ts (runs in L2, the vhost-user-gpu guest).
# Draws the known pattern into virtio_gpu's fbdev, then reports the connector's
# preferred mode once the host asked for a new display size.
WORK=$1
HERE=$(dirname "$(readlink -f "$0")")
conn=$(ls -d /sys/class/drm/card*-Virtual-1 2>/dev/null | head -1)
for i in $(seq 100); do [ -e /dev/fb0 ] && [ -n "$conn" ] && break; sleep 0.2; conn=$(ls -d /sys/class/drm/card*-Virtual-1 2>/dev/null | head -1); done
[ -e /dev/fb0 ] || { echo "l2: no /dev/fb0"; ls /sys/class/drm; exit 1; }
# fbcon draws nothing more: no cursor, no blink.
echo 0 > /sys/class/graphics/fbcon/cursor_blink 2>/dev/null
printf '\033[?25l\033[2J' > /dev/tty1 2>/dev/null
before=$(head -1 "$conn/modes")
python3 "$HERE/vhost-gpu-l2-draw.py" /dev/fb0 > "$WORK/drawn.json.tmp" && mv "$WORK/drawn.json.tmp" "$WORK/drawn.json" || exit 1
(sleep 2; dmesg | tail -40 > "$WORK/l2-dmesg.txt") &
for i in $(seq 600); do [ -e "$WORK/resize-asked" ] && break; sleep 0.2; done
for i in $(seq 300); do
  now=$(head -1 "$conn/modes")
  [ "$now" != "$before" ] && break
  sleep 0.2
done
echo "$now" > "$WORK/mode.txt"
echo "l2: mode $before -> $now"
