// The Wayland wire codec and stream transport: round trips, and every malformed
// input the decoder must refuse.
import { expect } from 'chai';
import { mkdtempSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as native from '../../lib/native';
import { WaylandConnection } from '../../lib/wayland/connection';
import { WaylandListener } from '../../lib/wayland/listener';
import { wl_display, wl_registry, wl_shm, wl_surface } from '../../lib/wayland/protocol/wayland';
import { xdg_toplevel } from '../../lib/wayland/protocol/xdg-shell';
import type { MessageSpec } from '../../lib/wayland/spec';
import { decodeArgs, encodeMessage, readHeader, WireError, type ArgValue, type FdSource } from '../../lib/wayland/wire';
import { resourceFds } from '../helpers/fds';

function request(iface: { requests: readonly MessageSpec[] }, name: string): { spec: MessageSpec; opcode: number } {
  const opcode = iface.requests.findIndex((m) => m.name === name);
  return { spec: iface.requests[opcode]!, opcode };
}

const noFds: FdSource = { shift: () => undefined };

function roundTrip(spec: MessageSpec, args: ArgValue[], fds: FdSource = noFds): ArgValue[] {
  const { bytes } = encodeMessage(7, 3, spec, args);
  const h = readHeader(bytes, 0, bytes.byteLength)!;
  expect(h).to.deep.equal({ objectId: 7, opcode: 3, size: bytes.byteLength });
  return decodeArgs(spec, bytes.subarray(8), fds);
}

function words(...w: number[]): Uint8Array {
  const b = new Uint8Array(w.length * 4);
  const v = new DataView(b.buffer);
  w.forEach((x, i) => v.setUint32(i * 4, x >>> 0, true));
  return b;
}

describe('wayland wire codec', () => {
  it('generated tables carry the versions real clients bind', () => {
    expect(wl_surface.version).to.be.at.least(4);
    expect(wl_display.enums.error).to.deep.equal({ invalid_object: 0, invalid_method: 1, no_memory: 2, implementation: 3 });
    expect(request(wl_registry, 'bind').spec.args[1]).to.deep.equal({ name: 'id', type: 'new_id' });
  });

  it('round-trips every argument type', () => {
    const bind = request(wl_registry, 'bind').spec;
    expect(roundTrip(bind, [5, { interface: 'wl_compositor', version: 4, id: 9 }])).to.deep.equal([5, { interface: 'wl_compositor', version: 4, id: 9 }]);
    const title = request(xdg_toplevel, 'set_title').spec;
    expect(roundTrip(title, ['héllo wörld'])).to.deep.equal(['héllo wörld']);
    expect(roundTrip(title, ['abc'])).to.deep.equal(['abc']); // 4 bytes with NUL: no padding
    const attach = request(wl_surface, 'attach').spec;
    expect(roundTrip(attach, [0, -3, 7])).to.deep.equal([0, -3, 7]);
    const createPool = request(wl_shm, 'create_pool').spec;
    const queue = [42];
    expect(roundTrip(createPool, [3, 42, 4096], { shift: () => queue.shift() })).to.deep.equal([3, 42, 4096]);
    const motion = xdg_toplevel.events.find((e) => e.name === 'configure')!;
    const arr = new Uint8Array([1, 0, 0, 0, 4, 0, 0, 0]);
    const out = roundTrip(motion, [640, -1, arr]);
    expect(out[0]).to.equal(640);
    expect(out[1]).to.equal(-1);
    expect([...(out[2] as Uint8Array)]).to.deep.equal([...arr]);
  });

  it('fixed is 24.8', () => {
    const spec: MessageSpec = { name: 'm', since: 1, args: [{ name: 'x', type: 'fixed' }] };
    expect(roundTrip(spec, [-12.5])).to.deep.equal([-12.5]);
    expect(decodeArgs(spec, words(0x100), noFds)).to.deep.equal([1]);
  });

  it('refuses headers that can never be valid', () => {
    expect(() => readHeader(words(1, (4 << 16) | 0), 0, 8)).to.throw(WireError, /smaller than its header/);
    expect(() => readHeader(words(1, (10 << 16) | 0), 0, 8)).to.throw(WireError, /multiple of 4/);
    expect(() => readHeader(words(1, (4100 << 16) | 0), 0, 8)).to.throw(WireError, /over 4096/);
    expect(readHeader(words(1), 0, 4)).to.equal(undefined);
  });

  it('refuses malformed strings, ids, arrays and missing fds', () => {
    const title = request(xdg_toplevel, 'set_title').spec;
    expect(() => decodeArgs(title, words(0), noFds)).to.throw(WireError, /null string/);
    expect(() => decodeArgs(title, words(8, 0x61616161, 0x61616161), noFds)).to.throw(WireError, /not NUL-terminated/);
    expect(() => decodeArgs(title, words(4, 0x00610061), noFds)).to.throw(WireError, /NUL inside/);
    expect(() => decodeArgs(title, words(100, 0), noFds)).to.throw(WireError, /overruns/);
    expect(() => decodeArgs(title, words(2, 0x61), noFds)).to.not.throw();
    expect(() => decodeArgs(title, words(2, 0x61, 0), noFds)).to.throw(WireError, /after the last argument/);
    const attach = request(wl_surface, 'attach').spec;
    expect(() => decodeArgs(attach, words(0, 0), noFds)).to.throw(WireError, /ends before/);
    const frame = request(wl_surface, 'frame').spec;
    expect(() => decodeArgs(frame, words(0), noFds)).to.throw(WireError, /new id 0/);
    const setParent = request(xdg_toplevel, 'set_parent').spec; // nullable object
    expect(decodeArgs(setParent, words(0), noFds)).to.deep.equal([0]);
    const getToplevel = { name: 'obj', since: 1, args: [{ name: 'o', type: 'object', interface: 'wl_surface' }] };
    expect(() => decodeArgs(getToplevel, words(0), noFds)).to.throw(WireError, /null object/);
    const createPool = request(wl_shm, 'create_pool').spec;
    expect(() => decodeArgs(createPool, words(3, 4096), noFds)).to.throw(WireError, /fd fd missing/);
    const arr: MessageSpec = { name: 'a', since: 1, args: [{ name: 'keys', type: 'array' }] };
    expect(() => decodeArgs(arr, words(5, 0), noFds)).to.throw(WireError, /overruns/);
  });

  it('refuses to encode what does not fit the signature', () => {
    const attach = request(wl_surface, 'attach').spec;
    expect(() => encodeMessage(1, 1, attach, [0, 0.5, 0])).to.throw(WireError);
    expect(() => encodeMessage(1, 1, attach, [0, 0])).to.throw(WireError);
    const title = request(xdg_toplevel, 'set_title').spec;
    expect(() => encodeMessage(1, 2, title, ['x'.repeat(5000)])).to.throw(WireError, /over 4096/);
    expect(() => encodeMessage(1, 2, title, ['é'.repeat(2100)])).to.throw(WireError, /over 4096/);
    // 8 header + 4 length + 4084 (4083 bytes, NUL): exactly 4096; one byte more pads to 4100.
    expect(encodeMessage(1, 2, title, ['x'.repeat(4083)]).bytes.byteLength).to.equal(4096);
    expect(() => encodeMessage(1, 2, title, ['x'.repeat(4084)])).to.throw(WireError, /over 4096/);
  });

  it('writes every byte: padding is zero whatever came before, and each message owns its bytes', () => {
    const title = request(xdg_toplevel, 'set_title').spec;
    const long = 'ÿ'.repeat(40) + 'tail';
    const first = encodeMessage(9, 2, title, [long]);
    const ab = encodeMessage(9, 2, title, ['ab']);
    expect([...ab.bytes]).to.deep.equal([...words(9, (16 << 16) | 2, 3), 0x61, 0x62, 0, 0]);
    const configure = xdg_toplevel.events.find((e) => e.name === 'configure')!;
    const arr = encodeMessage(4, 0, configure, [1, 2, new Uint8Array([7])]);
    expect([...arr.bytes]).to.deep.equal([...words(4, (24 << 16) | 0, 1, 2, 1), 7, 0, 0, 0]);
    // The first message is untouched by the later ones (no shared buffer).
    expect(decodeArgs(title, first.bytes.subarray(8), noFds)).to.deep.equal([long]);
    expect(ab.fds).to.deep.equal([]);
  });

  it('a message encoded from inside another (a getter that sends) leaves both intact', () => {
    const bind = request(wl_registry, 'bind').spec;
    const done = wl_display.events.find((e) => e.name === 'delete_id')!;
    let inner: Uint8Array | undefined;
    const id = {
      get interface(): string {
        inner = encodeMessage(1, 1, done, [0xdeadbeef]).bytes;
        return 'wl_seat';
      },
      version: 7,
      id: 3,
    };
    const outer = encodeMessage(2, 0, bind, [7, id]);
    expect(decodeArgs(bind, outer.bytes.subarray(8), noFds)).to.deep.equal([7, { interface: 'wl_seat', version: 7, id: 3 }]);
    expect([...inner!]).to.deep.equal([...words(1, (12 << 16) | 1, 0xdeadbeef)]);
  });

  it('refuses a dynamic new_id that is not an interface name, a version and a non-zero id', () => {
    const bind = request(wl_registry, 'bind').spec;
    for (const bad of [{ interface: null, version: 1, id: 3 }, { version: 1, id: 3 }, { interface: ['ab'], version: 1, id: 3 },
      { interface: 'wl_seat', version: -1, id: 3 }, { interface: 'wl_seat', version: 1, id: 0 }, { interface: 'a\0b', version: 1, id: 3 }]) {
      expect(() => encodeMessage(2, 0, bind, [7, bad as never])).to.throw(WireError, /bad value for id/);
    }
  });
});

describe('wayland stream transport', () => {
  it('frames messages split across reads and delivers fds in order', async () => {
    const [a, b] = native.streamPair();
    const server = new WaylandConnection(a);
    const client = new WaylandConnection(b);
    const createPool = request(wl_shm, 'create_pool');
    const memfd = native.memfdCreate('wire-test', 4096, 0);
    const got: ArgValue[][] = [];
    server.onMessage = (h, body) => got.push([h.objectId, h.opcode, ...decodeArgs(createPool.spec, body, server)]);
    for (let i = 0; i < 40; i++) client.queue(encodeMessage(5, createPool.opcode, createPool.spec, [100 + i, memfd, 4096]));
    await new Promise((r) => setTimeout(r, 50));
    expect(got.length).to.equal(40);
    got.forEach((m, i) => expect(m.slice(0, 3)).to.deep.equal([5, createPool.opcode, 100 + i]));
    const fds = got.map((m) => m[3] as number);
    for (const fd of fds) expect(native.statFd(fd).size).to.equal(4096);
    for (const fd of fds) native.closeFd(fd);
    native.closeFd(memfd);
    server.close();
    client.close();
  });

  it('a malformed size reaches onWireError and the connection closes its queued fds', async () => {
    const before = resourceFds().length;
    const [a, b] = native.streamPair();
    const server = new WaylandConnection(a);
    const peer = native.openStream(b, () => {});
    const memfd = native.memfdCreate('wire-test', 4096, 0);
    let error: WireError | undefined;
    server.onWireError = (e) => {
      error = e;
      server.close('bad');
    };
    peer.sendStream(words(1, (10 << 16) | 0), Int32Array.from([memfd, memfd]));
    await new Promise((r) => setTimeout(r, 30));
    expect(error?.message).to.match(/multiple of 4/);
    expect(server.closed).to.equal(true);
    peer.close();
    native.closeFd(memfd);
    expect(resourceFds().length).to.equal(before);
  });

  it('more than 28 fds in one sendmsg cannot be sent, and the sender side refuses it', () => {
    const [a, b] = native.streamPair();
    const s = native.openStream(a, () => {});
    expect(() => s.sendStream(words(0), new Int32Array(29).fill(0))).to.throw(/28 fds/);
    s.close();
    native.closeFd(b);
  });
});

describe('wayland listener', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'wl-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('holds <name>.lock, refuses a second server and replaces a dead one\'s socket', () => {
    const path = join(dir, 'wayland-test');
    const first = new WaylandListener(path);
    expect(existsSync(`${path}.lock`)).to.equal(true);
    expect(() => new WaylandListener(path)).to.throw().with.property('code', 'ERR_BUFSHARE_ADDRESS_IN_USE');
    first.close();
    expect(existsSync(path)).to.equal(false);
    // A crashed server leaves its socket; its lock died with it.
    native.closeFd(native.streamListen(path, 1));
    const second = new WaylandListener(path);
    const fd = native.streamConnect(path);
    native.closeFd(fd);
    second.close();
  });
});
