/**
 * vhost-user GPU fuzzers (lib/vm).
 *
 * fuzzVhostDecoder: qemu's side of the wire, mutated (bit flips, interesting
 * words, truncation, extension, splices, size fields), cut into random reads
 * with random fds, through VhostUserReader and the payload decoders. A finding
 * is an exception other than a BufshareError ERR_BUFSHARE_PROTOCOL, an fd
 * neither handed out with a message nor closed (or closed twice), or an input
 * slower than HANG_MS.
 *
 * fuzzVhostChains: a guest's side: descriptor tables, available rings and
 * virtio-gpu commands, valid ones mutated, walked by SplitQueue over a real
 * memfd-backed GuestMemory and run through VirtioGpuDevice. A finding is an
 * exception other than a VirtqueueError from pop(), a chain buffer that is not
 * a view of guest memory, or a device holding more resources than its bound.
 *
 * fuzzVhostLive: a live VhostGpuServer, each connection a stand-in qemu that
 * starts the device as qemu does and then sends mutated requests with real fds
 * (memfds, eventfds) and kicks over mutated rings. A finding is an exception out
 * of the server, a good front-end refused or unanswered afterwards, or a memfd
 * or eventfd left open once every connection is gone.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BufshareError } from '../../lib/errors';
import * as native from '../../lib/native';
import { GuestMemory } from '../../lib/vm/guest-memory';
import { VhostGpuServer } from '../../lib/vm/vhost-gpu-source';
import {
  decodeConfig, decodeMemoryTable, decodeU64, decodeVringAddress, decodeVringFd, decodeVringState, encodeRequest, Req, VhostUserReader,
} from '../../lib/vm/vhost-user-wire';
import { Cmd, encodeCommand, Resp } from '../../lib/vm/virtio-gpu-wire';
import { MAX_RESOURCES, VirtioGpuDevice } from '../../lib/vm/virtio-gpu-device';
import { SplitQueue, VirtqueueError, VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from '../../lib/vm/virtio-queue';
import { fdTarget, openFds } from '../helpers/fds';
import { randInt, rng } from '../helpers/random';
import { FakeFrontEnd } from '../helpers/vhost-frontend';

type Rng = () => number;
const HANG_MS = 1000;
const INTERESTING = [0, 1, 2, 7, 8, 15, 16, 24, 255, 256, 4095, 4096, 4097, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

function pick<T>(r: Rng, xs: readonly T[]): T {
  return xs[randInt(r, 0, xs.length - 1)]!;
}

export function mutateBytes(r: Rng, msg: Uint8Array, other: () => Uint8Array): Uint8Array {
  let out = msg.slice();
  switch (randInt(r, 0, 6)) {
    case 0:
      for (let i = randInt(r, 1, 8); i > 0 && out.length > 0; i--) out[randInt(r, 0, out.length - 1)]! ^= 1 << randInt(r, 0, 7);
      break;
    case 1:
      if (out.length >= 4) new DataView(out.buffer).setUint32(4 * randInt(r, 0, (out.length >> 2) - 1), pick(r, INTERESTING), true);
      break;
    case 2:
      out = out.slice(0, randInt(r, 0, out.length));
      break;
    case 3: {
      const grown = new Uint8Array(out.length + randInt(r, 1, 64));
      grown.set(out);
      for (let i = out.length; i < grown.length; i++) grown[i] = randInt(r, 0, 255);
      out = grown;
      break;
    }
    case 4: {
      const b = other();
      const cut = randInt(r, 0, out.length), from = randInt(r, 0, b.length);
      const s = new Uint8Array(cut + b.length - from);
      s.set(out.subarray(0, cut));
      s.set(b.subarray(from), cut);
      out = s;
      break;
    }
    case 5:
      if (out.length >= 8) new DataView(out.buffer).setBigUint64(8 * randInt(r, 0, (out.length >> 3) - 1), BigInt(pick(r, INTERESTING)) << BigInt(randInt(r, 0, 32)), true);
      break;
    default:
      for (let i = randInt(r, 0, out.length), n = randInt(r, 1, 16); n > 0 && i < out.length; i++, n--) out[i] = randInt(r, 0, 255);
  }
  return out;
}

function u32s(...xs: number[]): Uint8Array {
  const out = new Uint8Array(4 * xs.length);
  xs.forEach((x, i) => new DataView(out.buffer).setUint32(4 * i, x >>> 0, true));
  return out;
}

function u64s(...xs: bigint[]): Uint8Array {
  const out = new Uint8Array(8 * xs.length);
  xs.forEach((x, i) => new DataView(out.buffer).setBigUint64(8 * i, x, true));
  return out;
}

/** A valid front-end request, as qemu sends them. */
function validRequest(r: Rng): { data: Uint8Array; fds: number } {
  switch (randInt(r, 0, 9)) {
    case 0: return { data: encodeRequest(Req.GET_FEATURES), fds: 0 };
    case 1: return { data: encodeRequest(Req.SET_FEATURES, u64s(0x150000000n)), fds: 0 };
    case 2: {
      const n = randInt(r, 1, 3);
      const p = new Uint8Array(8 + 32 * n);
      const v = new DataView(p.buffer);
      v.setUint32(0, n, true);
      for (let i = 0; i < n; i++) {
        v.setBigUint64(8 + 32 * i, BigInt(i * 0x100000), true);
        v.setBigUint64(16 + 32 * i, 0x100000n, true);
        v.setBigUint64(24 + 32 * i, 0x7f0000000000n + BigInt(i * 0x100000), true);
        v.setBigUint64(32 + 32 * i, BigInt(i * 0x100000), true);
      }
      return { data: encodeRequest(Req.SET_MEM_TABLE, p), fds: n };
    }
    case 3: return { data: encodeRequest(Req.SET_VRING_NUM, u32s(randInt(r, 0, 1), 256)), fds: 0 };
    case 4: return { data: encodeRequest(Req.SET_VRING_ADDR, new Uint8Array([...u32s(randInt(r, 0, 1), 0), ...u64s(0x7f0000010000n, 0x7f0000012000n, 0x7f0000011000n, 0n)])), fds: 0 };
    case 5: return { data: encodeRequest(Req.SET_VRING_BASE, u32s(randInt(r, 0, 1), 0)), fds: 0 };
    case 6: return { data: encodeRequest(pick(r, [Req.SET_VRING_KICK, Req.SET_VRING_CALL, Req.SET_VRING_ERR]), u64s(BigInt(randInt(r, 0, 1)))), fds: 1 };
    case 7: return { data: encodeRequest(Req.GET_CONFIG, new Uint8Array([...u32s(0, 16, 0), ...new Uint8Array(16)])), fds: 0 };
    case 8: return { data: encodeRequest(Req.GPU_SET_SOCKET), fds: 1 };
    default: return { data: encodeRequest(Req.GET_VRING_BASE, u32s(randInt(r, 0, 1), 0)), fds: 0 };
  }
}

