/**
 * Pointer routing: the viewer reports the pointer in output coordinates; each
 * surface gets the events that concern it in its own coordinates, as protocol
 * events (surface.sendEvent).
 *
 * Like Wayland's wl_pointer: the surface under the pointer has focus and gets
 * 'enter' and 'leave'; a button press grabs the pointer for that surface until
 * every button is up, so a stroke that leaves the surface keeps going to it
 * (coordinates then fall outside the surface; the client clips).
 */
import type { SceneSurface } from './scene';

export type PointerAction = 'move' | 'down' | 'up' | 'leave';

/** The pointer as the viewer reports it, in output coordinates. */
export interface PointerInput {
  readonly action: PointerAction;
  readonly x: number;
  readonly y: number;
  /** Buttons held after the event, as DOM MouseEvent.buttons (1 primary, 2 secondary, 4 middle). */
  readonly buttons: number;
  /** For 'down'/'up': the button that changed, as DOM MouseEvent.button (0 primary). */
  readonly button?: number;
}

/** What a surface receives (the payload of a protocol event). */
export interface SurfacePointerEvent {
  readonly type: 'pointer';
  readonly action: 'enter' | 'leave' | 'motion' | 'down' | 'up';
  /** Surface-local. */
  readonly x: number;
  readonly y: number;
  readonly buttons: number;
  readonly button?: number;
}

export interface PointerTargets {
  surfaceAt(x: number, y: number): SceneSurface | undefined;
  get(id: number): SceneSurface | undefined;
}

export class PointerRouter {
  private readonly targets: PointerTargets;
  private readonly deliver: (surfaceId: number, event: SurfacePointerEvent) => void;
  private focus: number | undefined;
  private grab: number | undefined;

  constructor(targets: PointerTargets, deliver: (surfaceId: number, event: SurfacePointerEvent) => void) {
    this.targets = targets;
    this.deliver = deliver;
  }

  /** The surface that has pointer focus. */
  get focused(): number | undefined {
    return this.focus;
  }

  handle(input: PointerInput): void {
    const grabbed = this.grab !== undefined ? this.targets.get(this.grab) : undefined;
    if (this.grab !== undefined && !grabbed) this.grab = undefined;
    const under = input.action === 'leave' ? undefined : this.targets.surfaceAt(input.x, input.y);
    const target = grabbed ?? under;
    this.setFocus(target, input);
    if (!target) return;
    const local = { x: input.x - target.x, y: input.y - target.y, buttons: input.buttons };
    switch (input.action) {
      case 'move':
        this.deliver(target.id, { type: 'pointer', action: 'motion', ...local });
        break;
      case 'down':
        this.grab = target.id;
        this.deliver(target.id, { type: 'pointer', action: 'down', ...local, button: input.button ?? 0 });
        break;
      case 'up':
        this.deliver(target.id, { type: 'pointer', action: 'up', ...local, button: input.button ?? 0 });
        if (input.buttons === 0) {
          this.grab = undefined;
          // The grab held focus; give it to whatever is under the pointer now.
          this.setFocus(this.targets.surfaceAt(input.x, input.y), input);
        }
        break;
      case 'leave':
        // A grabbed surface keeps focus: the viewer reports its button release later.
        break;
    }
  }

  /** Forget a surface that went away (no 'leave' is sent to it). */
  surfaceRemoved(id: number): void {
    if (this.focus === id) this.focus = undefined;
    if (this.grab === id) this.grab = undefined;
  }

  private setFocus(target: SceneSurface | undefined, input: PointerInput): void {
    if (target?.id === this.focus) return;
    const old = this.focus !== undefined ? this.targets.get(this.focus) : undefined;
    if (old) this.deliver(old.id, { type: 'pointer', action: 'leave', x: input.x - old.x, y: input.y - old.y, buttons: input.buttons });
    this.focus = target?.id;
    if (target) this.deliver(target.id, { type: 'pointer', action: 'enter', x: input.x - target.x, y: input.y - target.y, buttons: input.buttons });
  }
}
