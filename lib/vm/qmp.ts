/**
 * QmpClient: qemu's machine protocol (QMP, docs/interop/qmp-spec) on a unix
 * socket: one JSON object per line; a greeting, then `qmp_capabilities`, then
 * commands answered in order (`return` or `error`), with asynchronous `event`s
 * between them. fds travel with a command as SCM_RIGHTS (`getfd`, `add-fd`).
 *
 *   const qmp = await QmpClient.connect('/run/vm/qmp.sock');
 *   await qmp.execute('getfd', { fdname: 'display' }, [fd]);   // qemu keeps a dup
 *   qmp.on('event', (name, data) => ...);
 *
 * Bounds: a line from qemu is at most 16 MiB (query answers are far smaller);
 * past it, or on JSON that is not QMP, the client closes with ERR_BUFSHARE_QMP.
 */
import { EventEmitter } from 'eventemitter3';
import { BufshareError } from '../errors';
import * as native from '../native';

const MAX_LINE = 16 * 1024 * 1024;

export interface QmpGreeting {
  readonly version: { readonly qemu: { readonly major: number; readonly minor: number; readonly micro: number }; readonly package: string };
  readonly capabilities: readonly string[];
}

export interface QmpClientEvents {
  event: [name: string, data: unknown];
  close: [reason: string];
}

interface Pending {
  command: string;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

function qmpError(message: string): BufshareError {
  return new BufshareError('ERR_BUFSHARE_QMP', message);
}

export class QmpClient extends EventEmitter<QmpClientEvents> {
  greeting: QmpGreeting | undefined;
  private readonly socket: native.StreamSocket;
  private readonly pending: Pending[] = [];
  private chunks: Buffer[] = [];
  private chunkBytes = 0;
  private readonly recvBuf = new Uint8Array(65536);
  private readonly recvFds = new Int32Array(native.MAX_FDS_PER_STREAM_SEND);
  private readonly recvMeta = new Int32Array(2);
  private outgoing: { bytes: Uint8Array; fds: number[] }[] = [];
  private waitingWritable = false;
  private isClosed = false;
  private onGreeting: ((g: QmpGreeting) => void) | undefined;

