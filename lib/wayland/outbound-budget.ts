/**
 * OutboundBudget: one bound on the bytes a server has queued for all its
 * clients together. Each connection is bounded on its own (4 MiB), but 64
 * clients that never read could still make the compositor hold 256 MiB; past
 * the shared budget, the client with the largest queue is disconnected first:
 * it is the one that stopped reading longest ago or asks for the most, and
 * clients that read (whose queues are near empty) are never the ones to go.
 *
 * How am I supposed to use this? Give one budget to every connection of a
 * server (WaylandConnectionOptions.budget); the connections report what they
 * queue and send, and the budget closes the largest when the sum goes past.
 */

/** What the budget needs of a connection. */
export interface BudgetedConnection {
  readonly queuedBytes: number;
  readonly closed: boolean;
  close(reason: string): void;
}

export class OutboundBudget {
  readonly maxBytes: number;
  private total = 0;
  private readonly members = new Set<BudgetedConnection>();

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  /** Bytes queued across every connection. */
  get queuedBytes(): number {
    return this.total;
  }

  /** A connection queued `bytes` more; may close connections (this one included) to get back under the budget. */
  charge(connection: BudgetedConnection, bytes: number): void {
    this.members.add(connection);
    this.total += bytes;
    while (this.total > this.maxBytes) {
      let largest: BudgetedConnection | undefined;
      for (const c of this.members) if (!c.closed && (largest === undefined || c.queuedBytes > largest.queuedBytes)) largest = c;
      if (largest === undefined) break;
      // close() refunds what it had queued, through refund().
      largest.close(`the server's outbound budget (${this.maxBytes} bytes for all clients) was exceeded, and this client had the most queued (${largest.queuedBytes} bytes)`);
    }
  }

  /** A connection sent or dropped `bytes` it had queued. */
  refund(connection: BudgetedConnection, bytes: number): void {
    this.total -= bytes;
    if (connection.closed) this.members.delete(connection);
  }
}
