import { expect } from 'chai';
import { Region, resolveFormat, ShmAllocator } from '../../lib';
import { PointerRouter, type SurfacePointerEvent } from '../../demos/compositor/pointer';
import { Scene } from '../../demos/compositor/scene';

describe('compositor pointer routing', () => {
  const alloc = new ShmAllocator();
  const XRGB = resolveFormat('XRGB8888');

  function setup(): { scene: Scene; events: [number, SurfacePointerEvent][]; router: PointerRouter; done: () => void } {
    const scene = new Scene(200, 100, 'cascade', { gap: 0, titleHeight: 0, step: 0 });
    const buffers = [alloc.allocate({ width: 50, height: 40, format: 'XRGB8888' }), alloc.allocate({ width: 50, height: 40, format: 'XRGB8888' })];
    scene.add(1, 50, 40, XRGB);
    scene.add(2, 50, 40, XRGB);
    scene.move(1, 10, 10);
    scene.move(2, 100, 20);
    scene.attach(1, buffers[0]!.map(), Region.empty);
    scene.attach(2, buffers[1]!.map(), Region.empty);
    const events: [number, SurfacePointerEvent][] = [];
    const router = new PointerRouter(scene, (id, e) => events.push([id, e]));
    return { scene, events, router, done: () => buffers.forEach((b) => b.destroy()) };
  }

  it('sends enter, surface-local motion and leave to the surface under the pointer', () => {
    const { events, router, done } = setup();
    router.handle({ action: 'move', x: 5, y: 5, buttons: 0 });
    expect(events).to.deep.equal([]);
    router.handle({ action: 'move', x: 15, y: 12, buttons: 0 });
    router.handle({ action: 'move', x: 110, y: 30, buttons: 0 });
    router.handle({ action: 'leave', x: 300, y: 30, buttons: 0 });
    expect(events.map(([id, e]) => [id, e.action, e.x, e.y])).to.deep.equal([
      [1, 'enter', 5, 2], [1, 'motion', 5, 2],
      [1, 'leave', 100, 20], [2, 'enter', 10, 10], [2, 'motion', 10, 10],
      [2, 'leave', 200, 10],
    ]);
    done();
  });

  it('a press grabs the pointer: the stroke keeps going to its surface until the buttons are up', () => {
    const { events, router, done } = setup();
    router.handle({ action: 'down', x: 20, y: 20, buttons: 1, button: 0 });
    router.handle({ action: 'move', x: 120, y: 30, buttons: 1 }); // over surface 2, but grabbed by 1
    router.handle({ action: 'leave', x: 500, y: 30, buttons: 1 });
    router.handle({ action: 'up', x: 120, y: 30, buttons: 0, button: 0 });
    expect(events.map(([id, e]) => [id, e.action, e.x, e.y, e.buttons])).to.deep.equal([
      [1, 'enter', 10, 10, 1], [1, 'down', 10, 10, 1],
      [1, 'motion', 110, 20, 1],
      [1, 'up', 110, 20, 0],
      [1, 'leave', 110, 20, 0], [2, 'enter', 20, 10, 0],
    ]);
    expect(events[1]![1].button).to.equal(0);
    done();
  });

  it('forgets a surface that went away', () => {
    const { scene, events, router, done } = setup();
    router.handle({ action: 'down', x: 20, y: 20, buttons: 1, button: 0 });
    scene.remove(1);
    router.surfaceRemoved(1);
    events.length = 0;
    router.handle({ action: 'move', x: 120, y: 30, buttons: 1 });
    expect(events.map(([id, e]) => [id, e.action])).to.deep.equal([[2, 'enter'], [2, 'motion']]);
    done();
  });
});
