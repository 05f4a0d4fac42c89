// VmDisplay against a qemu played by the test (its QMP monitor and its D-Bus
// display, on real sockets, speaking the same messages as qemu 7.2's ui/dbus*.c),
// so that it can also misbehave: Listener calls with unknown formats, rectangles
// outside the surface, short pixel data, wrong signatures, a dma-buf fd; each
// gets an error reply and changes nothing, no fd is left. Also: the input calls
// VmDisplay makes (qnums, InputButton numbers), the cursor, and what happens
// when qemu goes.
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DBusConnection, Variant, type DBusMessage } from '../../lib/dbus';
import * as native from '../../lib/native';
import type { CompositorFrame } from '../../lib/surface-model';
import { VmDisplay, type VmSurface } from '../../lib/vm';
import { followSource, pixelRegion, Scene, SceneSeat } from '../../lib/scene';
import { resourceFds } from '../helpers/fds';

const XRGB = 0x20020888;
const LISTENER = { path: '/org/qemu/Display1/Listener', interface: 'org.qemu.Display1.Listener' };

/** A qemu: a QMP monitor at `path` and, after add_client, the org.qemu.Display1 objects with one graphic console. */
class FakeQemu {
  readonly calls: string[] = [];
  display: DBusConnection | undefined;
  listener: DBusConnection | undefined;
  private readonly listenSocket: native.StreamSocket;
  private monitor: native.StreamSocket | undefined;
  private storedFd = -1;
  private onListener: ((c: DBusConnection) => void) | undefined;
  readonly listenerReady: Promise<DBusConnection>;
  scanoutOnRegister = false;

  constructor(readonly path: string) {
    this.listenSocket = native.openStream(native.streamListen(path, 4), () => this.accept());
    this.listenSocket.poll(native.constants.POLL_READABLE);
    this.listenerReady = new Promise((r) => (this.onListener = r));
  }

  private accept(): void {
    const fd = this.listenSocket.accept();
    if (fd < 0) return;
    let text = '';
    const buf = new Uint8Array(4096);
    const fds = new Int32Array(28);
    const meta = new Int32Array(2);
    const monitor = native.openStream(fd, () => {
      const n = monitor.recvStream(buf, fds, meta);
      if (n < 0) {
        monitor.close();
        return;
      }
      if (meta[0]! > 0) this.storedFd = fds[0]!;
      for (let i = 1; i < meta[0]!; i++) native.closeFd(fds[i]!);
      text += Buffer.from(buf.subarray(0, n)).toString();
      for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n')) {
        const cmd = JSON.parse(text.slice(0, nl)) as { execute: string; arguments?: Record<string, string> };
        text = text.slice(nl + 1);
        this.command(cmd);
      }
    });
    this.monitor = monitor;
    monitor.poll(native.constants.POLL_READABLE);
    this.reply({ QMP: { version: { qemu: { major: 7, minor: 2, micro: 0 }, package: 'fake' }, capabilities: [] } });
  }

  private reply(v: unknown): void {
    this.monitor!.sendStream(Buffer.from(JSON.stringify(v) + '\n'));
  }

  private command(cmd: { execute: string; arguments?: Record<string, string> }): void {
    if (cmd.execute === 'add_client') {
      expect(cmd.arguments).to.include({ protocol: '@dbus-display' });
      const fd = this.storedFd;
      this.storedFd = -1;
      this.display = DBusConnection.open(fd, { role: 'server' });
      this.serve(this.display);
    }
    this.reply({ return: {} });
  }

  private record = (m: DBusMessage): void => {
    this.calls.push(`${m.interface}.${m.member}(${m.body.join(',')})`);
  };

  private serve(d: DBusConnection): void {
    d.exportObject('/org/qemu/Display1/VM', 'org.qemu.Display1.VM', {
      methods: {},
      properties: { ConsoleIDs: () => new Variant('au', [0]), Name: () => new Variant('s', 'fake') },
    });
    const console = '/org/qemu/Display1/Console_0';
    d.exportObject(console, 'org.qemu.Display1.Console', {
      methods: {
        SetUIInfo: this.record,
        RegisterListener: (m, fds) => {
          const fd = fds.take(m.body[0] as number);
          // qemu answers, then authenticates the listener connection as its server.
          setImmediate(() => {
            this.listener = DBusConnection.open(fd, { role: 'server' });
            void this.listener.ready.then(() => {
              // As qemu does when a listener registers: the current surface at once (before attach() resolved).
              if (this.scanoutOnRegister) void this.call('Scanout', 'uuuuay', [2, 2, 8, XRGB, new Uint8Array(16).fill(0x11)]);
              this.onListener!(this.listener!);
            });
          });
        },
      },
      properties: { Type: () => new Variant('s', 'Graphic'), Label: () => new Variant('s', 'Fake'), Head: () => new Variant('u', 0) },
    });
    d.exportObject(console, 'org.qemu.Display1.Keyboard', { methods: { Press: this.record, Release: this.record } });
    d.exportObject(console, 'org.qemu.Display1.Mouse', {
      methods: { Press: this.record, Release: this.record, SetAbsPosition: this.record, RelMotion: this.record },
      properties: { IsAbsolute: () => new Variant('b', true) },
    });
  }

  /** Calls the listener as qemu does; resolves with the error name, or 'ok'. */
  async call(member: string, signature: string, body: unknown[]): Promise<string> {
    try {
      await this.listener!.call({ ...LISTENER, member, signature, body });
      return 'ok';
    } catch (e) {
      return (e as { dbusName?: string }).dbusName ?? String(e);
    }
  }

  close(): void {
    this.listener?.close();
    this.display?.close();
    this.monitor?.close();
    this.listenSocket.close();
  }
}

