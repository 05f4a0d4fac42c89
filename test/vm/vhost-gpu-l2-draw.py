# Draws test/drivers/vhost-gpu.test.ts's pattern into a 32 bpp fbdev (virtio_gpu's):
# per pixel, bytes B = x, G = y, R = (x >> 8) | (y >> 8) << 4, X = 0xff (little-endian
# XRGB8888). Row-sliced so that it stays quick on an emulated CPU. Written with one write()
# (its damage is the range written), not through a mapping (whose damage comes from write
# faults on each page, a race with the flush worker). Prints the geometry.
import json, os, sys

dev = sys.argv[1]
name = os.path.basename(dev)
w, h = (int(v) for v in open(f'/sys/class/graphics/{name}/virtual_size').read().strip().split(','))
stride = int(open(f'/sys/class/graphics/{name}/stride').read().strip())
bpp = int(open(f'/sys/class/graphics/{name}/bits_per_pixel').read().strip())
assert bpp == 32, bpp
fd = os.open(dev, os.O_RDWR)
# fbcon may be on another fbdev (vkms): set this one's mode ourselves. FBIOPUT_VSCREENINFO with
# FB_ACTIVATE_FORCE makes drm's fbdev emulation commit its mode, i.e. SET_SCANOUT on our resource.
import fcntl
var = bytearray(160)
fcntl.ioctl(fd, 0x4600, var)  # FBIOGET_VSCREENINFO
var[84:88] = (128).to_bytes(4, 'little')  # activate = FB_ACTIVATE_NOW | FB_ACTIVATE_FORCE
fcntl.ioctl(fd, 0x4601, var)  # FBIOPUT_VSCREENINFO
image = bytearray(stride * h)
template = bytearray(w * 4)
template[0::4] = bytes(x & 0xff for x in range(w))
template[3::4] = b'\xff' * w
xhigh = bytes((x >> 8) & 0xf for x in range(w))
reds = {}
for y in range(h):
    row = bytearray(template)
    row[1::4] = bytes([y & 0xff]) * w
    yh = ((y >> 8) & 0xf) << 4
    if yh not in reds:
        reds[yh] = bytes(b | yh for b in xhigh)
    row[2::4] = reds[yh]
    image[y * stride:y * stride + w * 4] = row
assert os.pwrite(fd, image, 0) == len(image)
print(json.dumps({'width': w, 'height': h, 'stride': stride}))