  /** Connects, reads the greeting and enters command mode (qmp_capabilities). */
  static async connect(path: string, options: { timeoutMs?: number } = {}): Promise<QmpClient> {
    const client = new QmpClient(native.streamConnect(path));
    const timeoutMs = options.timeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        (async () => {
          await new Promise<QmpGreeting>((resolve, reject) => {
            client.onGreeting = resolve;
            client.once('close', (reason) => reject(qmpError(`QMP at ${path} closed before its greeting: ${reason}`)));
          });
          await client.execute('qmp_capabilities');
        })(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new BufshareError('ERR_BUFSHARE_TIMEOUT', `QMP at ${path}: no greeting in ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } catch (e) {
      client.close('connect failed');
      throw e;
    } finally {
      clearTimeout(timer);
    }
    return client;
  }

  /** Takes ownership of `fd`, a connected stream socket to a QMP monitor. */
  constructor(fd: number) {
    super();
    this.socket = native.openStream(fd, (status, events) => this.onEvent(status, events));
    this.socket.poll(native.constants.POLL_READABLE);
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** qemu's pid (SO_PEERCRED of the monitor socket); 0 when unknown. */
  get peerPid(): number {
    try {
      return this.socket.peerCred().pid;
    } catch {
      return 0;
    }
  }

  /**
   * Runs a command; resolves with its `return`, rejects with ERR_BUFSHARE_QMP
   * (qemu's error class and description) or ERR_BUFSHARE_CONNECTION_CLOSED.
   * `fds` (borrowed) go with the command's first byte; qemu keeps its own copies.
   */
  execute(command: string, args?: Record<string, unknown>, fds: readonly number[] = []): Promise<unknown> {
    if (this.isClosed) return Promise.reject(new BufshareError('ERR_BUFSHARE_CONNECTION_CLOSED', `${command}: QMP is closed`));
    const line = JSON.stringify(args === undefined ? { execute: command } : { execute: command, arguments: args }) + '\n';
    const dups = fds.map((fd) => native.dupFd(fd));
    this.outgoing.push({ bytes: Buffer.from(line, 'utf8'), fds: dups });
    this.flush();
    return new Promise((resolve, reject) => this.pending.push({ command, resolve, reject }));
  }

  close(reason = 'closed'): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.socket.close();
    for (const o of this.outgoing) for (const fd of o.fds) native.closeFd(fd);
    this.outgoing = [];
    for (const p of this.pending.splice(0)) p.reject(new BufshareError('ERR_BUFSHARE_CONNECTION_CLOSED', `${p.command}: QMP closed: ${reason}`));
    this.emit('close', reason);
  }

  private flush(): void {
    while (!this.isClosed && this.outgoing.length > 0) {
      const head = this.outgoing[0]!;
      let sent: number;
      try {
        sent = this.socket.sendStream(head.bytes, head.fds.length > 0 ? Int32Array.from(head.fds) : undefined);
      } catch (e) {
        this.close(`send failed: ${(e as Error).message}`);
        return;
      }
      if (sent === 0) {
        this.setWritable(true);
        return;
      }
      for (const fd of head.fds) native.closeFd(fd);
      head.fds = [];
      if (sent === head.bytes.byteLength) this.outgoing.shift();
      else head.bytes = head.bytes.subarray(sent);
    }
    this.setWritable(false);
  }

  private setWritable(on: boolean): void {
    if (this.isClosed || on === this.waitingWritable) return;
    this.waitingWritable = on;
    this.socket.poll(native.constants.POLL_READABLE | (on ? native.constants.POLL_WRITABLE : 0));
  }

  private onEvent(status: number, events: number): void {
    if (this.isClosed) return;
    if (status < 0) {
      this.close(`the connection broke (libuv status ${status})`);
      return;
    }
    if (events & native.constants.POLL_WRITABLE) this.flush();
    if (!(events & native.constants.POLL_READABLE)) return;
    let n: number;
    try {
      n = this.socket.recvStream(this.recvBuf, this.recvFds, this.recvMeta);
    } catch (e) {
      this.close(`recv failed: ${(e as Error).message}`);
      return;
    }
    // qemu sends no fds; any that came are closed.
    for (let i = 0; i < this.recvMeta[0]!; i++) native.closeFd(this.recvFds[i]!);
    if (n === 0) return;
    if (n < 0) {
      this.close('qemu closed the monitor');
      return;
    }
    let data = Buffer.from(this.recvBuf.subarray(0, n));
    for (let nl = data.indexOf(0x0a); nl >= 0 && !this.isClosed; nl = data.indexOf(0x0a)) {
      const line = Buffer.concat([...this.chunks, data.subarray(0, nl)]).toString('utf8');
      this.chunks = [];
      this.chunkBytes = 0;
      data = data.subarray(nl + 1);
      this.line(line);
    }
    if (data.byteLength > 0) {
      this.chunks.push(data);
      this.chunkBytes += data.byteLength;
      if (this.chunkBytes > MAX_LINE) this.close(`a QMP line longer than ${MAX_LINE} bytes`);
    }
  }

  private line(line: string): void {
    if (line.trim() === '') return;
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(line) as Record<string, unknown>;
    } catch {
      this.close(`not JSON: ${line.slice(0, 80)}`);
      return;
    }
    if (typeof msg !== 'object' || msg === null) {
      this.close('a QMP line that is not an object');
      return;
    }
    if ('QMP' in msg) {
      const g = msg.QMP as QmpGreeting;
      this.greeting = g;
      this.onGreeting?.(g);
      this.onGreeting = undefined;
      return;
    }
    if (typeof msg.event === 'string') {
      this.emit('event', msg.event, msg.data);
      return;
    }
    const p = this.pending.shift();
    if (p === undefined) {
      this.close(`an answer to no command: ${line.slice(0, 80)}`);
      return;
    }
    if ('return' in msg) {
      p.resolve(msg.return);
      return;
    }
    const error = msg.error as { class?: string; desc?: string } | undefined;
    p.reject(qmpError(`${p.command}: ${error?.class ?? 'error'}: ${error?.desc ?? line.slice(0, 200)}`));
  }
}
