/**
 * The compositor's input to a VM screen (the seat's SurfacePointerInput and
 * SurfaceKeyboardInput) as a guest's keys, pointer position and buttons
 * (VmInput), whatever wire a route sends them on: keys and buttons still down
 * when the focus leaves are released (they would repeat, or drag, in the guest
 * forever); the wheel is qemu's wheel buttons, one click per event.
 */
import type { SurfaceKeyboardInput, SurfacePointerInput } from '../surface-model';
import type { VmButton, VmInput } from './vm-surface';

/** DOM button numbers (SurfacePointerInput) to guest buttons. */
const BUTTONS: readonly VmButton[] = ['left', 'middle', 'right', 'side', 'extra'];

export class VmInputForwarder {
  private readonly pressedButtons = new Set<VmButton>();
  private readonly pressedKeys = new Set<number>();

  constructor(private readonly input: VmInput) {}

  /** `width` x `height`: the screen's size now (positions are clamped into it). */
  pointer(event: SurfacePointerInput, width: number, height: number): void {
    if (width === 0 || height === 0) return;
    const x = Math.min(Math.max(Math.round(event.x), 0), width - 1);
    const y = Math.min(Math.max(Math.round(event.y), 0), height - 1);
    switch (event.action) {
      case 'enter': case 'motion':
        this.input.motion(x, y);
        return;
      case 'leave':
        for (const b of this.pressedButtons) this.input.button(b, false);
        this.pressedButtons.clear();
        return;
      case 'down': case 'up': {
        const button = BUTTONS[event.button];
        if (button === undefined) return;
        this.input.motion(x, y);
        if (event.action === 'down') this.pressedButtons.add(button);
        else this.pressedButtons.delete(button);
        this.input.button(button, event.action === 'down');
        return;
      }
      case 'axis': {
        // The guest's wheel is buttons 3 and 4 (qemu's InputButton), one click per event.
        if (event.axis !== 'vertical' || event.value === 0) return;
        const wheel: VmButton = event.value < 0 ? 'wheel-up' : 'wheel-down';
        this.input.button(wheel, true);
        this.input.button(wheel, false);
        return;
      }
    }
  }

  keyboard(event: SurfaceKeyboardInput): void {
    if (event.action === 'key') {
      if (event.pressed) this.pressedKeys.add(event.key);
      else if (!this.pressedKeys.delete(event.key)) return;
      this.input.key(event.key, event.pressed);
    } else if (event.action === 'leave') {
      // Keys held when focus leaves would repeat in the guest forever.
      for (const key of this.pressedKeys) this.input.key(key, false);
      this.pressedKeys.clear();
    }
    // Modifiers: the guest tracks its own from the keys it saw.
  }
}
