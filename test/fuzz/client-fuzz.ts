/**
 * The client side against a hostile server, in one process: a raw server (the
 * transport, no BufferServer logic) greets each BufferClient properly, then
 * answers its create_surface with real buffers whose descriptors are mutated
 * half the time (sizes, strides, formats, fd counts, fds that hold less than
 * claimed), sends a few mutated or random server messages (some with fds), and
 * for unsealed buffers truncates the file while the client draws; some replies
 * come with read-only fds, some are of another size than asked, and some never
 * come (the client must give up within its reply timeout).
 *
 * Passes when nothing escapes as an uncaught exception or unhandled rejection,
 * every createSurface either resolves or rejects with a BufshareError, and after
 * each round the process's buffer and socket fds (resourceFds) and live
 * mappings are back at the baseline.
 */
import { openSync } from 'node:fs';
import { BufferClient, BufshareError, ShmAllocator, type SharedBuffer } from '../../lib';
import * as native from '../../lib/native';
import {
  decodeClientMessage, encodeSurfaceBuffers, encodeWelcome, DEFAULT_LIMITS, encodeGoodbye,
} from '../../lib/ipc/protocol';
import { Connection, Listener } from '../../lib/ipc/transport';
import { leakedFds, resourceFds } from '../helpers/fds';
import { tempSocketDir } from '../helpers/ipc';
import { rng, randInt } from '../helpers/random';
import { mutate, randomMessage, validServerMessage, type Rng } from './mutate';

export interface ClientFuzzResult {
  seed: number;
  rounds: number;
  surfacesCreated: number;
  surfacesRefused: number;
  hostileMessages: number;
  truncatedUnderClient: number;
  /** Replies whose buffer fds were reopened read-only (a write through them used to kill the client). */
  readOnlyFds: number;
  /** Replies whose descriptors claim readOnly over writable fds. */
  readOnlyFlags: number;
  /** Replies of another size than asked. */
  wrongSize: number;
  /** create_surface left unanswered (the client must give up, not wait forever). */
  unanswered: number;
  failures: string[];
}

/** The client's reply timeout in the fuzzer: short, so that unanswered rounds end fast. */
const REPLY_TIMEOUT_MS = 1000;
/** A createSurface not settled by then waited forever (a finding). */
const SETTLE_LIMIT_MS = 5000;

const INTERESTING: unknown[] = [0, -1, 1, 2 ** 31, 2 ** 32, 1e300, NaN, null, 'x', [], {}, 16384, 16385, 4095, 4097, true, false];

function mutateDescriptor(r: Rng, d: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = JSON.parse(JSON.stringify(d)) as Record<string, unknown>;
  const keys = ['width', 'height', 'format', 'size', 'planes', 'kind', 'access', 'readOnly', 'fds', 'version', 'modifier', 'id', 'shadow'];
  const key = keys[randInt(r, 0, keys.length - 1)]!;
  if (key === 'planes' && r() < 0.7) out.planes = [{ offset: INTERESTING[randInt(r, 0, INTERESTING.length - 1)], stride: randInt(r, 0, 1 << 16) }];
  else out[key] = INTERESTING[randInt(r, 0, INTERESTING.length - 1)];
  return out;
}

