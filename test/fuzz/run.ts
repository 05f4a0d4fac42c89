/**
 * npm run fuzz -- [--seed S] [--inputs N] [--live M] [--concurrency C] [--json FILE]
 *
 *   --inputs N   in-process decoder/validator inputs (default 1,000,000)
 *   --live M     malformed messages (one hostile connection each) against a
 *                running server while a good client draws (default 10,000)
 *   --client R   rounds of a hostile raw server against BufferClient (default 1,000)
 *   --wayland W  Wayland: W hostile connections against a live WaylandServer, over its socket and
 *                again in process (default 2,000 each); the Wayland wire decoder gets --inputs inputs
 *   --dbus D     D-Bus: D hostile peers against a DBusConnection (default 2,000)
 *   --dbus-inputs I  D-Bus decoder inputs (default --inputs; ~0.14 ms each)
 *   --vhost V    vhost-user GPU: V hostile front-ends against a live VhostGpuServer (default 2,000); its wire
 *                decoder gets --inputs inputs and its descriptor-chain walker and device --inputs / 5
 *   --short      the CI pass: --inputs 100000 --live 1000 --client 200 --wayland 200 --dbus 200 --dbus-inputs 25000 --vhost 200
 *
 * Prints a summary and exits 1 on any finding. The seed reproduces a run.
 */
import { writeFileSync } from 'node:fs';
import { fuzzDecoders } from './decoder-fuzz';
import { fuzzClient } from './client-fuzz';
import { fuzzLive } from './live-fuzz';
import { fuzzWaylandDecoder, fuzzWaylandLive } from './wayland-fuzz';
import { fuzzDBusDecoder, fuzzDBusLive } from './dbus-fuzz';
import { fuzzVhostChains, fuzzVhostDecoder, fuzzVhostLive } from './vhost-fuzz';

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isSafeInteger(v) || v < 0) throw new Error(`--${name} needs a non-negative integer`);
  return v;
}