function decodePayload(request: number, payload: Uint8Array): void {
  switch (request) {
    case Req.SET_FEATURES: case Req.SET_PROTOCOL_FEATURES: decodeU64(payload, 'u64'); break;
    case Req.SET_MEM_TABLE: decodeMemoryTable(payload); break;
    case Req.SET_VRING_NUM: case Req.SET_VRING_BASE: case Req.GET_VRING_BASE: case Req.SET_VRING_ENABLE: decodeVringState(payload, 'state'); break;
    case Req.SET_VRING_ADDR: decodeVringAddress(payload); break;
    case Req.SET_VRING_KICK: case Req.SET_VRING_CALL: case Req.SET_VRING_ERR: decodeVringFd(payload, 'fd'); break;
    case Req.GET_CONFIG: case Req.SET_CONFIG: decodeConfig(payload, 'config'); break;
    default: break;
  }
}

export interface VhostFuzzResult {
  inputs: number;
  accepted: number;
  rejected: number;
  findings: string[];
  slowestMs: number;
}

const isProtocol = (e: unknown): boolean => e instanceof BufshareError && e.code === 'ERR_BUFSHARE_PROTOCOL';

export function fuzzVhostDecoder(seed: number, inputs: number): VhostFuzzResult {
  const r = rng(seed ^ 0x7711);
  const res: VhostFuzzResult = { inputs: 0, accepted: 0, rejected: 0, findings: [], slowestMs: 0 };
  let nextFd = 1000;
  for (let i = 0; i < inputs; i++) {
    const msgs = Array.from({ length: randInt(r, 1, 4) }, () => validRequest(r));
    let stream = new Uint8Array(msgs.reduce((n, m) => n + m.data.length, 0));
    let at = 0;
    for (const m of msgs) {
      stream.set(m.data, at);
      at += m.data.length;
    }
    if (r() < 0.9) stream = mutateBytes(r, stream, () => validRequest(r).data);
    const given = new Set<number>();
    const closed: number[] = [];
    const returned: number[] = [];
    const reader = new VhostUserReader((fd) => closed.push(fd));
    const t0 = performance.now();
    let ok = true;
    try {
      for (let pos = 0; pos < stream.length;) {
        const n = randInt(r, 1, Math.max(1, stream.length - pos));
        const fds = Array.from({ length: r() < 0.3 ? randInt(r, 1, r() < 0.05 ? 12 : 3) : 0 }, () => nextFd++);
        for (const fd of fds) given.add(fd);
        const out = reader.push(stream.subarray(pos, pos + n), fds);
        pos += n;
        for (const m of out) {
          returned.push(...m.fds);
          try {
            decodePayload(m.request, m.payload);
          } catch (e) {
            if (!isProtocol(e)) res.findings.push(`input ${i}: payload decoder threw ${(e as Error).stack}`);
          }
        }
      }
    } catch (e) {
      ok = false;
      if (!isProtocol(e)) res.findings.push(`input ${i}: reader threw ${(e as Error).stack}`);
    }
    reader.discard();
    if (ok) res.accepted++;
    else res.rejected++;
    // Every fd: handed out with a message xor closed, exactly once.
    const seen = new Map<number, number>();
    for (const fd of [...closed, ...returned]) seen.set(fd, (seen.get(fd) ?? 0) + 1);
    for (const fd of given) if (seen.get(fd) !== 1) res.findings.push(`input ${i}: fd ${fd} ${seen.get(fd) === undefined ? 'leaked' : `accounted ${seen.get(fd)} times`}`);
    const ms = performance.now() - t0;
    res.slowestMs = Math.max(res.slowestMs, ms);
    if (ms > HANG_MS) res.findings.push(`input ${i}: ${ms.toFixed(0)} ms`);
    res.inputs++;
    if (res.findings.length > 50) break;
  }
  return res;
}

