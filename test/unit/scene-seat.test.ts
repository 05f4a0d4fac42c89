/**
 * The seat routes layout-coordinate input to the client surface under the
 * pointer, in the surface's coordinates, through whatever protocol its
 * CompositorSurface speaks (here a recorder standing in for one: the real
 * protocols are checked end to end by the demo's Wayland and bufshare tests).
 */
import { expect } from 'chai';
import { EventEmitter } from 'eventemitter3';
import { resolveFormat } from '../../lib/format';
import { Region } from '../../lib/region';
import { pixelRegion, Scene, SceneBuffer, SceneSeat, SceneSurface } from '../../lib/scene';
import type { CompositorFrame, CompositorSurface, CompositorSurfaceEvents, SurfaceKeyboardInput, SurfacePointerInput } from '../../lib/surface-model';

class RecordingSurface extends EventEmitter<CompositorSurfaceEvents> {
  readonly events: (SurfacePointerInput | SurfaceKeyboardInput)[] = [];
  destroyed = false;
  readonly id: number;
  readonly client = { id: 1, pid: 1, name: undefined };
  readonly width = 50;
  readonly height = 40;
  readonly format = resolveFormat('XRGB8888');
  readonly kind = 'shm' as const;
  readonly access = 'direct' as const;
  readonly title = undefined;
  readonly appId = undefined;
  frameDones = 0;
  constructor(id: number) {
    super();
    this.id = id;
  }
  frameDone(): void {
    this.frameDones++;
  }
  pointer(e: SurfacePointerInput): void {
    this.events.push(e);
  }
  keyboard(e: SurfaceKeyboardInput): void {
    this.events.push(e);
  }
  /** A commit of a 50x40 buffer. */
  commit(): void {
    const region = pixelRegion(50, 40);
    let released = false;
    const frame: CompositorFrame = { surface: this as unknown as CompositorSurface, damage: Region.full(50, 40), region, get released() { return released; }, release: () => (released = true) };
    this.emit('frame', frame);
  }
}

function setup(): { scene: Scene; seat: SceneSeat; a: RecordingSurface; b: RecordingSurface; va: SceneSurface; vb: SceneSurface } {
  const scene = new Scene();
  scene.createBuffer(scene.root, new SceneBuffer(pixelRegion(200, 100), () => {})); // a wallpaper: not a client
  const a = new RecordingSurface(1);
  const b = new RecordingSurface(2);
  const va = new SceneSurface(scene, a as unknown as CompositorSurface);
  const vb = new SceneSurface(scene, b as unknown as CompositorSurface);
  a.commit();
  b.commit();
  va.tree.setPosition(10, 10);
  vb.tree.setPosition(100, 20);
  return { scene, seat: new SceneSeat(scene), a, b, va, vb };
}

const brief = (e: SurfacePointerInput | SurfaceKeyboardInput): unknown[] => ('x' in e ? [e.action, e.x, e.y, e.buttons] : [e.action]);

describe('scene seat', () => {
  it('sends enter, surface-local motion and leave to the surface under the pointer', () => {
    const { seat, a, b } = setup();
    seat.pointer({ action: 'move', x: 5, y: 5, buttons: 0 });
    seat.pointer({ action: 'move', x: 15, y: 12, buttons: 0 });
    seat.pointer({ action: 'move', x: 110, y: 30, buttons: 0 });
    seat.pointer({ action: 'leave', x: 300, y: 30, buttons: 0 });
    expect(a.events.map(brief)).to.deep.equal([['enter', 5, 2, 0], ['motion', 5, 2, 0], ['leave', 100, 20, 0]]);
    expect(b.events.map(brief)).to.deep.equal([['enter', 10, 10, 0], ['motion', 10, 10, 0], ['leave', 200, 10, 0]]);
  });

  it('a press grabs the pointer and focuses the keyboard; the stroke keeps going to its surface until the buttons are up', () => {
    const { seat, a, b, va } = setup();
    const pressed: SceneSurface[] = [];
    seat.on('press', (s) => pressed.push(s));
    seat.pointer({ action: 'down', x: 20, y: 20, buttons: 1, button: 0 });
    seat.pointer({ action: 'move', x: 120, y: 30, buttons: 1 }); // over b, but grabbed by a
    seat.pointer({ action: 'up', x: 120, y: 30, buttons: 0, button: 0 });
    seat.key(30, true);
    expect(a.events.map(brief)).to.deep.equal([['enter', 10, 10, 1], ['enter'], ['down', 10, 10, 1], ['motion', 110, 20, 1], ['up', 110, 20, 0], ['leave', 110, 20, 0], ['key']]);
    expect(b.events.map(brief)).to.deep.equal([['enter', 20, 10, 0]]);
    expect(pressed).to.deep.equal([va]);
    expect(seat.keyboardFocused).to.equal(va);
  });

  it('hit tests through stacking and input regions', () => {
    const { seat, va, vb } = setup();
    vb.tree.setPosition(30, 20);
    expect(seat.surfaceAt(35, 25)).to.equal(vb);
    va.tree.raiseToTop();
    expect(seat.surfaceAt(35, 25)).to.equal(va);
    va.node.setInputRegion(Region.of({ x: 0, y: 0, width: 10, height: 10 }));
    expect(seat.surfaceAt(35, 25), 'outside a\'s input region').to.equal(vb);
    expect(seat.surfaceAt(5, 5), 'the wallpaper is no client').to.equal(undefined);
  });

  it('forgets a surface that went away, without a leave to it', () => {
    const { seat, a, b, va } = setup();
    seat.pointer({ action: 'down', x: 20, y: 20, buttons: 1, button: 0 });
    a.events.length = 0;
    a.destroyed = true;
    a.emit('destroy', 'gone');
    expect(va.node.destroyed).to.equal(true);
    expect(seat.keyboardFocused).to.equal(undefined);
    seat.pointer({ action: 'move', x: 110, y: 30, buttons: 1 });
    seat.key(30, true);
    expect(a.events).to.deep.equal([]);
    expect(b.events.map(brief)).to.deep.equal([['enter', 10, 10, 1], ['motion', 10, 10, 1]]);
  });

  it('frame callbacks: once per commit, when an output showing the surface presents', () => {
    const { scene, a, b } = setup();
    const output = scene.addOutput({ width: 80, height: 80 }); // shows a (at 10, 10), not b (at 100, 20)
    output.present();
    expect([a.frameDones, b.frameDones]).to.deep.equal([1, 0]);
    output.present();
    expect(a.frameDones, 'no commit since').to.equal(1);
    a.commit();
    output.present();
    expect(a.frameDones).to.equal(2);
  });
});
