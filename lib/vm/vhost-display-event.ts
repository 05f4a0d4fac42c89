/**
 * Making qemu raise VIRTIO_GPU_EVENT_DISPLAY for a vhost-user-gpu guest, over
 * qemu's VNC server (`-vnc unix:PATH`): an RFB client that asks for a new
 * desktop size (the ExtendedDesktopSize extension's SetDesktopSize). qemu hands
 * it to its console (dpy_set_ui_info), the GPU device sets events_read and
 * interrupts the guest, and the guest re-reads GET_DISPLAY_INFO, which the
 * back-end answers with its own size (VhostGpuServer.setDisplaySize).
 *
 * Why this detour: qemu 7.2 keeps the virtio-gpu config's events_read itself
 * and ignores a vhost-user back-end's config-change message. Any qemu UI that
 * resizes the console does the same; VNC is the one every qemu build has. The
 * D-Bus display's Console.SetUIInfo is the other.
 *
 * How am I supposed to use this?
 *
 *   const vnc = await VncResizer.connect('/run/user/1000/vm-vnc.sock');
 *   VhostGpuServer.listen(path, { notifyDisplayChange: (_s, w, h) => vnc.resize(w, h) });
 *
 * resize() resolves with qemu's answer: 'forwarded' (status 4: the console took
 * it) or rejects with ERR_BUFSHARE_UNSUPPORTED when qemu refuses (status 3: no
 * display device that takes a size on that console).
 */
import { connect, type Socket } from 'node:net';
import { BufshareError } from '../errors';

const RFB_VERSION = 'RFB 003.008\n';
const ENCODING_EXTENDED_DESKTOP_SIZE = -308;
const MSG_SET_ENCODINGS = 2;
const MSG_SET_DESKTOP_SIZE = 251;
const MSG_FRAMEBUFFER_UPDATE = 0;
/** Bytes of one server message we read past the handshake before giving up on an answer. */
const MAX_BUFFERED = 1 << 20;

export type ResizeStatus = 'forwarded';

export class VncResizer {
  private buffered = Buffer.alloc(0);
  private readonly waiters: { want: number; resolve: (b: Buffer) => void; reject: (e: Error) => void }[] = [];
  private closed: Error | undefined;

  /** The console's size when we connected. */
  width = 0;
  height = 0;

  private constructor(private readonly socket: Socket) {}

