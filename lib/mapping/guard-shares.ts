/**
 * Each client's share of the SIGBUS guard's process-wide table.
 *
 * Why: every mapping of client memory the compositor reads is registered with
 * the guard (src-native/sigbus.h), in one fixed table for the whole process.
 * Were the table first come, first served, one client (or many connections of
 * one user) could fill it, and the next well-behaved client's pool or dma-buf
 * would be refused: the wrong client punished. So the table is split: each
 * server of the process (the Wayland server and the bufshare server a
 * compositor runs side by side) owns half of it, and splits its half evenly
 * among the clients it may have (maxClients). The shares sum to at most the
 * table, so a client within its share always finds a slot; one past its share
 * gets its own error, and nobody else notices.
 *
 * Counted: every guarded mapping a client makes the server hold (wl_shm pools,
 * linux-dmabuf imports, the bufshare server's read mappings of unsealed shm
 * buffers); a mapping that is not guarded (a sealed memfd) is free.
 */
import * as native from '../native';

/** Servers a process runs that split the table (Wayland and bufshare). */
export const GUARD_TABLE_SERVERS = 2;

/** The guard's process-wide table: kMaxGuardedMappings. */
export function guardSlots(): number {
  return native.constants.GUARD_SLOTS;
}

/** Guarded mappings one client of a server of `maxClients` may hold. */
export function guardShare(maxClients: number): number {
  return Math.max(1, Math.floor(guardSlots() / GUARD_TABLE_SERVERS / Math.max(1, maxClients)));
}

/** One client's guarded mappings against its share. */
export class GuardAccount {
  private held = 0;

  constructor(readonly share: number) {}

  get used(): number {
    return this.held;
  }

  /** Takes `n` slots; false (and nothing taken) when that would pass the share. */
  take(n = 1): boolean {
    if (this.held + n > this.share) return false;
    this.held += n;
    return true;
  }

  give(n = 1): void {
    this.held = Math.max(0, this.held - n);
  }
}
