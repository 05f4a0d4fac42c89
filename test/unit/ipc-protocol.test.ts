import { expect } from 'chai';
import { DEFAULT_LIMITS, MAX_MESSAGE_BYTES, PROTOCOL_VERSION, Region } from '../../lib';
import { decodeClientMessage, decodeServerMessage, encodeCreateSurface, encodeDestroySurface, encodeHello, encodeRequest, encodeResize, encodeSubmit } from '../../lib/protocol';
import { damageFromQuads } from '../../lib/ipc/damage';
import {
  encodeError, encodeEvent, encodeFrameDone, encodeGoodbye, encodeRelease, encodeSurfaceBuffers, encodeWelcome, MAX_WIRE_RECTS,
} from '../../lib/ipc/protocol';
import { randInt, rng, SEED } from '../helpers/random';

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
}

describe('IPC protocol', () => {
  it('round-trips every client message', () => {
    expect(decodeClientMessage(encodeHello('app'))).to.deep.equal({ op: 'hello', version: PROTOCOL_VERSION, name: 'app' });
    expect(decodeClientMessage(encodeHello())).to.deep.equal({ op: 'hello', version: PROTOCOL_VERSION, name: undefined });
    const create = { surface: 7, width: 640, height: 480, format: 'XRGB8888', usage: 'hardware', bufferCount: 3 } as const;
    expect(decodeClientMessage(encodeCreateSurface(create))).to.deep.equal({ op: 'create_surface', ...create });
    const damage = new Int32Array([1, 2, 3, 4, -5, -6, 2 ** 31 - 1, 0]);
    const submit = decodeClientMessage(encodeSubmit(7, 9, damage));
    expect(submit).to.deep.equal({ op: 'submit', surface: 7, buffer: 9, damage });
    expect(decodeClientMessage(encodeResize(7, 100, 50))).to.deep.equal({ op: 'resize', surface: 7, width: 100, height: 50 });
    expect(decodeClientMessage(encodeDestroySurface(7))).to.deep.equal({ op: 'destroy_surface', surface: 7 });
    expect(decodeClientMessage(encodeRequest(7, { a: [1, 'b', null] }))).to.deep.equal({ op: 'request', surface: 7, payload: { a: [1, 'b', null] } });
    expect(decodeClientMessage(encodeRequest(undefined, 'x'))).to.deep.equal({ op: 'request', surface: undefined, payload: 'x' });
  });

  it('round-trips every server message', () => {
    expect(decodeServerMessage(encodeWelcome(3, DEFAULT_LIMITS))).to.deep.equal({ op: 'welcome', version: PROTOCOL_VERSION, client: 3, limits: DEFAULT_LIMITS });
    const buffers = [{ id: 1 }, { id: 2 }];
    expect(decodeServerMessage(encodeSurfaceBuffers({ surface: 1, width: 2, height: 3, format: 0x34325258, buffers }))).to.deep.equal({
      op: 'surface_buffers', surface: 1, width: 2, height: 3, format: 0x34325258, buffers,
    });
    expect(decodeServerMessage(encodeRelease(1, 2))).to.deep.equal({ op: 'release', surface: 1, buffer: 2 });
    expect(decodeServerMessage(encodeFrameDone(4))).to.deep.equal({ op: 'frame_done', surface: 4 });
    expect(decodeServerMessage(encodeEvent(4, { x: 1 }))).to.deep.equal({ op: 'event', surface: 4, payload: { x: 1 } });
    expect(decodeServerMessage(encodeError('ERR_BUFSHARE_PROTOCOL', 'bad', true))).to.deep.equal({
      op: 'error', code: 'ERR_BUFSHARE_PROTOCOL', message: 'bad', fatal: true, surface: undefined,
    });
    expect(decodeServerMessage(encodeGoodbye('bye'))).to.deep.equal({ op: 'goodbye', reason: 'bye' });
  });

  it('refuses payloads that are not JSON or do not fit a message', () => {
    expect(code(() => encodeRequest(1, { big: 'x'.repeat(MAX_MESSAGE_BYTES) }))).to.equal('ERR_BUFSHARE_INVALID_ARGUMENT');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(code(() => encodeRequest(1, cyclic as never))).to.equal('ERR_BUFSHARE_INVALID_ARGUMENT');
    expect(code(() => encodeSubmit(1, 1, new Int32Array((MAX_WIRE_RECTS + 1) * 4)))).to.equal('ERR_BUFSHARE_INVALID_ARGUMENT');
    expect(encodeSubmit(1, 1, new Int32Array(MAX_WIRE_RECTS * 4)).length).to.be.at.most(MAX_MESSAGE_BYTES);
  });

  it('decoders throw ERR_BUFSHARE_PROTOCOL, and only that, for any mutation of a valid message', () => {
    const random = rng(SEED);
    const valid = [
      encodeHello('x'), encodeCreateSurface({ surface: 1, width: 2, height: 2, format: 'XRGB8888', usage: 'software', bufferCount: 2 }),
      encodeSubmit(1, 1, new Int32Array([0, 0, 1, 1])).slice(), encodeResize(1, 2, 2), encodeDestroySurface(1).slice(), encodeRequest(1, { k: 1 }),
      encodeWelcome(1, DEFAULT_LIMITS), encodeRelease(1, 1).slice(), encodeFrameDone(1).slice(), encodeEvent(1, 2), encodeError('E', 'm', false, 1), encodeGoodbye('r'),
    ];
    let refused = 0;
    for (let i = 0; i < 4000; i++) {
      const base = valid[i % valid.length]!;
      let m = base.slice();
      const kind = randInt(random, 0, 3);
      if (kind === 0) m[randInt(random, 0, m.length - 1)] = randInt(random, 0, 255);
      else if (kind === 1) m = m.subarray(0, randInt(random, 0, m.length));
      else if (kind === 2) m = Uint8Array.from([...m, ...Array.from({ length: randInt(random, 1, 8) }, () => randInt(random, 0, 255))]);
      else for (let k = 0; k < 4; k++) m[randInt(random, 0, m.length - 1)] ^= 1 << randInt(random, 0, 7);
      for (const decode of [decodeClientMessage, decodeServerMessage]) {
        const c = code(() => decode(m));
        if (c !== undefined) {
          expect(c, `seed ${SEED} input ${i}`).to.equal('ERR_BUFSHARE_PROTOCOL');
          refused++;
        }
      }
    }
    expect(refused).to.be.greaterThan(2000);
  });
});