const Q = 16;
const RAM = 1024 * 1024;
const UVA = 0x7f0000000000;
const DESC = 0x1000, AVAIL = 0x2000, USED = 0x3000, BUF = 0x10000;

/** A valid command of the 2D set, with its body. */
function validCommand(r: Rng): Uint8Array {
  const id = randInt(r, 1, 4);
  switch (randInt(r, 0, 8)) {
    case 0: return encodeCommand(Cmd.GET_DISPLAY_INFO);
    case 1: return encodeCommand(Cmd.RESOURCE_CREATE_2D, [id, 2, randInt(r, 1, 64), randInt(r, 1, 64)]);
    case 2: return encodeCommand(Cmd.RESOURCE_UNREF, [id, 0]);
    case 3: {
      const n = randInt(r, 1, 4);
      const body = [id, n];
      for (let k = 0; k < n; k++) body.push(0x40000 + 0x1000 * randInt(r, 0, 100), 0, pick(r, [4096, 8192, 3000]), 0);
      return encodeCommand(Cmd.RESOURCE_ATTACH_BACKING, body);
    }
    case 4: return encodeCommand(Cmd.SET_SCANOUT, [0, 0, randInt(r, 1, 64), randInt(r, 1, 64), randInt(r, 0, 1), id]);
    case 5: return encodeCommand(Cmd.TRANSFER_TO_HOST_2D, [0, 0, randInt(r, 1, 64), randInt(r, 1, 64), 0, 0, id, 0]);
    case 6: return encodeCommand(Cmd.RESOURCE_FLUSH, [0, 0, randInt(r, 1, 64), randInt(r, 1, 64), id, 0]);
    case 7: return encodeCommand(Cmd.RESOURCE_DETACH_BACKING, [id, 0]);
    default: return encodeCommand(Cmd.UPDATE_CURSOR, [0, 5, 5, 0, id, 1, 1, 0]);
  }
}

