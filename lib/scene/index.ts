/**
 * bufshare/scene: a compositor's scene graph, outputs with damage tracking, and
 * the buffer lifetime every source shares. See scene.ts for how to use it.
 */
export { Scene, DEFAULT_BACKGROUND, type SceneOptions, type SceneHit } from './scene';
export { SceneNode, SceneTree, SceneRect, SceneBufferNode, MAX_COORD, type SceneNodeEvents, type LeafPlacement, type SceneViewport } from './node';
export { SceneBuffer } from './buffer';
export { SceneOutput, type SceneOutputOptions, type SceneOutputEvents, type RenderResult, type PresentDetail } from './output';
export { DamageRing, DAMAGE_RING_LENGTH } from './damage-ring';
export { PLACEHOLDER_COLOR, pixelRegion, type RenderStats } from './render';
export { SceneSurface, followSource } from './surface-node';
export { HeadlessOutput, type HeadlessOutputOptions, type HeadlessFrame, type HeadlessOutputEvents } from './headless';
export { FramePacer, realClock, type PacerClock } from './pacer';
export { encodePng } from './png';
export { RectList } from './rect-list';
export { KmsSceneOutput, type KmsSceneOutputOptions, type KmsSceneOutputEvents } from './kms-output';
export { SceneSeat, type SeatPointerInput, type SeatTouchInput, type SceneSeatEvents, type SceneSeatOptions } from './seat';
