/**
 * bufshare-protocol attacks on the same compositor (scene-server-child.ts runs a
 * BufferServer followed into the scene): what buffer memory a client can make
 * the compositor hold or fault in, connection floods, hello-less connections.
 *
 *   npx tsx test/fuzz/campaign/attack-bufshare.ts [part of a title]
 */
import { readFileSync } from 'node:fs';
import { BufferClient } from '../../../lib/ipc/client';
import { Connection } from '../../../lib/ipc/transport';
import { campaign, sleep, type Outcome, type Rig } from './harness';

const shmemKiB = (pid: number): number => Number(/RssShmem:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);

/**
 * One client takes its whole buffer budget (1 GiB: 4096x4096 surfaces), never
 * writes a pixel, and submits every buffer with full damage, 10 times: the
 * compositor reads what is visible. What lands in the compositor's RSS, and is
 * it given back when the client goes?
 */
async function budget(rig: Rig, clients: number): Promise<Outcome> {
  const pid = rig.server.pid!;
  const shmBefore = shmemKiB(pid);
  const cs: BufferClient[] = [];
  let surfaces = 0;
  let refused = '';
  for (let k = 0; k < clients; k++) {
    const c = await BufferClient.connect({ path: rig.bufshareSocket });
    cs.push(c);
    c.on('error', () => undefined);
    for (let i = 0; i < 64; i++) {
      try {
        const s = await c.createSurface({ width: 4096, height: 4096, format: 'XRGB8888', usage: 'software' });
        surfaces++;
        for (let f = 0; f < 3; f++) {
          const { buffer } = await s.nextBuffer();
          s.submit(buffer, [{ x: 0, y: 0, width: 4096, height: 4096 }]);
        }
      } catch (e) {
        refused = String((e as Error).message).slice(0, 100);
        break;
      }
    }
  }
  await sleep(2000);
  const held = await rig.stat();
  const shmHeld = shmemKiB(pid);
  for (const c of cs) c.close();
  await sleep(1500);
  const shmAfter = shmemKiB(pid);
  return {
    outcome: `${clients} client(s), ${surfaces} surfaces of 4096x4096 (then refused: "${refused}"), buffers never written, submitted: server RSS ${held?.rssMiB.toFixed(0)} MiB while held, RssShmem ${(shmBefore / 1024).toFixed(0)} -> ${(shmHeld / 1024).toFixed(0)} -> ${(shmAfter / 1024).toFixed(0)} MiB (before, held, after)`,
    rssSlackMiB: 24,
  };
}

/** 60 raw connections that never say hello: the server's per-uid cap and hello timeout; a fresh bufshare client meanwhile. */
async function silent(rig: Rig): Promise<Outcome> {
  const socks: Connection[] = [];
  let refusedAtConnect = 0;
  for (let i = 0; i < 60; i++) {
    try {
      const conn = Connection.connect(rig.bufshareSocket);
      socks.push(conn);
    } catch {
      refusedAtConnect++;
    }
  }
  await sleep(500);
  let fresh = 'served';
  try {
    const c = await BufferClient.connect({ path: rig.bufshareSocket });
    c.close();
  } catch (e) {
    fresh = `refused: ${String((e as Error).message).slice(0, 80)}`;
  }
  for (const s of socks) s.close();
  return { outcome: `60 silent connections (${refusedAtConnect} refused at connect); a fresh client from the same uid ${fresh}` };
}

void campaign([
  ['bufshare: one client, its whole 1 GiB of 4096x4096 buffers submitted unwritten', (rig) => budget(rig, 1)],
  ['bufshare: 60 connections that never say hello', silent],
]);