export function fuzzVhostChains(seed: number, inputs: number): VhostFuzzResult {
  const r = rng(seed ^ 0x5a5a);
  const res: VhostFuzzResult = { inputs: 0, accepted: 0, rejected: 0, findings: [], slowestMs: 0 };
  const fd = native.memfdCreate('fuzz-guest', RAM, 0x2 | 0x4);
  const mem = new GuestMemory([{ guestAddress: 0, size: RAM, userAddress: UVA, mmapOffset: 0, fd }]);
  const ramBytes = mem.guest(0, RAM)!;
  const dv = new DataView(ramBytes.buffer, ramBytes.byteOffset, RAM);
  const device = new VirtioGpuDevice(() => mem, { numScanouts: 2, displaySizes: [{ width: 640, height: 480 }] });
  device.on('flush', (f) => f.view?.unref());
  try {
    for (let i = 0; i < inputs; i++) {
      const t0 = performance.now();
      // A valid chain per head (command, maybe entries, response), then mutations of the table and ring.
      const heads = randInt(r, 1, 4);
      let buf = BUF;
      for (let h = 0; h < heads; h++) {
        let cmd = validCommand(r);
        if (r() < 0.5) cmd = mutateBytes(r, cmd, () => validCommand(r));
        ramBytes.set(cmd.subarray(0, Math.min(cmd.length, 0x1000)), buf);
        const d = 3 * h;
        const put = (k: number, addr: number, len: number, flags: number, next: number): void => {
          dv.setBigUint64(DESC + 16 * k, BigInt(addr), true);
          dv.setUint32(DESC + 16 * k + 8, len, true);
          dv.setUint16(DESC + 16 * k + 12, flags, true);
          dv.setUint16(DESC + 16 * k + 14, next, true);
        };
        put(d, buf, Math.min(cmd.length, 0x1000), VIRTQ_DESC_F_NEXT, d + 1);
        put(d + 1, buf + 0x1000, 408, VIRTQ_DESC_F_WRITE, 0);
        if (r() < 0.1) put(d, 0x20000, 32, VIRTQ_DESC_F_INDIRECT, 0); // an indirect table of garbage
        dv.setUint16(AVAIL + 4 + 2 * h, d, true);
        buf += 0x2000;
      }
      dv.setUint16(AVAIL + 2, heads, true);
      dv.setUint16(USED + 2, 0, true);
      // Mutate: random descriptor words, ring words, the index.
      for (let m = randInt(r, 0, 6); m > 0; m--) {
        const where = pick(r, [DESC, DESC, AVAIL, 0x20000]);
        const off = where + 4 * randInt(r, 0, (where === AVAIL ? 2 + Q : 4 * Q) - 1);
        if (r() < 0.5) dv.setUint32(off, pick(r, INTERESTING), true);
        else dv.setUint16(off, randInt(r, 0, 0xffff), true);
      }
      const q = new SplitQueue(mem, Q, { desc: UVA + DESC, avail: UVA + AVAIL, used: UVA + USED }, 0, { indirect: true });
      let ok = true;
      try {
        for (let k = 0; k < Q + 1; k++) {
          const chain = q.pop();
          if (chain === undefined) break;
          for (const b of [...chain.readable, ...chain.writable]) {
            if (b.buffer !== ramBytes.buffer || b.byteOffset < ramBytes.byteOffset || b.byteOffset + b.byteLength > ramBytes.byteOffset + RAM) {
              res.findings.push(`input ${i}: a chain buffer outside guest memory`);
            }
          }
          const written = device.control(chain);
          if (chain.error === undefined && written > chain.writableBytes) res.findings.push(`input ${i}: wrote ${written} into ${chain.writableBytes}`);
          q.push(chain.head, written);
        }
      } catch (e) {
        ok = false;
        if (!(e instanceof VirtqueueError)) res.findings.push(`input ${i}: ${(e as Error).stack}`);
      }
      if (device.resourceCount > MAX_RESOURCES) res.findings.push(`input ${i}: ${device.resourceCount} resources`);
      if (ok) res.accepted++;
      else res.rejected++;
      if (i % 1000 === 999) device.reset();
      const ms = performance.now() - t0;
      res.slowestMs = Math.max(res.slowestMs, ms);
      if (ms > HANG_MS) res.findings.push(`input ${i}: ${ms.toFixed(0)} ms`);
      res.inputs++;
      if (res.findings.length > 50) break;
    }
  } finally {
    device.reset();
    mem.close();
  }
  return res;
}

