/**
 * Many clients on one server:
 *
 * - 64 clients x 3 buffers of 1920x1080 (quick: 8): what the server process
 *   holds beyond the buffers themselves (<= 1 MB per client), and exactly the
 *   fds it should (one socket and one memfd per buffer, per client);
 * - round-trip latency with 1, 8, 32 and 64 clients submitting at once, as a
 *   curve against itself at 1 client. On a machine with fewer cores than
 *   processes, latency grows about linearly with the clients (each round trip
 *   waits for the others' turns); a cliff is growth well beyond that.
 *
 * Memory: a shm buffer's pages count in RssShmem of each process that mapped and
 * touched them; they are the buffer bytes (allocated once, shared with the
 * client), not overhead. The server's overhead is what RssAnon (JS heap, native
 * allocations) and RssFile grow by. Clients draw every buffer whole once, so the
 * buffer bytes exist; the server reads one pixel of each frame, as a compositor
 * reads what it shows, so it maps each buffer once.
 */
import type { BenchContext, Measurement } from '../measurement';
import { comparedRow, type Row } from '../result';
import { median, quantile, summarize } from '../stats';
import { startSession, type ServerStats } from '../ipc/session';
import type { Peer } from '../ipc/rpc';

const DAMAGE = [{ x: 64, y: 64, width: 64, height: 64 }];
const MB = 1024 * 1024;

function delta(after: ServerStats, before: ServerStats): { anon: number; file: number; shmem: number; fds: number; sockets: number; memfds: number } {
  return {
    anon: after.memory.rssAnon - before.memory.rssAnon,
    file: after.memory.rssFile - before.memory.rssFile,
    shmem: after.memory.rssShmem - before.memory.rssShmem,
    fds: after.fds.total - before.fds.total,
    sockets: (after.fds.byKind.socket ?? 0) - (before.fds.byKind.socket ?? 0),
    memfds: (after.fds.byKind.memfd ?? 0) - (before.fds.byKind.memfd ?? 0),
  };
}

function signedMiB(bytes: number): string {
  return `${bytes >= 0 ? '+' : ''}${(bytes / MB).toFixed(1)} MiB`;
}

