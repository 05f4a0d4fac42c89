/** What a benchmark module implements, and what the runner hands it. */
import type { MachineInfo } from './machine';
import type { Row } from './result';

export interface BenchContext {
  /** Few iterations and small sizes: only proves the measurement still runs. */
  readonly quick: boolean;
  /** Paired runs per row (>= 5 in a full run). */
  readonly runs: number;
  readonly machine: MachineInfo;
  /** Progress on stderr, so stdout stays the table. */
  log(message: string): void;
}

export interface Measurement {
  /** Dotted id the --filter option matches ("copy", "ipc.roundtrip"). */
  readonly id: string;
  readonly title: string;
  /** Seconds before the runner gives up on it and reports it crashed. */
  readonly timeoutSeconds?: number;
  /** Returns one row per figure; a row may say it was skipped and why. Throwing counts as a crash. */
  run(ctx: BenchContext): Promise<Row[]>;
}
