/**
 * A Wayland client in its own process (so a test can run it as another uid):
 * connects to argv[2], does a registry roundtrip, prints 'served' or 'refused'.
 */
import { RawWaylandClient } from './wayland-client';

async function main(): Promise<void> {
  const c = new RawWaylandClient(process.argv[2]!);
  const served = await c.roundtrip();
  process.stdout.write(served ? 'served\n' : 'refused\n');
  c.close();
}

main().catch((e: unknown) => {
  process.stdout.write(`failed ${String(e)}\n`);
  process.exitCode = 1;
});
