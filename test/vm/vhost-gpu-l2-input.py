# The guest's side of test/drivers/vhost-gpu.test.ts's input test (runs in L2):
# reads every /dev/input/event* device, writes l2-input-ready once they are open,
# and input.json once it saw KEY_A pressed and released and BTN_LEFT pressed and
# released, with the absolute position the tablet reported at the press.
import glob, json, os, select, struct, sys, time

work = sys.argv[1]
FMT = 'llHHi'  # struct input_event on x86-64: timeval, type, code, value
SIZE = struct.calcsize(FMT)
EV_KEY, EV_ABS, KEY_A, BTN_LEFT = 1, 3, 30, 0x110
deadline = time.time() + 900
fds = []
while len(fds) < 2 and time.time() < deadline:  # the virtio keyboard and tablet probe at boot
    for fd in fds:
        os.close(fd)
    fds = []
    for path in sorted(glob.glob('/dev/input/event*')):
        try:
            fds.append(os.open(path, os.O_RDONLY | os.O_NONBLOCK))
        except OSError:
            pass
    if len(fds) < 2:
        time.sleep(0.5)
names = [open(p).read().strip() for p in sorted(glob.glob('/sys/class/input/event*/device/name'))]
with open(work + '/l2-input-ready.tmp', 'w') as f:
    json.dump({'devices': names}, f)
os.rename(work + '/l2-input-ready.tmp', work + '/l2-input-ready')
keys, buttons, pos, at_press = [], [], {}, None
while time.time() < deadline:
    ready, _, _ = select.select(fds, [], [], 1.0)
    for fd in ready:
        data = os.read(fd, SIZE * 64)
        for i in range(0, len(data) - SIZE + 1, SIZE):
            _, _, typ, code, value = struct.unpack_from(FMT, data, i)
            if typ == EV_ABS:
                pos[code] = value
            elif typ == EV_KEY and code == KEY_A:
                keys.append([code, value])
            elif typ == EV_KEY and code == BTN_LEFT:
                buttons.append([code, value])
                if value == 1:
                    at_press = {'x': pos.get(0), 'y': pos.get(1)}
    if [KEY_A, 1] in keys and [KEY_A, 0] in keys and [BTN_LEFT, 1] in buttons and [BTN_LEFT, 0] in buttons:
        break
with open(work + '/input.json.tmp', 'w') as f:
    json.dump({'keys': keys, 'buttons': buttons, 'atPress': at_press}, f)
os.rename(work + '/input.json.tmp', work + '/input.json')