export const ipcScale: Measurement = {
  id: 'clients',
  title: 'many clients: server memory, fds, latency curve',
  timeoutSeconds: 300,
  async run(ctx: BenchContext): Promise<Row[]> {
    const total = ctx.quick ? 8 : 64;
    const processes = ctx.quick ? 2 : 4;
    const curve = ctx.quick ? [1, 4, 8] : [1, 8, 32, 64];
    const bufferCount = 3;
    const width = 1920;
    const height = 1080;
    const session = await startSession('shm');
    try {
      // Warm the server up with one client that comes and goes: code loaded and
      // compiled on first use and the heap's first growth are not per client.
      const warm = await session.addClients(1, { width: 64, height: 64, bufferCount, usage: 'software', fill: true });
      await warm.peer.call('rtt', { active: 1, frames: 200, warmup: 0, rects: DAMAGE, draw: false });
      await warm.peer.stop();
      session.clients.splice(session.clients.indexOf(warm.peer), 1);
      await new Promise((resolve) => setTimeout(resolve, 200)); // the server sees the hang-up
      const before = await session.serverStats();
      const peers: Peer[] = [];
      for (let p = 0; p < processes; p++) {
        const count = Math.floor(total / processes) + (p < total % processes ? 1 : 0);
        const { peer } = await session.addClients(count, { width, height, bufferCount, usage: 'software', fill: true });
        peers.push(peer);
      }
      const connected = await session.serverStats();
      const frameBytes = Math.ceil((width * 4 * height) / 4096) * 4096;
      // 1920 x 4 bytes is already 64-aligned; each buffer is rounded up to whole pages.
      const bufferBytes = total * bufferCount * frameBytes;
      ctx.log(`clients: ${total} clients in ${processes} processes, ${((bufferBytes) / MB).toFixed(0)} MiB of buffers`);

      // The latency curve: the first k connections submit at once, spread over the processes.
      const p50: number[][] = curve.map(() => []);
      const p99: number[][] = curve.map(() => []);
      for (let run = 0; run < ctx.runs; run++) {
        for (let ci = 0; ci < curve.length; ci++) {
          const k = curve[ci]!;
          const frames = Math.max(ctx.quick ? 5 : 20, Math.ceil((ctx.quick ? 200 : 2000) / k));
          const shares = peers.map((_, p) => Math.floor(k / processes) + (p < k % processes ? 1 : 0));
          const samples = (await Promise.all(peers.map((peer, p) => (shares[p]! > 0
            ? peer.call<number[]>('rtt', { active: shares[p], frames, warmup: 5, rects: DAMAGE, draw: false })
            : Promise.resolve([]))))).flat();
          p50[ci]!.push(median(samples));
          p99[ci]!.push(quantile(samples, 0.99));
        }
      }
      const after = await session.serverStats();

      const d = delta(connected, before);
      const overheadPerClient = (d.anon + d.file) / total;
      const heapPerClient = (connected.memory.heapUsed - before.memory.heapUsed) / total;
      const expectedFds = total * (1 + bufferCount);
      const fdsExact = d.fds === expectedFds && d.sockets === total && d.memfds === total * bufferCount;
      const drift = delta(after, connected);
      const rows: Row[] = [
        {
          id: 'clients.memory',
          title: `server RSS beyond buffer bytes, ${total} clients x ${bufferCount} x ${width}x${height}`,
          baselineTitle: `buffer bytes: ${(bufferBytes / total / MB).toFixed(1)} MiB per client`,
          unit: 'MiB/client',
          subject: summarize([overheadPerClient / MB]),
          targetText: '<= 1 MiB/client',
          status: overheadPerClient <= MB ? 'met' : 'missed',
          reason: `RssAnon ${signedMiB(d.anon)}, RssFile ${signedMiB(d.file)} in all; JS heap ${(heapPerClient / 1024).toFixed(0)} KiB/client; RssShmem ${signedMiB(d.shmem)} (buffer pages the server read)`,
          details: { clients: total, bufferCount, bufferBytes, delta: d, heapPerClient, before: before.memory, connected: connected.memory, afterCurve: after.memory },
        },
        {
          id: 'clients.fds',
          title: `server open fds, ${total} clients x ${bufferCount} buffers`,
          baselineTitle: `expected: ${total} sockets + ${total * bufferCount} memfds`,
          unit: 'fds',
          subject: summarize([d.fds]),
          targetText: `exactly +${expectedFds}`,
          status: fdsExact && drift.fds === 0 ? 'met' : 'missed',
          reason: `+${d.sockets} sockets, +${d.memfds} memfds; ${drift.fds >= 0 ? '+' : ''}${drift.fds} during the latency runs`,
          details: { before: before.fds, connected: connected.fds, afterCurve: after.fds, allocations: connected.allocations },
        },
      ];
      curve.forEach((k, ci) => {
        const row = comparedRow({
          id: `clients.latency.${k}`,
          title: `round trip p50 with ${k} active client${k > 1 ? 's' : ''}`,
          baselineTitle: '1 client',
          unit: 'µs',
          subject: p50[ci]!,
          baseline: p50[0]!,
          details: { p99: median(p99[ci]!), p99Runs: p99[ci]! },
        });
        // Cliff: from one point to the next, latency grew more than twice as fast as the clients did.
        const prev = ci > 0 ? median(p50[ci - 1]!) : undefined;
        const growth = prev ? median(p50[ci]!) / prev : 1;
        const clientsGrowth = ci > 0 ? k / curve[ci - 1]! : 1;
        const cliff = growth > 2 * clientsGrowth;
        rows.push({
          ...row,
          ...(cliff ? { status: 'missed' as const } : {}),
          reason: `p99 ${median(p99[ci]!).toFixed(0)} µs${ci > 0 ? `; x${growth.toFixed(1)} for x${clientsGrowth} clients${cliff ? ': CLIFF' : ''}` : ''}`,
          targetText: ci > 0 ? 'no cliff' : '-',
        });
      });
      return rows;
    } finally {
      await session.close();
    }
  },
};
