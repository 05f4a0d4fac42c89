/** DRM nodes: listing, describing, opening, picking. */
export { listDrmNodes, describeNode, drmUnavailableReason, openNode, DRI_DIR, type OpenNodeOptions, type DrmNode, type DrmNodeType, type DrmCaps, type DrmNodeDescription, type DrmSysfsIdentity } from './nodes';
export { DrmDevice, cardNodes } from './device';
export { pickCardNode } from './pick';
