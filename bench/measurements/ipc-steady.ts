/**
 * Steady state: 10,000 frames on one surface (quick: 500), paced by frame_done.
 * Once the swapchain is full (every buffer submitted once), a frame must allocate
 * nothing: no buffer on the server, no fd and no mapping on either side. Counted
 * with the allocator (server), mappingStats() (lib/native.ts, both sides) and
 * /proc/self/fd (both sides).
 *
 * Two rows: a software surface (shm, direct access), and a hardware surface with
 * forced shadow access, where the server copies each frame's damage into the
 * hardware buffer (skipped where there are no hardware buffers).
 */
import type { BenchContext, Measurement } from '../measurement';
import { skippedRow, type Row } from '../result';
import { median, summarize } from '../stats';
import { startSession, type ClientStats, type ServerStats } from '../ipc/session';
import type { ServerMode } from '../ipc/peer';

const DAMAGE = [{ x: 0, y: 0, width: 256, height: 256 }];

async function steadyRow(ctx: BenchContext, id: string, mode: ServerMode, usage: 'software' | 'hardware'): Promise<Row> {
  const frames = ctx.quick ? 500 : 10000;
  const title = `steady state: ${frames.toLocaleString('en-US')} frames on one ${mode === 'shm' ? 'shm' : 'shadowed hardware'} surface`;
  const targetText = '0 buffers, fds, mappings';
  const session = await startSession(mode);
  try {
    if (session.skip) return { ...skippedRow(id, title, `needs hardware buffers (${session.skip})`), targetText };
    // connect() submits every buffer once: the swapchain is full when it returns.
    const { peer, kind, access } = await session.addClients(1, { width: 1920, height: 1080, bufferCount: 3, usage, fill: true });
    const server0 = await session.serverStats();
    const client0 = await peer.call<ClientStats>('stats');
    const samples = await peer.call<number[]>('rtt', { active: 1, frames, warmup: 0, rects: DAMAGE, draw: true });
    const server1: ServerStats = await session.serverStats();
    const client1 = await peer.call<ClientStats>('stats');
    const counts = {
      serverBuffers: server1.allocations - server0.allocations,
      serverFds: server1.fds.total - server0.fds.total,
      serverMappings: server1.mappings.created - server0.mappings.created,
      clientFds: client1.fds.total - client0.fds.total,
      clientMappings: client1.mappings.created - client0.mappings.created,
    };
    const framesSeen = server1.frames - server0.frames;
    const allocations = Object.values(counts).reduce((a, b) => a + Math.abs(b), 0);
    const nonZero = Object.entries(counts).filter(([, v]) => v !== 0).map(([k, v]) => `${k} ${v > 0 ? '+' : ''}${v}`);
    return {
      id,
      title: `${title} (${kind}, ${access})`,
      baselineTitle: '-',
      unit: 'new',
      subject: summarize([allocations]),
      targetText,
      status: allocations === 0 && framesSeen === frames ? 'met' : 'missed',
      reason: nonZero.length === 0
        ? `0 on both sides; ${framesSeen.toLocaleString('en-US')} frames, p50 ${median(samples).toFixed(0)} µs each`
        : `${nonZero.join(', ')}; ${framesSeen} frames seen by the server`,
      details: { frames, framesSeen, kind, access, counts, server: { before: server0, after: server1 }, client: { before: client0, after: client1 } },
    };
  } finally {
    await session.close();
  }
}

export const ipcSteady: Measurement = {
  id: 'steady',
  title: 'steady state allocations',
  async run(ctx: BenchContext): Promise<Row[]> {
    return [
      await steadyRow(ctx, 'steady.allocations', 'shm', 'software'),
      await steadyRow(ctx, 'steady.shadow', 'hardware-shadow', 'hardware'),
    ];
  },
};
