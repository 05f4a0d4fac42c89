// The README's first example: allocate a software buffer, map it, draw, read the descriptor.
import { ShmAllocator, Region } from 'bufshare';

const allocator = new ShmAllocator();
const buffer = allocator.allocate({ width: 320, height: 240, format: 'XRGB8888' });

const region = buffer.map({ mode: 'write' });  // zero-copy view of the memfd
for (let y = 0; y < region.height; y++) {
  for (let x = 0; x < region.width; x++) {
    region.pixels32[y * region.stride32 + x] = 0xff000000 | (x << 16) | (y << 8);  // 0xAARRGGBB
  }
}
region.unmap();                                 // views drop to length 0; memory released

const { descriptor, fds } = buffer.export();    // what a client receives (fds go by SCM_RIGHTS)
console.log(descriptor.kind, descriptor.planes[0], `fds: ${fds.length}`);
console.log('damage', Region.of({ x: 0, y: 0, width: 16, height: 16 }).area, 'px');
buffer.destroy();                               // closes the memfd, exactly once
