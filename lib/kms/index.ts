/** KMS: discovery of what a card can display (lib/kms/discovery). */
export { discoverKms, enableClientCaps, preferredMode, refreshMilliHz, formatName, type KmsInfo, type KmsConnector, type KmsWritebackConnector, type KmsCrtc, type KmsPlane, type KmsClientCaps, type PlaneType, type ConnectorStatus } from './discovery';
export { KmsProperties, type KmsProperty, type KmsObjectType } from './properties';
export { edidMonitorName, edidIdentity, type EdidIdentity } from './edid';
export { parseInFormats } from './in-formats';
export type { KmsModeInfo } from './native-types';
export { KmsDevice, type CrtcListener, type HotplugEvent } from './device';
export { KmsOutput, type KmsOutputOptions, type FlipEvent, type OutputFrame, type DirectScanoutBuffer, type DirectScanoutRefusal } from './output';
export { WritebackCapture } from './writeback';
export { ScanoutBuffer } from './scanout-buffer';
export { choosePipe, type KmsPipe, type PipeChoice, type PipesInUse } from './pipe';
export { scanoutFrame } from './frame-scanout';
export { pickDisplayCard, displayCards, describeCardFromSysfs, rankDisplayCards, SOFTWARE_DISPLAY_DRIVERS, type DisplayCard } from './pick-card';
