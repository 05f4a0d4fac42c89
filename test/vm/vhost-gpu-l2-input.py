# The guest's side of test/drivers/vhost-gpu.test.ts's input test (runs in L2):
# reads every /dev/input/event* device, writes l2-input-ready once they are open,
# and input.json once it saw KEY_A pressed and released and BTN_LEFT pressed and
# released, with the absolute position the tablet reported at the press.
# Then the latency test's part: each KEY_B press fills a 320x240 rectangle at
# (400, 300) of virtio_gpu's fbdev (named in l2-fb) with the press's colour,
# KEY_B_COLOURS[n % 8] (XRGB8888), one write() per row: the host times key ->
# frame. KEY_Q ends it.
import glob, json, os, select, struct, sys, time

work = sys.argv[1]
FMT = 'llHHi'  # struct input_event on x86-64: timeval, type, code, value
SIZE = struct.calcsize(FMT)
EV_KEY, EV_ABS, KEY_A, KEY_B, KEY_Q, BTN_LEFT = 1, 3, 30, 48, 16, 0x110
RECT = (400, 300, 320, 240)  # x, y, w, h: 9.8% of 1024x768, as the D-Bus route's benchmark
KEY_B_COLOURS = [0xff2040c0, 0xffc04020, 0xff20c040, 0xffe0e020, 0xff8020e0, 0xff20e0e0, 0xffe02080, 0xff606060]
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

# The latency test: a rectangle per KEY_B press, until KEY_Q (or the deadline).
fb = None
presses = 0
done = False
while not done and time.time() < deadline:
    ready, _, _ = select.select(fds, [], [], 1.0)
    for fd in ready:
        data = os.read(fd, SIZE * 64)
        for i in range(0, len(data) - SIZE + 1, SIZE):
            _, _, typ, code, value = struct.unpack_from(FMT, data, i)
            if typ != EV_KEY or value != 1:
                continue
            if code == KEY_Q:
                done = True
            elif code == KEY_B:
                if fb is None:
                    path = open(work + '/l2-fb').read().strip()
                    name = os.path.basename(path)
                    stride = int(open(f'/sys/class/graphics/{name}/stride').read().strip())
                    fb = os.open(path, os.O_RDWR)
                x, y, w, h = RECT
                row = KEY_B_COLOURS[presses % len(KEY_B_COLOURS)].to_bytes(4, 'little') * w
                for r in range(h):
                    os.pwrite(fb, row, (y + r) * stride + x * 4)
                presses += 1
with open(work + '/latency.json.tmp', 'w') as f:
    json.dump({'presses': presses}, f)
os.rename(work + '/latency.json.tmp', work + '/latency.json')
