/**
 * A guest's keyboard and pointer through qemu's monitor: QMP `input-send-event`
 * reaches whatever input devices the guest has (virtio-keyboard-pci and
 * virtio-tablet-pci, a PS/2 keyboard, a USB tablet), whichever route shows its
 * screen. The vhost-user-gpu route uses it: qemu, not the back-end, owns the
 * guest's input devices there.
 *
 *   const qmp = await QmpClient.connect('/run/vm/qmp.sock');   // qemu -qmp unix:...,server=on,wait=off
 *   const gpu = VhostGpuServer.listen(sock, { input: qmpInput(qmp) });
 *
 * Keys go as qemu key numbers (keymap.ts); the pointer as absolute positions on
 * qemu's 0..0x7fff scale (INPUT_EVENT_ABS_MAX), where a tablet reports them
 * as they are; buttons by qemu's InputButton names, which VmButton are.
 * Commands go in order on the one monitor connection; one that fails (the
 * guest has no such device, qemu went away) is dropped, with a debug line.
 */
import { debug } from '../debug';
import { evdevToQnum } from './keymap';
import type { QmpClient } from './qmp';
import type { VmButton, VmInput } from './vm-surface';

/** qemu's absolute axis range (INPUT_EVENT_ABS_MIN..MAX). */
export const QEMU_ABS_MAX = 0x7fff;

/** A screen position as qemu's absolute axis value: 0 at the first pixel, QEMU_ABS_MAX at the last. */
export function toQemuAbs(position: number, size: number): number {
  if (size <= 1) return 0;
  return Math.round((Math.min(Math.max(position, 0), size - 1) * QEMU_ABS_MAX) / (size - 1));
}

/** A VmInput over QMP for a screen whose size `size()` gives. */
export class QmpInput implements VmInput {
  /** The last command's answer: resolves when qemu took it, rejects with its error. */
  lastSent: Promise<unknown> = Promise.resolve();

  constructor(private readonly qmp: QmpClient, private readonly size: () => { readonly width: number; readonly height: number }) {}

  key(code: number, pressed: boolean): void {
    const qnum = evdevToQnum(code);
    if (qnum === undefined) return;
    this.send([{ type: 'key', data: { down: pressed, key: { type: 'number', data: qnum } } }]);
  }

  motion(x: number, y: number): void {
    const { width, height } = this.size();
    this.send([{ type: 'abs', data: { axis: 'x', value: toQemuAbs(x, width) } }, { type: 'abs', data: { axis: 'y', value: toQemuAbs(y, height) } }]);
  }

  button(button: VmButton, pressed: boolean): void {
    this.send([{ type: 'btn', data: { down: pressed, button } }]);
  }

  private send(events: unknown[]): void {
    this.lastSent = this.qmp.execute('input-send-event', { events });
    this.lastSent.catch((e: unknown) => debug('vm', `input-send-event failed: ${(e as Error).message}`));
  }
}

/** For VhostGpuServer's `input` option: each screen's input through `qmp`. */
export function qmpInput(qmp: QmpClient): (screen: { readonly width: number; readonly height: number }) => VmInput {
  return (screen) => new QmpInput(qmp, () => screen);
}
