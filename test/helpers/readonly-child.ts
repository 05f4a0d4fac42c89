/**
 * A process for the read-only mapping tests: each command writes through a
 * region a program could believe writable, and prints what happened. Before
 * read regions were made safe, the write was a SIGSEGV that killed this process.
 *   local-read           map({mode: 'read'}) of a shm buffer, then write into it
 *   readonly-fd-read     map({mode: 'read'}) of a buffer imported with an O_RDONLY fd, then write
 *   client <socket>      the README client against a server at <socket>: create a
 *                        surface, fill its first buffer, submit
 */
import { openSync } from 'node:fs';
import { BufferClient, BufshareError, fromDescriptor, ShmAllocator } from '../../lib';

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function main(): Promise<void> {
  const command = process.argv[2];
  if (command === 'local-read') {
    const buffer = new ShmAllocator().allocate({ width: 16, height: 16, format: 'XRGB8888' });
    const region = buffer.map({ mode: 'read' });
    region.pixels32[3] = 0x12345678;
    say(`survived ${region.pixels32[3] === 0x12345678 ? 'written' : 'unchanged'}`);
    region.unmap();
    buffer.destroy();
  } else if (command === 'readonly-fd-read') {
    const buffer = new ShmAllocator().allocate({ width: 16, height: 16, format: 'XRGB8888' });
    const { descriptor, fds } = buffer.export();
    // The same memfd, opened again read-only: what a read-only dma-buf export is.
    const readOnlyFd = openSync(`/proc/self/fd/${fds[0]!}`, 'r');
    const imported = fromDescriptor({ ...descriptor, readOnly: true }, [readOnlyFd]);
    const region = imported.map({ mode: 'read' });
    region.pixels32[3] = 0x12345678;
    const own = buffer.map({ mode: 'read' });
    say(`survived buffer ${own.pixels32[3] === 0x12345678 ? 'written' : 'unchanged'}`);
    own.unmap();
    region.unmap();
    imported.destroy();
    buffer.destroy();
  } else if (command === 'client') {
    const client = await BufferClient.connect({ path: process.argv[3]! });
    try {
      const surface = await client.createSurface({ width: 64, height: 64, format: 'XRGB8888' });
      const { buffer, region } = await surface.nextBuffer();
      region.pixels32.fill(0xff336699);
      surface.submit(buffer, [{ x: 0, y: 0, width: 64, height: 64 }]);
      say('drew');
    } catch (e) {
      say(`refused ${e instanceof BufshareError ? e.code : String(e)}`);
    }
    client.close();
  } else {
    throw new Error(`unknown command ${command}`);
  }
}

main().catch((e: unknown) => {
  say(`failed ${e instanceof BufshareError ? e.code : String(e)}`);
  process.exitCode = 1;
});
