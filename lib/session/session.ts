/**
 * Session: who may use the seat's devices (the display card, the input
 * devices) and when. A compositor run by a normal user asks the seat manager
 * for device fds instead of opening /dev/dri/card0 and /dev/input/event* itself,
 * and stops using them while another session has the seat (a VT switch).
 *
 * - 'libseat': seatd (or logind, where libseat was built with it) through
 *   libseat, loaded with dlopen (Debian: libseat1; the daemon: seatd). The seat
 *   manager opens the devices for us, makes our DRM fd master while we are
 *   active and revokes it (and our input fds) while we are not.
 * - 'direct': open(2) on the node ourselves (root, or a user the node's
 *   permissions let in). No pause or resume: nobody tells us of a VT switch.
 * - logind over D-Bus (TakeControl, TakeDevice, PauseDevice) is not here yet:
 *   it needs bufshare's D-Bus codec (lib/dbus, in progress). Where libseat has
 *   its logind backend (Debian's does), 'libseat' reaches logind already.
 *
 * How am I supposed to use this?
 *
 *   const session = await Session.open();                 // libseat if a seat manager answers, else direct
 *   const card = session.openDevice('/dev/dri/card0');     // { fd, path, close() }
 *   const kms = KmsDevice.forDrm(DrmDevice.fromFd(card.fd));
 *   session.listen(kms);                                   // its pause()/resume() follow the session
 *   session.listen(input);                                 // anything with pause()/resume()
 *
 * Pause order: listeners' pause() run (stop committing, release grabs), then the
 * seat manager gets its acknowledgement (libseat_disable_seat), then 'pause' is
 * emitted. On resume, 'resume' is emitted after every listener's resume().
 * Input fds come back revoked after a pause (seatd's EVIOCREVOKE): reopen them in
 * resume(); the DRM fd stays the same and is master again.
 */
import EventEmitter from 'eventemitter3';
import { debug } from '../debug';
import { BufshareError } from '../errors';
import * as native from '../native';
import type { SeatNative } from './native-types';

/** What follows the session: the KMS devices, the input devices. */
export interface SessionListener {
  /** The session lost the seat: stop using its devices now (no commits, no grabs). */
  pause(): void;
  /** The seat is back: reopen what was revoked, modeset, repaint everything. */
  resume(): void;
}

export type SessionBackend = 'libseat' | 'direct';

export interface SessionOptions {
  /** 'auto' (default): libseat when it loads and a seat manager answers, else direct. */
  readonly backend?: 'auto' | SessionBackend;
  /** How long open() waits for the seat to become active (libseat; default 10 s). */
  readonly activeTimeoutMs?: number;
}

/** A device fd from the session. */
export interface SessionDevice {
  readonly path: string;
  readonly fd: number;
  /** Gives the device back (and closes the fd). Idempotent. */
  close(): void;
}

interface SessionEvents {
  pause: [];
  resume: [];
  /** The seat manager went away: the session is paused for good. */
  error: [BufshareError];
}

export class Session extends EventEmitter<SessionEvents> {
  readonly backend: SessionBackend;
  /** The seat's name ("seat0"). */
  readonly seatName: string;
  /** Why libseat was not used, when backend is 'direct' after 'auto'. */
  readonly fallbackReason: string | undefined;
  private isActive: boolean;
  private closed = false;
  private readonly followers = new Set<SessionListener>();
  private readonly devices = new Map<number, { path: string; id: number | undefined }>();
  private readonly seat: SeatNative | undefined;

  private constructor(backend: SessionBackend, seat: SeatNative | undefined, fallbackReason?: string) {
    super();
    this.backend = backend;
    this.seat = seat;
    this.seatName = seat ? seat.name() : 'seat0';
    this.isActive = backend === 'direct';
    this.fallbackReason = fallbackReason;
  }

  /**
   * Opens the session; with libseat, resolves once the seat is active (a seat
   * on a VT that is not in front waits; ERR_BUFSHARE_TIMEOUT after
   * activeTimeoutMs). backend 'libseat' alone: ERR_BUFSHARE_NOT_AVAILABLE with
   * libseat's own reason when it cannot open a seat.
   */
  static async open(options: SessionOptions = {}): Promise<Session> {
    const want = options.backend ?? 'auto';
    if (want === 'direct') return new Session('direct', undefined);
    let reason = native.libseatAvailable();
    if (reason === '') {
      let session: Session | undefined;
      try {
        session = Session.openLibseat();
      } catch (e) {
        if (want === 'libseat' || (e as BufshareError).code !== 'ERR_BUFSHARE_NOT_AVAILABLE') throw e;
        reason = (e as Error).message;
      }
      if (session) {
        await session.waitActive(options.activeTimeoutMs ?? 10_000);
        return session;
      }
    } else if (want === 'libseat') {
      throw new BufshareError('ERR_BUFSHARE_NOT_AVAILABLE', `libseat is not available: ${reason} (Debian: apt install libseat1 seatd)`);
    }
    debug('session', `no seat manager (${reason}): opening devices directly`);
    return new Session('direct', undefined, reason);
  }

