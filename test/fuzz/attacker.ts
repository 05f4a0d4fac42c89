/**
 * Hostile clients for the live fuzzer, in their own process: argv[2] is JSON
 * { path, seed, messages, concurrency }. Each connection puts itself in a state
 * (nothing sent, greeted, greeted with a surface), sends one message that the
 * server must refuse (a mutated or random message that fails to decode, a valid
 * message out of order, a name it does not own, fds attached, an oversized
 * packet), then waits for the server's error and its disconnect. A tenth of them
 * follow up with a burst of garbage before reading.
 *
 * Prints one JSON line: { sent, errors, disconnects, hangs, unexpected, byMode }.
 */
import { openSync, closeSync } from 'node:fs';
import { BufshareError } from '../../lib/errors';
import * as native from '../../lib/native';
import {
  decodeClientMessage, decodeServerMessage, encodeCreateSurface, encodeHello, MAX_MESSAGE_BYTES, type ServerMessage,
} from '../../lib/ipc/protocol';
import { Connection } from '../../lib/ipc/transport';
import { rng, randInt } from '../helpers/random';
import { fuzzInput, randomMessage, validClientMessage, type Rng } from './mutate';

interface Options {
  path: string;
  seed: number;
  messages: number;
  concurrency: number;
}

type Mode = 'before-hello' | 'after-hello' | 'with-surface' | 'with-fds' | 'oversized';
const MODES: readonly Mode[] = ['before-hello', 'after-hello', 'after-hello', 'with-surface', 'with-fds', 'oversized'];
const HANG_MS = 5000;

const options = JSON.parse(process.argv[2]!) as Options;
const stats = { sent: 0, errors: 0, disconnects: 0, hangs: 0, emptyPackets: 0, lostAfterBurst: 0, lostSamples: [] as string[], unexpected: [] as string[], byMode: {} as Record<string, number> };

/**
 * A message the server must refuse in `mode` (this connection never created a
 * surface other than surface 1 in 'with-surface', so any other id is not its own).
 */
function hostileMessage(r: Rng, mode: Mode): Uint8Array {
  if (mode === 'oversized') return randomMessage(r).length > MAX_MESSAGE_BYTES ? randomMessage(r) : new Uint8Array(MAX_MESSAGE_BYTES + 1 + randInt(r, 0, 4096));
  for (;;) {
    const m = fuzzInput(r, validClientMessage);
    let decoded;
    try {
      decoded = decodeClientMessage(m);
    } catch {
      return m; // does not decode: refused in every state
    }
    if (mode === 'before-hello' && decoded.op !== 'hello') return m;
    if (mode === 'before-hello' || mode === 'with-fds') {
      if (mode === 'with-fds') return m;
      continue;
    }
    if (decoded.op === 'hello') return m; // twice
    const owned = mode === 'with-surface' ? 1 : -1;
    if ((decoded.op === 'submit' || decoded.op === 'resize' || decoded.op === 'destroy_surface') && decoded.surface !== owned) return m;
    if (decoded.op === 'request' && decoded.surface !== undefined && decoded.surface !== owned) return m;
    // A valid create_surface or request: the server would accept it. Draw again.
  }
}

function attack(r: Rng, index: number): Promise<void> {
  const mode = MODES[randInt(r, 0, MODES.length - 1)]!;
  stats.byMode[mode] = (stats.byMode[mode] ?? 0) + 1;
  const message = hostileMessage(r, mode);
  const burst = r() < 0.1 ? Array.from({ length: randInt(r, 1, 20) }, () => randomMessage(r)) : [];
  return new Promise((resolve) => {
    let connection: Connection;
    try {
      connection = Connection.connect(options.path);
    } catch (e) {
      stats.unexpected.push(`connect ${index}: ${String(e)}`);
      resolve();
      return;
    }
    let gotError = false;
    let phase: 'setup' | 'attacked' = 'setup';
    const timer = setTimeout(() => {
      stats.hangs++;
      stats.unexpected.push(`#${index} (${mode}): no disconnect within ${HANG_MS} ms`);
      connection.close('hang');
    }, HANG_MS);
    const fire = (): void => {
      phase = 'attacked';
      let fds: number[] | undefined;
      if (mode === 'with-fds') fds = [openSync('/dev/null', 'r')];
      try {
        connection.send(message, fds);
        stats.sent++;
        for (const b of burst) {
          if (connection.closed) break;
          connection.send(b);
          stats.sent++;
        }
      } catch (e) {
        if (!(e instanceof BufshareError && e.code === 'ERR_BUFSHARE_CONNECTION_CLOSED')) stats.unexpected.push(`send #${index}: ${String(e)}`);
      } finally {
        for (const fd of fds ?? []) closeSync(fd);
      }
    };
    connection.on('message', (data, fds) => {
      for (const fd of fds) native.closeFd(fd);
      let m: ServerMessage;
      try {
        m = decodeServerMessage(data);
      } catch (e) {
        stats.unexpected.push(`#${index}: undecodable reply ${String(e)}`);
        return;
      }
      if (m.op === 'error') {
        if (phase === 'attacked' && m.fatal) gotError = true;
        else stats.unexpected.push(`#${index} (${mode}): error in ${phase}: ${m.code} ${m.message}`);
      } else if (phase === 'setup' && m.op === 'welcome') {
        if (mode === 'with-surface') {
          connection.send(encodeCreateSurface({ surface: 1, width: 16, height: 16, format: 'XRGB8888', usage: 'software', bufferCount: 1 }).slice());
        } else {
          fire();
        }
      } else if (phase === 'setup' && m.op === 'surface_buffers') {
        fire();
      }
    });
    connection.on('close', (reason) => {
      clearTimeout(timer);
      if (phase === 'attacked') stats.disconnects++;
      if (gotError) stats.errors++;
      else if (phase === 'attacked' && burst.length > 0 && /EPIPE/.test(reason)) {
        // Was about 1 in 10,000 before the transport drained on EPIPE and the
        // server shut down reading before closing (docs/reliability.md); counted
        // apart to tell the two failure modes apart, and a failure either way.
        stats.lostAfterBurst++;
        if (stats.lostSamples.length < 5) stats.lostSamples.push(`#${index} (${mode}, burst ${burst.length}): ${Buffer.from(message.subarray(0, 32)).toString('hex')}`);
      } else if (phase === 'attacked') stats.unexpected.push(`#${index} (${mode}): disconnected without an error message (${reason}; burst ${burst.length}); sent ${message.length} bytes ${Buffer.from(message.subarray(0, 48)).toString('hex')}`);
      resolve();
    });
    if (message.length === 0) stats.emptyPackets++;
    if (mode === 'before-hello') fire();
    else connection.send(encodeHello(`attacker-${index}`).slice());
  });
}

async function main(): Promise<void> {
  const r = rng(options.seed);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < options.messages) await attack(r, next++);
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  stats.unexpected = stats.unexpected.slice(0, 50);
  console.log(JSON.stringify(stats));
}

void main();
