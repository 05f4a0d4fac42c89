/**
 * The shadow path, end to end: a client redraws 10% of a 1080p hardware buffer
 * (16 rectangles) in its shm shadow and submits; the server copies the damage
 * into the hardware buffer (HardwareBuffer.commitShadow) before emitting the
 * frame; the compositor releases it; the client sees frame_done. Against the
 * same with direct access (the client draws into the buffer's own mapping):
 * <= 1.3x its time.
 *
 * Shadow buffers are hardware buffers (dumb, gbm, udmabuf) with forced shadow
 * access (AutoAllocator `access: 'shadow'`, as BUFSHARE_ACCESS=shadow). Where
 * this machine has no hardware buffers at all (no /dev/dri, no /dev/udmabuf) the
 * row is skipped with the probe's reason.
 */
import type { BenchContext, Measurement } from '../measurement';
import { comparedRow, skippedRow, type Row } from '../result';
import { median } from '../stats';
import { startSession, type Session } from '../ipc/session';
import type { Peer } from '../ipc/rpc';
import { tenPercentIn16Rects } from './damage-copy';

const W = 1920;
const H = 1080;
const ID = 'shadow';
const TITLE = 'shadow path: 10% of a 1080p hardware buffer, draw + submit + copy + release';

export const ipcShadow: Measurement = {
  id: ID,
  title: TITLE,
  async run(ctx: BenchContext): Promise<Row[]> {
    const sessions: Session[] = [];
    try {
      const shadow = await startSession('hardware-shadow');
      sessions.push(shadow);
      if (shadow.skip) return [skippedRow(`${ID}.roundtrip`, TITLE, `needs hardware buffers (${shadow.skip})`, { op: '<=', value: 1.3 })];
      const direct = await startSession('hardware');
      sessions.push(direct);
      const surface = { width: W, height: H, bufferCount: 3 as const, usage: 'hardware' as const, fill: true };
      const s = await shadow.addClients(1, surface);
      const d = await direct.addClients(1, surface);
      if (s.access !== 'shadow') throw new Error(`forced shadow mode gave ${s.access} access`);
      const rects = tenPercentIn16Rects(W, H);
      const frames = ctx.quick ? 20 : 200;
      const shadowP50: number[] = [];
      const directP50: number[] = [];
      const time = async (peer: Peer, into: number[]): Promise<void> => {
        into.push(median(await peer.call<number[]>('rtt', { active: 1, frames, warmup: 5, rects, draw: true })));
      };
      for (let run = 0; run < ctx.runs; run++) {
        if (run % 2 === 0) {
          await time(s.peer, shadowP50);
          await time(d.peer, directP50);
        } else {
          await time(d.peer, directP50);
          await time(s.peer, shadowP50);
        }
      }
      return [comparedRow({
        id: `${ID}.roundtrip`,
        title: TITLE,
        baselineTitle: `same with ${d.access} access (${d.kind})`,
        unit: 'µs',
        subject: shadowP50,
        baseline: directP50,
        target: { op: '<=', value: 1.3 },
        details: { shadow: { kind: s.kind, access: s.access }, direct: { kind: d.kind, access: d.access }, framesPerRun: frames },
      })];
    } finally {
      for (const session of sessions) await session.close();
    }
  },
};