export interface VhostLiveResult {
  connections: number;
  refusedWithError: number;
  survived: number;
  serverExceptions: number;
  leakedFds: number;
  failures: string[];
}

function ownedFds(): string[] {
  return openFds().map((fd) => `${fd}:${fdTarget(fd) ?? ''}`).filter((f) => f.includes('/memfd:') || f.includes('[eventfd]'));
}

export async function fuzzVhostLive(seed: number, connections: number): Promise<VhostLiveResult> {
  const r = rng(seed ^ 0x1313);
  const res: VhostLiveResult = { connections: 0, refusedWithError: 0, survived: 0, serverExceptions: 0, leakedFds: 0, failures: [] };
  const dir = mkdtempSync(join(tmpdir(), 'bufshare-vhost-fuzz-'));
  const before = ownedFds();
  const server = VhostGpuServer.listen(join(dir, 'gpu.sock'));
  const onException = (e: unknown): void => {
    res.serverExceptions++;
    res.failures.push(`exception: ${(e as Error).stack}`);
  };
  process.on('uncaughtException', onException);
  server.on('frame', (f) => f.release());
  try {
    for (let c = 0; c < connections; c++) {
      res.connections++;
      const fe = new FakeFrontEnd(server.path);
      let endedWithError = false;
      const onDisconnect = (_reason: string, error: BufshareError | undefined): void => {
        if (error !== undefined) endedWithError = true;
      };
      server.on('disconnect', onDisconnect);
      try {
        if (r() < 0.7) await fe.start();
        for (let m = randInt(r, 1, 4); m > 0; m--) {
          const v = validRequest(r);
          const data = mutateBytes(r, v.data, () => validRequest(r).data);
          const fds: number[] = [];
          for (let k = r() < 0.3 ? randInt(r, 1, 3) : v.fds; k > 0; k--) fds.push(r() < 0.5 ? native.eventfdCreate() : native.memfdCreate('fuzz', 4096 * randInt(r, 1, 4), 0));
          try {
            if (data.length > 0) fe.sendRaw(data, fds);
          } catch {
            // the server already hung up
          }
          for (const fd of fds) native.closeFd(fd);
        }
        // Kick both rings over whatever state they are in.
        try {
          fe.kick(0);
          fe.kick(1);
        } catch {
          // rings never started
        }
        await new Promise((res2) => setTimeout(res2, 5));
      } finally {
        fe.close();
        await new Promise((res2) => setTimeout(res2, 2));
        server.off('disconnect', onDisconnect);
      }
      if (endedWithError) res.refusedWithError++;
      else res.survived++;
    }
    // A good front-end is still served.
    await new Promise((res2) => setTimeout(res2, 20));
    const good = new FakeFrontEnd(server.path);
    try {
      await good.start();
      const { resp } = await good.submit(0, [encodeCommand(Cmd.GET_DISPLAY_INFO)], 408);
      if (new DataView(resp.buffer).getUint32(0, true) !== Resp.OK_DISPLAY_INFO) res.failures.push('the good front-end got no display info');
    } catch (e) {
      res.failures.push(`the good front-end failed: ${(e as Error).message}`);
    } finally {
      good.close();
    }
    await new Promise((res2) => setTimeout(res2, 20));
  } finally {
    process.off('uncaughtException', onException);
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const left = ownedFds().filter((f) => !before.includes(f));
  res.leakedFds = left.length;
  if (left.length > 0) res.failures.push(`fds left open: ${left.join(', ')}`);
  return res;
}
