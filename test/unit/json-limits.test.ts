import { expect } from 'chai';
import { decodeClientMessage, decodeServerMessage, encodeRequest } from '../../lib/protocol';
import { jsonTextDepth, MAX_JSON_DEPTH } from '../../lib/ipc/json-limits';
import { encodeEvent, Opcode, type JsonValue } from '../../lib/ipc/protocol';

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
}

/** A payload of `depth` nested arrays: [[[...[1]...]]]. */
function nested(depth: number): JsonValue {
  let v: JsonValue = 1;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

/** Raw bytes of a JSON message, bypassing the encoder's own checks (what a hostile peer sends). */
function raw(op: number, text: string): Uint8Array {
  const body = Buffer.from(text);
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, op, true);
  out.set(body, 4);
  return out;
}

describe('JSON depth bounds (both sides)', () => {
  it('counts nesting without parsing, ignoring brackets inside strings', () => {
    expect(jsonTextDepth('1')).to.equal(0);
    expect(jsonTextDepth('{"a":[1,{"b":[]}]}')).to.equal(4);
    expect(jsonTextDepth('{"a":"[[[[{{{\\"[["}')).to.equal(1);
    expect(jsonTextDepth('['.repeat(1000), 10)).to.equal(11);
  });

  it('the server refuses a request nested past the bound at decode time', () => {
    // The body is one level, the payload's arrays the rest.
    const atLimit = raw(Opcode.REQUEST, JSON.stringify({ payload: nested(MAX_JSON_DEPTH - 1) }));
    expect(decodeClientMessage(atLimit)).to.deep.include({ op: 'request', payload: nested(MAX_JSON_DEPTH - 1) });
    const over = raw(Opcode.REQUEST, JSON.stringify({ payload: nested(MAX_JSON_DEPTH) }));
    expect(code(() => decodeClientMessage(over))).to.equal('ERR_BUFSHARE_PROTOCOL');
    // The deepest a 64 KiB message can be: 32,000 levels.
    const deepest = raw(Opcode.REQUEST, `{"payload":${'['.repeat(32000)}${']'.repeat(32000)}}`);
    expect(code(() => decodeClientMessage(deepest))).to.equal('ERR_BUFSHARE_PROTOCOL');
  });

  it('the client refuses an event (and any JSON message) nested past the bound', () => {
    const over = raw(Opcode.EVENT, JSON.stringify({ surface: 1, payload: nested(MAX_JSON_DEPTH) }));
    expect(code(() => decodeServerMessage(over))).to.equal('ERR_BUFSHARE_PROTOCOL');
    const deepBuffers = raw(Opcode.SURFACE_BUFFERS, `{"surface":1,"width":1,"height":1,"format":0,"buffers":[${'['.repeat(5000)}${']'.repeat(5000)}]}`);
    expect(code(() => decodeServerMessage(deepBuffers))).to.equal('ERR_BUFSHARE_PROTOCOL');
  });

  it('neither side encodes a payload the other would refuse', () => {
    expect(code(() => encodeEvent(1, nested(MAX_JSON_DEPTH - 1)))).to.equal(undefined);
    expect(code(() => encodeEvent(1, nested(MAX_JSON_DEPTH)))).to.equal('ERR_BUFSHARE_INVALID_ARGUMENT');
    expect(code(() => encodeRequest(undefined, nested(MAX_JSON_DEPTH)))).to.equal('ERR_BUFSHARE_INVALID_ARGUMENT');
    // Deep enough to overflow JSON.stringify: still a clear error, not a RangeError.
    expect(code(() => encodeEvent(1, nested(200000)))).to.equal('ERR_BUFSHARE_INVALID_ARGUMENT');
  });
});
