/**
 * A virtual machine's screens as a SurfaceSource, peer of BufferServer and
 * WaylandServer:
 *
 *   const vm = await VmDisplay.attach('/run/vm/qmp.sock');   // qemu -display dbus,p2p=yes -qmp unix:...
 *   followSource(scene, vm, windows);                       // each console is a window; input goes to the guest
 *
 * Naming for the routes (the lead reconciles): `VmDisplay` is the entry,
 * `VmDisplay.attach(qmpPath, options)` the D-Bus route (DBusVmDisplay, this
 * helper's); the vhost-user-gpu route is meant to sit beside it as another
 * static constructor returning a SurfaceSource of VmSurfaces (lib/vm/vm-surface.ts:
 * scanout(w, h, format, memory?) (memory: the guest framebuffer's mapping, read in
 * place), writeRect() (a copying route), commit(damage), setCursor(), disable(),
 * destroy(), and a VmInput the route implements for the guest's keys and pointer).
 */
export { DBusVmDisplay as VmDisplay, DBusVmDisplay } from './dbus-display';
export type { VmDisplayEvents, VmDisplayOptions, VmDisplayStats } from './dbus-display';
export { QmpClient } from './qmp';
export type { QmpGreeting } from './qmp';
export { VmSurface, VmFrame, MAX_VM_SURFACE_SIDE } from './vm-surface';
export type { VmButton, VmInput } from './vm-surface';
export { evdevToQnum } from './keymap';
export { formatFromPixman } from './pixman-format';
