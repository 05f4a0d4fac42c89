/**
 * What a client is told about an output (Wayland's wl_output, xdg-output), from
 * whatever drives it (a KMS connector and its EDID, a headless size): shared
 * below the outputs and the protocols, so neither imports the other.
 */
export interface OutputInfo {
  readonly width: number;
  readonly height: number;
  /** mHz */
  readonly refreshMilliHz: number;
  /** The output's name: a connector's ("HDMI-A-1"), unique per compositor. */
  readonly name: string;
  /** The manufacturer (EDID PNP id); default "bufshare". */
  readonly make?: string;
  /** The monitor's model; default the name. */
  readonly model?: string;
  /** Physical size in mm; 0 (default): unknown, as for a virtual output. */
  readonly physicalWidth?: number;
  readonly physicalHeight?: number;
  /** Human-readable; default "<make> <model> (<name>)", or "bufshare output WxH". */
  readonly description?: string;
  /** Top-left corner in the compositor's layout (xdg-output's logical position). Default (0, 0). */
  readonly x?: number;
  readonly y?: number;
  /** Pixels per layout unit (wl_output.scale): clients draw their buffers this much larger. Default 1. */
  readonly scale?: number;
}