function pixels(width: number, height: number, stride: number, seed: number): Uint8Array {
  const b = new Uint8Array(stride * height);
  for (let i = 0; i < b.length; i++) b[i] = (i * 7 + seed) & 255;
  return b;
}

describe('VmDisplay against a fake qemu (its QMP and D-Bus display on real sockets)', () => {
  let dir: string;
  let qemu: FakeQemu;
  let vm: VmDisplay;
  let baseline: string[];
  let frames: CompositorFrame[];
  let sourceFrames: number;

  beforeEach(async () => {
    baseline = resourceFds();
    dir = mkdtempSync(join(tmpdir(), 'bufshare-fakeqemu-'));
    qemu = new FakeQemu(join(dir, 'qmp.sock'));
    vm = await VmDisplay.attach(join(dir, 'qmp.sock'));
    await qemu.listenerReady;
    frames = [];
    sourceFrames = 0;
    vm.on('surface', (s) => s.on('frame', (f) => frames.push(f)));
    vm.on('frame', () => sourceFrames++);
  });

  afterEach(async () => {
    vm.close();
    qemu.close();
    await new Promise((r) => setTimeout(r, 20));
    rmSync(dir, { recursive: true, force: true });
    expect(resourceFds()).to.deep.equal(baseline);
  });

  const nextFrame = (): Promise<void> => new Promise((r) => setTimeout(r, 5));

  it('shows Scanout and Update as frames with damage, and refuses hostile Listener calls without changing the surface', async () => {
    const full = pixels(8, 6, 40, 1); // stride 40: wider than 8 pixels
    expect(await qemu.call('Scanout', 'uuuuay', [8, 6, 40, XRGB, full])).to.equal('ok');
    await nextFrame();
    const s = vm.surfaces[0] as VmSurface;
    expect([s.width, s.height, s.format.name, s.title]).to.deep.equal([8, 6, 'XRGB8888', 'Fake']);
    const expectPixels = (src: Uint8Array, srcStride: number, x0: number, y0: number, w: number, h: number): void => {
      const region = frames.at(-1)!.region;
      for (let y = 0; y < h; y++) {
        expect(Array.from(region.pixels.subarray((y0 + y) * region.stride + x0 * 4, (y0 + y) * region.stride + (x0 + w) * 4)))
          .to.deep.equal(Array.from(src.subarray(y * srcStride, y * srcStride + w * 4)));
      }
    };
    expectPixels(full, 40, 0, 0, 8, 6);
    expect(frames.at(-1)!.damage.bounds).to.deep.equal({ x: 0, y: 0, width: 8, height: 6 });
    expect(sourceFrames, 'the source emits its surfaces\' frames too').to.equal(frames.length);

    const patch = pixels(3, 2, 12, 99);
    expect(await qemu.call('Update', 'iiiiuuay', [4, 3, 3, 2, 12, XRGB, patch])).to.equal('ok');
    await nextFrame();
    expect(frames.at(-1)!.damage.bounds).to.deep.equal({ x: 4, y: 3, width: 3, height: 2 });
    expectPixels(patch, 12, 4, 3, 3, 2);
    const before = Uint8Array.from(frames.at(-1)!.region.pixels);
    const count = frames.length;
    const stats = { ...vm.stats };

    const invalid = 'org.freedesktop.DBus.Error.InvalidArgs';
    expect(await qemu.call('Update', 'iiiiuuay', [6, 0, 3, 1, 12, XRGB, patch])).to.equal(invalid); // past the right edge
    expect(await qemu.call('Update', 'iiiiuuay', [-1, 0, 1, 1, 4, XRGB, patch])).to.equal(invalid);
    expect(await qemu.call('Update', 'iiiiuuay', [0, 0, 3, 2, 12, XRGB, patch.subarray(0, 20)])).to.equal(invalid); // short data
    expect(await qemu.call('Update', 'iiiiuuay', [0, 0, 3, 2, 8, XRGB, patch])).to.equal(invalid); // stride < row
    expect(await qemu.call('Update', 'iiiiuuay', [0, 0, 1, 1, 4, 0x10020565, patch])).to.equal(invalid); // another format than the scanout's
    expect(await qemu.call('Update', 'iiiiuuay', [0, 0, 1, 1, 4, 0x12345678, patch])).to.equal(invalid); // no such pixman format
    expect(await qemu.call('Update', 'iiiiuuau', [0, 0, 1, 1, 4, XRGB, [1]])).to.equal(invalid); // wrong signature
    expect(await qemu.call('Scanout', 'uuuuay', [0, 6, 40, XRGB, full])).to.equal(invalid);
    expect(await qemu.call('Scanout', 'uuuuay', [20000, 1, 80000, XRGB, full])).to.equal(invalid);
    expect(await qemu.call('Scanout', 'uuuuay', [8, 600, 40, XRGB, full])).to.equal(invalid);
    expect(await qemu.call('CursorDefine', 'iiiiay', [4, 4, 0, 0, new Uint8Array(10)])).to.equal(invalid);
    const [x, y] = native.streamPair();
    expect(await qemu.call('ScanoutDMABUF', 'huuuutb', [x, 8, 6, 32, 0x34325258, 0n, true])).to.equal('org.freedesktop.DBus.Error.NotSupported');
    native.closeFd(x);
    native.closeFd(y);
    expect(await qemu.call('Nope', '', [])).to.equal('org.freedesktop.DBus.Error.UnknownMethod');
    await nextFrame();
    expect(frames.length).to.equal(count);
    expect(Array.from(frames.at(-1)!.region.pixels)).to.deep.equal(Array.from(before));
    expect(vm.stats).to.deep.equal(stats);

    // A new size: a resize, a new buffer.
    const resized = new Promise((r) => s.once('resize', (w, h) => r([w, h])));
    expect(await qemu.call('Scanout', 'uuuuay', [4, 2, 16, XRGB, pixels(4, 2, 16, 5)])).to.equal('ok');
    expect(await resized).to.deep.equal([4, 2]);
  });

  it('sends keys as qnums, the pointer as absolute positions and InputButtons, the wheel as buttons 3 and 4', async () => {
    await qemu.call('Scanout', 'uuuuay', [64, 48, 256, XRGB, new Uint8Array(256 * 48)]);
    await nextFrame();
    const s = vm.surfaces[0]!;
    s.keyboard({ action: 'key', key: 30, pressed: true }); // KEY_A: 0x1e
    s.keyboard({ action: 'key', key: 96, pressed: true }); // KEY_KPENTER: E0 1C -> 0x9c
    s.keyboard({ action: 'key', key: 96, pressed: false });
    s.keyboard({ action: 'leave' }); // KEY_A still held: released
    s.pointer({ action: 'motion', x: 10.4, y: 500, buttons: 0 }); // clamped into the console
    s.pointer({ action: 'down', x: 10, y: 20, buttons: 4, button: 2 });
    s.pointer({ action: 'up', x: 10, y: 20, buttons: 0, button: 2 });
    s.pointer({ action: 'axis', x: 10, y: 20, buttons: 0, axis: 'vertical', value: 10 });
    s.configure!(640, 480);
    await new Promise((r) => setTimeout(r, 50));
    expect(qemu.calls).to.deep.equal([
      'org.qemu.Display1.Keyboard.Press(30)', 'org.qemu.Display1.Keyboard.Press(156)', 'org.qemu.Display1.Keyboard.Release(156)',
      'org.qemu.Display1.Keyboard.Release(30)',
      'org.qemu.Display1.Mouse.SetAbsPosition(10,47)',
      'org.qemu.Display1.Mouse.SetAbsPosition(10,20)', 'org.qemu.Display1.Mouse.Press(2)',
      'org.qemu.Display1.Mouse.SetAbsPosition(10,20)', 'org.qemu.Display1.Mouse.Release(2)',
      'org.qemu.Display1.Mouse.Press(4)', 'org.qemu.Display1.Mouse.Release(4)',
      'org.qemu.Display1.Console.SetUIInfo(169,127,0,0,640,480)', // 640x480 at 96 dpi: 169 x 127 mm
    ]);
  });

  it('shows the guest\'s cursor (CursorDefine, with its hotspot) and hides it (MouseSet off)', async () => {
    await qemu.call('Scanout', 'uuuuay', [16, 16, 64, XRGB, new Uint8Array(64 * 16)]);
    await nextFrame();
    const s = vm.surfaces[0]!;
    const argb = new Uint8Array(2 * 2 * 4).fill(0x80);
    expect(await qemu.call('CursorDefine', 'iiiiay', [2, 2, 1, 0, argb])).to.equal('ok');
    expect(s.cursor?.hotspotX).to.equal(1);
    expect(s.cursor?.surface?.format.name).to.equal('ARGB8888');
    expect([s.cursor?.surface?.width, s.cursor?.surface?.height]).to.deep.equal([2, 2]);
    expect(await qemu.call('MouseSet', 'iii', [3, 4, 0])).to.equal('ok');
    expect(s.cursor?.surface).to.equal(null);
    expect(await qemu.call('MouseSet', 'iii', [3, 4, 1])).to.equal('ok');
    expect(s.cursor?.surface?.width).to.equal(2);
  });

  it('destroys the surface when qemu drops the listener, and closes when qemu goes', async () => {
    await qemu.call('Scanout', 'uuuuay', [4, 4, 16, XRGB, new Uint8Array(64)]);
    await nextFrame();
    const s = vm.surfaces[0]!;
    const destroyed = new Promise((r) => vm.once('surfaceDestroyed', r));
    qemu.listener!.close();
    expect(await destroyed).to.equal(s);
    expect(s.destroyed).to.equal(true);
    const closed = new Promise((r) => vm.once('close', r));
    qemu.close();
    await closed;
    expect(vm.closed).to.equal(true);
  });

  it('is shown by followSource like any source: the guest\'s pixels in the scene, its cursor drawn by the seat at the hotspot, input to the guest', async () => {
    const scene = new Scene();
    const output = scene.addOutput({ width: 64, height: 48 });
    const windows = scene.createTree();
    const stop = followSource(scene, vm, windows);
    const seat = new SceneSeat(scene);
    const screen = new Uint8Array(64 * 4 * 48);
    new Uint32Array(screen.buffer).fill(0x00336699);
    await qemu.call('Scanout', 'uuuuay', [64, 48, 256, XRGB, screen]);
    const cursor = new Uint32Array(4).fill(0xffff0000); // 2x2 opaque red ARGB
    await qemu.call('CursorDefine', 'iiiiay', [2, 2, 1, 1, new Uint8Array(cursor.buffer)]);
    await nextFrame();
    seat.pointer({ action: 'motion', x: 20, y: 10, buttons: 0 });
    await nextFrame();
    const fb = pixelRegion(64, 48);
    output.render(fb, 0);
    const at = (x: number, y: number): number => fb.pixels32[y * fb.stride32 + x]! & 0xffffff;
    expect(at(5, 5)).to.equal(0x336699);
    // The hotspot (1, 1) is at the pointer: the image covers (19..20, 9..10).
    expect([at(19, 9), at(20, 10), at(21, 10), at(18, 9)]).to.deep.equal([0xff0000, 0xff0000, 0x336699, 0x336699]);
    expect(qemu.calls).to.include('org.qemu.Display1.Mouse.SetAbsPosition(20,10)');
    stop();
  });

  it('announces a surface whose first Scanout came while attach() was still running', async () => {
    const late = new FakeQemu(join(dir, 'late.sock'));
    late.scanoutOnRegister = true;
    const other = await VmDisplay.attach(join(dir, 'late.sock'));
    try {
      const announced: VmSurface[] = [];
      other.on('surface', (s) => announced.push(s as VmSurface));
      await new Promise((r) => setTimeout(r, 50));
      expect(announced.map((s) => [s.width, s.height])).to.deep.equal([[2, 2]]);
      // Its first frame came before anyone listened: kept for whoever shows it (followSource's SceneSurface claims it).
      const frame = announced[0]!.claimFrame?.();
      expect(frame?.damage.toJSON()).to.deep.equal([{ x: 0, y: 0, width: 2, height: 2 }]);
      expect(frame?.region.pixels[0]).to.equal(0x11);
    } finally {
      other.close();
      late.close();
    }
  });
});
