/**
 * Shapes of what the KMS part of the addon (src-native/kms.cc, drm_events.cc)
 * returns and takes. lib/native.ts exposes the functions; lib/kms builds on them.
 */

/** A display mode, with the kernel's own 68 bytes (drm_mode_modeinfo) in `raw`. */
export interface KmsModeInfo {
  readonly name: string;
  /** Pixel clock, kHz. */
  readonly clock: number;
  readonly hdisplay: number;
  readonly hsyncStart: number;
  readonly hsyncEnd: number;
  readonly htotal: number;
  readonly vdisplay: number;
  readonly vsyncStart: number;
  readonly vsyncEnd: number;
  readonly vtotal: number;
  readonly vrefresh: number;
  readonly flags: number;
  /** DRM_MODE_TYPE_* bits; PREFERRED is 1 << 3. */
  readonly type: number;
  /** What SETCRTC and a MODE_ID blob take back unchanged. */
  readonly raw: Uint8Array;
}

export interface KmsResourcesInfo {
  readonly crtcs: number[];
  readonly connectors: number[];
  readonly encoders: number[];
  readonly minWidth: number;
  readonly maxWidth: number;
  readonly minHeight: number;
  readonly maxHeight: number;
}

export interface KmsConnectorRaw {
  readonly id: number;
  /** DRM_MODE_CONNECTOR_* (15: Virtual, 18: Writeback). */
  readonly type: number;
  readonly typeId: number;
  /** 1 connected, 2 disconnected, 3 unknown. */
  readonly connection: number;
  readonly mmWidth: number;
  readonly mmHeight: number;
  readonly subpixel: number;
  readonly encoderId: number;
  readonly encoders: number[];
  readonly modes: KmsModeInfo[];
}

export interface KmsEncoderRaw {
  readonly id: number;
  readonly type: number;
  readonly crtcId: number;
  /** Bit i: the i-th CRTC of GETRESOURCES. */
  readonly possibleCrtcs: number;
}

export interface KmsCrtcRaw {
  readonly id: number;
  readonly fbId: number;
  readonly x: number;
  readonly y: number;
  readonly gammaSize: number;
  readonly mode: KmsModeInfo | null;
}

export interface KmsPlaneRaw {
  readonly id: number;
  readonly crtcId: number;
  readonly fbId: number;
  readonly possibleCrtcs: number;
  /** DRM fourccs. */
  readonly formats: number[];
}

export interface KmsPropertyValues {
  readonly ids: number[];
  readonly values: bigint[];
}

export interface KmsPropertyRaw {
  readonly id: number;
  readonly name: string;
  /** DRM_MODE_PROP_* */
  readonly flags: number;
  readonly values: bigint[];
  readonly enums: { readonly name: string; readonly value: bigint }[];
}

/** A DRM event as read from the fd: the kernel's timestamp (CLOCK_MONOTONIC) and counter. */
export interface DrmEventRaw {
  readonly type: 'flip' | 'vblank';
  readonly userData: number;
  readonly sec: number;
  readonly usec: number;
  readonly sequence: number;
  /** 0 on kernels older than 4.12. */
  readonly crtcId: number;
}

export interface DrmEventWatcherNative {
  /** Starts watching the fd on the loop; keeps itself alive while watching. */
  start(): void;
  /** Stops watching; the fd stays open (it is borrowed). */
  stop(): void;
  /** The events queued now, without waiting. */
  readNow(): DrmEventRaw[];
}

export interface DrmEventWatcherConstructor {
  /** `onEvents(events)`, or `onEvents(null, errno)` once on a read error. The fd is borrowed. */
  new (fd: number, onEvents: (events: DrmEventRaw[] | null, errno?: string) => void): DrmEventWatcherNative;
}

export interface KmsNative {
  drmIsMaster(fd: number): boolean;
  drmDropMaster(fd: number): void;
  drmSetMaster(fd: number): void;
  drmSetClientCap(fd: number, capability: number, value: number): void;
  kmsGetResources(fd: number): KmsResourcesInfo;
  kmsGetConnector(fd: number, id: number): KmsConnectorRaw;
  kmsGetEncoder(fd: number, id: number): KmsEncoderRaw;
  kmsGetCrtc(fd: number, id: number): KmsCrtcRaw;
  kmsGetPlaneIds(fd: number): number[];
  kmsGetPlane(fd: number, id: number): KmsPlaneRaw;
  kmsGetProperties(fd: number, objectId: number, objectType: number): KmsPropertyValues;
  kmsGetProperty(fd: number, id: number): KmsPropertyRaw;
  kmsGetBlob(fd: number, id: number): Uint8Array;
  kmsCreateBlob(fd: number, data: Uint8Array): number;
  kmsDestroyBlob(fd: number, id: number): void;
  kmsAddFb2(fd: number, width: number, height: number, fourcc: number, handles: Uint32Array, pitches: Uint32Array, offsets: Uint32Array, modifiers?: BigUint64Array): number;
  kmsRmFb(fd: number, id: number): void;
  kmsSetCrtc(fd: number, crtcId: number, fbId: number, x: number, y: number, connectors: Uint32Array, mode?: Uint8Array): void;
  kmsPageFlip(fd: number, crtcId: number, fbId: number, userData: number): void;
  kmsAtomic(fd: number, flags: number, objects: Uint32Array, counts: Uint32Array, props: Uint32Array, values: BigUint64Array, userData: number, outFences?: Uint32Array): Int32Array | undefined;
  drmPrimeFdToHandle(fd: number, dmabufFd: number): number;
  waitReadable(fd: number, timeoutMs: number): boolean;
  DrmEventWatcher: DrmEventWatcherConstructor;
}

export interface KmsConstants {
  DRM_CLIENT_CAP_UNIVERSAL_PLANES: number;
  DRM_CLIENT_CAP_ATOMIC: number;
  DRM_CLIENT_CAP_WRITEBACK_CONNECTORS: number;
  DRM_MODE_PAGE_FLIP_EVENT: number;
  DRM_MODE_ATOMIC_TEST_ONLY: number;
  DRM_MODE_ATOMIC_NONBLOCK: number;
  DRM_MODE_ATOMIC_ALLOW_MODESET: number;
  DRM_MODE_OBJECT_CRTC: number;
  DRM_MODE_OBJECT_CONNECTOR: number;
  DRM_MODE_OBJECT_PLANE: number;
}
