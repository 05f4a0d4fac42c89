/**
 * A virtual machine's screens as a SurfaceSource, peer of BufferServer and
 * WaylandServer, by two routes:
 *
 *   // qemu's D-Bus display (any display device; the damaged rectangles are copied):
 *   const vm = await VmDisplay.attach('/run/vm/qmp.sock');   // qemu -display dbus,p2p=yes -qmp unix:...
 *   // vhost-user-gpu (the compositor is the guest's GPU; guest memory mapped, zero copy):
 *   const gpu = VhostGpuServer.listen('/run/vm/gpu.sock');   // qemu -device vhost-user-gpu-pci,chardev=...
 *
 *   followSource(scene, vm, windows);                       // each console / scanout is a window
 *
 * Both show VmSurfaces (lib/vm/vm-surface.ts) or CompositorSurfaces of the
 * model: a compositor never asks which route a screen came by.
 */
export { DBusVmDisplay as VmDisplay, DBusVmDisplay } from './dbus-display';
export type { VmDisplayEvents, VmDisplayOptions, VmDisplayStats } from './dbus-display';
export { QmpClient } from './qmp';
export type { QmpGreeting } from './qmp';
export { VmSurface, VmFrame, MAX_VM_SURFACE_SIDE } from './vm-surface';
export type { VmButton, VmInput } from './vm-surface';
export { evdevToQnum } from './keymap';
export { formatFromPixman } from './pixman-format';
export { VhostGpuServer } from './vhost-gpu-source';
export type { VhostGpuServerEvents, VhostGpuServerOptions, VhostGpuStats } from './vhost-gpu-source';
export { VncResizer } from './vhost-display-event';
export { QmpInput, qmpInput, toQemuAbs, QEMU_ABS_MAX } from './qmp-input';
