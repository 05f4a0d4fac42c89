/**
 * The shape of a Wayland interface as the generated tables in protocol/ describe
 * it (tools/wayland-scan.ts writes them from the protocol XML).
 */
export type ArgType = 'int' | 'uint' | 'fixed' | 'string' | 'object' | 'new_id' | 'array' | 'fd';

export interface ArgSpec {
  readonly name: string;
  readonly type: ArgType | string;
  /** For object/new_id: the interface; a new_id without one carries (interface, version, id). */
  readonly interface?: string;
  /** Null object (0) or null string allowed. */
  readonly nullable?: true;
  readonly enum?: string;
}

export interface MessageSpec {
  readonly name: string;
  /** The interface version that introduced it. */
  readonly since: number;
  readonly destructor?: true;
  readonly args: readonly ArgSpec[];
}

export interface InterfaceSpec {
  readonly name: string;
  readonly version: number;
  readonly requests: readonly MessageSpec[];
  readonly events: readonly MessageSpec[];
  readonly enums: Readonly<Record<string, Readonly<Record<string, number>>>>;
}
