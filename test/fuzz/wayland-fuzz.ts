/**
 * Wayland fuzzers.
 *
 * fuzzWaylandDecoder: the wire decoder against valid requests and events of every
 * generated interface, mutated (bit flips, interesting words, size and opcode
 * changes, truncation, extension). A finding is an exception other than WireError,
 * a decoded value the handlers could not rely on (a string with a NUL, a zero new
 * id, an int out of range), an accepted message that does not re-encode to the
 * same bytes, or an input slower than HANG_MS.
 *
 * fuzzWaylandLive: a live WaylandServer, reached over its socket or in process
 * (one end of a socketpair handed to server.accept), against clients that set up
 * real objects (surface, toplevel, pool, buffer) and then send one mutated
 * message with 0-3 fds, while a well-behaved client keeps doing roundtrips. A
 * failure is a server exception, a hostile client neither refused nor still
 * served, the good client disconnected, or any fd or mapping left once every
 * hostile client is gone. One client in ten floods a wl_region with rectangles
 * instead (one in twenty): it must end served or in no_memory within REGION_FLOOD_MS.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as native from '../../lib/native';
import * as core from '../../lib/wayland/protocol/wayland';
import * as xdg from '../../lib/wayland/protocol/xdg-shell';
import * as viewporter from '../../lib/wayland/protocol/viewporter';
import * as dmabuf from '../../lib/wayland/protocol/linux-dmabuf';
import * as presentation from '../../lib/wayland/protocol/presentation-time';
import * as xdgOutput from '../../lib/wayland/protocol/xdg-output';
import * as decoration from '../../lib/wayland/protocol/xdg-decoration';
import * as primary from '../../lib/wayland/protocol/primary-selection';
import * as singlePixel from '../../lib/wayland/protocol/single-pixel-buffer';
import * as fractional from '../../lib/wayland/protocol/fractional-scale';
import * as activation from '../../lib/wayland/protocol/xdg-activation';
import * as idle from '../../lib/wayland/protocol/idle-inhibit';
import * as relative from '../../lib/wayland/protocol/relative-pointer';
import * as constraints from '../../lib/wayland/protocol/pointer-constraints';
import * as textInput from '../../lib/wayland/protocol/text-input';
import * as textInputV1 from '../../lib/wayland/protocol/text-input-v1';
import * as cursorShape from '../../lib/wayland/protocol/cursor-shape';
import * as syncobj from '../../lib/wayland/protocol/linux-drm-syncobj';
import type { WaylandClient } from '../../lib/wayland/client';
import { WaylandServer } from '../../lib/wayland/server';
import type { ArgSpec, InterfaceSpec, MessageSpec } from '../../lib/wayland/spec';
import { decodeArgs, encodeMessage, readHeader, WireError, type ArgValue } from '../../lib/wayland/wire';
import { resourceFds } from '../helpers/fds';
import { randInt, rng } from '../helpers/random';
import { RawWaylandClient } from '../helpers/wayland-client';

const HANG_MS = 1000;
/** A region flood's bound: its wall time includes sending ~500 KB through a loaded machine. */
const REGION_FLOOD_MS = 3000;
const INTERFACES: InterfaceSpec[] = [
  core, xdg, viewporter, dmabuf, presentation, xdgOutput, decoration, primary, singlePixel, fractional, activation, idle, relative, constraints, textInput, textInputV1, cursorShape, syncobj,
].flatMap((m) => Object.values(m));
const INTERESTING = [0, 1, 2, 3, 4, 7, 8, 0xff, 0x100, 0xffff, 0x10000, 4095, 4096, 4097, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

type Rng = () => number;

function pick<T>(r: Rng, a: readonly T[]): T {
  return a[Math.floor(r() * a.length)]!;
}

/** `nextId`: the sender's next free id, which a new id must be (libwayland's rule) to be accepted; most are. */
function randomArg(r: Rng, a: ArgSpec, fakeFd: number, nextId?: number): ArgValue {
  const newId = (): number => (nextId !== undefined && r() < 0.7 ? nextId : randInt(r, 2, 60));
  switch (a.type) {
    case 'int': return randInt(r, -(2 ** 31), 2 ** 31 - 1);
    case 'uint': return r() < 0.3 ? pick(r, INTERESTING) : randInt(r, 0, 1000);
    case 'fixed': return randInt(r, -100000, 100000) / 256;
    case 'string': return a.nullable && r() < 0.2 ? null : 'x'.repeat(randInt(r, 0, 40)) + pick(r, ['', 'é', 'wl_compositor']);
    case 'object': return a.nullable && r() < 0.2 ? 0 : randInt(r, 1, 40);
    case 'new_id': return a.interface === undefined ? { interface: pick(r, INTERFACES).name, version: randInt(r, 1, 9), id: newId() } : newId();
    case 'array': return new Uint8Array(randInt(r, 0, 24)).map(() => randInt(r, 0, 255));
    case 'fd': return fakeFd;
    default: throw new Error(`type ${a.type}`);
  }
}

function validMessage(r: Rng, msg: MessageSpec, objectId: number, opcode: number, nextId?: number): { bytes: Uint8Array; fds: number } {
  const args = msg.args.map((a) => randomArg(r, a, 1000, nextId));
  const e = encodeMessage(objectId, opcode, msg, args);
  return { bytes: e.bytes, fds: e.fds.length };
}

/** One mutation of a valid message (or random bytes). */
export function mutate(r: Rng, bytes: Uint8Array): Uint8Array {
  const b = bytes.slice();
  const view = new DataView(b.buffer);
  switch (randInt(r, 0, 7)) {
    case 0: for (let i = randInt(r, 1, 4); i > 0; i--) b[randInt(r, 0, b.length - 1)]! ^= 1 << randInt(r, 0, 7); return b;
    case 1: if (b.length >= 4) view.setUint32(4 * randInt(r, 0, (b.length >> 2) - 1), pick(r, INTERESTING), true); return b;
    case 2: view.setUint32(4, ((pick(r, [0, 4, 6, 8, 12, b.length - 4, b.length + 4, 4096, 4100, 0xffff]) << 16) | (view.getUint32(4, true) & 0xffff)) >>> 0, true); return b;
    case 3: view.setUint32(4, ((view.getUint32(4, true) & 0xffff0000) | randInt(r, 0, 20)) >>> 0, true); return b;
    case 4: return b.subarray(0, randInt(r, 0, b.length));
    case 5: { const out = new Uint8Array(b.length + 4 * randInt(r, 1, 8)); out.set(b); for (let i = b.length; i < out.length; i++) out[i] = randInt(r, 0, 255); return out; }
    case 6: view.setUint32(0, pick(r, [0, 1, 2, 3, 5, 0xff000000, 0xffffffff, randInt(r, 1, 100)]), true); return b;
    default: return new Uint8Array(4 * randInt(r, 0, 12)).map(() => randInt(r, 0, 255));
  }
}

export interface WaylandDecoderFuzzResult {
  inputs: number;
  accepted: number;
  rejected: number;
  findings: string[];
  slowestMs: number;
}

function invariant(msg: MessageSpec, args: ArgValue[]): string | undefined {
  for (let i = 0; i < msg.args.length; i++) {
    const a = msg.args[i]!;
    const v = args[i];
    if (a.type === 'string' && v !== null && (typeof v !== 'string' || v.includes('\0'))) return `string ${a.name}`;
    if (a.type === 'string' && v === null && !a.nullable) return `null string ${a.name}`;
    if (a.type === 'int' && (typeof v !== 'number' || !Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31)) return `int ${a.name}`;
    if ((a.type === 'uint' || a.type === 'object') && (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff)) return `uint ${a.name}`;
    if (a.type === 'object' && v === 0 && !a.nullable) return `null object ${a.name}`;
    if (a.type === 'new_id' && (v === 0 || (typeof v === 'object' && v !== null && !(v instanceof Uint8Array) && v.id === 0))) return `new id 0 ${a.name}`;
  }
  return undefined;
}

export function fuzzWaylandDecoder(seed: number, inputs: number): WaylandDecoderFuzzResult {
  const r = rng(seed ^ 0x5741594c);
  const result: WaylandDecoderFuzzResult = { inputs: 0, accepted: 0, rejected: 0, findings: [], slowestMs: 0 };
  for (let n = 0; n < inputs; n++) {
    const iface = pick(r, INTERFACES);
    const events = r() < 0.3;
    const list = events ? iface.events : iface.requests;
    if (list.length === 0) continue;
    const opcode = randInt(r, 0, list.length - 1);
    const { bytes: valid, fds } = validMessage(r, list[opcode]!, randInt(r, 1, 50), opcode);
    const input = r() < 0.1 ? valid : mutate(r, valid);
    const queue = Array.from({ length: r() < 0.8 ? fds : randInt(r, 0, 3) }, (_, i) => 500 + i);
    const start = performance.now();
    result.inputs++;
    try {
      const header = readHeader(input, 0, input.byteLength);
      if (header === undefined || header.size > input.byteLength) {
        result.rejected++;
        continue;
      }
      const msg = list[header.opcode];
      if (msg === undefined) {
        result.rejected++;
        continue;
      }
      const taken: number[] = [];
      const args = decodeArgs(msg, input.subarray(8, header.size), { shift: () => queue.shift() }, taken);
      const broken = invariant(msg, args);
      if (broken) result.findings.push(`${iface.name}.${msg.name}: ${broken} (${Buffer.from(input).toString('hex')})`);
      const again = encodeMessage(header.objectId, header.opcode, msg, args);
      // Fixed values round to 1/256 and strings re-encode from UTF-8: compare only where the mapping is exact.
      // Padding bytes are not checked (libwayland ignores them), so only messages without strings or arrays re-encode byte for byte.
      const exact = !msg.args.some((a) => a.type === 'string' || a.type === 'array' || (a.type === 'new_id' && a.interface === undefined));
      if (exact && Buffer.compare(Buffer.from(again.bytes), Buffer.from(input.subarray(0, header.size))) !== 0) {
        result.findings.push(`${iface.name}.${msg.name}: decoded message re-encodes differently (${Buffer.from(input).toString('hex')})`);
      }
      result.accepted++;
    } catch (e) {
      if (e instanceof WireError) result.rejected++;
      else result.findings.push(`${iface.name}: ${(e as Error).stack ?? String(e)}`);
    }
    const ms = performance.now() - start;
    result.slowestMs = Math.max(result.slowestMs, ms);
    if (ms > HANG_MS) result.findings.push(`${iface.name}: input took ${ms.toFixed(0)} ms`);
  }
  return result;
}

export interface WaylandLiveFuzzResult {
  connections: number;
  refused: number;
  stillServed: number;
  /** Clients whose cut-off message the server still waits to complete (closed by the fuzzer). */
  waiting: number;
  /** Clients that flooded a wl_region with holes instead (each ends served or in no_memory, within REGION_FLOOD_MS). */
  regionFloods: number;
  serverExceptions: number;
  goodRoundtrips: number;
  leakedFds: number;
  leakedMappings: number;
  failures: string[];
}

/** Sets up real objects of every interface the server implements; returns them, so mutations aim at live objects. */
async function setUp(c: RawWaylandClient, poolFd: number): Promise<[number, InterfaceSpec][]> {
  const registry = await c.registry();
  const comp = c.bind(registry, core.wl_compositor);
  const shm = c.bind(registry, core.wl_shm);
  const wm = c.bind(registry, xdg.xdg_wm_base);
  const surface = c.newId(core.wl_surface);
  c.request(comp, core.wl_compositor, 'create_surface', [surface]);
  const xs = c.newId(xdg.xdg_surface);
  c.request(wm, xdg.xdg_wm_base, 'get_xdg_surface', [xs, surface]);
  const top = c.newId(xdg.xdg_toplevel);
  c.request(xs, xdg.xdg_surface, 'get_toplevel', [top]);
  c.request(surface, core.wl_surface, 'commit', []);
  const pool = c.newId(core.wl_shm_pool);
  c.request(shm, core.wl_shm, 'create_pool', [pool, poolFd, 16384]);
  const buffer = c.newId(core.wl_buffer);
  c.request(pool, core.wl_shm_pool, 'create_buffer', [buffer, 0, 32, 32, 128, 1]);
  await c.roundtrip();
  const configure = c.events.find((e) => e.objectId === xs && e.name === 'configure');
  if (configure) c.request(xs, xdg.xdg_surface, 'ack_configure', [configure.args[0]!]);
  const output = c.bind(registry, core.wl_output);
  const outputs = c.bind(registry, xdgOutput.zxdg_output_manager_v1);
  const timing = c.bind(registry, presentation.wp_presentation);
  const feedback = c.newId(presentation.wp_presentation_feedback);
  c.request(timing, presentation.wp_presentation, 'feedback', [surface, feedback]);
  const objects: [number, InterfaceSpec][] = [
    [1, core.wl_display], [registry, core.wl_registry], [comp, core.wl_compositor], [shm, core.wl_shm], [wm, xdg.xdg_wm_base], [surface, core.wl_surface],
    [xs, xdg.xdg_surface], [top, xdg.xdg_toplevel], [pool, core.wl_shm_pool], [buffer, core.wl_buffer], [output, core.wl_output],
    [outputs, xdgOutput.zxdg_output_manager_v1], [timing, presentation.wp_presentation],
  ];
  /** Binds a global, or makes an object with `make` on the last one bound; both join the targets. */
  const bind = (iface: InterfaceSpec): number => {
    const id = c.bind(registry, iface);
    objects.push([id, iface]);
    return id;
  };
  const make = (parent: number, parentIface: InterfaceSpec, request: string, iface: InterfaceSpec, args: (id: number) => (number | string)[]): number => {
    const id = c.newId(iface);
    c.request(parent, parentIface, request, args(id) as never);
    objects.push([id, iface]);
    return id;
  };
  const seat = bind(core.wl_seat);
  const pointer = make(seat, core.wl_seat, 'get_pointer', core.wl_pointer, (id) => [id]);
  const subcompositor = bind(core.wl_subcompositor);
  // New ids go in order: the child surface before its subsurface.
  const child = make(comp, core.wl_compositor, 'create_surface', core.wl_surface, (id) => [id]);
  make(subcompositor, core.wl_subcompositor, 'get_subsurface', core.wl_subsurface, (id) => [id, child, surface]);
  make(bind(viewporter.wp_viewporter), viewporter.wp_viewporter, 'get_viewport', viewporter.wp_viewport, (id) => [id, surface]);
  make(wm, xdg.xdg_wm_base, 'create_positioner', xdg.xdg_positioner, (id) => [id]);
  const ddm = bind(core.wl_data_device_manager);
  make(ddm, core.wl_data_device_manager, 'create_data_source', core.wl_data_source, (id) => [id]);
  make(ddm, core.wl_data_device_manager, 'get_data_device', core.wl_data_device, (id) => [id, seat]);
  const psm = bind(primary.zwp_primary_selection_device_manager_v1);
  make(psm, primary.zwp_primary_selection_device_manager_v1, 'create_source', primary.zwp_primary_selection_source_v1, (id) => [id]);
  make(psm, primary.zwp_primary_selection_device_manager_v1, 'get_device', primary.zwp_primary_selection_device_v1, (id) => [id, seat]);
  make(bind(decoration.zxdg_decoration_manager_v1), decoration.zxdg_decoration_manager_v1, 'get_toplevel_decoration', decoration.zxdg_toplevel_decoration_v1, (id) => [id, top]);
  bind(singlePixel.wp_single_pixel_buffer_manager_v1);
  bind(fractional.wp_fractional_scale_manager_v1);
  make(bind(activation.xdg_activation_v1), activation.xdg_activation_v1, 'get_activation_token', activation.xdg_activation_token_v1, (id) => [id]);
  bind(idle.zwp_idle_inhibit_manager_v1);
  make(bind(relative.zwp_relative_pointer_manager_v1), relative.zwp_relative_pointer_manager_v1, 'get_relative_pointer', relative.zwp_relative_pointer_v1, (id) => [id, pointer]);
  bind(constraints.zwp_pointer_constraints_v1);
  make(bind(textInput.zwp_text_input_manager_v3), textInput.zwp_text_input_manager_v3, 'get_text_input', textInput.zwp_text_input_v3, (id) => [id, seat]);
  make(bind(textInputV1.zwp_text_input_manager_v1), textInputV1.zwp_text_input_manager_v1, 'create_text_input', textInputV1.zwp_text_input_v1, (id) => [id]);
  make(bind(cursorShape.wp_cursor_shape_manager_v1), cursorShape.wp_cursor_shape_manager_v1, 'get_pointer', cursorShape.wp_cursor_shape_device_v1, (id) => [id, pointer]);
  await c.roundtrip();
  return objects;
}

/**
 * A wl_region flooded with one-pixel holes (the attack that took 132 s): the
 * client must end served (its region stayed under the bound) or in no_memory,
 * within REGION_FLOOD_MS.
 */
async function regionFlood(r: Rng, c: RawWaylandClient, compositor: number, result: WaylandLiveFuzzResult): Promise<void> {
  result.regionFloods++;
  const region = c.newId(core.wl_region);
  c.request(compositor, core.wl_compositor, 'create_region', [region]);
  c.request(region, core.wl_region, 'add', [0, 0, 256, 256]);
  // One-pixel holes on a 2-pixel lattice: each splits a rectangle in up to four (an add
  // would merge the region back to 64 rectangles; subtracts cannot merge). Unbounded,
  // 20,000 of them took 2.2-10.5 s here; bounded, 0.2-1.3 s (on a loaded machine).
  for (let i = randInt(r, 18000, 22000); i > 0; i--) c.request(region, core.wl_region, 'subtract', [2 * randInt(r, 0, 127), 2 * randInt(r, 0, 127), 1, 1]);
  const start = performance.now();
  const served = await c.roundtrip(2 * REGION_FLOOD_MS).catch(() => false);
  const ms = performance.now() - start;
  if (ms > REGION_FLOOD_MS) result.failures.push(`a region flood took ${ms.toFixed(0)} ms`);
  if (served) result.stillServed++;
  else if (c.closed && c.error?.code === (core.wl_display.enums.error as { no_memory: number }).no_memory) result.refused++;
  else result.failures.push(`a region flood ended neither served nor in no_memory: ${JSON.stringify(c.error)}`);
}

export async function fuzzWaylandLive(seed: number, connections: number, mode: 'socket' | 'in-process'): Promise<WaylandLiveFuzzResult> {
  const r = rng(seed ^ 0x4c495645);
  const dir = mkdtempSync(join(tmpdir(), 'bufshare-wl-fuzz-'));
  const result: WaylandLiveFuzzResult = { connections: 0, refused: 0, stillServed: 0, waiting: 0, regionFloods: 0, serverExceptions: 0, goodRoundtrips: 0, leakedFds: 0, leakedMappings: 0, failures: [] };
  const fdsBefore = resourceFds();
  const mappingsBefore = native.mappingStats().live;
  const onException = (e: unknown): void => {
    result.serverExceptions++;
    result.failures.push(`uncaught: ${(e as Error).stack ?? String(e)}`);
  };
  process.on('uncaughtException', onException);
  const server = WaylandServer.listen({ name: join(dir, 'wayland-fuzz') });
  server.on('frame', (f) => {
    f.release();
    f.surface.frameDone();
  });
  // The server's side of the newest client: whether a raw message made an object.
  let latest: WaylandClient | undefined;
  server.on('client', (c) => {
    latest = c;
  });
  const good = new RawWaylandClient(server.path);
  const poolFd = native.memfdCreate('fuzz-pool', 16384, 0);
  try {
    await good.registry();
    for (let n = 0; n < connections; n++) {
      let c: RawWaylandClient;
      if (mode === 'socket') {
        c = new RawWaylandClient(server.path);
      } else {
        const [a, b] = native.streamPair();
        server.accept(a);
        c = new RawWaylandClient({ fd: b });
      }
      result.connections++;
      try {
        const objects = await setUp(c, poolFd);
        if (c.closed) {
          result.failures.push(`connection ${n}: set-up was refused: ${JSON.stringify(c.error)}`);
          continue;
        }
        if (r() < 0.05) {
          await regionFlood(r, c, objects[2]![0], result);
        } else {
          const [target, iface] = objects[randInt(r, 0, objects.length - 1)]!;
          const list = iface.requests;
          const opcode = randInt(r, 0, Math.max(0, list.length - 1));
          const nextId = c.nextObjectId;
          const base = list.length > 0 ? validMessage(r, list[opcode]!, target, opcode, nextId) : { bytes: new Uint8Array(8), fds: 0 };
          const bytes = mutate(r, base.bytes);
          const fds = Array.from({ length: r() < 0.7 ? base.fds : randInt(r, 0, 3) }, () => poolFd);
          if (bytes.byteLength > 0) c.sendRaw(bytes, fds);
          // The raw message may have made an object, at most with the next id (a new id must be the
          // next one): our sync must take the one after it then, and that id otherwise.
          await new Promise((res) => setTimeout(res, 5));
          if (latest?.lookup(nextId) !== undefined) c.skipIdsTo(nextId + 1);
          // A cut-off message makes the server wait for its rest (as libwayland does): then our sync is
          // swallowed into it and no answer comes. That is not a hang of the server: the good client's
          // roundtrips below prove it still serves.
          const answered = await c.roundtrip(300).catch(() => false);
          if (c.closed) {
            if (c.error === undefined) result.failures.push(`connection ${n}: disconnected without a wl_display.error (${Buffer.from(bytes).toString('hex')})`);
            else result.refused++;
          } else if (answered) {
            result.stillServed++; // a mutation that stayed valid
          } else {
            result.waiting++;
          }
        }
      } finally {
        c.close();
      }
      if (n % 10 === 0) {
        await good.roundtrip();
        if (good.closed) {
          result.failures.push('the good client was disconnected');
          break;
        }
        result.goodRoundtrips++;
      }
    }
    await good.roundtrip();
    if (good.closed || good.error) result.failures.push('the good client was disconnected');
  } finally {
    good.close();
    await new Promise((res) => setTimeout(res, 50));
    if (server.clients.size !== 0) result.failures.push(`${server.clients.size} clients still connected after every one closed`);
    await server.close();
    native.closeFd(poolFd);
    process.off('uncaughtException', onException);
    rmSync(dir, { recursive: true, force: true });
  }
  const fdsAfter = resourceFds();
  result.leakedFds = fdsAfter.filter((f) => !fdsBefore.includes(f)).length;
  result.leakedMappings = native.mappingStats().live - mappingsBefore;
  if (result.leakedFds > 0) result.failures.push(`leaked fds: ${fdsAfter.filter((f) => !fdsBefore.includes(f)).join(', ')}`);
  if (result.leakedMappings !== 0) result.failures.push(`${result.leakedMappings} mappings left`);
  return result;
}
