/**
 * The whole protocol on real drivers: for every card node and hardware kind
 * (dumb, gbm), with automatic and forced-shadow access, a BufferServer hands a
 * client in a SEPARATE process hardware buffers; the client draws through its
 * graphics region and submits damage; the server checks the damaged pixels
 * pixel-exact through its own mapping of the hardware buffer when 'frame' fires
 * (so for shadows, commitShadow ran first). One client process serves every
 * server, one after the other (Node starts in ~1.5 s in the VM).
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AutoAllocator, BufferServer, drmUnavailableReason, listDrmNodes, describeNode, type Frame } from '../../lib';
import { patternPixel } from '../helpers/pattern';
import { runTs } from '../helpers/spawn';
import { damageOf, FRAMES } from './ipc-client';

interface Setup {
  label: string;
  server: BufferServer;
  allocator: AutoAllocator;
  checked: { frame: number; mismatch?: string }[];
  error?: string;
}

/** The first damaged pixel that is not pattern(seed), or undefined. */
function checkDamaged(frame: Frame, seed: number, n: number): string | undefined {
  const d = damageOf(n);
  const r = frame.region;
  for (let y = d.y; y < d.y + d.height; y++) {
    for (let x = d.x; x < d.x + d.width; x++) {
      const got = r.pixels32[y * r.stride32 + x]!;
      const want = patternPixel(x, y, seed);
      if (got !== want) return `(${x}, ${y}): 0x${got.toString(16)} != 0x${want.toString(16)}`;
    }
  }
  return undefined;
}

describe('the protocol on real drivers', function () {
  this.timeout(300000);
  const why = drmUnavailableReason();
  const nodes = why ? [] : listDrmNodes().filter((n) => n.type === 'card');
  // Planned at load time so that each combination is its own test.
  const plan = nodes.flatMap((node) => {
    const driver = describeNode(node).driver.name;
    return (['dumb', 'gbm'] as const).flatMap((kind) => (['auto', 'shadow'] as const).map((access) => ({ node, driver, kind, access })));
  });
  const setups: Setup[] = [];
  let dir = '';
  let results: Record<string, unknown>[] = [];

  before(async function () {
    if (why) {
      console.log(`    skipped: ${why} (run \`npm run test:drivers\` for the VM)`);
      this.skip();
    }
    dir = mkdtempSync(join(process.env.XDG_RUNTIME_DIR ?? tmpdir(), 'bufshare-drv-'));
    for (const [i, { node, driver, kind, access }] of plan.entries()) {
      const allocator = new AutoAllocator({ allocator: kind, device: node.path, access });
      const server = BufferServer.listen({ path: join(dir, `s${i}`), allocator });
      const setup: Setup = { label: `${node.name} ${driver} ${kind} ${access}`, server, allocator, checked: [] };
      const seed = 5000 + i * 100;
      const counts = new Map<unknown, number>();
      server.on('frame', (frame) => {
        const n = counts.get(frame.surface) ?? 0;
        counts.set(frame.surface, n + 1);
        const mismatch = checkDamaged(frame, seed + n, n);
        setup.checked.push(mismatch === undefined ? { frame: n } : { frame: n, mismatch });
        frame.release();
        frame.surface.frameDone();
      });
      setups.push(setup);
    }
    const res = await runTs('test/drivers/ipc-client.ts', [JSON.stringify(setups.map((s) => s.server.path))]);
    expect(res.code, res.stderr).to.equal(0);
    results = JSON.parse(res.stdout.trim().split('\n').pop()!) as Record<string, unknown>[];
  });

  after(async () => {
    for (const s of setups) {
      await s.server.close();
      s.allocator.close();
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('runs a client against every card node, kind and access mode', () => {
    expect(results).to.have.length(setups.length);
    expect(setups.length).to.be.greaterThan(0);
  });

  for (const [k, p] of plan.entries()) {
    it(`${p.node.name} ${p.driver} ${p.kind} ${p.access}: frames arrive pixel-exact through the server's mapping`, function () {
      const s = setups[k];
      const r = results[k]!;
      const title = `${s!.label}: ${JSON.stringify(r)}`;
      if (!r.ok && /UNSUPPORTED_FORMAT|not available/i.test(String(r.error))) {
        console.log(`      ${s!.label}: ${String(r.error)}`);
        this.skip();
      }
      expect(r.ok, title).to.equal(true);
      expect(r.kind, title).to.equal(s!.label.split(' ')[2]);
      if (s!.label.endsWith('shadow')) expect(r.access, title).to.equal('shadow');
      expect(s!.checked, title).to.deep.equal(Array.from({ length: FRAMES }, (_, frame) => ({ frame })));
      console.log(`      ${s!.label}: ${String(r.kind)}/${String(r.access)}, client ${(r.strategies as string[])[0]}`);
    });
  }
});