async function main(): Promise<void> {
  const short = process.argv.includes('--short');
  const seed = option('seed', Date.now() % 1e9);
  const inputs = option('inputs', short ? 100_000 : 1_000_000);
  const live = option('live', short ? 1_000 : 10_000);
  const concurrency = option('concurrency', 4);
  const clientRounds = option('client', short ? 200 : 1_000);
  const waylandConnections = option('wayland', short ? 200 : 2_000);
  const dbusConnections = option('dbus', short ? 200 : 2_000);
  const dbusInputs = option('dbus-inputs', short ? 25_000 : inputs);
  const vhostConnections = option('vhost', short ? 200 : 2_000);
  const jsonAt = process.argv.indexOf('--json');
  console.log(`fuzz: seed ${seed}, ${inputs} in-process inputs, ${live} live malformed messages`);

  const decoders = fuzzDecoders(seed, inputs, (n) => process.stdout.write(`  in-process: ${n} inputs\n`));
  console.log(`in-process: ${decoders.inputs} inputs (${decoders.accepted} accepted, ${decoders.rejected} refused with ERR_BUFSHARE_PROTOCOL), ` +
    `${decoders.findings.length} findings, slowest input ${decoders.slowestMs.toFixed(1)} ms, ${(decoders.elapsedMs / 1000).toFixed(1)} s`);
  for (const f of decoders.findings) console.log(`  FINDING ${f}`);

  const liveResult = live > 0 ? await fuzzLive(seed, live, concurrency) : undefined;
  if (liveResult) {
    const l = liveResult;
    console.log(`live: ${l.connections} hostile connections, ${l.malformedSent} malformed messages sent, ${l.errorsReceived} errors received, ${l.lostAfterBurst} disconnected without their error after a burst, ` +
      `${l.emptyPackets} of them empty packets, ${l.disconnects} disconnected, ${l.hangs} hangs, ${l.serverExceptions} server exceptions; ` +
      `good client: ${l.goodFrames} frames, none lost, ${l.goodClientSurvived ? 'still connected' : 'DISCONNECTED'}; ` +
      `server fds ${l.fdsBefore} -> ${l.fdsAfter}, ${l.leakedFds} leaked; ${(l.elapsedMs / 1000).toFixed(1)} s`);
    console.log(`  modes: ${JSON.stringify(l.byMode)}`);
    for (const x of l.lostSamples) console.log(`  error lost after a burst: ${x}`);
    for (const f of l.failures) console.log(`  FAILURE ${f}`);
  }
  const clientResult = clientRounds > 0 ? await fuzzClient(seed, clientRounds) : undefined;
  if (clientResult) {
    const c = clientResult;
    console.log(`client: ${c.rounds} rounds against a hostile server: ${c.surfacesCreated} surfaces created, ${c.surfacesRefused} refused with a BufshareError, ` +
      `${c.hostileMessages} hostile messages, ${c.truncatedUnderClient} buffers truncated under the client, ${c.readOnlyFds} replies with read-only fds, ${c.readOnlyFlags} flagged read-only over writable fds, ${c.wrongSize} of another size than asked, ${c.unanswered} unanswered; ${c.failures.length} failures`);
    for (const f of c.failures) console.log(`  FAILURE ${f}`);
  }
  const waylandDecoder = fuzzWaylandDecoder(seed, inputs);
  console.log(`wayland decoder: ${waylandDecoder.inputs} inputs (${waylandDecoder.accepted} accepted, ${waylandDecoder.rejected} refused with WireError), ` +
    `${waylandDecoder.findings.length} findings, slowest ${waylandDecoder.slowestMs.toFixed(1)} ms`);
  for (const f of waylandDecoder.findings.slice(0, 20)) console.log(`  FINDING ${f}`);
  const waylandLive = [];
  for (const mode of ['socket', 'in-process'] as const) {
    if (waylandConnections === 0) break;
    const w = await fuzzWaylandLive(seed, waylandConnections, mode);
    waylandLive.push(w);
    console.log(`wayland live (${mode}): ${w.connections} hostile connections: ${w.refused} refused with wl_display.error, ${w.stillServed} still served (valid mutations), ` +
      `${w.waiting} left waiting for the rest of a cut-off message; ${w.serverExceptions} server exceptions, good client ${w.goodRoundtrips} roundtrips, ` +
      `${w.leakedFds} fds and ${w.leakedMappings} mappings left`);
    for (const f of w.failures.slice(0, 20)) console.log(`  FAILURE ${f}`);
  }
  const dbusDecoder = fuzzDBusDecoder(seed, dbusInputs);
  console.log(`dbus decoder: ${dbusDecoder.inputs} inputs (${dbusDecoder.accepted} accepted, ${dbusDecoder.rejected} refused with ERR_BUFSHARE_DBUS_MALFORMED), ` +
    `${dbusDecoder.findings.length} findings, slowest ${dbusDecoder.slowestMs.toFixed(1)} ms`);
  for (const f of dbusDecoder.findings.slice(0, 20)) console.log(`  FINDING ${f}`);
  const dbusLive = dbusConnections > 0 ? await fuzzDBusLive(seed, dbusConnections) : undefined;
  if (dbusLive) {
    console.log(`dbus live: ${dbusLive.connections} hostile peers: ${dbusLive.closedMalformed} closed with a coded error, ${dbusLive.survived} still served, ` +
      `${dbusLive.closedOther} closed otherwise; ${dbusLive.leakedFds} fds left`);
    for (const f of dbusLive.failures.slice(0, 20)) console.log(`  FAILURE ${f}`);
  }
  const vhostDecoder = fuzzVhostDecoder(seed, inputs);
  console.log(`vhost-user decoder: ${vhostDecoder.inputs} inputs (${vhostDecoder.accepted} accepted, ${vhostDecoder.rejected} refused with ERR_BUFSHARE_PROTOCOL), ` +
    `${vhostDecoder.findings.length} findings, slowest ${vhostDecoder.slowestMs.toFixed(1)} ms`);
  for (const f of vhostDecoder.findings.slice(0, 20)) console.log(`  FINDING ${f}`);
  const vhostChains = fuzzVhostChains(seed, Math.ceil(inputs / 5));
  console.log(`virtqueue chains + virtio-gpu device: ${vhostChains.inputs} inputs (${vhostChains.accepted} rings walked, ${vhostChains.rejected} stopped with VirtqueueError), ` +
    `${vhostChains.findings.length} findings, slowest ${vhostChains.slowestMs.toFixed(1)} ms`);
  for (const f of vhostChains.findings.slice(0, 20)) console.log(`  FINDING ${f}`);
  const vhostLive = vhostConnections > 0 ? await fuzzVhostLive(seed, vhostConnections) : undefined;
  if (vhostLive) {
    console.log(`vhost-user live: ${vhostLive.connections} hostile front-ends: ${vhostLive.refusedWithError} ended with ERR_BUFSHARE_PROTOCOL, ${vhostLive.survived} still served; ` +
      `${vhostLive.serverExceptions} server exceptions, ${vhostLive.leakedFds} memfds/eventfds left`);
    for (const f of vhostLive.failures.slice(0, 20)) console.log(`  FAILURE ${f}`);
  }
  if (jsonAt > 0) writeFileSync(process.argv[jsonAt + 1]!, JSON.stringify({ decoders, live: liveResult, client: clientResult, waylandDecoder, waylandLive, dbusDecoder, dbusLive, vhostDecoder, vhostChains, vhostLive }, null, 2));
  const failed = decoders.findings.length + (liveResult?.failures.length ?? 0) + (clientResult?.failures.length ?? 0) +
    waylandDecoder.findings.length + waylandLive.reduce((n, w) => n + w.failures.length, 0) +
    dbusDecoder.findings.length + (dbusLive?.failures.length ?? 0) +
    vhostDecoder.findings.length + vhostChains.findings.length + (vhostLive?.failures.length ?? 0);
  console.log(failed === 0 ? 'fuzz: no findings' : `fuzz: ${failed} finding(s)`);
  // The closing line CI sums: one check per fuzzer.
  const checks = [decoders.findings.length === 0, ...(liveResult ? [liveResult.failures.length === 0] : []),
    ...(clientResult ? [clientResult.failures.length === 0] : []), waylandDecoder.findings.length === 0, ...waylandLive.map((w) => w.failures.length === 0),
    dbusDecoder.findings.length === 0, ...(dbusLive ? [dbusLive.failures.length === 0] : []),
    vhostDecoder.findings.length === 0, vhostChains.findings.length === 0, ...(vhostLive ? [vhostLive.failures.length === 0] : [])];
  console.log(`${checks.filter(Boolean).length} passed, ${checks.filter((c) => !c).length} failed, 0 skipped`);
  process.exit(failed === 0 ? 0 : 1);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
