/** Every measurement, in the order the table shows them. */
import type { Measurement } from '../measurement';
import { clientFill } from './client-fill';
import { compositor } from './compositor';
import { compositorWeston } from './compositor-weston';
import { damageCopy } from './damage-copy';
import { inputLatency } from './input-latency';
import { ipcRoundTrip } from './ipc-roundtrip';
import { ipcScale } from './ipc-scale';
import { ipcShadow } from './ipc-shadow';
import { ipcSteady } from './ipc-steady';
import { kmsOutput } from './kms-output';
import { peerSocket } from './peer-socket';
import { vmDbus } from './vm-dbus';
import { wayland } from './wayland';
import { waylandMemory } from './wayland-memory';
import { vmVhost } from './vm-vhost';

export const measurements: readonly Measurement[] = [damageCopy, clientFill, ipcRoundTrip, peerSocket, ipcShadow, compositor, compositorWeston, ipcScale, ipcSteady, wayland, waylandMemory, kmsOutput, vmDbus, vmVhost, inputLatency];
