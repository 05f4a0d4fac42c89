/**
 * A client surface in the scene, whatever protocol the client speaks
 * (bufshare's ServerSurface, WaylandSurface, a VM's scanout): a buffer node
 * that shows each frame the surface commits, with its damage, and gives the
 * client its frame callback when an output showing it presents.
 *
 * Buffer lifetime: each frame becomes a SceneBuffer; the node holds it until
 * the next frame replaces it or the surface goes; an output that scans it out
 * or a screenshot holds it longer with locks of its own. The client gets it
 * back when the last lock goes.
 */
import type { CompositorFrame, CompositorSurface } from '../surface-model';
import { SceneBuffer } from './buffer';
import type { SceneBufferNode } from './node';
import type { Scene } from './scene';
import type { SceneTree } from './node';

export class SceneSurface {
  readonly surface: CompositorSurface;
  readonly node: SceneBufferNode;
  /** Committed since the last present: owed a frame callback. */
  private owed = false;
  private readonly onFrame = (frame: CompositorFrame): void => this.show(frame);
  private readonly onDestroy = (): void => this.destroy();

  constructor(scene: Scene, surface: CompositorSurface, parent: SceneTree = scene.root) {
    this.surface = surface;
    this.node = scene.createBuffer(parent);
    this.node.data = this;
    this.node.on('present', () => {
      if (!this.owed) return;
      this.owed = false;
      surface.frameDone();
    });
    surface.on('frame', this.onFrame);
    surface.on('destroy', this.onDestroy);
  }

  /** Frames shown so far have arrived: the surface has something on screen. */
  get mapped(): boolean {
    return this.node.buffer !== undefined;
  }

  /** Stops following the surface and takes the node out of the scene (its buffer goes back). Idempotent. */
  destroy(): void {
    this.surface.off('frame', this.onFrame);
    this.surface.off('destroy', this.onDestroy);
    this.node.destroy();
  }

  private show(frame: CompositorFrame): void {
    if (this.node.destroyed) {
      frame.release();
      return;
    }
    const buffer = SceneBuffer.fromFrame(frame);
    this.node.setBuffer(buffer, frame.damage);
    buffer.unlock(); // the node holds it now
    this.owed = true;
  }
}