function settle(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function fuzzClient(seed: number, rounds: number): Promise<ClientFuzzResult> {
  const r = rng(seed);
  const result: ClientFuzzResult = {
    seed, rounds, surfacesCreated: 0, surfacesRefused: 0, hostileMessages: 0, truncatedUnderClient: 0, readOnlyFds: 0, readOnlyFlags: 0, wrongSize: 0, unanswered: 0, failures: [],
  };
  const fail = (m: string): void => {
    if (result.failures.length < 50) result.failures.push(m);
  };
  const onUncaught = (e: unknown): void => fail(`uncaught: ${String(e)}`);
  const onRejection = (e: unknown): void => fail(`unhandled rejection: ${String(e)}`);
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onRejection);
  const sock = tempSocketDir();
  const listener = new Listener(sock.path);
  let server: Connection | undefined;
  let buffers: SharedBuffer[] = [];
  let unsealed = false;
  listener.on('connection', (fd) => {
    server = new Connection(fd);
    server.on('message', (data, received) => {
      for (const f of received) native.closeFd(f);
      let m;
      try {
        m = decodeClientMessage(data);
      } catch {
        return;
      }
      if (m.op === 'hello') server!.send(encodeWelcome(1, DEFAULT_LIMITS));
      if (m.op !== 'create_surface') return;
      if (r() < 0.05) {
        result.unanswered++;
        return;
      }
      unsealed = r() < 0.3;
      const alloc = new ShmAllocator({ forceFallback: unsealed });
      // Another size than asked, sometimes (consistent with itself: only the request disagrees).
      const wrongSize = r() < 0.1;
      if (wrongSize) result.wrongSize++;
      const width = wrongSize ? m.width + randInt(r, 1, 256) : m.width;
      const height = wrongSize ? m.height + randInt(r, 0, 256) : m.height;
      buffers = Array.from({ length: m.bufferCount }, () => alloc.allocate({ width, height, format: m.format }));
      const descriptors: unknown[] = [];
      const fds: number[] = [];
      // Flagged read-only over writable memory (a server's lie, or a bug): an
      // honest client must not map what it draws into read-only.
      const flagReadOnly = r() < 0.05;
      if (flagReadOnly) result.readOnlyFlags++;
      buffers.forEach((b, i) => {
        const e = b.export();
        const d = { ...e.descriptor, id: i + 1, ...(flagReadOnly ? { readOnly: true } : {}) };
        descriptors.push(r() < 0.5 && !flagReadOnly ? mutateDescriptor(r, d) : d);
        fds.push(...e.fds);
      });
      const reopened: number[] = [];
      if (r() < 0.1) {
        // The same memory, but read-only fds: what a read-only dma-buf export is, with or without the flag saying so.
        result.readOnlyFds++;
        for (let i = 0; i < fds.length; i++) reopened.push((fds[i] = openSync(`/proc/self/fd/${fds[i]!}`, 'r')));
      }
      if (r() < 0.1) fds.pop(); // one fd short
      let smaller: number | undefined;
      if (r() < 0.1) {
        smaller = native.memfdCreate('small', 4096, 0); // holds less than any descriptor claims
        fds[0] = smaller;
      }
      server!.send(encodeSurfaceBuffers({ surface: m.surface, width, height, format: buffers[0]!.format.fourcc, buffers: descriptors }), fds);
      if (smaller !== undefined) native.closeFd(smaller);
      for (const fd of reopened) if (fd !== smaller) native.closeFd(fd);
    });
  });

  for (let round = 0; round < rounds; round++) {
    await settle(0);
    const baseline = resourceFds();
    const mappings = native.mappingStats().live;
    let client: BufferClient;
    try {
      client = await BufferClient.connect({ path: sock.path, replyTimeoutMs: REPLY_TIMEOUT_MS });
    } catch (e) {
      fail(`round ${round}: connect failed: ${String(e)}`);
      continue;
    }
    client.on('error', () => undefined); // expected; the point is that nothing else escapes
    const closed = new Promise<void>((resolve) => client.on('close', () => resolve()));
    const asked = { width: randInt(r, 1, 64), height: randInt(r, 1, 48) };
    let watchdog: ReturnType<typeof setTimeout> | undefined;
    const surface = await Promise.race([
      client.createSurface({ ...asked, format: 'XRGB8888', bufferCount: randInt(r, 1, 3) as 1 | 2 | 3 }).then(
        (s) => s,
        (e: unknown) => {
          if (!(e instanceof BufshareError)) fail(`round ${round}: createSurface rejected with ${String(e)}`);
          return undefined;
        },
      ),
      new Promise<undefined>((resolve) => {
        watchdog = setTimeout(() => {
          fail(`round ${round}: createSurface still waiting after ${SETTLE_LIMIT_MS} ms`);
          client.close();
          resolve(undefined);
        }, SETTLE_LIMIT_MS);
      }),
    ]);
    clearTimeout(watchdog);
    if (surface && (surface.width !== asked.width || surface.height !== asked.height)) {
      fail(`round ${round}: asked for ${asked.width}x${asked.height}, got a ${surface.width}x${surface.height} surface`);
    }
    if (surface) {
      result.surfacesCreated++;
      try {
        const { buffer, region } = await surface.nextBuffer();
        if (unsealed && r() < 0.7) {
          // The hostile server shrinks the file under the client's mapping.
          native.truncateFd(buffers[0]!.fd, 0);
          if (buffers.length > 1) native.truncateFd(buffers[1]!.fd, 0);
          result.truncatedUnderClient++;
        }
        region.pixels.fill(0x5a);
        surface.submit(buffer, [{ x: 0, y: 0, width: surface.width, height: surface.height }]);
      } catch (e) {
        if (!(e instanceof BufshareError)) fail(`round ${round}: drawing threw ${String(e)}`);
      }
    } else {
      result.surfacesRefused++;
    }
    for (let i = randInt(r, 0, 5); i > 0 && server && !server.closed; i--) {
      const msg = r() < 0.2 ? randomMessage(r) : mutate(r, validServerMessage(r), () => validServerMessage(r));
      const extra = r() < 0.2 ? [native.memfdCreate('extra', 4096, 0)] : [];
      try {
        server.send(msg, extra);
        result.hostileMessages++;
      } catch {
        // The client hung up on an earlier message.
      } finally {
        for (const f of extra) native.closeFd(f);
      }
      await settle(1);
    }
    if (server && !server.closed) {
      server.send(encodeGoodbye('round over'));
      server.close('round over');
    }
    await closed;
    for (const b of buffers) b.destroy();
    buffers = [];
    await settle(5);
    const leaked = leakedFds(baseline, resourceFds());
    if (leaked.length > 0) fail(`round ${round}: fds left open: ${leaked.join(' ')}`);
    const live = native.mappingStats().live;
    if (live !== mappings) fail(`round ${round}: ${live - mappings} mapping(s) left`);
  }
  listener.close();
  sock.cleanup();
  process.off('uncaughtException', onUncaught);
  process.off('unhandledRejection', onRejection);
  return result;
}

if (require.main === module) {
  const seed = Number(process.argv[2] ?? 1);
  void fuzzClient(seed, Number(process.argv[3] ?? 300)).then((res) => {
    console.log(JSON.stringify(res, null, 1));
    process.exit(res.failures.length === 0 ? 0 : 1);
  });
}
