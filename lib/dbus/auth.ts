/**
 * D-Bus authentication (the specification's "Authentication Protocol"): the
 * line-based SASL exchange before the first message, EXTERNAL only (the peer's
 * kernel-checked uid, SO_PEERCRED), with unix fd passing negotiated.
 *
 * Who authenticates whom: on a bus, the bus is the server. On qemu's
 * peer-to-peer display sockets (ui/dbus.c add_client, ui/dbus-console.c
 * RegisterListener) qemu opens its GDBusConnection with
 * G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_SERVER both times, so we are the
 * client on both; the server side here is for peers that connect to us.
 *
 * These are state machines over whole lines (without "\r\n"); the connection
 * moves the bytes.
 */
import { BufshareError } from '../errors';

/** The longest auth line we accept (dbus-daemon allows more; no valid EXTERNAL exchange comes near). */
export const MAX_AUTH_LINE = 1024;
/** Failed commands a server answers before giving up on the peer. */
const MAX_SERVER_ERRORS = 8;

export interface AuthStep {
  /** Lines to send, each ending in "\r\n". */
  readonly send: string;
  /** Authentication finished: after BEGIN, messages follow. */
  readonly done: boolean;
  /** Unix fds may be passed (NEGOTIATE_UNIX_FD agreed). */
  readonly unixFds: boolean;
}

function authError(message: string): BufshareError {
  return new BufshareError('ERR_BUFSHARE_DBUS_AUTH', message);
}

function hex(s: string): string {
  return Buffer.from(s, 'ascii').toString('hex');
}

export class SaslClient {
  private state: 'auth' | 'negotiate' | 'done' = 'auth';
  guid: string | undefined;

  constructor(private readonly uid: number, private readonly negotiateFds: boolean) {}

  /** The first bytes: the credentials byte (NUL) and AUTH EXTERNAL with our uid. */
  start(): string {
    return `\0AUTH EXTERNAL ${hex(String(this.uid))}\r\n`;
  }

  onLine(line: string): AuthStep {
    if (this.state === 'auth') {
      const ok = /^OK ([0-9a-f]{32})$/.exec(line);
      if (ok !== null) {
        this.guid = ok[1];
        if (this.negotiateFds) {
          this.state = 'negotiate';
          return { send: 'NEGOTIATE_UNIX_FD\r\n', done: false, unixFds: false };
        }
        this.state = 'done';
        return { send: 'BEGIN\r\n', done: true, unixFds: false };
      }
      if (line.startsWith('REJECTED')) throw authError(`the server rejected EXTERNAL authentication (it offers: ${line.slice(8).trim() || 'nothing'})`);
      throw authError(`unexpected answer to AUTH: ${JSON.stringify(line.slice(0, 80))}`);
    }
    if (this.state === 'negotiate') {
      this.state = 'done';
      if (line === 'AGREE_UNIX_FD') return { send: 'BEGIN\r\n', done: true, unixFds: true };
      if (line.startsWith('ERROR')) return { send: 'BEGIN\r\n', done: true, unixFds: false };
      throw authError(`unexpected answer to NEGOTIATE_UNIX_FD: ${JSON.stringify(line.slice(0, 80))}`);
    }
    throw authError('a line after authentication finished');
  }
}

export class SaslServer {
  private state: 'waiting' | 'data' | 'authenticated' | 'done' = 'waiting';
  private unixFds = false;
  private errors = 0;

  /**
   * @param peerUid the connected peer's uid (SO_PEERCRED), what EXTERNAL checks
   * @param allowed whether that uid may connect (default: only our own)
   */
  constructor(private readonly guid: string, private readonly peerUid: number, private readonly allowFds: boolean,
    private readonly allowed: (uid: number) => boolean = (uid) => uid === process.getuid?.()) {}

  onLine(line: string): AuthStep {
    const reply = (send: string, done = false): AuthStep => ({ send, done, unixFds: this.unixFds });
    const fail = (send: string): AuthStep => {
      if (++this.errors > MAX_SERVER_ERRORS) throw authError(`the client failed ${MAX_SERVER_ERRORS} authentication commands`);
      return reply(send);
    };
    const [command, ...args] = line.split(' ');
    if (this.state === 'waiting' || this.state === 'data') {
      if (command === 'AUTH' && this.state === 'waiting') {
        if (args[0] !== 'EXTERNAL') return fail('REJECTED EXTERNAL\r\n');
        if (args.length === 1) {
          this.state = 'data';
          return reply('DATA\r\n');
        }
        return this.external(args[1]!, fail, reply);
      }
      if (command === 'DATA' && this.state === 'data') return this.external(args[0] ?? '', fail, reply);
      if (command === 'CANCEL' || command === 'ERROR') {
        this.state = 'waiting';
        return fail('REJECTED EXTERNAL\r\n');
      }
      return fail('ERROR "expected AUTH"\r\n');
    }
    if (this.state === 'authenticated') {
      if (command === 'NEGOTIATE_UNIX_FD' && args.length === 0) {
        if (!this.allowFds) return fail('ERROR "fd passing is off"\r\n');
        this.unixFds = true;
        return reply('AGREE_UNIX_FD\r\n');
      }
      if (command === 'BEGIN' && args.length === 0) {
        this.state = 'done';
        return reply('', true);
      }
      return fail('ERROR "expected NEGOTIATE_UNIX_FD or BEGIN"\r\n');
    }
    throw authError('a line after authentication finished');
  }

  private external(response: string, fail: (s: string) => AuthStep, reply: (s: string) => AuthStep): AuthStep {
    // An empty response asks for the credentials the kernel gave; otherwise it names a uid, which must be those.
    let claimed = this.peerUid;
    if (response !== '') {
      if (!/^([0-9a-fA-F]{2})+$/.test(response)) {
        this.state = 'waiting';
        return fail('REJECTED EXTERNAL\r\n');
      }
      const text = Buffer.from(response, 'hex').toString('latin1');
      claimed = /^[0-9]{1,10}$/.test(text) ? Number(text) : -1;
    }
    if (claimed !== this.peerUid || !this.allowed(this.peerUid)) {
      this.state = 'waiting';
      return fail('REJECTED EXTERNAL\r\n');
    }
    this.state = 'authenticated';
    return reply(`OK ${this.guid}\r\n`);
  }
}