  private static openLibseat(): Session {
    // Callbacks only come from the loop after start(): self is set by then.
    let self: Session | undefined;
    const seat = native.openSeat((events, errno) => self?.onSeatEvents(events, errno));
    self = new Session('libseat', seat);
    seat.start();
    // enable_seat often arrives with open_seat's answer: take it now (wlroots does the same).
    self.onSeatEvents(seat.dispatch());
    debug('session', `libseat seat ${self.seatName}${self.isActive ? ', active' : ', waiting to be active'}`);
    return self;
  }

  private waitActive(timeoutMs: number): Promise<void> {
    if (this.isActive) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        this.close();
        reject(new BufshareError('ERR_BUFSHARE_TIMEOUT', `seat ${this.seatName} did not become active within ${timeoutMs} ms (another session is in front)`));
      }, timeoutMs);
      const onResume = (): void => {
        cleanup();
        resolve();
      };
      const onError = (e: BufshareError): void => {
        cleanup();
        reject(e);
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        this.off('resume', onResume);
        this.off('error', onError);
      };
      this.on('resume', onResume);
      this.on('error', onError);
    });
  }

  /** Whether the session has the seat now (devices usable, DRM master held). */
  get active(): boolean {
    return this.isActive && !this.closed;
  }

  /** `listener` follows the session from now on; returns a function that stops it. */
  listen(listener: SessionListener): () => void {
    this.followers.add(listener);
    return () => this.followers.delete(listener);
  }

  /**
   * A device fd: the seat manager's (libseat_open_device), or open(2) for
   * 'direct' (O_RDWR | O_CLOEXEC | O_NONBLOCK). ERR_BUFSHARE_NOT_AVAILABLE while
   * the session is paused; the seat manager's refusal as ERR_BUFSHARE_SYSCALL
   * (errno EPERM, EACCES, ENOENT).
   */
  openDevice(path: string): SessionDevice {
    this.checkOpen();
    if (!this.isActive) throw new BufshareError('ERR_BUFSHARE_NOT_AVAILABLE', `session on ${this.seatName} is paused: devices open when it is active again`);
    let fd: number;
    let id: number | undefined;
    if (this.seat) {
      ({ fd, id } = this.seat.openDevice(path));
      // Events libseat read while answering (a disable racing the open) are not lost.
      this.onSeatEvents(this.seat.dispatch());
    } else {
      fd = native.drmOpen(path); // O_RDWR | O_CLOEXEC | O_NOCTTY: fine for card and input nodes alike
    }
    this.devices.set(fd, { path, id });
    let done = false;
    return {
      path, fd,
      close: () => {
        if (done) return;
        done = true;
        this.closeDevice(fd);
      },
    };
  }

  private closeDevice(fd: number): void {
    const d = this.devices.get(fd);
    if (!d) return;
    this.devices.delete(fd);
    try {
      if (this.seat && d.id !== undefined) this.seat.closeDevice(d.id);
    } catch (e) {
      debug('session', `libseat_close_device(${d.path}): ${(e as Error).message}`);
    } finally {
      native.closeFd(fd);
    }
  }

  /** Asks the seat manager to switch to session (VT) `n`; this one pauses when it does. 'direct': ERR_BUFSHARE_UNSUPPORTED. */
  switchSession(n: number): void {
    this.checkOpen();
    if (!Number.isInteger(n) || n < 1) throw new BufshareError('ERR_BUFSHARE_INVALID_ARGUMENT', `session must be a positive integer, got ${String(n)}`);
    if (!this.seat) throw new BufshareError('ERR_BUFSHARE_UNSUPPORTED', 'switching sessions needs a seat manager (seatd or logind); this session opens devices directly');
    this.seat.switchSession(n);
  }

  /** Closes every device it opened and leaves the seat. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const fd of [...this.devices.keys()]) this.closeDevice(fd);
    this.seat?.close();
    this.followers.clear();
  }

  private onSeatEvents(events: string[] | null, errno?: string): void {
    if (this.closed) return;
    if (events === null) {
      const err = new BufshareError('ERR_BUFSHARE_CONNECTION_CLOSED', `the seat manager of ${this.seatName} went away (${errno ?? 'unknown'}): the session is paused for good`);
      if (this.isActive) this.doPause(false);
      this.emit('error', err);
      return;
    }
    for (const e of events) {
      if (e === 'disable') this.doPause(true);
      else if (e === 'enable') this.doResume();
    }
  }

  private doPause(ack: boolean): void {
    const was = this.isActive;
    this.isActive = false;
    if (was) for (const l of [...this.followers]) this.callListener(l, 'pause');
    // Acknowledged after the listeners let go: the seat manager then revokes the devices.
    if (ack) {
      try {
        this.seat?.disable();
      } catch (e) {
        debug('session', `libseat_disable_seat: ${(e as Error).message}`);
      }
    }
    debug('session', `${this.seatName}: paused`);
    if (was) this.emit('pause');
  }

  private doResume(): void {
    if (this.isActive) return;
    this.isActive = true;
    debug('session', `${this.seatName}: active`);
    for (const l of [...this.followers]) this.callListener(l, 'resume');
    this.emit('resume');
  }

  /** One listener's failure must not keep the others (or the seat's acknowledgement) from running. */
  private callListener(l: SessionListener, what: 'pause' | 'resume'): void {
    try {
      l[what]();
    } catch (e) {
      debug('session', `a session listener's ${what}() failed: ${(e as Error).message}`);
      queueMicrotask(() => {
        throw e;
      });
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new BufshareError('ERR_BUFSHARE_DESTROYED', 'the session was closed');
  }
}
