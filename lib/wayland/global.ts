/** A global the registry advertises: its interface, the version we implement, and what binding it makes. */
import type { WaylandClient } from './client';
import type { InterfaceSpec } from './spec';

export interface Global {
  readonly spec: InterfaceSpec;
  /** The highest version we implement (at most spec.version). */
  readonly version: number;
  /** Makes the client's resource `id` at `version` (checked: 1..this.version). */
  bind(client: WaylandClient, id: number, version: number): void;
}