describe('IPC damage', () => {
  it('clips to the buffer, drops empty rectangles, and bounds the count without losing a pixel', () => {
    const random = rng(SEED + 1);
    for (let round = 0; round < 50; round++) {
      const n = randInt(random, 0, 300);
      const quads = new Int32Array(n * 4);
      for (let i = 0; i < n; i++) quads.set([randInt(random, -40, 140), randInt(random, -40, 100), randInt(random, -10, 50), randInt(random, -10, 50)], i * 4);
      const max = randInt(random, 1, 16);
      const d = damageFromQuads(quads, 100, 60, max);
      expect(d.rects.length).to.be.at.most(max);
      expect(d.subtract({ x: 0, y: 0, width: 100, height: 60 }).isEmpty).to.equal(true);
      for (let i = 0; i < n; i++) {
        const [x, y, w, h] = quads.subarray(i * 4, i * 4 + 4);
        if (w! <= 0 || h! <= 0) continue;
        const inside = Region.from([{ x: x!, y: y!, width: w!, height: h! }]).clip(100, 60);
        expect(inside.subtract(d).isEmpty, `seed ${SEED + 1} round ${round}`).to.equal(true);
      }
    }
  });

  it('never overflows at the int32 edges', () => {
    const d = damageFromQuads(new Int32Array([2 ** 31 - 1, 0, 2 ** 31 - 1, 10, -(2 ** 31), 0, 2 ** 31 - 1, 10, 0, 0, 2 ** 31 - 1, 2 ** 31 - 1]), 50, 20, 4);
    expect(d.rects).to.deep.equal([{ x: 0, y: 0, width: 50, height: 20 }]);
  });
});