  /** Connects to qemu's VNC unix socket and completes the RFB 3.8 handshake (security type None). */
  static async connect(path: string, timeoutMs = 5000): Promise<VncResizer> {
    const socket = connect(path);
    let self: VncResizer | undefined;
    const pending: Buffer[] = [];
    socket.on('data', (d: Buffer) => (self ? self.onData(d) : pending.push(d)));
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', (e) => reject(new BufshareError('ERR_BUFSHARE_NO_SERVER', `cannot reach qemu's VNC server at ${path}: ${e.message}`, { cause: e })));
    });
    const timer = setTimeout(() => socket.destroy(new Error('RFB handshake timed out')), timeoutMs);
    try {
      const r = new VncResizer(socket);
      self = r;
      socket.on('error', (e) => r.fail(e));
      socket.on('close', () => r.fail(new Error('qemu closed the VNC connection')));
      for (const d of pending) r.onData(d);
      const version = (await r.read(12)).toString('latin1');
      if (!version.startsWith('RFB 003.')) throw new Error(`not an RFB server: ${JSON.stringify(version)}`);
      socket.write(RFB_VERSION);
      const count = (await r.read(1))[0]!;
      if (count === 0) throw new Error(`qemu refused the connection: ${await r.reason()}`);
      const types = [...(await r.read(count))];
      if (!types.includes(1)) throw new Error(`qemu's VNC needs authentication (security types ${types.join(', ')}); only None is supported`);
      socket.write(Buffer.from([1]));
      if ((await r.read(4)).readUInt32BE(0) !== 0) throw new Error(`security handshake failed: ${await r.reason()}`);
      socket.write(Buffer.from([1])); // ClientInit: shared
      const init = await r.read(24);
      await r.read(init.readUInt32BE(20)); // the desktop name
      r.width = init.readUInt16BE(0);
      r.height = init.readUInt16BE(2);
      const enc = Buffer.alloc(8);
      enc.writeUInt8(MSG_SET_ENCODINGS, 0);
      enc.writeUInt16BE(1, 2);
      enc.writeInt32BE(ENCODING_EXTENDED_DESKTOP_SIZE, 4);
      socket.write(enc);
      return r;
    } catch (e) {
      socket.destroy();
      throw e instanceof BufshareError ? e : new BufshareError('ERR_BUFSHARE_PROTOCOL', `VNC: ${(e as Error).message}`, { cause: e });
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Asks qemu for a width x height console; resolves once qemu says it forwarded
   * the size to the display device. One resize at a time.
   */
  async resize(width: number, height: number, timeoutMs = 5000): Promise<ResizeStatus> {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || width > 0xffff || height > 0xffff) {
      throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', `a VNC desktop is 1..65535 a side, got ${width}x${height}`);
    }
    const msg = Buffer.alloc(24);
    msg.writeUInt8(MSG_SET_DESKTOP_SIZE, 0);
    msg.writeUInt16BE(width, 2);
    msg.writeUInt16BE(height, 4);
    msg.writeUInt8(1, 6); // one screen
    msg.writeUInt32BE(0, 8); // screen id
    msg.writeUInt16BE(width, 16);
    msg.writeUInt16BE(height, 18);
    this.socket.write(msg);
    const timer = setTimeout(() => this.fail(new BufshareError('ERR_BUFSHARE_TIMEOUT', `qemu did not answer the desktop size request in ${timeoutMs} ms`)), timeoutMs);
    try {
      // Skip server messages until a FramebufferUpdate whose rectangle is ExtendedDesktopSize.
      for (;;) {
        const type = (await this.read(1))[0]!;
        if (type !== MSG_FRAMEBUFFER_UPDATE) throw new BufshareError('ERR_BUFSHARE_PROTOCOL', `VNC: unexpected server message ${type}`);
        const head = await this.read(3);
        const rects = head.readUInt16BE(1);
        for (let i = 0; i < rects; i++) {
          const rect = await this.read(12);
          const encoding = rect.readInt32BE(8);
          if (encoding !== ENCODING_EXTENDED_DESKTOP_SIZE) throw new BufshareError('ERR_BUFSHARE_PROTOCOL', `VNC: unexpected rectangle encoding ${encoding} (no update was asked for)`);
          const screens = (await this.read(4))[0]!;
          await this.read(16 * screens);
          // x: who changed it (1 this client), y: the status (0 ok, 3 invalid layout, 4 forwarded).
          const status = rect.readUInt16BE(2);
          if (rect.readUInt16BE(0) !== 1) continue; // a size change made by someone else
          if (status === 4 || status === 0) return 'forwarded';
          throw new BufshareError('ERR_BUFSHARE_UNSUPPORTED', `qemu refused the desktop size ${width}x${height} (status ${status}: ${status === 3 ? 'its console takes no size (no such display device)' : 'refused'})`);
        }
      }
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(d: Buffer): void {
    this.buffered = Buffer.concat([this.buffered, d]);
    if (this.buffered.length > MAX_BUFFERED) return this.fail(new BufshareError('ERR_BUFSHARE_LIMIT_EXCEEDED', 'VNC: over 1 MiB of server data unread'));
    this.pump();
  }

  private pump(): void {
    while (this.waiters.length > 0 && this.buffered.length >= this.waiters[0]!.want) {
      const w = this.waiters.shift()!;
      const out = this.buffered.subarray(0, w.want);
      this.buffered = this.buffered.subarray(w.want);
      w.resolve(Buffer.from(out));
    }
  }

  private fail(e: Error): void {
    this.closed ??= e;
    for (const w of this.waiters.splice(0)) w.reject(e);
    this.socket.destroy();
  }

  private read(n: number): Promise<Buffer> {
    if (this.closed) return Promise.reject(this.closed);
    return new Promise((resolve, reject) => {
      this.waiters.push({ want: n, resolve, reject });
      this.pump();
    });
  }

  private async reason(): Promise<string> {
    const len = (await this.read(4)).readUInt32BE(0);
    return (await this.read(Math.min(len, 4096))).toString('utf8');
  }
}
