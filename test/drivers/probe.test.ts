/**
 * The probe against the allocators, on every DRM node of this machine: the
 * verdict probeNode() reports for each kind must be what the allocator really
 * does (access, server mapping, read-only), render nodes must refuse with
 * ERR_BUFSHARE_RENDER_NODE, a fallback must say why in debug output, and the
 * auto allocator must take the probe's best choice.
 */
import { expect } from 'chai';
import {
  AutoAllocator, DumbAllocator, GbmAllocator, UdmabufAllocator, drmUnavailableReason, listDrmNodes, probe, udmabufUnavailableReason,
  type Allocator, type HardwareBuffer,
} from '../../lib';
import { setDebugSink } from '../../lib/debug';
import { openFds } from '../helpers/fds';

const unavailable = drmUnavailableReason();

function allocatorFor(kind: probe.HardwareKind, device: string): Allocator {
  if (kind === 'dumb') return new DumbAllocator({ device });
  if (kind === 'gbm') return new GbmAllocator({ device });
  return new UdmabufAllocator();
}

/** Allocates like a compositor would, with debug output captured. */
function allocateLogged(allocator: Allocator): { buffer: HardwareBuffer; lines: string[] } {
  const lines: string[] = [];
  const restoreSink = setDebugSink((l) => lines.push(l));
  const saved = process.env.BUFSHARE_DEBUG;
  process.env.BUFSHARE_DEBUG = '1';
  try {
    return { buffer: allocator.allocate({ width: 256, height: 256, format: 'XRGB8888', usage: 'hardware' }) as HardwareBuffer, lines };
  } finally {
    if (saved === undefined) delete process.env.BUFSHARE_DEBUG;
    else process.env.BUFSHARE_DEBUG = saved;
    restoreSink();
  }
}

function expectMatches(verdict: probe.AccessVerdict, allocator: Allocator): void {
  if (!verdict.usable) {
    expect(() => allocator.allocate({ width: 256, height: 256, format: 'XRGB8888', usage: 'hardware' })).to.throw();
    return;
  }
  const { buffer, lines } = allocateLogged(allocator);
  try {
    expect({ access: buffer.access, server: buffer.serverMapping, readOnly: buffer.readOnly })
      .to.deep.equal({ access: verdict.clientAccess, server: verdict.serverMapping, readOnly: verdict.readOnly });
    expect(buffer.export().descriptor.fds.includes('buffer')).to.equal(verdict.exportsBuffer);
    if (verdict.reasons.length > 0) {
      // A fallback says why in debug output.
      expect(lines.some((l) => l.startsWith('bufshare:access ') && l.includes(' because ')), lines.join('\n')).to.equal(true);
    }
  } finally {
    buffer.destroy();
  }
}

describe('the probe agrees with the allocators', function () {
  this.timeout(120000);
  let fdsBefore: number[] = [];
  let report: probe.ProbeReport | undefined;

  before(function () {
    if (unavailable && udmabufUnavailableReason()) {
      console.log(`    skipping: DRM not available here (${unavailable}); run it in the VM with npm run test:drivers`);
      this.skip();
    }
    fdsBefore = openFds();
    report = probe.probeMachine({ width: 256, height: 256 });
  });

  it('reports a JSON round-trippable report that finds hardware', () => {
    expect(JSON.parse(JSON.stringify(report))).to.deep.equal(report);
    expect(report!.verdict.hardware, report!.verdict.reason).to.equal(true);
  });

  for (const node of unavailable ? [] : listDrmNodes()) {
    it(`${node.path}: every kind's verdict is what its allocator does`, function () {
      const n = report!.nodes.find((x) => x.path === node.path)!;
      expect(n.open).to.deep.equal({ ok: true });
      for (const kind of ['dumb', 'gbm'] as const) {
        if (node.type === 'render') {
          // Render nodes refuse dumb buffers, and kms_swrast's gbm needs them.
          expect(n[kind].verdict.usable).to.equal(false);
          if (kind === 'dumb') {
            const onRender = allocatorFor('dumb', node.path);
            try {
              expect(() => onRender.allocate({ width: 8, height: 8, format: 'XRGB8888' })).to.throw(/use a card node/).with.property('code', 'ERR_BUFSHARE_RENDER_NODE');
            } finally {
              onRender.close();
            }
          }
          continue;
        }
        const allocator = allocatorFor(kind, node.path);
        try {
          expectMatches(n[kind].verdict, allocator);
        } finally {
          allocator.close();
        }
      }
    });
  }

  it('udmabuf: the verdict is what UdmabufAllocator does', function () {
    if (udmabufUnavailableReason()) {
      expect(report!.machine.udmabuf.verdict.usable).to.equal(false);
      this.skip();
    }
    const allocator = new UdmabufAllocator();
    expectMatches(report!.machine.udmabuf.verdict, allocator);
    allocator.close();
  });

  it("the auto allocator takes the probe's best choice", () => {
    const auto = new AutoAllocator();
    const b = auto.allocate({ width: 64, height: 64, format: 'XRGB8888', usage: 'hardware' }) as HardwareBuffer;
    const best = report!.verdict.best!;
    expect({ kind: b.kind, access: b.access }).to.deep.equal({ kind: best.kind, access: best.clientAccess });
    expect(auto.hardwareChoice).to.deep.equal(best);
    b.destroy();
    auto.close();
  });

  it('a gbm modifier the device cannot do is ERR_BUFSHARE_UNSUPPORTED_MODIFIER', function () {
    const gbm = report!.verdict.usable.find((c) => c.kind === 'gbm');
    if (!gbm) this.skip();
    const allocator = new GbmAllocator({ device: gbm!.device! });
    try {
      // I915_FORMAT_MOD_X_TILED: no virtual GPU has it.
      expect(() => allocator.allocate({ width: 64, height: 64, format: 'XRGB8888', usage: 'hardware', modifiers: [0x0100000000000001n] }))
        .to.throw(/modifiers 0x0100000000000001/).with.property('code', 'ERR_BUFSHARE_UNSUPPORTED_MODIFIER');
    } finally {
      allocator.close();
    }
  });

  it('leaves no fd behind', () => {
    expect(openFds().filter((fd) => !fdsBefore.includes(fd))).to.deep.equal([]);
  });
});
